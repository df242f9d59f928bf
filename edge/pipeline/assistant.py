"""The voice pipeline: audio in -> endpointing -> ASR -> NLU -> router -> streamed TTS -> audio out.

Every step is reported on the :class:`EventBus`. :meth:`Pipeline.run` reads any iterable of 16 kHz mono
chunks (a file, stdin, the microphone) and handles each utterance as it ends.

Latency. The end of speech is the endpointer's ``voice_end``: the start of the first silent VAD window,
the same point a VAD with hindsight would mark. With ``live=True`` (microphone, or a file paced in real
time) each chunk's arrival time is recorded, and the turn's ``latency_ms`` is measured: from the arrival
of the chunk holding the end of speech to the first reply sample handed to the sink. Only then does the
ASR start during the silence wait (``speculate_ms``). With ``live=False`` (a file read as fast as
possible) the same figure is estimated as the silence wait (audio time) plus each stage's time.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge.audio.endpoint import Endpointer, SpeechEnd, SpeechStart
from edge.audio.sink import AudioSink
from edge.nlu.runtime import NluModel, Parse
from edge.pipeline.events import EventBus
from edge.pipeline.recognizer import UtteranceRecognizer
from edge.pipeline.replies import BasicRouter, Reply, Router

__all__ = ["Pipeline", "Turn"]

RATE = 16000


@dataclass
class Turn:
    """What one utterance produced."""

    index: int
    start_s: float
    end_s: float
    transcript: str
    parse: Parse | None
    reply: Reply | None
    latency: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        p = self.parse
        return {
            "turn": self.index,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "transcript": self.transcript,
            "intent": p.intent if p else None,
            "confidence": round(p.confidence, 4) if p else None,
            "slots": [{"type": s.type, "value": s.value} for s in p.slots] if p else [],
            "reply": self.reply.text if self.reply else None,
            "skill": self.reply.skill if self.reply else None,
            "latency_ms": {k: round(v, 1) for k, v in self.latency.items()},
        }


class _Arrivals:
    """When each stretch of samples arrived (live input), for the last minute or so."""

    def __init__(self) -> None:
        self._marks: deque[tuple[int, float]] = deque()  # (sample position after the chunk, arrival time)

    def add(self, end_pos: int, t: float) -> None:
        self._marks.append((end_pos, t))
        while len(self._marks) > 4000:
            self._marks.popleft()

    def time_of(self, sample: int) -> float | None:
        for end_pos, t in self._marks:
            if end_pos >= sample:
                return t
        return None


@dataclass
class _Prepared:
    """What a speculation computed past the transcript: the parse, the previewed reply, its first audio."""

    text: str
    parse: Parse
    nlu_ms: float
    nlu_done: float  # time.monotonic()
    reply: Reply | None = None
    first_chunk: Any = None
    rest: Iterator[Any] | None = None
    tts_first_ms: float = 0.0
    tts_done: float = 0.0


def _clean(chunk: np.ndarray) -> np.ndarray:
    x = np.asarray(chunk, dtype=np.float32).reshape(-1)
    if not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(x, -1.0, 1.0)


def _chain(first: Any, rest: Iterator[Any] | None) -> Iterator[Any]:
    yield first
    if rest is not None:
        yield from rest


class Pipeline:
    """The assembled assistant for one locale. Build it with :meth:`from_profile` or from parts (tests)."""

    def __init__(
        self,
        *,
        endpointer: Endpointer,
        asr: Any,
        nlu: NluModel,
        tts: Any | None,
        sink: AudioSink | None,
        locale: str = "en-US",
        router: Router | None = None,
        bus: EventBus | None = None,
        speculate_ms: int = 100,
        partial_interval_ms: int = 0,
        half_duplex: bool = True,
        announcements: list[str] | None = None,
    ) -> None:
        self.endpointer = endpointer
        self.asr = asr
        self.nlu = nlu
        self.tts = tts
        self.sink = sink
        self.locale = locale
        self.router: Router = router or BasicRouter()
        self.bus = bus or EventBus()
        self.speculate_ms = speculate_ms
        self.half_duplex = half_duplex
        self.recognizer = UtteranceRecognizer(asr, self._partial, partial_interval_ms)
        self.turns: list[Turn] = []
        # Things to say unprompted (an alarm, "while I was off..."): appended from any thread, spoken
        # by the loop between utterances.
        self.announcements: list[str] = announcements if announcements is not None else []
        if tts is not None:
            phrases = getattr(self.router, "common_phrases", None)
            tts.warm(phrases(locale) if phrases is not None else [])

    @classmethod
    def from_profile(
        cls,
        profile: Any,
        locale: str = "en-US",
        *,
        sink: AudioSink | None = None,
        bus: EventBus | None = None,
        router: Router | None = None,
        speak: bool = True,
        voice: str | None = None,
        data_dir: Any = None,
    ) -> Pipeline:
        """Load every stage the profile names for ``locale`` (raises PipelineError naming what is missing).

        Without ``router``, the skill router (edge.skills) answers, its data under ``data_dir``.
        """
        from edge.pipeline.loader import load_asr, load_endpointer, load_nlu, load_router, load_tts

        announcements: list[str] = []
        if router is None:
            router = load_router(sink, data_dir, announcements.append)  # type: ignore[assignment]
        tts = load_tts(profile, locale, voice) if speak else None
        return cls(
            endpointer=load_endpointer(profile), asr=load_asr(profile, locale), nlu=load_nlu(profile), tts=tts,
            sink=sink, locale=locale, router=router, bus=bus, speculate_ms=profile.asr.speculate_ms,
            partial_interval_ms=profile.asr.partial_interval_ms, announcements=announcements,
        )

    # --- the loop -----------------------------------------------------------------------------------

    def run(self, chunks: Iterable[np.ndarray], *, live: bool = False, source: str = "") -> list[Turn]:
        """Handle every utterance in ``chunks`` (16 kHz mono float32) until they end. Returns the turns."""
        self.bus.emit("listening", source=source, locale=self.locale, live=live)
        arrivals = _Arrivals()
        pos = 0
        started: SpeechStart | None = None
        reason = "end_of_input"
        try:
            for raw in chunks:
                chunk = _clean(raw)
                now = time.monotonic()
                if self.half_duplex and live and self.sink is not None and self.sink.playing:
                    chunk = np.zeros_like(chunk)  # our own voice must not be heard as the user's
                pos += chunk.size
                if live:
                    arrivals.add(pos, now)
                events = self.endpointer.process(chunk)
                if started is not None:
                    self.recognizer.feed(chunk)
                for event in events:
                    started = self._on_event(event, started, arrivals if live else None, pos)
                if started is not None:
                    self._during_speech(live, started)
                elif self.announcements:
                    self._announce_pending()
        except KeyboardInterrupt:
            reason = "interrupted"
        finally:
            for event in self.endpointer.finish():
                started = self._on_event(event, started, None, pos)
            self.recognizer.cancel()
            self._announce_pending()
        self.bus.emit("stopped", turns=len(self.turns), reason=reason, audio_s=round(pos / RATE, 3))
        return self.turns

    def _on_event(self, event: Any, started: SpeechStart | None, arrivals: _Arrivals | None,
                  pos: int) -> SpeechStart | None:
        if isinstance(event, SpeechStart):
            self.bus.emit("speech_start", audio_s=round(event.time, 3))
            history = self.endpointer.audio(event.sample, pos)
            self.recognizer.start(event.sample, history)
            return event
        if isinstance(event, SpeechEnd):
            self._turn(event, arrivals)
        return None

    def _during_speech(self, live: bool, started: SpeechStart) -> None:
        ep = self.endpointer
        self.recognizer.maybe_partial(lambda: ep.audio(started.sample))
        if live and self.speculate_ms and ep.silence_ms >= self.speculate_ms:
            # Called every block of a silence: copy the utterance's audio only when its end has moved.
            tentative = ep.tentative_end(with_audio=False)
            if tentative is not None and self.recognizer.wants_speculation(tentative.start, tentative.end):
                audio = ep.audio(tentative.start, tentative.end)
                self.recognizer.speculate(tentative.start, tentative.end, audio, self._prepare)

    def _prepare(self, result: Any) -> _Prepared:
        """Speculation's follow-up, in the ASR worker: NLU, the router's side-effect-free preview of the
        reply, and the reply's first audio chunk, all before the end of speech is certain."""
        from edge.tts.base import TtsError

        text = result.text.strip()
        t0 = time.perf_counter()
        parse = self.nlu.parse(text, self.locale)
        prepared = _Prepared(text, parse, (time.perf_counter() - t0) * 1000, time.monotonic())
        preview = getattr(self.router, "preview", None)
        try:
            prepared.reply = preview(parse, self.locale) if preview is not None else None
        except Exception:  # the real call reports it; speculation just gives up
            prepared.reply = None
        if prepared.reply is not None and self.tts is not None and self.sink is not None:
            t0 = time.perf_counter()
            try:
                prepared.rest = iter(self.tts.stream(prepared.reply.text))
                prepared.first_chunk = next(prepared.rest, None)
            except TtsError:
                prepared.first_chunk = prepared.rest = None
            prepared.tts_first_ms = (time.perf_counter() - t0) * 1000
        prepared.tts_done = time.monotonic()
        return prepared

    def announce(self, text: str) -> None:
        """Say ``text`` unprompted, between utterances (thread-safe)."""
        self.announcements.append(text)

    def _announce_pending(self) -> None:
        while self.announcements:
            text = self.announcements.pop(0)
            self.bus.emit("reply", text=text, locale=self.locale, skill="announcement", route_ms=0.0)
            self._speak(text, {}, None)

    def _partial(self, text: str) -> None:
        self.bus.emit("partial", text=text)

    # --- one turn --------------------------------------------------------------------------------------

    def _turn(self, end: SpeechEnd, arrivals: _Arrivals | None) -> None:
        self.bus.turn += 1
        voice_end = end.voice_end if end.voice_end is not None else end.end
        wait_ms = max(0.0, (end.detected_at - voice_end) * 1000 / RATE)
        speech_end_t = arrivals.time_of(voice_end) if arrivals is not None else None
        self.bus.emit("speech_end", start_s=round(end.start_time, 3), end_s=round(end.end_time, 3),
                      voice_end_s=round(voice_end / RATE, 3), reason=end.reason, wait_ms=round(wait_ms, 1))
        audio = end.audio if end.audio is not None else np.zeros(0, dtype=np.float32)
        decided = time.monotonic()
        recognition = self.recognizer.finish(end.start, end.end, audio)
        text = recognition.result.text.strip()
        prepared = recognition.follow_up if isinstance(recognition.follow_up, _Prepared) else None
        latency = {"endpoint_wait": wait_ms, "asr": recognition.asr_ms}
        if prepared is not None:
            # The speculative job ran ASR, NLU and the first TTS chunk in a row: charge each stage only
            # with the part of it that was still running after the end of speech was decided.
            latency["asr"] = max(0.0, recognition.decoded_at - decided) * 1000
            latency["nlu"] = max(0.0, prepared.nlu_done - max(decided, recognition.decoded_at)) * 1000
            latency["tts_wait"] = max(0.0, prepared.tts_done - max(decided, prepared.nlu_done)) * 1000
        self.bus.emit("transcript", text=text, engine=recognition.result.engine,
                      asr_ms=round(latency["asr"], 1), compute_ms=round(recognition.compute_ms, 1),
                      speculative=recognition.speculative)
        turn = self.respond(text, latency=latency, speech_end_t=speech_end_t, prepared=prepared)
        turn.start_s, turn.end_s = end.start_time, end.end_time
        self.turns.append(turn)

    def respond(self, text: str, *, latency: dict[str, float] | None = None,
                speech_end_t: float | None = None, prepared: _Prepared | None = None) -> Turn:
        """NLU, router and speech for one transcript (also the path for typed input)."""
        latency = dict(latency or {})
        if prepared is not None and prepared.text == text:
            parse, nlu_compute = prepared.parse, prepared.nlu_ms
        else:
            prepared = None
            t0 = time.perf_counter()
            parse = self.nlu.parse(text, self.locale)
            latency["nlu"] = nlu_compute = (time.perf_counter() - t0) * 1000
        for w in parse.warnings:
            self.bus.emit("warning", message=w)
        self.bus.emit("intent", intent=parse.intent, confidence=round(parse.confidence, 4), scenario=parse.scenario,
                      slots=[{"type": s.type, "value": s.value} for s in parse.slots],
                      out_of_domain=parse.out_of_domain, nlu_ms=round(nlu_compute, 2))
        t0 = time.perf_counter()
        try:
            reply: Reply | None = self.router.handle(parse, self.locale)
        except Exception as exc:  # a broken skill must not take the assistant down
            self.bus.emit("error", message=f"skill failed: {type(exc).__name__}: {exc}")
            reply = None
        latency["route"] = (time.perf_counter() - t0) * 1000
        if reply is not None:
            self.bus.emit("reply", text=reply.text, locale=reply.locale, skill=reply.skill,
                          route_ms=round(latency["route"], 2))
            ready = None
            if prepared is not None and prepared.first_chunk is not None and prepared.reply is not None \
                    and prepared.reply.text == reply.text:
                ready = (prepared.first_chunk, prepared.rest, prepared.tts_first_ms)
            self._speak(reply.text, latency, speech_end_t, ready)
        if speech_end_t is None and "total" not in latency:
            latency["total"] = sum(latency.get(k, 0.0) for k in ("endpoint_wait", "asr", "nlu", "route", "tts_first"))
        turn = Turn(self.bus.turn, 0.0, 0.0, text, parse, reply, latency)
        self.bus.emit("turn", **{k: v for k, v in turn.to_dict().items() if k not in ("turn", "start_s", "end_s")},
                      measured=speech_end_t is not None)
        return turn

    def _speak(self, text: str, latency: dict[str, float], speech_end_t: float | None,
               ready: tuple[Any, Iterator[Any] | None, float] | None = None) -> None:
        """Synthesise sentence by sentence into the sink; ``ready`` = (first chunk, the rest, its compute ms)
        when a speculation already synthesised the first chunk of this very reply."""
        if self.tts is None or self.sink is None:
            return
        from edge.tts.base import TtsError

        t0 = time.perf_counter()
        audio_s = 0.0
        if ready is not None:
            first, rest, compute_ms = ready
            chunks: Iterable[Any] = _chain(first, rest)
        else:
            chunks, compute_ms = self.tts.stream(text), 0.0
        try:
            for chunk in chunks:
                if audio_s == 0.0:
                    latency["tts_first"] = (time.perf_counter() - t0) * 1000 + latency.pop("tts_wait", 0.0)
                    compute_ms = compute_ms or latency["tts_first"]
                    self.sink.write(chunk.samples, chunk.rate)
                    if speech_end_t is not None:
                        latency["total"] = (time.monotonic() - speech_end_t) * 1000
                    self.bus.emit("first_audio", tts_first_ms=round(latency["tts_first"], 1),
                                  compute_ms=round(compute_ms, 1), speculative=ready is not None,
                                  latency_ms=round(latency["total"], 1) if "total" in latency else None)
                else:
                    self.sink.write(chunk.samples, chunk.rate)
                audio_s += chunk.samples.size / chunk.rate
        except TtsError as exc:
            self.bus.emit("error", message=str(exc))
        latency.pop("tts_wait", None)
        latency["tts"] = (time.perf_counter() - t0) * 1000
        self.bus.emit("reply_done", audio_s=round(audio_s, 3), tts_ms=round(latency["tts"], 1))

    def close(self) -> None:
        self.recognizer.close()
