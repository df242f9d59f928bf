"""Audio out on one connection: text synthesised in a worker thread, each sentence sent as soon as it is ready
(``audio-start`` / ``audio-chunk``... / ``audio-stop``), and Wyoming's streamed ``synthesize-chunk`` text."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.tts import SynthesizeStopped

from edge.serve import services
from edge.serve.audio import pcm_chunks
from edge.serve.limits import ProtocolError
from edge.serve.protocol import ANNOUNCE_TYPE
from edge.serve.stages import StageError

if TYPE_CHECKING:
    from edge.serve.server import EdgeServer

__all__ = ["SpeechOut", "SynthStream", "speak"]

_SENTENCE_ENDS = (". ", "! ", "? ", "。", "！", "？", "\n")


async def speak(server: EdgeServer, send: Callable[[Event], Awaitable[None]], text: str, voice: Any,
                language: str | None) -> None:
    """Synthesise ``text`` in a worker thread, sending each sentence's audio as soon as it is ready."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[np.ndarray, int] | None] = asyncio.Queue()
    stop = threading.Event()
    timeout = server.limits.work_timeout_s

    def on_chunk(samples: np.ndarray, rate: int) -> bool:
        loop.call_soon_threadsafe(queue.put_nowait, (samples, rate))
        return not stop.is_set()

    def job() -> tuple[str, str]:
        try:
            return services.synthesize(server.stages, text, voice if isinstance(voice, str) else None, language,
                                       on_chunk)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    future = server.submit(job)
    rate = 22050
    started = False
    try:
        while True:
            async with asyncio.timeout(timeout):
                item = await queue.get()
            if item is None:
                break
            samples, rate = item
            if not started:
                await send(AudioStart(rate=rate, width=2, channels=1).event())
                started = True
            for piece in pcm_chunks(samples, rate):
                await send(AudioChunk(rate=rate, width=2, channels=1, audio=piece).event())
        await future  # raises the job's StageError
    except TimeoutError:
        raise StageError(f"speech synthesis took longer than {timeout:g} s") from None
    finally:
        stop.set()
    if not started:
        await send(AudioStart(rate=rate, width=2, channels=1).event())
    await send(AudioStop().event())


class SynthStream:
    """A streamed synthesize request (``synthesize-start`` / ``-chunk``... / ``-stop``): every whole sentence
    received so far is spoken at once; the unfinished one waits for more text."""

    def __init__(self, voice: dict[str, Any], check: Callable[[Any], str]) -> None:
        self.voice = voice
        self._check = check  # the connection's text limit
        self._text: list[str] = []

    def add(self, text: str) -> str | None:
        """Take a chunk of text; returns the whole sentences now ready to speak (None for none yet)."""
        self._text.append(text)
        whole = self._check("".join(self._text))  # the length limit
        cut = max(whole.rfind(mark) for mark in _SENTENCE_ENDS)
        if cut <= 0:
            return None
        self._text = [whole[cut + 1:]]
        return whole[: cut + 1]

    def rest(self) -> str:
        return "".join(self._text).strip()


class SpeechOut:
    """What one connection speaks: replies, streamed synthesize requests and announcements, one at a time
    (:attr:`speaking`: a reply's events and an announcement's never interleave)."""

    def __init__(self, server: EdgeServer, send: Callable[[Event], Awaitable[None]],
                 check: Callable[[Any], str]) -> None:
        self.server = server
        self.send = send
        self.check = check  # the connection's text limit
        self.speaking = asyncio.Lock()
        self.stream: SynthStream | None = None  # a streamed synthesize request in progress

    async def say(self, text: str, voice: Any, language: str | None) -> None:
        async with self.speaking:
            await speak(self.server, self.send, text, voice, language)

    async def announce(self, text: str, locale: str) -> None:
        """An alarm, timer or reminder that came due: ``announce``, then its speech (after any reply in progress)."""
        async with self.speaking:
            await self.send(Event(type=ANNOUNCE_TYPE, data={"text": text, "language": locale}))
            await speak(self.server, self.send, text, None, locale)

    def stream_start(self, voice: dict[str, Any]) -> None:
        self.stream = SynthStream(voice, self.check)

    async def stream_chunk(self, text: str) -> None:
        if self.stream is None:
            raise ProtocolError("synthesize-chunk without synthesize-start", "bad_event")
        ready = self.stream.add(text)
        if ready:
            await self.say(ready, self.stream.voice.get("name"), self.stream.voice.get("language"))

    async def stream_stop(self) -> None:
        stream, self.stream = self.stream, None
        rest = stream.rest() if stream else ""
        voice = stream.voice if stream else {}
        if rest:
            await self.say(rest, voice.get("name"), voice.get("language"))
        await self.send(SynthesizeStopped().event())

