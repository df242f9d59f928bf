"""Pieces several commands share: the profile, the audio input and the reply sink."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge.cli_errors import CliError

if TYPE_CHECKING:
    from edge.profiles import Profile

__all__ = ["open_input", "open_sink", "profile_or_exit", "speech_locale"]


def profile_or_exit(name: str | None) -> Profile:
    from edge.profiles import ProfileError, load_profile

    try:
        return load_profile(name)
    except ProfileError as exc:
        raise CliError(str(exc)) from None


def speech_locale(given: str | None, profile: Profile, command: str) -> str:
    """The locale of speech: ``--locale`` when given, else the profile's ``asr.locale`` (``auto`` only where the
    profile can identify languages; the reason it cannot is said once on stderr)."""
    if given:
        return given
    from edge.asr.auto import default_locale

    locale, why = default_locale(profile)
    if why:
        print(f"edge {command}: speech taken as {locale} (no language identification: {why}; "
              "--locale xx-XX names the language)", file=sys.stderr)
    return locale


def open_input(spec: str, raw_rate: int = 16000, raw_channels: int = 1) -> Iterator[np.ndarray]:
    """16 kHz mono chunks from a WAV/FLAC file, or from stdin ("-": a WAV stream, or raw s16le at ``raw_rate``)."""
    from edge.audio.errors import AudioFormatError
    from edge.audio.source import stream_audio, stream_raw_pcm

    try:
        if spec == "-":
            stdin = sys.stdin.buffer
            head = stdin.peek(4)[:4] if hasattr(stdin, "peek") else b""
            if head == b"RIFF":
                return stream_audio(stdin)
            return stream_raw_pcm(stdin, raw_rate, raw_channels)
        path = Path(spec)
        if path.is_dir():
            raise CliError(f"{spec} is a folder: give an audio file (WAV or FLAC)")
        if not path.exists():
            raise CliError(f"{spec}: no such file")
        return stream_audio(path)
    except AudioFormatError as exc:
        raise CliError(str(exc)) from None
    except PermissionError:
        raise CliError(f"{spec}: permission denied") from None
    except OSError as exc:
        raise CliError(f"{spec}: cannot read: {exc.strerror or exc}") from None


def open_sink(spec: str | None, device: str | int | None = None, fallback_to_null: bool = True) -> tuple[Any, str]:
    """The reply sink and a description (:func:`edge.assembly.open_sink`); a sink that cannot be opened is a
    :class:`CliError`, and no speaker (with ``fallback_to_null``) a note on stderr."""
    from edge.assembly import SinkError
    from edge.assembly import open_sink as open_reply_sink

    def note(text: str) -> None:
        print(f"edge: note: {text}", file=sys.stderr)

    try:
        return open_reply_sink(spec, device, fallback_to_null, note)
    except SinkError as exc:
        raise CliError(str(exc)) from None
