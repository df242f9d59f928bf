"""`edge satellite`: a room's microphone (or a WAV file) streamed to an `edge serve` server, replies played back.

The satellite finds utterances itself (Silero VAD, optionally after its own wake word) and sends each as
one Wyoming ``run-pipeline`` turn (asr -> tts): ``audio-start`` / ``audio-chunk``... / ``audio-stop``. The
server answers ``transcript``, ``handled`` (or ``not-handled``) and the reply's audio, which is played as
it arrives. The satellite names itself (``--name``) so that the server keeps its dialogue across
reconnections. A lost or refused connection is retried with exponential backoff.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.pipeline import PipelineStage, RunPipeline

from edge.errors import EdgeError
from edge.serve.audio import from_pcm, to_pcm16
from edge.serve.handler import AUTH_TYPE

__all__ = ["SatelliteClient", "SatelliteError", "TurnResult"]

log = logging.getLogger("edge.satellite")
RATE = 16000
_CHUNK = RATE // 4  # samples per audio-chunk sent (0.25 s)
_RETRY_CODES = {"busy", "timeout", "session_timeout"}  # the server is fine: reconnect and try again


class SatelliteError(EdgeError):
    """The server refused or failed a turn; the message is the server's one line."""


class _Lost(Exception):
    """The connection broke (or the server closed it): reconnect and redo the turn."""


@dataclass
class TurnResult:
    """What a turn brought back, and when (ms after ``audio-stop`` was sent: the end of speech)."""

    transcript: str = ""
    language: str | None = None
    reply: str | None = None
    handled: bool | None = None
    context: dict[str, Any] = field(default_factory=dict)
    rate: int = 22050
    audio_s: float = 0.0
    transcript_ms: float | None = None
    reply_ms: float | None = None
    first_audio_ms: float | None = None
    total_ms: float = 0.0

    @property
    def expects_answer(self) -> bool:
        return bool(self.context.get("expects_answer"))


class SatelliteClient:
    """A satellite's connection to one server: ``await connect()``, then ``await turn(audio)`` per utterance."""

    def __init__(self, uri: str, name: str = "satellite", *, token: str | None = None, language: str | None = None,
                 connect_timeout_s: float = 5.0, read_timeout_s: float = 60.0, backoff_s: tuple[float, float] = (0.5,
                 30.0), attempts: int | None = None, progress: Callable[[str], None] | None = None) -> None:
        self.uri = uri
        self.name = name
        self.token = token
        self.language = language
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.backoff_s = backoff_s
        self.attempts = attempts  # None: retry for ever
        self.progress = progress or (lambda msg: log.info("%s", msg))
        self.info: Info | None = None
        self.reconnects = 0
        self.idle_reconnect_s = 45.0  # the server drops a silent client after 60 s (its default): reconnect first
        self._client: AsyncClient | None = None
        self._used = 0.0

    # --- the connection ---------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect (retrying with backoff, jittered, up to ``attempts``), authenticate and read ``info``."""
        delay, tries = self.backoff_s[0], 0
        while True:
            tries += 1
            try:
                await self._open()
                if tries > 1:
                    self.progress(f"connected to {self.uri}")
                return
            except (OSError, TimeoutError, _Lost, ValueError) as exc:
                await self.close()
                reason = _reason(exc)
            except SatelliteError as exc:
                await self.close()
                if "token" in str(exc):
                    raise  # retrying cannot fix a wrong token
                reason = str(exc)
            if self.attempts is not None and tries >= self.attempts:
                raise SatelliteError(f"cannot reach {self.uri} ({reason}) after {tries} tries: is `edge serve` "
                                     f"running there?")
            wait = delay * random.uniform(0.8, 1.2)
            self.progress(f"server {self.uri} not reachable ({reason}); retrying in {wait:.1f} s")
            await asyncio.sleep(wait)
            delay = min(delay * 2, self.backoff_s[1])

    async def _open(self) -> None:
        client = AsyncClient.from_uri(self.uri, connect_timeout=self.connect_timeout_s,
                                      read_timeout=self.read_timeout_s)
        await client.connect()
        self._client = client
        if self.token:
            await client.write_event(Event(type=AUTH_TYPE, data={"token": self.token}))
        await client.write_event(Describe().event())
        while True:
            event = await self._read()
            if Info.is_type(event.type):
                self.info = Info.from_event(event)
                self._used = time.monotonic()
                break
        if not self.info.asr or not self.info.handle:
            raise SatelliteError(f"{self.uri} offers no speech recognition or no conversation: not an edge server?")

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.disconnect()
            except (OSError, ConnectionError):
                pass

    async def _read(self) -> Event:
        assert self._client is not None
        try:
            event = await self._client.read_event()
        except (TimeoutError, OSError, ConnectionError) as exc:
            raise _Lost(_reason(exc)) from None
        if event is None:
            raise _Lost("the server closed the connection")
        if Error.is_type(event.type):
            error = Error.from_event(event)
            if error.code in _RETRY_CODES:
                raise _Lost(error.text)
            raise SatelliteError(error.text)
        return event

    # --- a turn -----------------------------------------------------------------------------------------

    async def turn(self, audio: np.ndarray, on_audio: Callable[[np.ndarray, int], None] | None = None,
                   wake_word: str | None = None) -> TurnResult:
        """Send one utterance (16 kHz float32 mono); ``on_audio(samples, rate)`` gets the reply as it comes.
        A broken connection is re-opened (with backoff) and the turn sent again, once."""
        if self._client is not None and time.monotonic() - self._used > self.idle_reconnect_s:
            await self.close()  # quiet for a while: the server has closed it, or is about to
        for attempt in (1, 2):
            if self._client is None:
                await self.connect()
            try:
                result = await self._turn(audio, on_audio, wake_word)
                self._used = time.monotonic()
                return result
            except _Lost as exc:
                await self.close()
                if attempt == 2:
                    raise SatelliteError(f"lost the server during a turn twice ({exc})") from None
                self.reconnects += 1
                self.progress(f"connection to {self.uri} lost ({exc}); reconnecting")
        raise AssertionError("unreachable")

    async def _turn(self, audio: np.ndarray, on_audio: Callable[[np.ndarray, int], None] | None,
                    wake_word: str | None) -> TurnResult:
        client = self._client
        assert client is not None
        request = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS, wake_word_name=wake_word)
        event = request.event()
        event.data["satellite"] = self.name
        if self.language:
            event.data["language"] = self.language
        pcm = to_pcm16(audio)
        try:
            await client.write_event(event)
            await client.write_event(AudioStart(rate=RATE, width=2, channels=1).event())
            step = _CHUNK * 2
            for i in range(0, len(pcm), step):
                await client.write_event(AudioChunk(rate=RATE, width=2, channels=1, audio=pcm[i : i + step]).event())
            await client.write_event(AudioStop().event())
        except (OSError, ConnectionError) as exc:
            raise _Lost(_reason(exc)) from None
        t0 = time.perf_counter()
        result = TurnResult()

        def ms() -> float:
            return (time.perf_counter() - t0) * 1000

        samples_out = 0
        while True:
            event = await self._read()
            if Transcript.is_type(event.type):
                t = Transcript.from_event(event)
                result.transcript, result.language, result.transcript_ms = t.text, t.language, ms()
            elif Handled.is_type(event.type) or NotHandled.is_type(event.type):
                result.handled = Handled.is_type(event.type)
                result.reply = event.data.get("text")
                result.context = dict(event.data.get("context") or {})
                result.reply_ms = ms()
            elif AudioStart.is_type(event.type):
                result.rate = int(event.data.get("rate", result.rate))
            elif AudioChunk.is_type(event.type):
                chunk = AudioChunk.from_event(event)
                if result.first_audio_ms is None:
                    result.first_audio_ms = ms()
                samples = from_pcm(chunk.audio, _format(chunk))
                samples_out += samples.size
                if on_audio is not None and samples.size:
                    on_audio(samples, chunk.rate)
            elif AudioStop.is_type(event.type) and result.transcript_ms is not None:
                break
        result.audio_s = samples_out / result.rate if result.rate else 0.0
        result.total_ms = ms()
        return result


def _format(chunk: AudioChunk) -> Any:
    from edge.serve.audio import AudioFormat

    return AudioFormat(chunk.rate, chunk.width, chunk.channels)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
