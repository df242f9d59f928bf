"""One transcript to one answered turn: the NLU, the router, the spoken reply and the ``turn`` summary."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edge.nlu.textform import spoken_form
from edge.pipeline.events import (
    ErrorRaised,
    EventBus,
    IntentParsed,
    LearnedApplied,
    ReplyChosen,
    SpeechDropped,
    TurnSummary,
    WarningRaised,
)
from edge.pipeline.latency import TurnLatency
from edge.pipeline.responder import Responder
from edge.pipeline.speech_gate import SpeechGate
from edge.skills.contract import Reply, Router

if TYPE_CHECKING:
    from edge.asr.base import SpeechEvidence
    from edge.nlu.engine import NluEngine
    from edge.nlu.runtime import Parse
    from edge.pipeline.speculation import Prepared

__all__ = ["Answerer", "Turn"]


@dataclass
class Turn:
    """What one utterance (or typed line) produced."""

    index: int
    start_s: float
    end_s: float
    transcript: str
    parse: Parse | None
    reply: Reply | None
    latency: dict[str, float] = field(default_factory=dict)
    dropped: str | None = None  # why it was not answered (noise or music taken for speech); not a turn then

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

    def summary(self, measured: bool, stopped: bool = False) -> TurnSummary:
        d = self.to_dict()
        return TurnSummary(transcript=d["transcript"], intent=d["intent"], confidence=d["confidence"],
                           slots=d["slots"], reply=d["reply"], skill=d["skill"], latency_ms=d["latency_ms"],
                           measured=measured, stopped=stopped)


class Answerer:
    """Understands and answers transcripts for one locale; speaks through the :class:`Responder`."""

    def __init__(self, nlu: NluEngine, router: Router, responder: Responder, bus: EventBus, locale: str) -> None:
        self.nlu = nlu
        self.router = router
        self.responder = responder
        self.bus = bus
        self.locale = locale
        self.gate = SpeechGate()
        self.heard_other = False  # this turn's language was heard but not followed (set by edge.pipeline.language)

    def respond(self, text: str, latency: TurnLatency | None = None, speech_end_t: float | None = None,
                prepared: Prepared | None = None, heard: bool = False,
                evidence: SpeechEvidence | None = None) -> tuple[Turn, bool | None]:
        """NLU, router and speech for one transcript. ``heard``: an ASR transcript, which the NLU gets in its
        training form (:func:`spoken_form`: "7 a.m." -> "seven am"); typed text is taken as written. Returns
        the turn and whether its reply asked a question and was spoken to the end (listen for the answer);
        None without a reply. ``evidence``: the recogniser's signals; a transcript they (with the parse) show to
        be noise or music is not answered (a ``dropped`` event, no ``turn``; the turn's ``dropped`` says why)."""
        latency = latency or TurnLatency()
        if prepared is not None and prepared.text == text and prepared.locale in ("", self.locale):
            parse, nlu_compute = prepared.parse, prepared.nlu_ms
        else:
            prepared = None
            t0 = time.perf_counter()
            parse = self.nlu.parse(spoken_form(text, self.locale) if heard else text, self.locale)
            latency.nlu = nlu_compute = (time.perf_counter() - t0) * 1000
        for w in parse.warnings:
            self.bus.emit(WarningRaised(message=w))
        self.bus.emit(IntentParsed(intent=parse.intent, confidence=round(parse.confidence, 4),
                                   scenario=parse.scenario, slots=[{"type": s.type, "value": s.value}
                                                                   for s in parse.slots],
                                   out_of_domain=parse.out_of_domain, nlu_ms=round(nlu_compute, 2)))
        learner = getattr(self.nlu, "learner", None)  # edge.learn: a learned correction took the parse: say so
        learned = learner.learned_for(parse.text) if learner is not None else None
        if learned is not None:
            self.bus.emit(LearnedApplied(item=learned.id, phrase=learned.text, intent=learned.intent))
        why = None
        if heard and evidence is not None:
            answering = getattr(getattr(self.router, "session", None), "pending", None) is not None
            why = self.gate.reason_to_drop(text, evidence, parse, answering, self.heard_other)
        if why is not None and evidence is not None:
            self.bus.emit(SpeechDropped(text=text, reason=why, no_speech_prob=round(evidence.no_speech_prob, 3),
                                        avg_logprob=round(evidence.avg_logprob, 3),
                                        compression_ratio=round(evidence.compression_ratio, 2)))
            return Turn(self.bus.turn, 0.0, 0.0, text, parse, None, latency.as_dict(), dropped=why), None
        t0 = time.perf_counter()
        try:
            reply: Reply | None = self.router.handle(parse, self.locale)
        except Exception as exc:  # a broken skill must not take the assistant down
            self.bus.emit(ErrorRaised(message=f"skill failed: {type(exc).__name__}: {exc}"))
            reply = None
        latency.route = (time.perf_counter() - t0) * 1000
        asks = None
        if reply is not None:
            self.bus.emit(ReplyChosen(text=reply.text, locale=reply.locale, skill=reply.skill,
                                      route_ms=round(latency.route, 2)))
            self.responder.report_output()  # "mute", "volume 20 percent": said before the reply plays
            ready = prepared.first_audio_for(reply) if prepared is not None else None
            finished = self.responder.speak(reply.text, latency, speech_end_t, ready)
            asks = reply.expects_answer and finished
        if speech_end_t is None:
            latency.estimate_total()
        turn = Turn(self.bus.turn, 0.0, 0.0, text, parse, reply, latency.as_dict())
        self.bus.emit(turn.summary(measured=speech_end_t is not None))
        return turn, asks

    def stopped(self, text: str, latency: TurnLatency) -> Turn:
        """An interruption that only said "stop": the reply is already silent; stop any music a skill plays
        and drop any pending question."""
        self.router.stop_playback()
        self.router.drop_pending()
        turn = Turn(self.bus.turn, 0.0, 0.0, text, None, None, latency.as_dict())
        self.bus.emit(turn.summary(measured=False, stopped=True))
        return turn
