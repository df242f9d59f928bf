"""Bounds on what one client may send, and a Wyoming event reader that enforces them.

The wyoming package's own reader trusts the header: a ``payload_length`` of 2 GB would be read in full.
:func:`read_event` checks every length against :class:`Limits` before reading a byte of the body, and
reads one whole event (header, data, payload) within ``idle_timeout_s``, so a client sending one byte a
minute is dropped.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from wyoming.event import Event

__all__ = ["Limits", "ProtocolError", "read_event"]


@dataclass(frozen=True)
class Limits:
    """What a connection may do. Times in seconds; 0 turns a timeout off."""

    max_header_bytes: int = 8 * 1024  # the JSON line of one event
    max_data_bytes: int = 64 * 1024  # the JSON data block that may follow it
    max_payload_bytes: int = 512 * 1024  # one binary payload (an audio chunk)
    max_audio_s: float = 30.0  # audio in one turn (audio-start ... audio-stop)
    max_text_chars: int = 2000  # text to synthesise or to handle
    idle_timeout_s: float = 60.0  # longest wait for the next whole event
    turn_timeout_s: float = 60.0  # audio-start to audio-stop
    session_timeout_s: float = 3600.0  # a connection's whole life (satellites reconnect)
    write_timeout_s: float = 30.0  # a client that stops reading our audio
    max_sessions: int = 8  # connections served at once; more are refused
    work_timeout_s: float = 60.0  # one ASR, handling or synthesis job

    def __post_init__(self) -> None:
        for name in ("max_header_bytes", "max_data_bytes", "max_payload_bytes", "max_sessions", "max_text_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


class ProtocolError(Exception):
    """The client broke the protocol or a limit; ``code`` goes into the error event sent before closing."""

    def __init__(self, text: str, code: str = "protocol") -> None:
        super().__init__(text)
        self.text = text
        self.code = code


def _length(header: dict, key: str, limit: int) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError(f"{key} must be a non-negative integer", "bad_header")
    if value > limit:
        raise ProtocolError(f"{key} {value} is over the limit of {limit} bytes", "too_large")
    return value


async def _read_event(reader: asyncio.StreamReader, limits: Limits) -> Event | None:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise ProtocolError("connection closed in the middle of an event", "truncated") from None
        return None  # a clean end of the connection
    except asyncio.LimitOverrunError:
        raise ProtocolError(f"event header longer than {limits.max_header_bytes} bytes", "too_large") from None
    if len(line) > limits.max_header_bytes:
        raise ProtocolError(f"event header longer than {limits.max_header_bytes} bytes", "too_large")
    try:
        header = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("event header is not a JSON line", "bad_header") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str) or not header["type"]:
        raise ProtocolError("event header must be a JSON object with a \"type\"", "bad_header")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise ProtocolError("event data must be a JSON object", "bad_header")
    data_length = _length(header, "data_length", limits.max_data_bytes)
    payload_length = _length(header, "payload_length", limits.max_payload_bytes)
    try:
        if data_length:
            extra = json.loads(await reader.readexactly(data_length))
            if not isinstance(extra, dict):
                raise ProtocolError("event data must be a JSON object", "bad_header")
            data.update(extra)
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        raise ProtocolError("connection closed in the middle of an event", "truncated") from None
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("event data is not JSON", "bad_header") from None
    return Event(type=header["type"], data=data, payload=payload)


async def read_event(reader: asyncio.StreamReader, limits: Limits, timeout_s: float | None = None) -> Event | None:
    """The next whole event, None at a clean end of the connection; raises :class:`ProtocolError`.

    ``timeout_s`` (default ``limits.idle_timeout_s``) bounds the whole event, not each byte of it.
    """
    timeout = limits.idle_timeout_s if timeout_s is None else timeout_s
    try:
        async with asyncio.timeout(timeout if timeout > 0 else None):
            return await _read_event(reader, limits)
    except TimeoutError:
        raise ProtocolError(f"no complete event within {timeout:g} s", "timeout") from None
