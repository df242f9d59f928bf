"""`edge serve` (a Wyoming server for Home Assistant and satellites) and `edge satellite` (a room's client)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
from typing import Any

from edge.cli_errors import CliError
from edge.commands.common import profile_or_exit

__all__ = ["add_parsers", "cmd_satellite", "cmd_serve"]

DEFAULT_URI = "tcp://127.0.0.1:10700"
TOKEN_ENV = "EDGE_SERVE_TOKEN"


def _need_wyoming() -> None:
    try:
        import wyoming  # noqa: F401
    except ImportError:
        raise CliError("the Wyoming protocol package is missing: pip install 'edge[serve]' "
                       "(or pip install 'wyoming==1.10.2')") from None


def _say(command: str, text: str) -> None:
    print(f"edge {command}: {text}", file=sys.stderr, flush=True)


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="edge serve: %(message)s")


# --- edge serve ----------------------------------------------------------------------------------------


def _limits(args: argparse.Namespace) -> Any:
    from edge.serve.limits import Limits

    try:
        return Limits(max_sessions=args.max_sessions, idle_timeout_s=args.idle_timeout,
                      turn_timeout_s=args.turn_timeout, session_timeout_s=args.session_timeout,
                      max_audio_s=args.max_audio)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _summary(inv: Any) -> str:
    asr = ", ".join(f"{o.model_id} ({len(o.locales)} locales)" for o in inv.asr) or "none"
    tts = ", ".join(v.name for v in inv.voices) or "none"
    wake = ", ".join(inv.wake) or "none trained"
    return f"speech to text: {asr}; voices: {tts}; wake words: {wake}; conversation: {len(inv.handle_locales)} locales"


def _default_locale(profile: Any) -> str:
    """The profile's language of speech (``asr.locale``): ``auto`` where it can identify languages, else en-US."""
    from edge.asr.auto import default_locale

    locale, why = default_locale(profile)
    if why:
        _say("serve", f"requests that name no language are taken as en-US (no language identification: {why})")
    return locale


async def _serve(args: argparse.Namespace, uri: str, host: str, lan: bool) -> None:
    from edge.serve.server import EdgeServer, announce_zeroconf
    from edge.serve.stages import StageError, Stages

    profile = profile_or_exit(args.profile)
    locales = [loc.strip() for loc in args.locales.split(",") if loc.strip()] if args.locales else None
    locale = args.locale or _default_locale(profile)
    try:
        stages = Stages(profile, locales=locales, default_locale=locale, data_dir=args.data_dir,
                        voices=max(1, args.voices))
    except StageError as exc:
        raise CliError(str(exc)) from None
    if stages.auto:
        _say("serve", f"requests that name no language: identified per turn and room ({stages.default_locale} until "
                      "one is heard; --locale xx-XX to fix it)")
    if not args.no_preload:
        _say("serve", f"loading models for {locale}...")
        try:
            await asyncio.get_running_loop().run_in_executor(None, stages.preload)
        except StageError as exc:
            raise CliError(str(exc)) from None
    token = args.token or os.environ.get(TOKEN_ENV) or None
    server = EdgeServer(stages, _limits(args), token=token, workers=args.workers or None)
    address = await server.start(uri)
    _say("serve", f"listening on {address}; {_summary(stages.inventory)}")
    if token:
        _say("serve", "clients must send the shared token (edge satellite --token)")
    zc = None
    if lan and not args.no_zeroconf and address.startswith("tcp://"):
        zc = await announce_zeroconf(int(address.rsplit(":", 1)[1]), args.zeroconf_name)
        if zc is not None:
            _say("serve", f"announced to Home Assistant as {zc.name} (zeroconf _wyoming._tcp)")
    try:
        await server.serve_forever()
    finally:
        await server.stop()
        if zc is not None:
            await zc._aiozc.async_close()
    _say("serve", "stopped")


def cmd_serve(args: argparse.Namespace) -> int:
    _need_wyoming()
    from edge.serve.server import UriError, is_loopback, parse_uri

    _logging(args.verbose)
    try:
        scheme, host, _ = parse_uri(args.uri)
    except UriError as exc:
        raise CliError(str(exc)) from None
    lan = scheme == "tcp" and not is_loopback(host)
    if lan and not args.lan:
        raise CliError(f"{args.uri} is reachable from other machines: add --lan to allow that "
                       f"(or listen on {DEFAULT_URI})")
    if lan:
        _say("serve", f"warning: open to the network on {host}: anyone who can reach this port can use the "
                      "assistant; set --token for satellites and keep the port off the internet")
    try:
        asyncio.run(_serve(args, args.uri, host, lan))
    except KeyboardInterrupt:
        _say("serve", "stopped")
    return 0


# --- edge satellite ------------------------------------------------------------------------------------


def _report(json_out: bool) -> Any:
    def report(r: Any) -> None:
        if json_out:
            print(json.dumps({"transcript": r.transcript, "language": r.language, "reply": r.reply,
                              "handled": r.handled, "intent": r.context.get("intent"),
                              "first_audio_ms": _round(r.first_audio_ms), "transcript_ms": _round(r.transcript_ms),
                              "reply_ms": _round(r.reply_ms), "audio_s": round(r.audio_s, 3)},
                             ensure_ascii=False), flush=True)
            return
        first = f"{r.first_audio_ms:.0f} ms" if r.first_audio_ms is not None else "no audio"
        print(f"  heard:  {r.transcript or '(nothing)'}")
        print(f"  reply:  {r.reply or '(none)'}")
        print(f"  first reply audio {first} after the end of speech", flush=True)

    return report


def _round(x: float | None) -> float | None:
    return round(x, 1) if x is not None else None


async def _satellite(args: argparse.Namespace) -> int:
    from edge.audio.errors import AudioDeviceError, AudioWriteError
    from edge.commands.common import open_input, open_sink
    from edge.pipeline.loader import PipelineError, load_endpointer
    from edge.serve.room import Gate, run_room, utterances
    from edge.serve.satellite import SatelliteClient, SatelliteError

    profile = profile_or_exit(args.profile)
    try:
        endpointer = load_endpointer(profile)
    except PipelineError as exc:
        raise CliError(str(exc)) from None
    wake = None
    if args.wake:
        from edge.assembly import load_wake

        try:
            wake = load_wake(args.wake, progress=lambda msg: _say("satellite", msg))
        except Exception as exc:
            raise CliError(str(exc)) from None
    gate = Gate(wake is not None, profile.dialogue.wake_window_s, profile.dialogue.follow_up_s)
    sink, desc = open_sink(args.output, profile.audio.output_device)
    mic = None
    if args.input:
        chunks: Any = open_input(args.input)
    else:
        from edge.audio.devices import MicrophoneSource

        try:
            mic = chunks = MicrophoneSource(profile.audio.input_device, block_ms=profile.audio.block_ms)
        except AudioDeviceError as exc:
            raise CliError(f"{exc} (or pass --input FILE)") from None
    token = args.token or os.environ.get(TOKEN_ENV) or None
    client = SatelliteClient(args.server, args.name or socket.gethostname(), token=token, language=args.language,
                             attempts=args.attempts if args.attempts > 0 else None,
                             progress=lambda msg: _say("satellite", msg))
    source = utterances(chunks, endpointer, gate, wake=wake, sink=sink if mic is not None else None,
                        on_wake=lambda p: _say("satellite", f"wake word: {p}"))
    if mic is not None:
        _say("satellite", f"listening{' for ' + repr(wake.phrase) if wake else ''}; replies to {desc} (Ctrl-C to stop)")
    try:
        turns = await run_room(client, source, sink, gate, _report(args.json),
                               on_announced=lambda a: _say("satellite", f"announcement: {a.text}"))
        sink.drain()
    except SatelliteError as exc:
        raise CliError(str(exc)) from None
    except (AudioDeviceError, AudioWriteError) as exc:
        raise CliError(str(exc)) from None
    finally:
        await client.close()
        sink.close()
        if mic is not None:
            mic.close()
    if turns == 0:
        _say("satellite", "no speech found in the input")
    return 0


def cmd_satellite(args: argparse.Namespace) -> int:
    _need_wyoming()
    from edge.serve.server import UriError, parse_uri

    try:
        parse_uri(args.server)
    except UriError as exc:
        raise CliError(str(exc)) from None
    try:
        return asyncio.run(_satellite(args))
    except KeyboardInterrupt:
        return 130


def add_parsers(sub: Any) -> None:
    s = sub.add_parser("serve", help="a Wyoming server: edge's speech to text, voices, wake words and conversation "
                                     "for Home Assistant and satellites")
    s.add_argument("--uri", default=DEFAULT_URI, help=f"tcp://HOST:PORT or unix:///PATH (default {DEFAULT_URI})")
    s.add_argument("--lan", action="store_true", help="allow a host other machines can reach (e.g. tcp://0.0.0.0:10700)")
    s.add_argument("--profile", help="device profile name or path (default: desktop)")
    s.add_argument("--locale", help="language of requests that name none: a locale (en-US), 'auto' (identified per "
                                    "turn and room, from en-US; auto:de-DE from German) (default: the profile's "
                                    "asr.locale; auto only where its multilingual Whisper is installed)")
    s.add_argument("--locales", help="serve only these, comma-separated (default: every installed one)")
    s.add_argument("--data-dir", help="where lists, alarms and settings are kept (default: $XDG_DATA_HOME/edge)")
    s.add_argument("--token", help=f"shared token satellites must send (or ${TOKEN_ENV}); Home Assistant cannot")
    s.add_argument("--max-sessions", type=int, default=8, help="clients served at once; more are refused (8)")
    s.add_argument("--idle-timeout", type=float, default=60.0, help="seconds a client may stay silent (60)")
    s.add_argument("--turn-timeout", type=float, default=60.0, help="seconds from audio-start to audio-stop (60)")
    s.add_argument("--session-timeout", type=float, default=3600.0, help="seconds a connection may last (3600)")
    s.add_argument("--max-audio", type=float, default=30.0, help="seconds of audio in one request (30)")
    s.add_argument("--workers", type=int, default=0, help="threads for speech and language work (0: one per session)")
    s.add_argument("--voices", type=int, default=2, help="copies of each voice, speaking replies to rooms at once "
                                                         "(2; the profile's TTS threads are shared out)")
    s.add_argument("--no-preload", action="store_true", help="load each model on its first request instead")
    s.add_argument("--no-zeroconf", action="store_true", help="with --lan: do not announce the server by mDNS")
    s.add_argument("--zeroconf-name", help="the name Home Assistant discovers (default: this machine's MAC)")
    s.add_argument("--verbose", "-v", action="store_true", help="log connections and turns to stderr")
    s.set_defaults(func=cmd_serve)

    t = sub.add_parser("satellite", help="stream this room's microphone (or a file) to an edge server, play replies")
    t.add_argument("--server", required=True, help="the server, e.g. tcp://192.168.1.20:10700")
    t.add_argument("--input", help="a WAV/FLAC file (or - for stdin) instead of the microphone")
    t.add_argument("--output", "-o", help="reply.wav, 'speaker' or 'none' (default: the speaker if there is one)")
    t.add_argument("--name", help="this satellite's name (its dialogue is kept per name; default: the hostname)")
    t.add_argument("--token", help=f"the server's shared token (or ${TOKEN_ENV})")
    t.add_argument("--language", help="language spoken here, e.g. en-US (default: the server's)")
    t.add_argument("--wake", help="send only what follows this wake phrase (a trained model; see edge wake train)")
    t.add_argument("--profile", help="device profile for the VAD and audio devices (default: desktop)")
    t.add_argument("--attempts", type=int, default=0, help="give up after this many connection tries (0: never)")
    t.add_argument("--json", action="store_true", help="one JSON object per turn")
    t.set_defaults(func=cmd_satellite)
