"""One client connection: reads bounded events, runs each request's work off the event loop, answers.

Requests (Wyoming events):

- ``describe`` -> ``info``; ``ping`` -> ``pong``;
- ``transcribe`` + ``audio-start`` / ``audio-chunk``... / ``audio-stop`` -> ``transcript`` (with ``language``);
- ``synthesize`` (or ``synthesize-start`` / ``-chunk``... / ``-stop``) -> ``audio-start`` / ``audio-chunk``... /
  ``audio-stop`` (``synthesize-stopped`` after a streamed request), one piece per sentence as it is ready;
- ``transcript`` or ``recognize`` -> ``handled`` (or ``not-handled``) with the reply as it will be spoken;
- ``detect`` + audio -> ``detection`` or ``not-detected`` (where a wake model is trained);
- ``run-pipeline`` (start ``asr``, end ``asr``/``handle``/``tts``) + audio: a satellite's whole turn ->
  ``transcript``, ``handled``, then the reply's audio.

With a shared token, a client first sends ``auth`` {"token": ...}; before that only ``describe`` and
``ping`` are answered. A broken limit or protocol error gets one ``error`` event and the connection closes.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe
from wyoming.intent import Recognize
from wyoming.ping import Ping, Pong
from wyoming.pipeline import RunPipeline
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped
from wyoming.wake import Detect, Detection, NotDetected

from edge.serve import services
from edge.serve.audio import AudioFormat, check_format, from_pcm, pcm_chunks
from edge.serve.limits import ProtocolError, read_event
from edge.serve.sessions import session_key
from edge.serve.stages import StageError

if TYPE_CHECKING:
    from edge.serve.server import EdgeServer

__all__ = ["AUTH_TYPE", "Connection"]

log = logging.getLogger("edge.serve")
AUTH_TYPE = "auth"
_OPEN_BEFORE_AUTH = {"describe", "ping", AUTH_TYPE}
_ids = itertools.count(1)


@dataclass
class _Turn:
    """Audio being received for one request."""

    kind: str  # "asr" | "pipeline" | "detect"
    data: dict[str, Any]  # the request's data (language, context, end_stage...)
    started: float = field(default_factory=time.monotonic)
    fmt: AudioFormat | None = None
    pieces: list[np.ndarray] = field(default_factory=list)
    bytes_in: int = 0
    detector: Any = None
    detected: bool = False


class Connection(AsyncEventHandler):
    """A Wyoming event handler bound to an :class:`EdgeServer`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: EdgeServer) -> None:
        super().__init__(reader, writer)
        self.server = server
        self.limits = server.limits
        self.id = next(_ids)
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "local"
        self.authed = server.token is None
        self._turn: _Turn | None = None
        self._synth_text: list[str] | None = None  # a streamed synthesize request in progress
        self._synth_voice: dict[str, Any] = {}
        self._closed = False

    # --- the read loop --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Read and answer events until the client leaves, breaks a limit, or the server stops."""
        if not self.server.admit(self):
            await self._refuse()
            return
        log.info("connection %d from %s", self.id, self.peer)
        reason = "closed by client"
        try:
            timeout = self.limits.session_timeout_s
            async with asyncio.timeout(timeout if timeout > 0 else None):
                while not self._closed:
                    event = await read_event(self.reader, self.limits, self._read_timeout())
                    if event is None:
                        break
                    if not await self.handle_event(event):
                        break
        except ProtocolError as exc:
            reason = f"{exc.code}: {exc.text}"
            await self._send_error(exc.text, exc.code)
            await self._linger()
        except TimeoutError:
            reason = "session time limit"
            await self._send_error(f"connection open longer than {self.limits.session_timeout_s:g} s; reconnect",
                                   "session_timeout")
            await self._linger()
        except (ConnectionError, OSError) as exc:
            reason = f"connection lost ({type(exc).__name__})"
        except Exception as exc:  # a bug or an engine failure: this client gets one line, the others go on
            log.exception("connection %d: internal error", self.id)
            reason = f"internal error ({type(exc).__name__})"
            await self._send_error(f"internal server error ({type(exc).__name__}); see the server's log",
                                   "internal")
        finally:
            self._closed = True
            self.server.release(self)
            self.writer.close()
            log.info("connection %d closed: %s", self.id, reason)

    def _read_timeout(self) -> float:
        idle = self.limits.idle_timeout_s
        if self._turn is None or self._turn.kind == "detect" or self.limits.turn_timeout_s <= 0:
            return idle  # wake word detection streams for as long as it takes (nothing is kept)
        left = self._turn.started + self.limits.turn_timeout_s - time.monotonic()
        if left <= 0:
            raise ProtocolError(f"audio turn longer than {self.limits.turn_timeout_s:g} s", "timeout")
        return min(idle, left) if idle > 0 else left

    async def _refuse(self) -> None:
        n = self.limits.max_sessions
        log.warning("refused %s: %d sessions already", self.peer, n)
        await self._send_error(f"server busy: {n} clients connected already; try again shortly", "busy")
        self.writer.close()

    async def send(self, event: Event) -> None:
        timeout = self.limits.write_timeout_s
        try:
            async with asyncio.timeout(timeout if timeout > 0 else None):
                await async_write_event(event, self.writer)
        except TimeoutError:
            self._closed = True
            raise ConnectionError("client stopped reading") from None

    async def _send_error(self, text: str, code: str) -> None:
        try:
            async with asyncio.timeout(1.0):
                await async_write_event(Error(text=text, code=code).event(), self.writer)
        except (TimeoutError, ConnectionError, OSError):
            pass

    async def _linger(self, seconds: float = 0.25, most: int = 1 << 20) -> None:
        """Half-close and discard what the client is still sending, briefly: closing with unread data would
        reset the connection, and the client would lose the error event sent just before."""
        try:
            if self.writer.can_write_eof():
                self.writer.write_eof()
            async with asyncio.timeout(seconds):
                while most > 0:
                    data = await self.reader.read(min(most, 65536))
                    if not data:
                        break
                    most -= len(data)
        except (TimeoutError, ConnectionError, OSError, ValueError):
            pass

    async def disconnect(self) -> None:
        self._closed = True

    # --- dispatch -------------------------------------------------------------------------------------

    async def handle_event(self, event: Event) -> bool:
        kind = event.type
        if not self.authed and kind not in _OPEN_BEFORE_AUTH:
            raise ProtocolError("this server needs the shared token: send an auth event first "
                                "(edge satellite --token)", "unauthorized")
        try:
            return await self._dispatch(event)
        except StageError as exc:
            self._turn = None
            await self.send(Error(text=str(exc), code="unavailable").event())
            return True
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"malformed {kind} event ({type(exc).__name__}: {exc})", "bad_event") from None

    async def _dispatch(self, event: Event) -> bool:
        kind = event.type
        if Describe.is_type(kind):
            await self.send(self.server.info_event)
        elif Ping.is_type(kind):
            await self.send(Pong(text=Ping.from_event(event).text).event())
        elif kind == AUTH_TYPE:
            await self._auth(event)
        elif Transcribe.is_type(kind):
            self._turn = _Turn("asr", dict(event.data))
        elif RunPipeline.is_type(kind):
            await self._run_pipeline(event)
        elif Detect.is_type(kind):
            names = Detect.from_event(event).names
            detector = await self.server.work(self.server.stages.wake_detector, names)
            self._turn = _Turn("detect", dict(event.data), detector=detector)
        elif AudioStart.is_type(kind):
            self._audio_start(event)
        elif AudioChunk.is_type(kind):
            await self._audio_chunk(event)
        elif AudioStop.is_type(kind):
            await self._audio_stop()
        elif SynthesizeStart.is_type(kind):
            self._synth_text = []
            self._synth_voice = dict(event.data.get("voice") or {})
        elif SynthesizeChunk.is_type(kind):
            await self._synth_chunk(SynthesizeChunk.from_event(event).text)
        elif SynthesizeStop.is_type(kind):
            await self._synth_stop()
        elif Synthesize.is_type(kind):
            if self._synth_text is None:  # in a streamed request, the full text repeats what was streamed
                request = Synthesize.from_event(event)
                voice = request.voice
                await self._speak(self._text(request.text), voice.name if voice else None,
                                  voice.language if voice else None)
        elif Transcript.is_type(kind) or Recognize.is_type(kind):
            await self._handle_text(event)
        else:
            log.debug("connection %d: ignored %s", self.id, kind)
        return True

    async def _auth(self, event: Event) -> None:
        token = event.data.get("token")
        expected = self.server.token
        if expected is None:
            return
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(), expected.encode()):
            await asyncio.sleep(0.2)  # a wrong guess costs time
            raise ProtocolError("wrong token: pass the server's --token to the client", "unauthorized")
        self.authed = True

    def _text(self, text: Any) -> str:
        if not isinstance(text, str):
            raise ProtocolError("text must be a string", "bad_event")
        if len(text) > self.limits.max_text_chars:
            raise ProtocolError(f"text longer than {self.limits.max_text_chars} characters", "too_large")
        return text

    # --- audio in -------------------------------------------------------------------------------------

    async def _run_pipeline(self, event: Event) -> None:
        request = RunPipeline.from_event(event)
        start, end = request.start_stage.value, request.end_stage.value
        if start == "tts" and request.announce_text:
            await self._speak(self._text(request.announce_text), None, event.data.get("language"))
            return
        if start != "asr" or end not in ("asr", "intent", "handle", "tts"):
            await self.send(Error(text=f"this server runs pipelines from asr (to asr, handle or tts), not "
                                       f"{start} to {end}", code="unsupported").event())
            return
        self._turn = _Turn("pipeline", dict(event.data))

    def _audio_start(self, event: Event) -> None:
        if self._turn is None:
            self._turn = _Turn("asr", {})  # audio without a request: transcribe it
        self._turn.fmt = check_format(event.data)
        self._turn.started = time.monotonic()

    async def _audio_chunk(self, event: Event) -> None:
        turn = self._turn
        if turn is None:
            raise ProtocolError("audio-chunk outside a request: send transcribe (or detect) and audio-start",
                                "bad_event")
        fmt = check_format(event.data)
        if turn.fmt is None:
            turn.fmt = fmt
        elif fmt != turn.fmt:
            raise ProtocolError("audio-chunk format differs from its audio-start", "bad_audio")
        payload = event.payload or b""
        turn.bytes_in += len(payload)
        if turn.kind != "detect" and turn.bytes_in > self.limits.max_audio_s * fmt.bytes_per_second:
            raise ProtocolError(f"audio longer than {self.limits.max_audio_s:g} s in one request", "too_large")
        samples = from_pcm(payload, fmt)
        if turn.kind == "detect":
            if not turn.detected and samples.size:
                await self._detect(turn, samples)
        else:
            turn.pieces.append(samples)

    async def _detect(self, turn: _Turn, samples: np.ndarray) -> None:
        from edge.audio.resample import resample

        assert turn.fmt is not None
        x = resample(samples, turn.fmt.rate, 16000) if turn.fmt.rate != 16000 else samples
        hit = await self.server.work(turn.detector.process, x)
        if hit is not None:
            turn.detected = True
            await self.send(Detection(name=hit.phrase, timestamp=int(hit.time * 1000),
                                      context=turn.data.get("context")).event())

    async def _audio_stop(self) -> None:
        turn, self._turn = self._turn, None
        if turn is None:
            return
        if turn.kind == "detect":
            if not turn.detected:
                await self.send(NotDetected(context=turn.data.get("context")).event())
            return
        rate = turn.fmt.rate if turn.fmt else 16000
        audio = np.concatenate(turn.pieces) if turn.pieces else np.zeros(0, dtype=np.float32)
        language = turn.data.get("language")
        result = await self.server.work(services.transcribe, self.server.stages, audio, rate, language)
        log.info("connection %d: transcript %r (%s, %.0f ms)", self.id, result.text, result.locale, result.asr_ms)
        await self.send(Transcript(text=result.text, language=result.locale,
                                   context=turn.data.get("context")).event())
        end = turn.data.get("end_stage", "asr") if turn.kind == "pipeline" else "asr"
        if end == "asr":
            return
        text = result.text
        wake = turn.data.get("wake_word_name")
        if isinstance(wake, str) and wake:  # the satellite's wake phrase may open the utterance
            from edge.pipeline.listening import strip_wake_phrase

            text = strip_wake_phrase(text, wake)
        reply = await self._reply(text, result.locale, turn.data)
        if end == "tts":
            await self._speak(reply.text, turn.data.get("voice"), reply.locale)  # the TTS writes it out itself

    # --- understanding --------------------------------------------------------------------------------

    async def _handle_text(self, event: Event) -> None:
        text = self._text(event.data.get("text", ""))
        await self._reply(text, event.data.get("language"), event.data)

    async def _reply(self, text: str, language: str | None, data: dict[str, Any]) -> services.HandleResult:
        key = session_key(data, f"connection:{self.id}")
        session = self.server.sessions.get(key)
        result = await self.server.work(services.handle, self.server.stages, text, language, session)
        log.info("connection %d: %r -> %s %r", self.id, text, result.intent, result.text)
        context = dict(data.get("context") or {}) if isinstance(data.get("context"), dict) else {}
        context.update({"intent": result.intent, "confidence": round(result.confidence, 4), "skill": result.skill,
                        "expects_answer": result.expects_answer, "written": result.text,
                        "language": result.locale})
        if result.handled:
            await self.send(Handled(text=result.speech, context=context).event())
        else:
            await self.send(NotHandled(text=result.speech, context=context).event())
        return result

    # --- audio out ------------------------------------------------------------------------------------

    async def _synth_chunk(self, text: str) -> None:
        if self._synth_text is None:
            raise ProtocolError("synthesize-chunk without synthesize-start", "bad_event")
        self._synth_text.append(text)
        self._text("".join(self._synth_text))  # the length limit
        # speak every whole sentence received so far; keep the unfinished one
        whole = "".join(self._synth_text)
        cut = max(whole.rfind(mark) for mark in (". ", "! ", "? ", "。", "！", "？", "\n"))
        if cut > 0:
            self._synth_text = [whole[cut + 1:]]
            await self._speak(whole[: cut + 1], self._synth_voice.get("name"), self._synth_voice.get("language"))

    async def _synth_stop(self) -> None:
        rest = "".join(self._synth_text or []).strip()
        voice = self._synth_voice
        self._synth_text, self._synth_voice = None, {}
        if rest:
            await self._speak(rest, voice.get("name"), voice.get("language"))
        await self.send(SynthesizeStopped().event())

    async def _speak(self, text: str, voice: Any, language: str | None) -> None:
        """Synthesise in a worker thread, sending each sentence's audio as soon as it is ready."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[np.ndarray, int] | None] = asyncio.Queue()
        stop = threading.Event()

        def on_chunk(samples: np.ndarray, rate: int) -> bool:
            loop.call_soon_threadsafe(queue.put_nowait, (samples, rate))
            return not stop.is_set()

        def job() -> tuple[str, str]:
            try:
                return services.synthesize(self.server.stages, text, voice if isinstance(voice, str) else None,
                                           language, on_chunk)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        future = self.server.submit(job)
        rate = 22050
        started = False
        try:
            while True:
                async with asyncio.timeout(self.limits.work_timeout_s):
                    item = await queue.get()
                if item is None:
                    break
                samples, rate = item
                if not started:
                    await self.send(AudioStart(rate=rate, width=2, channels=1).event())
                    started = True
                for piece in pcm_chunks(samples, rate):
                    await self.send(AudioChunk(rate=rate, width=2, channels=1, audio=piece).event())
            await future  # raises the job's StageError
        except TimeoutError:
            raise StageError(f"speech synthesis took longer than {self.limits.work_timeout_s:g} s") from None
        finally:
            stop.set()
        if not started:
            await self.send(AudioStart(rate=rate, width=2, channels=1).event())
        await self.send(AudioStop().event())
