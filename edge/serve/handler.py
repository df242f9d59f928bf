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

edge's own events (:mod:`edge.serve.protocol`): with a shared token, a client first sends ``auth``
{"token": ...}; before that only ``describe`` and ``ping`` are answered. A satellite names its room
(``satellite`` {"name"}, or the ``satellite`` field of ``run-pipeline``); alarms, timers and reminders it
set are then spoken to it when they come due (``announce`` followed by the speech, between turns).
A broken limit or protocol error gets one ``error`` event and the connection closes.
Audio in is collected by :mod:`~edge.serve.audio_in`, speech out sent by :mod:`~edge.serve.speech_out`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe
from wyoming.intent import Recognize
from wyoming.ping import Ping, Pong
from wyoming.pipeline import RunPipeline
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop
from wyoming.wake import Detect, Detection, NotDetected

from edge.serve import services
from edge.serve.audio_in import AudioTurn
from edge.serve.connection import BoundedConnection
from edge.serve.language import heard_context, wants_identification
from edge.serve.limits import ProtocolError
from edge.serve.protocol import AUTH_TYPE, SATELLITE_TYPE
from edge.serve.seat import Seat
from edge.serve.sessions import session_key
from edge.serve.speech_out import SpeechOut, speak
from edge.serve.stages import StageError

if TYPE_CHECKING:
    from edge.serve.server import EdgeServer

__all__ = ["AUTH_TYPE", "Connection"]

log = logging.getLogger("edge.serve")
_OPEN_BEFORE_AUTH = {"describe", "ping", AUTH_TYPE}


class Connection(BoundedConnection):
    """A Wyoming event handler bound to an :class:`EdgeServer`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: EdgeServer) -> None:
        super().__init__(reader, writer, server)
        self.authed = server.token is None
        self._turn: AudioTurn | None = None
        self.out = SpeechOut(server, self.send, self._text)
        self.seat = Seat(server.announcer, self.out, f"connection {self.id}")  # a satellite's room

    def _on_close(self) -> None:
        self.seat.close()

    def _read_timeout(self) -> float:
        idle = self.limits.idle_timeout_s
        if self._turn is None or self._turn.kind == "detect" or self.limits.turn_timeout_s <= 0:
            return idle  # wake word detection streams for as long as it takes (nothing is kept)
        left = self._turn.deadline_left(self.limits.turn_timeout_s)
        return min(idle, left) if idle > 0 else left

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
        elif kind == SATELLITE_TYPE:
            self.seat.join(event.data)
        elif Transcribe.is_type(kind):
            self._turn = AudioTurn("asr", dict(event.data))
        elif RunPipeline.is_type(kind):
            await self._run_pipeline(event)
        elif Detect.is_type(kind):
            names = Detect.from_event(event).names
            detector = await self.server.work(self.server.stages.wake_detector, names)
            self._turn = AudioTurn("detect", dict(event.data), detector=detector)
        elif AudioStart.is_type(kind):
            if self._turn is None:
                self._turn = AudioTurn("asr", {})  # audio without a request: transcribe it
            self._turn.start(event)
        elif AudioChunk.is_type(kind):
            await self._audio_chunk(event)
        elif AudioStop.is_type(kind):
            await self._audio_stop()
        elif SynthesizeStart.is_type(kind):
            self.out.stream_start(dict(event.data.get("voice") or {}))
        elif SynthesizeChunk.is_type(kind):
            await self.out.stream_chunk(SynthesizeChunk.from_event(event).text)
        elif SynthesizeStop.is_type(kind):
            await self.out.stream_stop()
        elif Synthesize.is_type(kind):
            if self.out.stream is None:  # in a streamed request, the full text repeats what was streamed
                request = Synthesize.from_event(event)
                voice = request.voice
                await self.out.say(self._text(request.text), voice.name if voice else None,
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
            await self.out.say(self._text(request.announce_text), None, event.data.get("language"))
            return
        if start != "asr" or end not in ("asr", "intent", "handle", "tts"):
            await self.send(Error(text=f"this server runs pipelines from asr (to asr, handle or tts), not "
                                       f"{start} to {end}", code="unsupported").event())
            return
        self.seat.join(event.data)
        self._turn = AudioTurn("pipeline", dict(event.data))

    async def _audio_chunk(self, event: Event) -> None:
        turn = self._turn
        if turn is None:
            raise ProtocolError("audio-chunk outside a request: send transcribe (or detect) and audio-start",
                                "bad_event")
        samples = turn.chunk(event, self.limits)
        if turn.kind == "detect" and not turn.detected and samples.size:
            await self._detect(turn, samples)

    async def _detect(self, turn: AudioTurn, samples: np.ndarray) -> None:
        from edge.audio.resample import resample

        x = resample(samples, turn.rate, 16000) if turn.rate != 16000 else samples
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
        async with self.out.speaking:
            await self._answer(turn)

    async def _answer(self, turn: AudioTurn) -> None:
        language = turn.data.get("language")
        wake = turn.data.get("wake_word_name")
        wake = wake if isinstance(wake, str) and wake else None
        result = await self.server.work(services.transcribe, self.server.stages, turn.audio(), turn.rate, language,
                                        self._room(turn.data), wake)
        log.info("connection %d: transcript %r (%s, %.0f ms)", self.id, result.text,
                 result.heard.describe() if result.heard else result.locale, result.asr_ms)
        await self.send(Transcript(text=result.text, language=result.locale,
                                   context=heard_context(turn.data.get("context"), result.heard)).event())
        end = turn.data.get("end_stage", "asr") if turn.kind == "pipeline" else "asr"
        if end == "asr":
            return
        text = result.text
        if wake:  # the satellite's wake phrase may open the utterance
            from edge.pipeline.listening import strip_wake_phrase

            text = strip_wake_phrase(text, wake)
        reply = await self._reply(text, result.locale, turn.data)
        if end == "tts":
            await speak(self.server, self.send, reply.text, turn.data.get("voice"), reply.locale)

    # --- understanding --------------------------------------------------------------------------------

    async def _handle_text(self, event: Event) -> None:
        text = self._text(event.data.get("text", ""))
        language = event.data.get("language")
        stages = self.server.stages
        if wants_identification(language, stages.auto):  # typed or recognised elsewhere: the room's language
            language = stages.identifier().locale_of(self._room(event.data))
        await self._reply(text, language, event.data)

    def _room(self, data: dict[str, Any]) -> str:
        """Whose dialogue and language a request continues: its conversation or satellite, else this connection."""
        return session_key(data, f"connection:{self.id}")

    async def _reply(self, text: str, language: str | None, data: dict[str, Any]) -> services.HandleResult:
        key = self._room(data)
        session = self.server.sessions.get(key)
        result: services.HandleResult = await self.server.work(services.handle, self.server.stages, text, language,
                                                               session)
        log.info("connection %d: %r -> %s %r", self.id, text, result.intent, result.text)
        if result.state:
            self.server.announcer.note(key, result.locale, result.state)
        context = dict(data.get("context") or {}) if isinstance(data.get("context"), dict) else {}
        context.update({"intent": result.intent, "confidence": round(result.confidence, 4), "skill": result.skill,
                        "expects_answer": result.expects_answer, "written": result.text,
                        "language": result.locale})
        if result.handled:
            await self.send(Handled(text=result.speech, context=context).event())
        else:
            await self.send(NotHandled(text=result.speech, context=context).event())
        return result
