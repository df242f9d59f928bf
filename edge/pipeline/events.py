"""One timestamped event stream for a running assistant: the CLI, the JSON log, the TUI and the benchmark read it.

Every stage reports what it did as an :class:`Event` on an :class:`EventBus`; subscribers are plain
callables. Each kind is its own frozen dataclass (:class:`SpeechEnded`, :class:`Transcript`...): its fields
are the payload, in the order ``to_dict()`` writes them, so the JSON lines of ``edge run --json`` keep
their exact shape. ``t`` is seconds (monotonic clock) since the bus was created and ``turn`` the turn
number; the bus stamps both when the event is emitted, so events from one run sort and subtract cleanly.

Consumers ``match`` on the class, or read ``event.kind`` and ``event.data`` (the payload as a dict).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar, TypeVar

__all__ = [
    "APP_EVENT_KINDS", "AppError", "AppLevel", "AppLoadFailed", "AppLoaded", "AppLoading", "AppMic", "AppNote",
    "AppStopped", "AppStore", "AwaitingWake", "BargeIn", "EVENT_KINDS", "EVENT_TYPES", "ErrorRaised", "Event",
    "EventBus", "EventRecorder", "FirstAudio", "FollowUp", "IntentParsed", "JsonlWriter", "LanguageHeard",
    "LearnedApplied", "Listening", "OutputState", "PartialTranscript", "ReplyChosen", "ReplyDone", "SpeechDropped",
    "SpeechEnded", "SpeechStarted", "Stopped", "Transcript", "TurnSummary", "WakeHeard", "WarningRaised", "make_event",
]

log = logging.getLogger(__name__)

E = TypeVar("E", bound="Event")


@dataclass(frozen=True, kw_only=True)
class Event:
    """The envelope every event shares. Subclasses set ``kind`` and add their payload fields.

    ``_omit_unset``: payload fields left out of :attr:`data` while they hold their default (flags such as
    ``interrupted`` that only appear when they are true).
    """

    kind: ClassVar[str] = ""
    _omit_unset: ClassVar[tuple[str, ...]] = ()

    t: float = 0.0  # seconds since the bus started
    turn: int = 0  # 0 before the first utterance

    @property
    def data(self) -> dict[str, Any]:
        """The payload, as the JSON line writes it after ``event``, ``t`` and ``turn``."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in ("t", "turn"):
                continue
            value = getattr(self, f.name)
            if f.name in self._omit_unset and value == f.default:
                continue
            out[f.name] = value
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, "t": round(self.t, 4), "turn": self.turn, **self.data}


# --- the pipeline's events, in the order a turn produces them --------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Listening(Event):
    """The pipeline is ready and reading its input."""

    kind: ClassVar[str] = "listening"
    source: str = ""
    locale: str = ""
    live: bool = False


@dataclass(frozen=True, kw_only=True)
class SpeechStarted(Event):
    """The VAD confirmed speech (and the utterance is taken)."""

    kind: ClassVar[str] = "speech_start"
    audio_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class PartialTranscript(Event):
    kind: ClassVar[str] = "partial"
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class SpeechEnded(Event):
    """The endpointer closed an utterance."""

    kind: ClassVar[str] = "speech_end"
    start_s: float = 0.0
    end_s: float = 0.0
    voice_end_s: float = 0.0
    reason: str = ""
    wait_ms: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Transcript(Event):
    """The final transcript (``engine`` "typed" for a typed turn)."""

    kind: ClassVar[str] = "transcript"
    text: str = ""
    engine: str = ""
    asr_ms: float = 0.0
    compute_ms: float = 0.0
    speculative: bool = False


@dataclass(frozen=True, kw_only=True)
class IntentParsed(Event):
    """The NLU parse."""

    kind: ClassVar[str] = "intent"
    intent: str | None = None
    confidence: float = 0.0
    scenario: str | None = None
    slots: list[dict[str, Any]] = field(default_factory=list)
    out_of_domain: bool = False
    nlu_ms: float = 0.0


@dataclass(frozen=True, kw_only=True)
class ReplyChosen(Event):
    """What the router answered (``skill`` "announcement" for something said unprompted)."""

    kind: ClassVar[str] = "reply"
    text: str = ""
    locale: str = ""
    skill: str = ""
    route_ms: float = 0.0


@dataclass(frozen=True, kw_only=True)
class FirstAudio(Event):
    """The first reply sample reached the sink; ``latency_ms`` is measured on live input only (else None)."""

    kind: ClassVar[str] = "first_audio"
    tts_first_ms: float = 0.0
    compute_ms: float = 0.0
    speculative: bool = False
    latency_ms: float | None = None


@dataclass(frozen=True, kw_only=True)
class ReplyDone(Event):
    """The whole reply was synthesised (or a stop cut it short: ``interrupted``)."""

    kind: ClassVar[str] = "reply_done"
    _omit_unset: ClassVar[tuple[str, ...]] = ("interrupted",)
    audio_s: float = 0.0
    tts_ms: float = 0.0
    interrupted: bool = False


@dataclass(frozen=True, kw_only=True)
class TurnSummary(Event):
    """One summary per turn; ``stopped``: the turn was only "stop" during a reply."""

    kind: ClassVar[str] = "turn"
    _omit_unset: ClassVar[tuple[str, ...]] = ("stopped",)
    transcript: str = ""
    intent: str | None = None
    confidence: float | None = None
    slots: list[dict[str, Any]] = field(default_factory=list)
    reply: str | None = None
    skill: str | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    measured: bool = False
    stopped: bool = False


@dataclass(frozen=True, kw_only=True)
class WarningRaised(Event):
    """Something odd that did not stop the run."""

    kind: ClassVar[str] = "warning"
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class ErrorRaised(Event):
    """A failure; the process may go on."""

    kind: ClassVar[str] = "error"
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class Stopped(Event):
    """The input ended or the user stopped."""

    kind: ClassVar[str] = "stopped"
    turns: int = 0
    reason: str = ""
    audio_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class WakeHeard(Event):
    """Listening opened: ``source`` "wake_word" (with ``phrase`` and ``score``) or "push_to_talk"."""

    kind: ClassVar[str] = "wake"
    source: str = ""
    phrase: str | None = None
    score: float | None = None
    audio_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class AwaitingWake(Event):
    """The gate closed: only the wake word (or push-to-talk) opens it again."""

    kind: ClassVar[str] = "awaiting_wake"
    audio_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class FollowUp(Event):
    """A reply asked a question: listening without the wake word until ``until`` (bus time)."""

    kind: ClassVar[str] = "follow_up"
    seconds: float = 0.0
    until: float = 0.0
    until_audio_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class BargeIn(Event):
    """The reply audio was stopped; ``since_onset_ms`` only for speech on live input."""

    kind: ClassVar[str] = "barge_in"
    _omit_unset: ClassVar[tuple[str, ...]] = ("since_onset_ms",)
    trigger: str = ""
    latency_ms: float = 0.0
    audio_s: float = 0.0
    since_onset_ms: float | None = None


@dataclass(frozen=True, kw_only=True)
class OutputState(Event):
    """What the user hears changed, and it persists: ``muted`` replies are written as silence (a spoken
    "unmute" undoes it), ``volume`` 0-1. At start when it is not the default, then whenever a turn changes it."""

    kind: ClassVar[str] = "output_state"
    muted: bool = False
    volume: float = 1.0

    def describe(self) -> str:
        """The state in words, for a front end's status line."""
        if self.muted:
            return 'muted: replies are silent until you say "unmute"'
        return f"sound on, volume {round(self.volume * 100)}%"


@dataclass(frozen=True, kw_only=True)
class LanguageHeard(Event):
    """``--locale auto``: the language Whisper identified in the utterance (after its ``transcript``) and the
    locale the turn is understood, answered and spoken in. ``confident`` False: ``probability`` was below the
    threshold and the last locale was kept; ``switched``: the locale differs from the previous turn's; ``kept``
    (not empty): why the utterance could not switch the locale whatever its probability (only the wake phrase,
    too short to tell)."""

    kind: ClassVar[str] = "language"
    _omit_unset: ClassVar[tuple[str, ...]] = ("kept",)
    language: str = ""
    probability: float = 0.0
    locale: str = ""
    confident: bool = False
    switched: bool = False
    kept: str = ""

    def describe(self) -> str:
        """``de-DE (heard de, 0.95)`` or ``en-US (heard ja, 0.31: not sure, kept en-US)``."""
        if self.kept:
            return (f"{self.locale} (heard {self.language or '?'}, {self.probability:.2f}: {self.kept}, "
                    f"kept {self.locale})")
        if self.confident:
            return f"{self.locale} (heard {self.language or '?'}, {self.probability:.2f})"
        return f"{self.locale} (heard {self.language or '?'}, {self.probability:.2f}: not sure, kept {self.locale})"


@dataclass(frozen=True, kw_only=True)
class SpeechDropped(Event):
    """An utterance not answered: the recogniser's own signals (and the NLU's confidence) say it was noise or
    music, not speech (:mod:`edge.pipeline.speech_gate`). ``text`` is what was transcribed; no turn follows."""

    kind: ClassVar[str] = "dropped"
    text: str = ""
    reason: str = ""
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0


@dataclass(frozen=True, kw_only=True)
class LearnedApplied(Event):
    """A learned correction (edge.learn) took this turn's parse: ``phrase`` (learned item ``item``) is taken
    as ``intent`` here, whatever the model says. It persists, so it is said each time it acts."""

    kind: ClassVar[str] = "learned"
    item: int = 0
    phrase: str = ""
    intent: str = ""

    def describe(self) -> str:
        return f'learned here: "{self.phrase}" means {self.intent} (undo: edge learn undo {self.item})'


# --- what a front end's assistant thread reports beside the pipeline (the TUI) ---------------------------


@dataclass(frozen=True, kw_only=True)
class AppLoading(Event):
    """Models are loading for ``profile`` and ``locale``."""

    kind: ClassVar[str] = "app_loading"
    profile: str = ""
    locale: str = ""


@dataclass(frozen=True, kw_only=True)
class AppLoaded(Event):
    """A pipeline is in use; ``loaded`` describes it (an ``edge.tui.worker.Loaded``)."""

    kind: ClassVar[str] = "app_loaded"
    loaded: Any = None


@dataclass(frozen=True, kw_only=True)
class AppLoadFailed(Event):
    kind: ClassVar[str] = "app_load_failed"
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class AppMic(Event):
    """The microphone's state (an ``edge.tui.worker.MicState``)."""

    kind: ClassVar[str] = "app_mic"
    state: Any = None


@dataclass(frozen=True, kw_only=True)
class AppLevel(Event):
    """The input level in dBFS, about ten times a second; None when the microphone closed."""

    kind: ClassVar[str] = "app_level"
    db: float | None = None


@dataclass(frozen=True, kw_only=True)
class AppStore(Event):
    """The skills' store (alarms, timers...), or None without one."""

    kind: ClassVar[str] = "app_store"
    store: Any = None


@dataclass(frozen=True, kw_only=True)
class AppError(Event):
    """A problem the front end shows as it is (not a pipeline ``error``)."""

    kind: ClassVar[str] = "app_error"
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class AppNote(Event):
    kind: ClassVar[str] = "app_note"
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class AppStopped(Event):
    """The assistant thread ended."""

    kind: ClassVar[str] = "app_stopped"


_PIPELINE_TYPES: tuple[type[Event], ...] = (
    Listening, SpeechStarted, PartialTranscript, SpeechEnded, Transcript, IntentParsed, ReplyChosen, FirstAudio,
    ReplyDone, TurnSummary, WarningRaised, ErrorRaised, Stopped, WakeHeard, AwaitingWake, FollowUp, BargeIn,
    OutputState, LanguageHeard, SpeechDropped, LearnedApplied,
)
_APP_TYPES: tuple[type[Event], ...] = (
    AppLoading, AppLoaded, AppLoadFailed, AppMic, AppLevel, AppStore, AppError, AppNote, AppStopped,
)
# The kinds of event, in the order a turn produces them (then the front end's own).
EVENT_KINDS: tuple[str, ...] = tuple(t.kind for t in _PIPELINE_TYPES)
APP_EVENT_KINDS: tuple[str, ...] = tuple(t.kind for t in _APP_TYPES)
EVENT_TYPES: dict[str, type[Event]] = {t.kind: t for t in _PIPELINE_TYPES + _APP_TYPES}


def make_event(kind: str, **data: Any) -> Event:
    """The event of ``kind`` with payload ``data`` (ValueError for an unknown kind, TypeError for a bad field)."""
    try:
        cls = EVENT_TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown event kind {kind!r}") from None
    return cls(**data)


class EventBus:
    """Fan-out of events to subscribers, thread-safe. A failing subscriber is dropped, never the pipeline."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.t0 = clock()
        self._subscribers: list[Callable[[Event], None]] = []
        self._lock = threading.Lock()
        self.turn = 0

    def now(self) -> float:
        """Seconds since the bus started, on the bus's clock."""
        return self._clock() - self.t0

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        with self._lock:
            self._subscribers.append(callback)

    def emit(self, event: E | str, **data: Any) -> E | Event:
        """Stamp ``event`` with the bus time and turn and hand it to every subscriber; returns the stamped event.

        ``emit("kind", **payload)`` builds the event of that kind first.
        """
        typed = make_event(event, **data) if isinstance(event, str) else event
        stamped = dataclasses.replace(typed, t=self.now(), turn=self.turn)
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(stamped)
            except BrokenPipeError:
                raise
            except Exception as exc:  # a broken display must not stop the assistant
                with self._lock:
                    if callback in self._subscribers:
                        self._subscribers.remove(callback)
                log.warning("event subscriber %r dropped: %s", callback, exc)
        return stamped


class EventRecorder:
    """Keeps every event (tests, benchmarks)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]


class JsonlWriter:
    """Writes each event as one JSON line (``--json`` on stdout, or a log file), flushed per line."""

    def __init__(self, stream: IO[str], kinds: tuple[str, ...] | None = None) -> None:
        self.stream = stream
        self.kinds = kinds

    def __call__(self, event: Event) -> None:
        if self.kinds is None or event.kind in self.kinds:
            self.stream.write(json.dumps(event.to_dict(), ensure_ascii=False, default=str) + "\n")
            self.stream.flush()
