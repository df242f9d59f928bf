"""`edge satellite`: a room's microphone (or a WAV file) streamed to an `edge serve` server, replies played back.

The satellite finds utterances itself (Silero VAD, optionally after its own wake word) and sends each as
one Wyoming ``run-pipeline`` turn (asr -> tts): ``audio-start`` / ``audio-chunk``... / ``audio-stop``. The
server answers ``transcript``, ``handled`` (or ``not-handled``) and the reply's audio, which is played as
it arrives. The satellite names itself (``--name``) so that the server keeps its dialogue across
reconnections and speaks the alarms, timers and reminders set here when they come due (between turns;
:class:`~edge.serve.replies.AnnouncementReceiver`). One task reads the connection; a ``ping`` every
``keepalive_s`` keeps a quiet connection open. A lost or refused connection is retried with exponential
backoff (at once, while the room is quiet: :meth:`SatelliteClient.stay_connected`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.pipeline import PipelineStage, RunPipeline

from edge.errors import EdgeError
from edge.serve.audio import to_pcm16
from edge.serve.protocol import AUTH_TYPE, SATELLITE_TYPE
from edge.serve.replies import Announced, AnnouncementReceiver, TurnResult

__all__ = ["Announced", "SatelliteClient", "SatelliteError", "TurnResult"]

log = logging.getLogger("edge.satellite")
RATE = 16000
_CHUNK = RATE // 4  # samples per audio-chunk sent (0.25 s)
_RETRY_CODES = {"busy", "timeout", "session_timeout"}  # the server is fine: reconnect and try again


class SatelliteError(EdgeError):
    """The server refused or failed a turn; the message is the server's one line."""


class _Lost(Exception):
    """The connection broke (or the server closed it): reconnect and redo the turn."""


class SatelliteClient:
    """A satellite's connection to one server: ``await connect()``, then ``await turn(audio)`` per utterance.
    Announcements go to :attr:`announcements` (set its ``on_audio`` and ``on_announced``)."""

    def __init__(self, uri: str, name: str = "satellite", *, token: str | None = None, language: str | None = None,
                 connect_timeout_s: float = 5.0, read_timeout_s: float = 60.0, backoff_s: tuple[float, float] = (0.5,
                 30.0), attempts: int | None = None, progress: Callable[[str], None] | None = None,
                 keepalive_s: float = 20.0) -> None:
        self.uri = uri
        self.name = name
        self.token = token
        self.language = language
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.backoff_s = backoff_s
        self.attempts = attempts  # None: retry for ever
        self.progress = progress or (lambda msg: log.info("%s", msg))
        self.keepalive_s = keepalive_s  # the server drops a silent client after 60 s (its default)
        self.info: Info | None = None
        self.reconnects = 0
        self.announcements = AnnouncementReceiver()
        self._client: AsyncClient | None = None
        self._inbox: asyncio.Queue[Event | _Lost] = asyncio.Queue()
        self._lost = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._connecting = asyncio.Lock()
        self._opened = 0

    # --- the connection ---------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._client is not None and not self._lost.is_set()

    async def connect(self) -> bool:
        """Connect (retrying with backoff, jittered, up to ``attempts``), authenticate and read ``info``.
        False if it was connected already."""
        async with self._connecting:
            if self.connected:
                return False
            await self.close()
            delay, tries = self.backoff_s[0], 0
            while True:
                tries += 1
                try:
                    await self._open()
                    if tries > 1:
                        self.progress(f"connected to {self.uri}")
                    self.reconnects += self._opened  # a connection that was open before: a reconnection
                    self._opened = 1
                    return True
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
        client = AsyncClient.from_uri(self.uri, connect_timeout=self.connect_timeout_s)  # reads wait in _read
        await client.connect()
        self._client, self._inbox, self._lost = client, asyncio.Queue(), asyncio.Event()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._pump(client, self._inbox, self._lost)),
                       loop.create_task(self._keepalive(client))]
        if self.token:
            await client.write_event(Event(type=AUTH_TYPE, data={"token": self.token}))
        await client.write_event(Describe().event())
        while True:
            event = await self._read()
            if Info.is_type(event.type):
                self.info = Info.from_event(event)
                break
        if not self.info.asr or not self.info.handle:
            raise SatelliteError(f"{self.uri} offers no speech recognition or no conversation: not an edge server?")
        await client.write_event(Event(type=SATELLITE_TYPE, data={"name": self.name}))  # announcements find us

    async def close(self) -> None:
        client, self._client = self._client, None
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if client is not None:
            try:
                await client.disconnect()
            except (OSError, ConnectionError):
                pass

    async def stay_connected(self) -> None:
        """Reconnect whenever the connection is lost, while the room is quiet (so announcements still arrive);
        returns when reconnecting gives up (the next turn then reports it)."""
        while True:
            await self._lost.wait()
            try:
                if await self.connect():
                    self.progress(f"reconnected to {self.uri}")
            except SatelliteError as exc:
                self.progress(str(exc))
                return

    async def _pump(self, client: AsyncClient, inbox: asyncio.Queue[Event | _Lost], lost: asyncio.Event) -> None:
        """Read every event: announcements are played here, the rest goes to the turn waiting for it."""
        try:
            while True:
                event = await client.read_event()
                if event is None:
                    raise _Lost("the server closed the connection")
                if Pong.is_type(event.type) or self.announcements.take(event):
                    continue
                inbox.put_nowait(event)
        except (_Lost, OSError, ConnectionError, ValueError, asyncio.IncompleteReadError) as exc:
            lost.set()
            inbox.put_nowait(exc if isinstance(exc, _Lost) else _Lost(_reason(exc)))

    async def _keepalive(self, client: AsyncClient) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while self.keepalive_s > 0:
                await asyncio.sleep(self.keepalive_s)
                await client.write_event(Ping().event())

    async def _read(self) -> Event:
        try:
            async with asyncio.timeout(self.read_timeout_s):
                item = await self._inbox.get()
        except TimeoutError:
            raise _Lost("timed out") from None
        if isinstance(item, _Lost):
            raise item
        if Error.is_type(item.type):
            error = Error.from_event(item)
            if error.code in _RETRY_CODES:
                raise _Lost(error.text)
            raise SatelliteError(error.text)
        return item

    # --- a turn -----------------------------------------------------------------------------------------

    async def turn(self, audio: np.ndarray, on_audio: Callable[[np.ndarray, int], None] | None = None,
                   wake_word: str | None = None) -> TurnResult:
        """Send one utterance (16 kHz float32 mono); ``on_audio(samples, rate)`` gets the reply as it comes.
        A broken connection is re-opened (with backoff) and the turn sent again, once."""
        for attempt in (1, 2):
            if not self.connected:
                await self.connect()
            try:
                return await self._turn(audio, on_audio, wake_word)
            except _Lost as exc:
                await self.close()
                if attempt == 2:
                    raise SatelliteError(f"lost the server during a turn twice ({exc})") from None
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
        result = TurnResult()  # times from here: the end of speech
        while not result.take(await self._read(), on_audio):
            pass
        return result


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
