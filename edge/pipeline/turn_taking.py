"""Turn-taking: which utterances the assistant takes, and when the user interrupts it.

:class:`TurnTaking` takes what the audio layer reports (a block read while a reply plays or not, a VAD
speech start or end, a wake hit, the push-to-talk key) and returns decisions for the loop to carry out:
:class:`Take` an utterance from a sample on, :class:`Interrupt` the reply, :class:`OpenGate` (a wake hit,
push-to-talk, a follow-up question) or :class:`CloseGate`. It never calls the loop back and holds no
model, so it is tested with scripted events alone.

The gate (:class:`~edge.pipeline.listening.ListenGate`): without a wake detector every utterance is
taken. With one, only after a wake hit (the command may follow in the same breath: it is taken from just
after the phrase), after push-to-talk, or in the follow-up window once a reply that asked a question has
played. Barge-in while a reply plays: ``"speech"`` lets the VAD hear the microphone (with a stricter
threshold) and a speech start interrupts; ``"wake"`` mutes the VAD and only the wake word interrupts;
``"off"`` mutes the wake detector too. Push-to-talk always interrupts. An utterance that interrupted a
reply is marked ``barge_in``: if it only says "stop", the turn ends there.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from edge.audio.endpoint import SpeechEnd, SpeechStart
from edge.audio.rate import RATE
from edge.pipeline.listening import BARGE_IN_MODES, ListenGate
from edge.profiles import DialogueSettings

__all__ = ["CloseGate", "Decision", "Interrupt", "OpenGate", "Take", "TurnTaking", "Utterance"]

_WAKE_BACK = RATE * 150 // 1000  # a command in the wake phrase's breath starts this long before the hit
_WAKE_TAIL = RATE * 100 // 1000  # ...or, when the detector says where the phrase ended, this long before that
MIN_COMMAND = RATE * 300 // 1000  # less voice than this after the hit: only the wake phrase was said
_DEFAULTS = DialogueSettings()  # a profile without [dialogue]


@dataclass(frozen=True)
class Take:
    """Send the current utterance to the recognizer from sample ``start`` on."""

    start: int


@dataclass(frozen=True)
class Interrupt:
    """Stop the reply playing. ``onset``: the sample where the interrupting speech began (speech only)."""

    trigger: str  # "speech" | "wake" | "push_to_talk" | "stop"
    onset: int | None = None


@dataclass(frozen=True)
class OpenGate:
    """Listening opened without the wake word (``reason`` "wake", "push_to_talk" or "follow_up") until the
    stream position ``until``."""

    reason: str
    until: int


@dataclass(frozen=True)
class CloseGate:
    """The opening expired or was used: only the wake word (or push-to-talk) opens it again."""


Decision = Take | Interrupt | OpenGate | CloseGate


@dataclass
class Utterance:
    """The utterance the endpointer is in: taken (sent to the ASR from ``taken_from``) or not (yet)."""

    start: SpeechStart
    taken_from: int | None = None
    via_wake: bool = False  # taken by a wake hit inside it: the transcript may start with the phrase
    barge_in: bool = False  # it interrupted a reply: "stop" alone ends it there


class TurnTaking:
    """The gate, the wake word, push-to-talk, barge-in and the follow-up window, as one state machine.

    ``pos`` is the stream position (samples) after the block being handled. Thread-safe entry point:
    :meth:`push_to_talk` (a UI thread); the rest runs on the loop's thread.
    """

    def __init__(self, gated: bool = False, barge_in: str = _DEFAULTS.barge_in,
                 wake_window_s: float = _DEFAULTS.wake_window_s, follow_up_s: float = _DEFAULTS.follow_up_s) -> None:
        self.gate = ListenGate(gated, wake_window_s, follow_up_s)
        self.barge_in = barge_in
        self.pos = 0
        self.utterance: Utterance | None = None
        self._barged = False  # the reply was stopped by the wake word or the key: the next utterance interrupts
        self._continue = False  # an utterance cut at max_utterance_s goes on: take its continuation
        self._follow_up_due = False  # the last reply asked a question: open the gate once its audio ends
        self._lock = threading.Lock()
        self._ptt_pending = self._ptt_barged = False

    @property
    def barge_in(self) -> str:
        return self._barge_in

    @barge_in.setter
    def barge_in(self, mode: str) -> None:
        if mode not in BARGE_IN_MODES:
            raise ValueError(f"barge_in must be one of {', '.join(BARGE_IN_MODES)}, got {mode!r}")
        self._barge_in = mode

    @property
    def gated(self) -> bool:
        return self.gate.gated

    @gated.setter
    def gated(self, gated: bool) -> None:
        self.gate.gated = gated
        self.gate.reset()

    @property
    def taken(self) -> bool:
        """The current utterance goes to the recognizer."""
        return self.utterance is not None and self.utterance.taken_from is not None

    def reset(self) -> None:
        """A new input: position 0, no utterance, the gate closed (or always open)."""
        self.pos = 0
        self.utterance = None
        self._continue = False
        self.gate.reset()

    # --- per block -----------------------------------------------------------------------------------

    def listens_for_wake(self, playing: bool) -> bool:
        """The wake detector hears this block (not while a reply plays with barge-in off)."""
        return not (playing and self.barge_in == "off")

    def mutes_vad(self, playing: bool, half_duplex: bool = True) -> bool:
        """The VAD gets silence for this block: our own voice must not be heard as the user's."""
        return playing and half_duplex and (self.barge_in != "speech" or not self.gate.accepts(self.pos))

    def advance(self, samples: int) -> None:
        self.pos += samples

    def pending_push_to_talk(self) -> list[Decision] | None:
        """The key was pressed since the last block: the decisions it brings (None if it was not)."""
        with self._lock:
            if not self._ptt_pending:
                return None
            self._ptt_pending = False
            self._barged = self._barged or self._ptt_barged
            self._ptt_barged = False
        utt = self.utterance
        if utt is not None and utt.taken_from is None:  # already speaking: take this utterance
            return [self._take(utt, utt.start.sample)]
        if utt is None:
            return [OpenGate("push_to_talk", self.gate.open("push_to_talk", self.pos))]
        return []

    def push_to_talk(self, interrupted: bool) -> None:
        """The key (any thread); ``interrupted``: it stopped a reply, so the next utterance interrupts."""
        with self._lock:
            self._ptt_pending = True
            self._ptt_barged = self._ptt_barged or interrupted

    # --- audio-layer events --------------------------------------------------------------------------

    def speech_start(self, event: SpeechStart, playing: bool, start_pad: int) -> list[Decision]:
        utt = self.utterance = Utterance(event)
        if not (self._continue or self.gate.accepts(event.sample)):
            return []
        self._continue = False
        out: list[Decision] = [self._take(utt, event.sample)]
        if playing and self.barge_in == "speech":
            out.append(Interrupt("speech", min(event.sample + start_pad, event.detected_at)))
            utt.barge_in = True
        return out

    def speech_end(self, event: SpeechEnd) -> Utterance | None:
        """The utterance ended: returned if it was taken (the loop makes a turn of it), else None."""
        utt, self.utterance = self.utterance, None
        if utt is None or utt.taken_from is None:  # no wake word: never sent to the ASR
            return None
        self._continue = event.reason == "max_length"
        return utt

    def wake_hit(self, phrase_end: int, playing: bool) -> list[Decision]:
        """A wake hit; ``phrase_end``: where a command said in the same breath starts (see :meth:`phrase_end`)."""
        out: list[Decision] = []
        if playing and self.barge_in != "off":
            out.append(Interrupt("wake"))
            self._barged = True
        utt = self.utterance
        if utt is None:
            out.append(OpenGate("wake", self.gate.open("wake", self.pos)))
        elif utt.taken_from is None:  # "hey edge, what time is it": the command follows in the same breath
            out.append(self._take(utt, max(utt.start.sample, phrase_end), via_wake=True))
        return out

    def phrase_end(self, fed: int | None, hit_sample: int | None) -> int:
        """Where a command said in the wake phrase's breath starts, in stream samples. A verified hit comes half
        a second or more after the phrase: the detector's ``fed`` position and the hit's sample say how far
        back; without them, 150 ms before now."""
        if isinstance(fed, int) and isinstance(hit_sample, int) and 0 <= fed - hit_sample <= self.pos:
            return max(0, self.pos - (fed - hit_sample) - _WAKE_TAIL)
        return self.pos - _WAKE_BACK

    # --- after a turn, and between utterances ------------------------------------------------------------

    def only_wake_phrase(self, utt: Utterance) -> OpenGate:
        """The utterance was the wake phrase alone: wait for the command."""
        self._barged = utt.barge_in
        return OpenGate("wake", self.gate.open("wake", self.pos))

    def replied(self, asks: bool) -> None:
        """A reply was spoken to the end; ``asks``: it asked a question (listen again without the wake word)."""
        self._follow_up_due = asks

    def between(self, playing: bool) -> list[Decision]:
        """Between utterances: open the follow-up window once a question's audio has played; close an expired
        or used opening."""
        out: list[Decision] = []
        if self._follow_up_due and not playing:
            self._follow_up_due = False
            if self.gate.gated and self.gate.follow_up > 0:
                out.append(OpenGate("follow_up", self.gate.open("follow_up", self.pos, self.gate.follow_up)))
        if not self._follow_up_due and self.gate.close_if_due(self.pos):
            self._barged = False
            out.append(CloseGate())
        return out

    def _take(self, utt: Utterance, start: int, via_wake: bool = False) -> Take:
        utt.taken_from, utt.via_wake = start, via_wake
        utt.barge_in = utt.barge_in or self._barged
        self._barged = False
        self.gate.take()
        return Take(start)
