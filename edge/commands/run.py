"""`edge run` (the assistant on a file, stdin or the microphone) and `edge transcribe`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.cli_errors import CliError
from edge.commands.common import open_input, open_sink, profile_or_exit, speech_locale
from edge.pipeline.events import (
    ErrorRaised,
    Event,
    EventBus,
    JsonlWriter,
    LanguageHeard,
    LearnedApplied,
    OutputState,
)

if TYPE_CHECKING:
    from edge.pipeline.assistant import Pipeline
    from edge.profiles import Profile

__all__ = ["add_parsers"]

_STAGES = (("endpoint_wait", "endpoint"), ("asr", "asr"), ("nlu", "nlu"), ("route", "reply"),
           ("tts_first", "tts first audio"))


class TurnPrinter:
    """Human-readable lines for each turn (stdout) and warnings (stderr)."""

    def __init__(self, show_partials: bool, wake_phrase: str | None = None) -> None:
        self.show_partials = show_partials
        self.wake_phrase = wake_phrase
        self._partial_shown = False
        self.muted = False  # replies are written as silence: every reply line says so
        self.mute_note = ""
        self.language = ""  # --locale auto: the language heard in this turn, printed with it

    def __call__(self, e: Event) -> None:
        d = e.data
        if e.kind == "listening" and d.get("live") and d.get("source") == "microphone":
            what = f'say "{self.wake_phrase}"' if self.wake_phrase else "speak now"
            print(f"listening... {what} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        elif e.kind in ("wake", "barge_in", "follow_up"):
            print(f"  ({self._note(e.kind, d)})", file=sys.stderr, flush=True)
        elif e.kind == "partial" and self.show_partials:
            print(f"\r  ... {d['text'][:100]}", end="", file=sys.stderr, flush=True)
            self._partial_shown = True
        elif e.kind == "turn":
            if self._partial_shown:
                print(file=sys.stderr)
                self._partial_shown = False
            self._turn(e)
        elif e.kind in ("warning", "error"):
            print(f"edge run: {e.kind}: {d['message']}", file=sys.stderr, flush=True)
        elif e.kind == "learned":  # a learned correction changed what the user hears: each time it acts
            print(f"  ({e.describe() if isinstance(e, LearnedApplied) else d})", flush=True)
        elif e.kind == "dropped":  # noise or music taken for speech: said, not answered
            print(f"  (not answered: {d['reason']}: {d['text']!r})", file=sys.stderr, flush=True)
        elif isinstance(e, LanguageHeard):
            self.language = e.describe()
        elif isinstance(e, OutputState):
            self.muted = e.muted
            self.mute_note = e.describe()
            print(f"  (output: {self.mute_note})", flush=True)

    @staticmethod
    def _note(kind: str, d: dict[str, Any]) -> str:
        if kind == "wake":
            return "push-to-talk" if d.get("source") == "push_to_talk" else f"wake word: {d['phrase']} ({d['score']})"
        if kind == "barge_in":
            return f"interrupted by {d['trigger'].replace('_', '-')}: audio stopped in {d['latency_ms']:.1f} ms"
        return f"listening for the answer for {d['seconds']:.0f} s"

    def _turn(self, e: Event) -> None:
        d = e.data
        lat = d["latency_ms"]
        slots = ", ".join(f"{s['type']}={s['value']}" for s in d["slots"]) or "-"
        intent = f"{d['intent']} ({d['confidence']:.2f})" if d["intent"] else "(none)"
        parts = [f"{label} {lat[key]:.0f} ms" for key, label in _STAGES if key in lat]
        total = lat.get("total")
        kind = "measured" if d.get("measured") else "estimated: silence wait + each stage"
        total_text = f" = {total:.0f} ms end of speech to first audio ({kind})" if total is not None else ""
        print(f"[turn {e.turn}]", flush=False)
        print(f"  heard:    {d['transcript'] or '(nothing)'}")
        if self.language:
            print(f"  language: {self.language}")
            self.language = ""
        print(f"  intent:   {intent}   slots: {slots}")
        reply = d["reply"] if d["reply"] is not None else "(stopped)" if d.get("stopped") else "(none)"
        muted = f"   [{self.mute_note}]" if self.muted and d["reply"] is not None else ""
        print(f"  reply:    {reply}{muted}")
        print(f"  latency:  {' + '.join(parts)}{total_text}", flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    from edge.assembly import FrontEnd, assemble, load_wake, wake_spec
    profile = profile_or_exit(args.profile)
    args.locale = speech_locale(args.locale, profile, "run")
    live = args.input is None or args.realtime
    # Check what the user gave (the input, the microphone) before the models load and the speaker opens.
    chunks: Any = None
    device = None
    if args.input is not None:
        chunks = open_input(args.input, args.raw_rate, args.raw_channels)
    else:
        device = _microphone(args.input_device or profile.audio.input_device)
    spec = wake_spec(FrontEnd(wake=args.wake), profile)
    wake = load_wake(spec, progress=None if args.json else _wake_progress)
    barge_in = "off" if args.no_barge_in else args.barge_in
    sink, sink_desc = open_sink(args.output, profile.audio.output_device)
    bus = EventBus()
    if args.json:
        bus.subscribe(JsonlWriter(sys.stdout))
    else:
        phrase = getattr(wake, "phrase", None) or (spec if wake is not None else None)
        bus.subscribe(TurnPrinter(show_partials=sys.stderr.isatty(), wake_phrase=phrase))
    log_file = None
    assistant = None
    try:
        if args.log:
            try:
                log_file = open(args.log, "a", encoding="utf-8")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise CliError(f"--log {args.log}: cannot open: {exc.strerror or exc}") from None
            bus.subscribe(JsonlWriter(log_file))
        # Announcements (alarms, timers) can be heard on a live input: the microphone, stdin, a paced file.
        front = FrontEnd(sink=sink, bus=bus, wake_detector=wake, data_dir=args.data_dir, speak=not args.no_speak,
                         voice=args.voice, barge_in=barge_in, announce=live or args.input == "-")
        assistant = assemble(profile, args.locale, front)
        pipeline = assistant.pipeline
        if not args.json:
            print(f"edge: profile {profile.name}, locale {args.locale}, asr {pipeline.asr.name}, "
                  f"tts {pipeline.tts.name if pipeline.tts else 'off'}, replies to {sink_desc}", file=sys.stderr)
        if args.input is None:
            return _listen(pipeline, profile, device)
        if args.realtime:
            from edge.audio.pace import paced, with_trailing_silence

            chunks = paced(with_trailing_silence(chunks, 1.0), block_ms=profile.audio.block_ms)
        turns = pipeline.run(chunks, live=live, source=args.input, keep_turns=args.input != "-")
        if not turns and not args.json:
            what = "no command after the wake word" if wake is not None else "no speech found"
            print(f"edge run: {what} in the input", file=sys.stderr)
        sink.drain()
        return 0
    finally:
        sink.close()
        if assistant is not None:
            assistant.close()
        if log_file:
            log_file.close()


def _wake_progress(line: str) -> None:
    print(f"edge: wake word: {line}", file=sys.stderr, flush=True)


def _microphone(spec: str | int) -> str | int | None:
    """The microphone to open, checked now: a wrong name is the user's to fix (said once, then exit)."""
    from edge.audio.devices import resolve_device

    device = None if spec == "default" else spec
    resolve_device(device, "input")  # an AudioDeviceError (an EdgeError) is the one line the user sees
    return device


def _listen(pipeline: Pipeline, profile: Profile, device: str | int | None) -> int:
    """The microphone until Ctrl-C (or SIGTERM, e.g. from systemd); a microphone that fails or disappears is
    reopened, the process stays up."""
    import signal

    from edge.audio.devices import MicrophoneSource
    from edge.audio.errors import AudioDeviceError

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        pass

    failures = 0
    while True:
        try:
            with MicrophoneSource(device, block_ms=profile.audio.block_ms) as mic:
                failures = 0
                pipeline.run(mic, live=True, source="microphone", keep_turns=False)
            return 0  # the source ended (stopped)
        except KeyboardInterrupt:
            return 0
        except AudioDeviceError as exc:
            failures += 1
            if failures == 1:
                pipeline.bus.emit(ErrorRaised(message=f"{exc}; retrying every 2 s (Ctrl-C to stop)"))
            try:
                time.sleep(2.0)
            except KeyboardInterrupt:
                return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    import json

    from edge.audio.endpoint import SpeechEnd
    from edge.pipeline.loader import load_asr, load_endpointer

    profile = profile_or_exit(args.profile)
    args.locale = speech_locale(args.locale, profile, "transcribe")
    chunks = open_input(args.file, args.raw_rate, args.raw_channels)
    endpointer = load_endpointer(profile)
    if args.locale == "auto":  # identify each utterance's language (multilingual Whisper)
        from edge.asr.auto import load_auto_asr

        engine = load_auto_asr(profile)
    else:
        engine = load_asr(profile, args.locale)
    count = 0

    def emit(end: SpeechEnd) -> None:
        nonlocal count
        audio = end.audio if end.audio is not None else []
        result = engine.transcribe(audio)
        count += 1
        if args.json:
            print(json.dumps({"start_s": round(end.start_time, 3), "end_s": round(end.end_time, 3),
                              "text": result.text, "engine": result.engine, "locale": result.locale,
                              "language": result.language or None, "language_probability": result.language_probability,
                              "words": [w.__dict__ for w in result.words]}, ensure_ascii=False), flush=True)
        else:
            heard = f" {result.locale} {result.language_probability:.2f}" if result.language else ""
            print(f"[{end.start_time:7.2f} - {end.end_time:7.2f}]{heard} {result.text}", flush=True)

    for chunk in chunks:  # an AudioFormatError (an EdgeError) is the one line the user sees
        for event in endpointer.process(chunk):
            if isinstance(event, SpeechEnd):
                emit(event)
    for event in endpointer.finish():
        if isinstance(event, SpeechEnd):
            emit(event)
    if count == 0:
        print("edge transcribe: no speech found", file=sys.stderr)
    return 0


def _input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--locale", help="language of the speech, e.g. en-US; 'auto' identifies it per utterance and "
                   "answers in it ('auto:de-DE': German until another language is heard) (default: the profile's "
                   "asr.locale: auto on desktop and rpi5, en-US on rpi4 and low-memory)")
    p.add_argument("--profile", help="device profile name or path (default: desktop)")
    p.add_argument("--raw-rate", type=int, default=16000, help="sample rate of raw s16le on stdin (default 16000)")
    p.add_argument("--raw-channels", type=int, default=1, help="channels of raw PCM on stdin (default 1)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")


def add_parsers(sub: Any) -> None:
    r = sub.add_parser("run", help="the assistant: hear, understand, answer (a file, stdin, or the microphone)")
    r.add_argument("--input", "-i", help="WAV/FLAC file, or - for stdin (WAV or raw s16le); omitted: microphone")
    r.add_argument("--output", "-o", help="reply.wav, 'speaker' or 'none' (default: the speaker if there is one)")
    _input_options(r)
    r.add_argument("--realtime", action="store_true", help="feed the file at the speed it was spoken, like a "
                   "microphone, and measure real latency")
    r.add_argument("--no-speak", action="store_true", help="print replies without synthesising speech")
    r.add_argument("--voice", help="TTS voice: manifest id, a Piper .onnx path, or an espeak-ng voice")
    r.add_argument("--input-device", help="microphone name or index (default: the profile's)")
    r.add_argument("--log", help="append every event as JSON lines to this file")
    r.add_argument("--data-dir", type=Path, help="where alarms, lists... are kept (default $XDG_DATA_HOME/edge)")
    r.add_argument("--wake", metavar="PHRASE", help="answer only after this wake phrase (or a wake model path); "
                   "'none': always listen (default: the profile's [dialogue] wake_phrase)")
    r.add_argument("--barge-in", choices=("speech", "wake", "off"), help="what may interrupt a reply: any speech "
                   "(headset or echo cancellation), only the wake word, or nothing (default: the profile's)")
    r.add_argument("--no-barge-in", action="store_true", help="the same as --barge-in off: the microphone is "
                   "muted while the assistant talks")
    r.set_defaults(func=cmd_run)

    t = sub.add_parser("transcribe", help="speech to text: each utterance of a file with its times")
    t.add_argument("file", help="WAV/FLAC file, or - for stdin")
    _input_options(t)
    t.set_defaults(func=cmd_transcribe)
