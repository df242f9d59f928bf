"""The voice pipeline's loop: audio in -> endpointing -> ASR -> NLU -> router -> streamed TTS -> audio out.

Every step is reported on the :class:`EventBus`. :meth:`Pipeline.run` reads any iterable of 16 kHz mono
chunks (a file, stdin, the microphone) and handles each utterance as it ends. The loop owns the parts and
carries out what they decide; each part has one job:

* :class:`~edge.pipeline.turn_taking.TurnTaking`: which utterances are taken (wake word, push-to-talk,
  follow-up) and when a reply is interrupted; it returns decisions and never calls the loop back;
* :class:`~edge.pipeline.recognizer.UtteranceRecognizer` and :mod:`edge.pipeline.speculation`: the ASR,
  started during the silence wait on live input;
* :class:`~edge.pipeline.answer.Answerer`: NLU, router and the ``turn`` summary;
* :class:`~edge.pipeline.responder.Responder`: speaking replies and announcements, stopping when told.

Latency. The end of speech is the endpointer's ``voice_end``. With ``live=True`` (microphone, or a file
paced in real time) each chunk's arrival time is recorded and a turn's ``total`` is measured from the
arrival of the chunk holding the end of speech to the first reply sample handed to the sink; only then
does the ASR start during the silence wait (``speculate_ms``). With ``live=False`` the same figure is
estimated as the silence wait (audio time) plus each stage's time (:class:`~edge.pipeline.latency.TurnLatency`).

Memory. ``run(keep_turns=False)`` (a microphone that runs for days) keeps only the last
:data:`RECENT_TURNS` turns; over a finite input ``run`` returns every turn it made.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from edge.audio.endpoint import Endpointer, SpeechEnd, SpeechStart
from edge.audio.rate import RATE
from edge.pipeline.answer import Answerer, Turn
from edge.pipeline.events import (
    AwaitingWake,
    EventBus,
    FollowUp,
    Listening,
    PartialTranscript,
    SpeechEnded,
    SpeechStarted,
    Stopped,
    Transcript,
    WakeHeard,
)
from edge.pipeline.hypotheses import TranscriptChooser
from edge.pipeline.language import TurnLanguage
from edge.pipeline.latency import TurnLatency
from edge.pipeline.listening import ListenGate, WakeDetector, WakeHit, is_stop_phrase, strip_wake_phrase
from edge.pipeline.recognizer import Recognition, UtteranceRecognizer
from edge.pipeline.responder import Responder
from edge.pipeline.speculation import Prepared, charge, prepare, speculate
from edge.pipeline.turn_taking import MIN_COMMAND, CloseGate, Decision, Interrupt, OpenGate, Take, TurnTaking, Utterance
from edge.profiles import DialogueSettings
from edge.skills.contract import Router

if TYPE_CHECKING:
    from edge.asr.base import AsrEngine, AsrResult, SpeechEvidence
    from edge.audio.sink import AudioSink
    from edge.nlu.engine import NluEngine
    from edge.tts.base import TtsEngine

__all__ = ["RECENT_TURNS", "Pipeline", "Turn"]

RECENT_TURNS = 100  # turns a long-running listener keeps
_DIALOGUE = DialogueSettings()  # turn-taking defaults: a profile without [dialogue]


class _Arrivals:
    """When each stretch of samples arrived (live input), for the last minute or so."""

    def __init__(self) -> None:
        self._marks: deque[tuple[int, float]] = deque(maxlen=4000)  # (position after the chunk, arrival time)

    def add(self, end_pos: int, t: float) -> None:
        self._marks.append((end_pos, t))

    def time_of(self, sample: int) -> float | None:
        for end_pos, t in self._marks:
            if end_pos >= sample:
                return t
        return None


def _clean(chunk: np.ndarray) -> np.ndarray:
    x = np.asarray(chunk, dtype=np.float32).reshape(-1)
    if not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(x, -1.0, 1.0)


def _recognise(recognizer: UtteranceRecognizer, bus: EventBus, end: SpeechEnd, start: int, wait_ms: float,
               strip: Callable[[str], str]) -> tuple[Recognition, str, Prepared | None, TurnLatency]:
    """An ended utterance to its transcript: the final decode (or the speculation's, with what it prepared),
    the turn's first latency figures and the ``transcript`` event."""
    audio = end.audio if end.audio is not None else np.zeros(0, dtype=np.float32)
    decided = time.monotonic()
    recognition = recognizer.finish(start, end.end, audio[start - end.start:])
    text = strip(recognition.result.text)
    prepared = recognition.follow_up if isinstance(recognition.follow_up, Prepared) else None
    latency = TurnLatency(endpoint_wait=wait_ms, asr=recognition.asr_ms)
    if prepared is not None:
        charge(latency, prepared, decided, recognition.decoded_at)
    bus.emit(Transcript(text=text, engine=recognition.result.engine, asr_ms=round(latency.asr or 0.0, 1),
                        compute_ms=round(recognition.compute_ms, 1), speculative=recognition.speculative))
    return recognition, text, prepared, latency


class _Parts:
    """The pipeline's parts, as attributes a front end (or a test) may read or swap between runs."""

    taking: TurnTaking
    responder: Responder
    answerer: Answerer
    _bus: EventBus
    _wake: WakeDetector | None
    _recent: deque[Turn]
    turn_count: int


    @property
    def bus(self) -> EventBus:
        return self._bus

    @bus.setter
    def bus(self, bus: EventBus) -> None:
        self._bus = self.responder.bus = self.answerer.bus = bus

    @property
    def sink(self) -> AudioSink | None:
        return self.responder.sink

    @sink.setter
    def sink(self, sink: AudioSink | None) -> None:
        self.responder.sink = sink

    @property
    def router(self) -> Router:
        return self.answerer.router

    @router.setter
    def router(self, router: Router) -> None:
        self.answerer.router = router

    @property
    def wake(self) -> WakeDetector | None:
        """The wake detector gating listening (None: every utterance is taken)."""
        return self._wake

    @wake.setter
    def wake(self, detector: WakeDetector | None) -> None:
        self._wake = detector
        self.taking.gated = detector is not None

    @property
    def barge_in(self) -> str:
        return self.taking.barge_in

    @barge_in.setter
    def barge_in(self, mode: str) -> None:
        self.taking.barge_in = mode

    @property
    def gate(self) -> ListenGate:
        return self.taking.gate

    @property
    def announcements(self) -> list[str]:
        return self.responder.announcements

    def announce(self, text: str) -> None:
        """Say ``text`` unprompted, between utterances (thread-safe)."""
        self.announcements.append(text)

    def say_announcements(self) -> None:
        """Speak what :meth:`announce` queued, now (the listening loop does this between utterances)."""
        self.responder.announce_pending()

    @property
    def turns(self) -> list[Turn]:
        """The most recent turns (at most :data:`RECENT_TURNS`)."""
        return list(self._recent)

    @turns.setter
    def turns(self, turns: list[Turn]) -> None:
        self._recent = deque(turns, maxlen=RECENT_TURNS)
        self.turn_count = len(self._recent)


class Pipeline(_Parts):
    """The assembled assistant for one locale (built by :func:`edge.assembly.assemble`, or from parts)."""

    def __init__(self, *, endpointer: Endpointer, asr: AsrEngine | None, nlu: NluEngine, tts: TtsEngine | None,
                 sink: AudioSink | None, locale: str = "en-US", router: Router | None = None,
                 bus: EventBus | None = None, speculate_ms: int = 100, partial_interval_ms: int = 0,
                 half_duplex: bool = True, announcements: list[str] | None = None, wake: WakeDetector | None = None,
                 wake_phrase: str | None = None, barge_in: str = _DIALOGUE.barge_in,
                 barge_in_threshold: float = _DIALOGUE.barge_in_threshold,
                 barge_in_min_speech_ms: int = _DIALOGUE.barge_in_min_speech_ms,
                 wake_window_s: float = _DIALOGUE.wake_window_s, follow_up_s: float = _DIALOGUE.follow_up_s) -> None:
        if router is None:
            from edge.skills.basic import BasicRouter

            router = BasicRouter()
        self.endpointer = endpointer
        self.asr = asr
        self.nlu = nlu
        self.tts = tts
        self.locale = locale
        self.speculate_ms = speculate_ms
        self.half_duplex = half_duplex
        self.barge_in_threshold = barge_in_threshold
        self.barge_in_min_speech = barge_in_min_speech_ms * RATE // 1000
        self.taking = TurnTaking(wake is not None, barge_in, wake_window_s, follow_up_s)
        self._wake = wake
        self.wake_phrase = wake_phrase
        self._threshold = endpointer.threshold  # the VAD's own; barge_in_threshold while a reply plays
        self._min_speech = endpointer.min_speech  # the VAD's own; barge_in_min_speech_ms while a reply plays
        self._bus = bus or EventBus()
        self.responder = Responder(tts, sink, self._bus, locale, announcements)
        self.answerer = Answerer(nlu, router, self.responder, self._bus, locale)
        self.recognizer = UtteranceRecognizer(asr, lambda text: self.bus.emit(PartialTranscript(text=text)),  # type: ignore[arg-type]
                                              partial_interval_ms, TranscriptChooser(nlu, lambda: self.locale))
        self.language: TurnLanguage | None = None  # --locale auto: each turn in the language heard
        self._recent: deque[Turn] = deque(maxlen=RECENT_TURNS)
        self.turn_count = 0  # turns since the list was last cleared
        if tts is not None:
            tts.warm(router.common_phrases(locale))

    # --- the loop -----------------------------------------------------------------------------------

    def run(self, chunks: Iterable[np.ndarray], *, live: bool = False, source: str = "",
            keep_turns: bool = True) -> list[Turn]:
        """Handle every utterance in ``chunks`` (16 kHz mono float32) until they end. Returns this run's turns
        (``keep_turns=False``: only the most recent ones, for an input that may never end)."""
        self.bus.emit(Listening(source=source, locale="auto" if self.language else self.locale, live=live))
        self.responder.report_output()  # a mute kept from an earlier session is said at once
        arrivals = _Arrivals()
        made: list[Turn] | None = [] if keep_turns else None
        self.taking.reset()
        if self._wake is not None:
            self._wake.reset()
            self.bus.emit(AwaitingWake(audio_s=0.0))
        reason = "end_of_input"
        try:
            for raw in chunks:
                self._step(_clean(raw), live, arrivals, made)
        except KeyboardInterrupt:
            reason = "interrupted"
        finally:
            for event in self.endpointer.finish():
                self._on_audio_event(event, None, False, time.perf_counter(), made)
            self.taking.utterance = None
            self.endpointer.threshold, self.endpointer.min_speech = self._threshold, self._min_speech
            self.recognizer.cancel()
            self.responder.announce_pending()
        self.bus.emit(Stopped(turns=self.turn_count, reason=reason, audio_s=round(self.taking.pos / RATE, 3)))
        return made if made is not None else self.turns

    def _step(self, chunk: np.ndarray, live: bool, arrivals: _Arrivals, made: list[Turn] | None) -> None:
        """One microphone block: the wake detector, the VAD (muted or stricter while a reply plays), the ASR."""
        now = time.monotonic()
        taking = self.taking
        pushed = taking.pending_push_to_talk()
        if pushed is not None:
            self.bus.emit(WakeHeard(source="push_to_talk", phrase=None, score=None, audio_s=self._audio_s()))
            self._carry_out(pushed, time.perf_counter())
        playing = self._playing(live)
        hit, hit_t = None, 0.0
        if self._wake is not None and taking.listens_for_wake(playing):
            hit = self._wake.process(chunk)
            hit_t = time.perf_counter()
        heard = np.zeros_like(chunk) if taking.mutes_vad(playing, self.half_duplex) else chunk
        ep = self.endpointer
        ep.threshold = max(self._threshold, self.barge_in_threshold) if playing else self._threshold
        ep.min_speech = min(self._min_speech, self.barge_in_min_speech) if playing else self._min_speech
        taking.advance(chunk.size)
        if live:
            arrivals.add(taking.pos, now)
        events = ep.process(heard)
        detected = time.perf_counter()
        if taking.taken:
            self.recognizer.feed(heard)
        for event in events:
            self._on_audio_event(event, arrivals if live else None, playing, detected, made)
        if hit is not None:
            self._on_wake(hit, playing, hit_t)
        if taking.taken:
            self._during_speech(live)
        else:
            self._carry_out(taking.between(self._playing(live)), time.perf_counter())
            if self.announcements:
                self.responder.announce_pending()

    def _playing(self, live: bool) -> bool:
        sink = self.sink
        return live and sink is not None and sink.playing

    def _audio_s(self) -> float:
        return round(self.taking.pos / RATE, 3)

    def _on_audio_event(self, event: Any, arrivals: _Arrivals | None, playing: bool, detected: float,
                        made: list[Turn] | None) -> None:
        if isinstance(event, SpeechStart):
            decisions = self.taking.speech_start(event, playing, self.endpointer.start_pad)
            onsets = [d.onset for d in decisions if isinstance(d, Interrupt) and d.onset is not None]
            self._carry_out(decisions, detected, arrivals.time_of(onsets[0]) if onsets and arrivals else None)
        elif isinstance(event, SpeechEnd):
            utt = self.taking.speech_end(event)
            if utt is not None:
                turn = self._turn(event, arrivals, utt)
                if turn is not None:
                    self._keep(turn, made)

    def _carry_out(self, decisions: list[Decision], detected: float, onset_t: float | None = None) -> None:
        """What turn-taking decided, in order: the events, the recognizer, the reply's audio."""
        for d in decisions:
            if isinstance(d, Take):
                self.bus.emit(SpeechStarted(audio_s=round(d.start / RATE, 3)))
                self.recognizer.start(d.start, self.endpointer.audio(d.start, self.taking.pos))
            elif isinstance(d, Interrupt):
                self.responder.barge(d.trigger, detected, self._audio_s(), onset_t if d.trigger == "speech" else None)
            elif isinstance(d, OpenGate) and d.reason == "follow_up":
                seconds = self.gate.follow_up / RATE
                self.bus.emit(FollowUp(seconds=seconds, until=round(self.bus.now() + seconds, 3),
                                       until_audio_s=round(d.until / RATE, 3)))
            elif isinstance(d, CloseGate):
                self.bus.emit(AwaitingWake(audio_s=self._audio_s()))

    def _on_wake(self, hit: WakeHit, playing: bool, detected: float) -> None:
        phrase = getattr(hit, "phrase", None)
        self.wake_phrase = phrase or self.wake_phrase
        score = getattr(hit, "score", None)
        self.bus.emit(WakeHeard(source="wake_word", phrase=phrase, score=None if score is None
                                else round(float(score), 3), audio_s=self._audio_s()))
        phrase_end = self.taking.phrase_end(getattr(self._wake, "position", None), getattr(hit, "sample", None))
        if self._wake is not None:
            self._wake.reset()
        self._carry_out(self.taking.wake_hit(phrase_end, playing), detected)

    def _during_speech(self, live: bool) -> None:
        ep, start = self.endpointer, self.taking.utterance.taken_from  # type: ignore[union-attr]
        assert start is not None
        self.recognizer.maybe_partial(lambda: ep.audio(start))
        if live and self.speculate_ms and ep.silence_ms >= self.speculate_ms:
            speculate(ep, self.recognizer, start, self._prepare)

    def _prepare(self, result: AsrResult) -> Prepared:
        if self.language is not None:  # the turn's language: its locale and voice
            locale = self.language.locale_of(result)
            tts = self.language.voice(locale) if self.sink is not None else None
            return prepare(result, self._strip, self.nlu, self.router, locale, tts)
        tts = self.tts if self.sink is not None else None
        return prepare(result, self._strip, self.nlu, self.router, self.locale, tts)

    # --- interruptions (thread-safe) ----------------------------------------------------------------------

    def push_to_talk(self) -> None:
        """Take the next utterance without the wake word (the key); stops a reply that is playing.
        Thread-safe: a UI thread may call it while :meth:`run` reads the microphone in another."""
        self.taking.push_to_talk(self._interrupt("push_to_talk", time.perf_counter()))

    def stop_speaking(self) -> bool:
        """Stop the reply (or announcement) playing now, and any music a skill plays; True if either was.
        Thread-safe."""
        music = self.router.stop_playback()
        return self._interrupt("stop", time.perf_counter()) or music

    def _interrupt(self, trigger: str, detected: float) -> bool:
        if self.sink is None or not self.responder.busy:
            return False
        self.responder.barge(trigger, detected, self._audio_s())
        return True

    # --- turns ----------------------------------------------------------------------------------------

    def typed_turn(self, text: str) -> Turn:
        """One turn from typed text: a new turn number, a ``transcript`` event marked ``typed``, then
        :meth:`respond`. Call it from the thread that runs :meth:`run` (or when nothing runs)."""
        self.bus.turn += 1
        self.bus.emit(Transcript(text=text, engine="typed", asr_ms=0.0, compute_ms=0.0, speculative=False))
        turn = self.respond(text)
        self._keep(turn, None)
        return turn

    def respond(self, text: str, *, latency: TurnLatency | None = None, speech_end_t: float | None = None,
                prepared: Prepared | None = None, heard: bool = False, evidence: SpeechEvidence | None = None
                ) -> Turn:
        """NLU, router and speech for one transcript (also the path for typed input)."""
        turn, asks = self.answerer.respond(text, latency, speech_end_t, prepared, heard, evidence)
        if asks is not None:
            self.taking.replied(asks)
        return turn

    def _keep(self, turn: Turn, made: list[Turn] | None) -> None:
        self._recent.append(turn)
        self.turn_count += 1
        if made is not None:
            made.append(turn)

    def _strip(self, text: str) -> str:
        """The transcript, without the wake phrase it may start with when listening is gated."""
        text = text.strip()
        return strip_wake_phrase(text, self.wake_phrase) if self._wake is not None else text

    def _turn(self, end: SpeechEnd, arrivals: _Arrivals | None, utt: Utterance) -> Turn | None:
        voice_end = end.voice_end if end.voice_end is not None else end.end
        start = max(end.start, utt.taken_from or 0)
        if utt.via_wake and voice_end - start < MIN_COMMAND:  # only the wake phrase: wait for the command
            self.recognizer.cancel()
            self.taking.only_wake_phrase(utt)
            return None
        self.bus.turn += 1
        wait_ms = max(0.0, (end.detected_at - voice_end) * 1000 / RATE)
        speech_end_t = arrivals.time_of(voice_end) if arrivals is not None else None
        self.bus.emit(SpeechEnded(start_s=round(end.start_time, 3), end_s=round(end.end_time, 3),
                                  voice_end_s=round(voice_end / RATE, 3), reason=end.reason, wait_ms=round(wait_ms, 1)))
        recognition, text, prepared, latency = _recognise(self.recognizer, self.bus, end, start, wait_ms, self._strip)
        locale = self.locale
        if self.language is not None:  # the NLU, the reply and its voice follow the language heard
            locale = self.language.follow(recognition.result, self.answerer, self.responder, self.bus, text=text,
                                          speech_s=(voice_end - start) / RATE, asr=self.recognizer.engine)
        if utt.via_wake and not text:  # the wake phrase alone after all
            self.taking.only_wake_phrase(utt)
            return None
        if utt.barge_in and (not text or is_stop_phrase(text, locale, self.wake_phrase)):
            turn = self.answerer.stopped(text, latency)
            self.taking.replied(False)
        else:
            turn = self.respond(text, latency=latency, speech_end_t=speech_end_t, prepared=prepared, heard=True,
                                evidence=recognition.result.evidence)
            if turn.dropped is not None:  # noise or music taken for speech: not answered, not a turn
                return None
        turn.start_s, turn.end_s = start / RATE, end.end_time
        return turn

    def close(self) -> None:
        self.recognizer.close()
