"""`edge say` (text to speech) and `edge devices` (microphones and speakers)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from edge.cli_errors import CliError
from edge.commands.common import open_sink, profile_or_exit

__all__ = ["add_parsers"]


def cmd_say(args: argparse.Namespace) -> int:
    from edge.audio.errors import AudioDeviceError, AudioWriteError
    from edge.pipeline.loader import PipelineError, load_tts

    text = " ".join(args.text) if args.text else sys.stdin.read()
    if not text.strip():
        raise CliError("nothing to say: give the text as arguments or on stdin")
    profile = profile_or_exit(args.profile)
    try:
        tts = load_tts(profile, args.locale, args.voice)
    except PipelineError as exc:
        raise CliError(str(exc)) from None
    sink, desc = open_sink(args.output, profile.audio.output_device)
    t0 = time.perf_counter()
    first = None
    audio_s = 0.0
    try:
        for chunk in tts.stream(text):
            if first is None:
                first = time.perf_counter() - t0
            sink.write(chunk.samples, chunk.rate)
            audio_s += chunk.samples.size / chunk.rate
        total = time.perf_counter() - t0
        sink.drain()
    except (AudioDeviceError, AudioWriteError) as exc:
        raise CliError(str(exc)) from None
    finally:
        sink.close()
    if first is None:
        raise CliError("nothing speakable in the text (only punctuation or symbols?)")
    print(f"edge say: {tts.name} voice, {audio_s:.2f} s of audio to {desc}; first audio after {first * 1000:.0f} ms, "
          f"all synthesised in {total * 1000:.0f} ms", file=sys.stderr)
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from edge.audio.devices import list_devices
    from edge.audio.errors import AudioDeviceError

    try:
        devices = list_devices()
    except AudioDeviceError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps([d.__dict__ for d in devices], indent=2))
        return 0
    if not devices:
        print("no audio devices found: edge run --input FILE and --output FILE still work")
        return 0
    for d in devices:
        marks = ("<in " if d.is_default_input else "    ") + ("out>" if d.is_default_output else "    ")
        print(f"{d.index:>3} {marks} {d.name:<40} in {d.max_input_channels:>2}  out {d.max_output_channels:>2}  "
              f"{d.default_rate:.0f} Hz  ({d.hostapi})")
    return 0


def add_parsers(sub: Any) -> None:
    s = sub.add_parser("say", help="speak a text (Piper, or espeak-ng where no Piper voice exists)")
    s.add_argument("text", nargs="*", help="what to say; omitted: read stdin")
    s.add_argument("--locale", default="en-US")
    s.add_argument("--voice", help="manifest id, a Piper .onnx path, or an espeak-ng voice")
    s.add_argument("--output", "-o", help="out.wav, 'speaker' or 'none' (default: the speaker if there is one)")
    s.add_argument("--profile", help="device profile name or path (default: desktop)")
    s.set_defaults(func=cmd_say)

    d = sub.add_parser("devices", help="list microphones and speakers (names and indexes for the profile)")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_devices)
