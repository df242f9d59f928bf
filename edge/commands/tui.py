"""`edge tui` (and `edge` alone on a terminal): the Textual app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edge.cli_errors import CliError
from edge.commands.common import speech_locale

__all__ = ["add_parsers", "cmd_tui", "settings_from_args"]


def settings_from_args(args: argparse.Namespace) -> Any:
    """The app's settings from parsed arguments (defaults where ``args`` lacks one: `edge` with no command)."""
    from edge.tui.worker import TuiSettings

    output = getattr(args, "output", None)
    return TuiSettings(profile=getattr(args, "profile", None), locale=getattr(args, "locale", None) or "en-US",
                       input_device=getattr(args, "input_device", None), output=output,
                       output_device=getattr(args, "output_device", None), wake=getattr(args, "wake", None),
                       mic=not getattr(args, "no_mic", False), data_dir=getattr(args, "data_dir", None))


def cmd_tui(args: argparse.Namespace) -> int:
    from edge.profiles import ProfileError, load_profile
    from edge.tui.worker import canonical_locale

    try:
        profile = load_profile(getattr(args, "profile", None))  # a wrong name is the user's to fix before the screen
    except ProfileError as exc:
        raise CliError(str(exc)) from None
    locale = speech_locale(getattr(args, "locale", None), profile, "tui")
    if canonical_locale(locale) is None:
        raise CliError(f"--locale {locale}: not a MASSIVE locale; use e.g. en-US, de-DE or ko-KR")
    args.locale = canonical_locale(locale)
    output = getattr(args, "output", None)
    if output not in (None, "none", "speaker") and not str(output).lower().endswith(".wav"):
        raise CliError(f"--output {output}: give a .wav file name, 'speaker' or 'none'")
    if not sys.stdout.isatty() or not sys.stdin.isatty():
        raise CliError("the terminal app needs a terminal: run it in one (edge chat and edge run work in pipes)")
    try:
        from edge.tui.app import EdgeApp
    except ImportError as exc:
        raise CliError(f"the terminal app needs Textual ({exc}): pip install 'textual>=8.2'") from None
    import signal

    app = EdgeApp(settings_from_args(args))
    signal.signal(signal.SIGTERM, lambda signum, frame: app.exit(0))  # e.g. systemd: leave the terminal clean
    return app.run() or 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("tui", help="the terminal app: live level, transcripts, intents, replies, alarms "
                                   "(also `edge` alone)")
    p.add_argument("--profile", help="device profile name or path (default: desktop)")
    p.add_argument("--locale", help="language of the speech and the replies, e.g. en-US; 'auto': identified per "
                   "utterance, answered in it ('auto:de-DE': German until another is heard) (default: the "
                   "profile's asr.locale)")
    p.add_argument("--input-device", help="microphone name or index (default: the profile's)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--output-device", help="speaker name or index (default: the profile's)")
    out.add_argument("--output", "-o", help="'speaker', 'none' (replies as text only) or reply.wav")
    p.add_argument("--wake", metavar="PHRASE", help="answer only after this wake phrase (or a wake model path); "
                   "'none': always listen (default: the profile's [dialogue] wake_phrase)")
    p.add_argument("--no-mic", action="store_true", help="typed input only; the microphone is not opened")
    p.add_argument("--data-dir", type=Path, help="where alarms, lists... are kept (default $XDG_DATA_HOME/edge)")
    p.set_defaults(func=cmd_tui)
