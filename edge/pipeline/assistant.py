"""The voice pipeline: audio in -> endpointing -> ASR -> NLU -> router -> streamed TTS -> audio out.

Every step is reported on the :class:`EventBus`. :meth:`Pipeline.run` reads any iterable of 16 kHz mono
chunks (a file, stdin, the microphone) and handles each utterance as it ends.

Latency. The end of speech is the endpointer's ``voice_end``: the start of the first silent VAD window,
the same point a VAD with hindsight would mark. With ``live=True`` (microphone, or a file paced in real
time) each chunk's arrival time is recorded, and the turn's ``latency_ms`` is measured: from the arrival
of the chunk holding the end of speech to the first reply sample handed to the sink. Only then does the
ASR start during the silence wait (``speculate_ms``). With ``live=False`` (a file read as fast as
possible) the same figure is estimated as the silence wait (audio time) plus each stage's time.

Turn-taking (edge.pipeline.listening). With a wake detector (``wake``), an utterance is taken only after a
wake hit (the command may follow in the same breath: the recognizer then starts at the hit), after
:meth:`Pipeline.push_to_talk`, or in the follow-up window after a reply that asked a question; the rest is
never sent to the ASR. Barge-in, on live input while a reply plays: ``barge_in="speech"`` runs the VAD on
the microphone with a stricter threshold (the reply's echo is quieter than the user) and a confirmed
speech start stops the audio; ``"wake"`` keeps the microphone muted for the VAD (half duplex: a speaker the
microphone hears cannot interrupt) and only the wake word stops it; ``"off"`` mutes it for the wake detector
too. Push-to-talk and :meth:`Pipeline.stop_speaking` always stop it. An interrupting utterance that is only
"stop" ("be quiet", "stopp", "tais-toi", "cállate"...) ends there, with nothing said.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge.audio.endpoint import Endpointer, SpeechEnd, SpeechStart
from edge.audio.sink import AudioSink
from edge.nlu.runtime import NluModel, Parse
from edge.nlu.textform import spoken_form
from edge.pipeline.events import EventBus
from edge.pipeline.listening import BARGE_IN_MODES, ListenGate, WakeDetector, is_stop_phrase, strip_wake_phrase
from edge.pipeline.recognizer import UtteranceRecognizer
from edge.pipeline.replies import BasicRouter, Reply, Router

__all__ = ["Pipeline", "Turn"]

RATE = 16000
_WAKE_BACK = RATE * 150 // 1000  # a command in the wake phrase's breath starts this long before the hit
_WAKE_TAIL = RATE * 100 // 1000  # ...or, when the detector says where the phrase ended, this long before that
_MIN_COMMAND = RATE * 300 // 1000  # less voice than this after the hit: only the wake phrase was said


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


@dataclass
class _Utterance:
    """The utterance the endpointer is in: taken (sent to the ASR from ``taken_from``) or not (yet)."""

    start: SpeechStart
    taken_from: int | None = None
    via_wake: bool = False  # taken by a wake hit inside it: the transcript may start with the phrase
    barge_in: bool = False  # it interrupted a reply: "stop" alone ends it there


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
        wake: WakeDetector | None = None,
        wake_phrase: str | None = None,
        barge_in: str = "off",
        barge_in_threshold: float = 0.7,
        barge_in_min_speech_ms: int = 100,
        wake_window_s: float = 5.0,
        follow_up_s: float = 6.0,
    ) -> None:
        if barge_in not in BARGE_IN_MODES:
            raise ValueError(f"barge_in must be one of {', '.join(BARGE_IN_MODES)}, got {barge_in!r}")
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
        self.barge_in = barge_in
        self.barge_in_threshold = barge_in_threshold
        self.barge_in_min_speech = barge_in_min_speech_ms * RATE // 1000
        self.gate = ListenGate(wake is not None, wake_window_s, follow_up_s)
        self._wake: WakeDetector | None = wake
        self.wake_phrase = wake_phrase
        self._threshold = endpointer.threshold  # the VAD's own; barge_in_threshold while a reply plays
        self._min_speech = endpointer.min_speech  # the VAD's own; barge_in_min_speech_ms while a reply plays
        self._lock = threading.Lock()  # push_to_talk / stop_speaking come from other threads
        self._ptt_pending = self._ptt_barged = False
        self._speech_gen = 0  # bumped by every stop: a reply being written stops writing
        self._speaking = False
        self._barged = False  # audio was stopped by the wake word or the key: the next utterance interrupts
        self._follow_up_due = False  # the last reply asked a question: open the gate once its audio ends
        self._continue = False  # an utterance cut at max_utterance_s goes on: take its continuation
        self._utt: _Utterance | None = None
        self._pos = 0
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
        wake: WakeDetector | None = None,
        barge_in: str | None = None,
    ) -> Pipeline:
        """Load every stage the profile names for ``locale`` (raises PipelineError naming what is missing).

        Without ``router``, the skill router (edge.skills) answers, its data under ``data_dir``. ``wake``: a
        wake detector (edge.wake) to gate listening; ``barge_in`` overrides the profile's ``[dialogue]`` one.
        """
        from edge.pipeline.loader import load_asr, load_endpointer, load_nlu, load_router, load_tts
        from edge.profiles import DialogueSettings

        announcements: list[str] = []
        if router is None:
            router = load_router(sink, data_dir, announcements.append)  # type: ignore[assignment]
        tts = load_tts(profile, locale, voice) if speak else None
        dialogue = getattr(profile, "dialogue", None) or DialogueSettings()
        return cls(
            endpointer=load_endpointer(profile), asr=load_asr(profile, locale), nlu=load_nlu(profile), tts=tts,
            sink=sink, locale=locale, router=router, bus=bus, speculate_ms=profile.asr.speculate_ms,
            partial_interval_ms=profile.asr.partial_interval_ms, announcements=announcements,
            wake=wake, barge_in=barge_in or dialogue.barge_in, barge_in_threshold=dialogue.barge_in_threshold,
            barge_in_min_speech_ms=dialogue.barge_in_min_speech_ms, wake_window_s=dialogue.wake_window_s,
            follow_up_s=dialogue.follow_up_s,
        )

    # --- the loop -----------------------------------------------------------------------------------

    @property
    def wake(self) -> WakeDetector | None:
        """The wake detector gating listening (None: every utterance is taken)."""
        return self._wake

    @wake.setter
    def wake(self, detector: WakeDetector | None) -> None:
        self._wake = detector
        self.gate.gated = detector is not None
        self.gate.reset()

    def run(self, chunks: Iterable[np.ndarray], *, live: bool = False, source: str = "") -> list[Turn]:
        """Handle every utterance in ``chunks`` (16 kHz mono float32) until they end. Returns the turns."""
        self.bus.emit("listening", source=source, locale=self.locale, live=live)
        arrivals = _Arrivals()
        self._pos = 0
        self._utt = None
        self._continue = False
        self.gate.reset()
        if self._wake is not None:
            self._wake.reset()
            self.bus.emit("awaiting_wake", audio_s=0.0)
        reason = "end_of_input"
        try:
            for raw in chunks:
                self._step(_clean(raw), live, arrivals)
        except KeyboardInterrupt:
            reason = "interrupted"
        finally:
            for event in self.endpointer.finish():
                self._on_event(event, None, False, time.perf_counter())
            self._utt = None
            self.endpointer.threshold, self.endpointer.min_speech = self._threshold, self._min_speech
            self.recognizer.cancel()
            self._announce_pending()
        self.bus.emit("stopped", turns=len(self.turns), reason=reason, audio_s=round(self._pos / RATE, 3))
        return self.turns

    def _step(self, chunk: np.ndarray, live: bool, arrivals: _Arrivals) -> None:
        """One microphone block: the wake detector, the VAD (muted or stricter while a reply plays), the ASR."""
        now = time.monotonic()
        if self._ptt_pending:
            self._on_push_to_talk()
        playing = live and self.sink is not None and self.sink.playing
        hit, hit_t = None, 0.0
        if self._wake is not None and not (playing and self.barge_in == "off"):
            hit = self._wake.process(chunk)
            hit_t = time.perf_counter()
        heard = chunk
        if playing and self.half_duplex and (self.barge_in != "speech" or not self.gate.accepts(self._pos)):
            heard = np.zeros_like(chunk)  # our own voice must not be heard as the user's
        self.endpointer.threshold = max(self._threshold, self.barge_in_threshold) if playing else self._threshold
        self.endpointer.min_speech = min(self._min_speech, self.barge_in_min_speech) if playing else self._min_speech
        self._pos += chunk.size
        if live:
            arrivals.add(self._pos, now)
        events = self.endpointer.process(heard)
        detected = time.perf_counter()
        if self._utt is not None and self._utt.taken_from is not None:
            self.recognizer.feed(heard)
        for event in events:
            self._on_event(event, arrivals if live else None, playing, detected)
        if hit is not None:
            self._on_wake(hit, playing, hit_t)
        if self._utt is not None and self._utt.taken_from is not None:
            self._during_speech(live)
        else:
            self._between_utterances(live)

    def _on_event(self, event: Any, arrivals: _Arrivals | None, playing: bool, detected: float) -> None:
        if isinstance(event, SpeechStart):
            utt = self._utt = _Utterance(event)
            if self._continue or self.gate.accepts(event.sample):
                self._continue = False
                self._take(utt, event.sample)
                if playing and self.barge_in == "speech":
                    onset = min(event.sample + self.endpointer.start_pad, event.detected_at)
                    self._barge("speech", detected, arrivals.time_of(onset) if arrivals is not None else None)
                    utt.barge_in = True
            return
        if isinstance(event, SpeechEnd):
            utt, self._utt = self._utt, None
            if utt is not None and utt.taken_from is not None:  # else no wake word: never sent to the ASR
                self._continue = event.reason == "max_length"
                self._turn(event, arrivals, utt)

    def _take(self, utt: _Utterance, start: int, via_wake: bool = False) -> None:
        """Send the utterance to the recognizer from sample ``start`` on."""
        utt.taken_from, utt.via_wake = start, via_wake
        utt.barge_in = utt.barge_in or self._barged
        self._barged = False
        self.gate.take()
        self.bus.emit("speech_start", audio_s=round(start / RATE, 3))
        self.recognizer.start(start, self.endpointer.audio(start, self._pos))

    def _on_wake(self, hit: Any, playing: bool, detected: float) -> None:
        phrase = getattr(hit, "phrase", None)
        self.wake_phrase = phrase or self.wake_phrase
        score = getattr(hit, "score", None)
        self.bus.emit("wake", source="wake_word", phrase=phrase,
                      score=None if score is None else round(float(score), 3), audio_s=round(self._pos / RATE, 3))
        phrase_end = self._phrase_end(hit)
        if self._wake is not None:
            self._wake.reset()
        if playing and self.barge_in != "off":
            self._barge("wake", detected)
            self._barged = True
        utt = self._utt
        if utt is None:
            self.gate.open("wake", self._pos)
        elif utt.taken_from is None:  # "hey edge, what time is it": the command follows in the same breath
            self._take(utt, max(utt.start.sample, phrase_end), via_wake=True)

    def _phrase_end(self, hit: Any) -> int:
        """Where a command said in the wake phrase's breath starts, in stream samples. A verified hit comes
        half a second or more after the phrase (the peak, then Whisper's look): the detector's ``position`` and
        the hit's ``sample`` say how far back; a detector without them gets 150 ms before now."""
        fed, sample = getattr(self._wake, "position", None), getattr(hit, "sample", None)
        if isinstance(fed, int) and isinstance(sample, int) and 0 <= fed - sample <= self._pos:
            return max(0, self._pos - (fed - sample) - _WAKE_TAIL)
        return self._pos - _WAKE_BACK

    def _on_push_to_talk(self) -> None:
        with self._lock:
            self._ptt_pending = False
            self._barged = self._barged or self._ptt_barged
            self._ptt_barged = False
        self.bus.emit("wake", source="push_to_talk", phrase=None, score=None, audio_s=round(self._pos / RATE, 3))
        utt = self._utt
        if utt is not None and utt.taken_from is None:  # already speaking: take this utterance
            self._take(utt, utt.start.sample)
        elif utt is None:
            self.gate.open("push_to_talk", self._pos)

    def _between_utterances(self, live: bool) -> None:
        """Open the follow-up window once a question's audio has played; close an expired window; announce."""
        if self._follow_up_due and not (live and self.sink is not None and self.sink.playing):
            self._follow_up_due = False
            if self.gate.gated and self.gate.follow_up > 0:
                until = self.gate.open("follow_up", self._pos, self.gate.follow_up)
                seconds = self.gate.follow_up / RATE
                self.bus.emit("follow_up", seconds=seconds, until=round(self.bus.now() + seconds, 3),
                              until_audio_s=round(until / RATE, 3))
        if not self._follow_up_due and self.gate.close_if_due(self._pos):
            self._barged = False
            self.bus.emit("awaiting_wake", audio_s=round(self._pos / RATE, 3))
        if self.announcements:
            self._announce_pending()

    # --- interruptions (thread-safe) ----------------------------------------------------------------------

    def push_to_talk(self) -> None:
        """Take the next utterance without the wake word (the key); stops a reply that is playing.

        Thread-safe: a UI thread may call it while :meth:`run` reads the microphone in another.
        """
        barged = self._interrupt("push_to_talk", time.perf_counter())
        with self._lock:
            self._ptt_pending = True
            self._ptt_barged = self._ptt_barged or barged

    def stop_speaking(self) -> bool:
        """Stop the reply (or announcement) playing now, and any music a skill plays; True if either was.
        Thread-safe."""
        music = self._stop_playback()
        return self._interrupt("stop", time.perf_counter()) or music

    def _stop_playback(self) -> bool:
        """Stop what the router's skills play (music); True if something was playing."""
        stop_playback = getattr(self.router, "stop_playback", None)
        return bool(stop_playback()) if callable(stop_playback) else False

    def _interrupt(self, trigger: str, detected: float) -> bool:
        sink = self.sink
        if sink is None or not (self._speaking or sink.playing):
            return False
        self._barge(trigger, detected)
        return True

    def _barge(self, trigger: str, detected: float, onset_t: float | None = None) -> None:
        """Stop the audio now and say so: ``latency_ms`` from the detection to the stop call returning,
        ``since_onset_ms`` from the arrival of the speech onset (speech only, live input)."""
        with self._lock:
            self._speech_gen += 1
        if self.sink is not None:
            self.sink.stop()
        latency = (time.perf_counter() - detected) * 1000
        data: dict[str, Any] = {"trigger": trigger, "latency_ms": round(latency, 2),
                                "audio_s": round(self._pos / RATE, 3)}
        if onset_t is not None:
            data["since_onset_ms"] = round((time.monotonic() - onset_t) * 1000, 1)
        self.bus.emit("barge_in", **data)

    def _during_speech(self, live: bool) -> None:
        ep = self.endpointer
        assert self._utt is not None and self._utt.taken_from is not None
        start = self._utt.taken_from
        self.recognizer.maybe_partial(lambda: ep.audio(start))
        if live and self.speculate_ms and ep.silence_ms >= self.speculate_ms:
            # Called every block of a silence: copy the utterance's audio only when its end has moved.
            tentative = ep.tentative_end(with_audio=False)
            if tentative is None:
                return
            begin = max(tentative.start, start)
            if self.recognizer.wants_speculation(begin, tentative.end):
                audio = ep.audio(begin, tentative.end)
                self.recognizer.speculate(begin, tentative.end, audio, self._prepare)

    def _prepare(self, result: Any) -> _Prepared:
        """Speculation's follow-up, in the ASR worker: NLU, the router's side-effect-free preview of the
        reply, and the reply's first audio chunk, all before the end of speech is certain."""
        from edge.tts.base import TtsError

        text = self._strip(result.text)
        t0 = time.perf_counter()
        parse = self.nlu.parse(spoken_form(text, self.locale), self.locale)
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

    def typed_turn(self, text: str) -> Turn:
        """One turn from typed text: a new turn number, a ``transcript`` event marked ``typed``, then
        :meth:`respond`. Call it from the thread that runs :meth:`run` (or when nothing runs)."""
        self.bus.turn += 1
        self.bus.emit("transcript", text=text, engine="typed", asr_ms=0.0, compute_ms=0.0, speculative=False)
        turn = self.respond(text)
        self.turns.append(turn)
        return turn

    def say_announcements(self) -> None:
        """Speak what :meth:`announce` queued, now (the listening loop does this between utterances)."""
        self._announce_pending()

    def _announce_pending(self) -> None:
        while self.announcements:
            text = self.announcements.pop(0)
            self.bus.emit("reply", text=text, locale=self.locale, skill="announcement", route_ms=0.0)
            self._speak(text, {}, None)

    def _partial(self, text: str) -> None:
        self.bus.emit("partial", text=text)

    def _strip(self, text: str) -> str:
        """The transcript, without the wake phrase it may start with when listening is gated."""
        text = text.strip()
        return strip_wake_phrase(text, self.wake_phrase) if self._wake is not None else text

    # --- one turn --------------------------------------------------------------------------------------

    def _turn(self, end: SpeechEnd, arrivals: _Arrivals | None, utt: _Utterance) -> None:
        voice_end = end.voice_end if end.voice_end is not None else end.end
        start = max(end.start, utt.taken_from or 0)
        if utt.via_wake and voice_end - start < _MIN_COMMAND:  # only the wake phrase: wait for the command
            self.recognizer.cancel()
            self.gate.open("wake", self._pos)
            self._barged = utt.barge_in
            return
        self.bus.turn += 1
        wait_ms = max(0.0, (end.detected_at - voice_end) * 1000 / RATE)
        speech_end_t = arrivals.time_of(voice_end) if arrivals is not None else None
        self.bus.emit("speech_end", start_s=round(end.start_time, 3), end_s=round(end.end_time, 3),
                      voice_end_s=round(voice_end / RATE, 3), reason=end.reason, wait_ms=round(wait_ms, 1))
        audio = end.audio if end.audio is not None else np.zeros(0, dtype=np.float32)
        audio = audio[start - end.start:]
        decided = time.monotonic()
        recognition = self.recognizer.finish(start, end.end, audio)
        text = self._strip(recognition.result.text)
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
        if utt.via_wake and not text:  # the wake phrase alone after all
            self.gate.open("wake", self._pos)
            self._barged = utt.barge_in
            return
        if utt.barge_in and (not text or is_stop_phrase(text, self.locale, self.wake_phrase)):
            turn = self._stopped(text, latency)
        else:
            turn = self.respond(text, latency=latency, speech_end_t=speech_end_t, prepared=prepared, heard=True)
        turn.start_s, turn.end_s = start / RATE, end.end_time
        self.turns.append(turn)

    def _stopped(self, text: str, latency: dict[str, float]) -> Turn:
        """An interruption that only said "stop": the reply is already silent; stop any music a skill plays
        and drop any pending question."""
        self._stop_playback()
        session = getattr(self.router, "session", None)
        if session is not None and getattr(session, "pending", None) is not None:
            session.pending = None
        self._follow_up_due = False
        turn = Turn(self.bus.turn, 0.0, 0.0, text, None, None, latency)
        self.bus.emit("turn", **{k: v for k, v in turn.to_dict().items() if k not in ("turn", "start_s", "end_s")},
                      measured=False, stopped=True)
        return turn

    def respond(self, text: str, *, latency: dict[str, float] | None = None,
                speech_end_t: float | None = None, prepared: _Prepared | None = None, heard: bool = False) -> Turn:
        """NLU, router and speech for one transcript (also the path for typed input). ``heard``: the text is
        an ASR transcript, which the NLU gets in its training form (:func:`spoken_form`: "7 a.m." -> "seven
        am"); typed text is taken as written."""
        latency = dict(latency or {})
        if prepared is not None and prepared.text == text:
            parse, nlu_compute = prepared.parse, prepared.nlu_ms
        else:
            prepared = None
            t0 = time.perf_counter()
            parse = self.nlu.parse(spoken_form(text, self.locale) if heard else text, self.locale)
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
            finished = self._speak(reply.text, latency, speech_end_t, ready)
            self._follow_up_due = reply.expects_answer and finished
        if speech_end_t is None and "total" not in latency:
            latency["total"] = sum(latency.get(k, 0.0) for k in ("endpoint_wait", "asr", "nlu", "route", "tts_first"))
        turn = Turn(self.bus.turn, 0.0, 0.0, text, parse, reply, latency)
        self.bus.emit("turn", **{k: v for k, v in turn.to_dict().items() if k not in ("turn", "start_s", "end_s")},
                      measured=speech_end_t is not None)
        return turn

    def _speak(self, text: str, latency: dict[str, float], speech_end_t: float | None,
               ready: tuple[Any, Iterator[Any] | None, float] | None = None) -> bool:
        """Synthesise sentence by sentence into the sink; ``ready`` = (first chunk, the rest, its compute ms)
        when a speculation already synthesised the first chunk of this very reply. False when a stop
        (:meth:`stop_speaking`, push-to-talk) cut it short."""
        if self.tts is None or self.sink is None:
            return True
        from edge.tts.base import TtsError

        generation = self._speech_gen
        self._speaking = True

        t0 = time.perf_counter()
        audio_s = 0.0
        if ready is not None:
            first, rest, compute_ms = ready
            chunks: Iterable[Any] = _chain(first, rest)
        else:
            chunks, compute_ms = self.tts.stream(text), 0.0
        try:
            for chunk in chunks:
                if self._speech_gen != generation:
                    break
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
                if self._speech_gen != generation:  # stopped while this chunk was being written
                    self.sink.stop()
                audio_s += chunk.samples.size / chunk.rate
        except TtsError as exc:
            self.bus.emit("error", message=str(exc))
        finally:
            self._speaking = False
        latency.pop("tts_wait", None)
        latency["tts"] = (time.perf_counter() - t0) * 1000
        finished = self._speech_gen == generation
        extra = {} if finished else {"interrupted": True}
        self.bus.emit("reply_done", audio_s=round(audio_s, 3), tts_ms=round(latency["tts"], 1), **extra)
        return finished

    def close(self) -> None:
        self.recognizer.close()
