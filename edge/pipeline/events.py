"""One timestamped event stream for a running assistant: the CLI, the JSON log and the benchmark all read it.

Every stage reports what it did as an :class:`Event` on an :class:`EventBus`; subscribers are plain
callables. ``t`` is seconds (monotonic clock) since the bus was created, so events from one run sort
and subtract cleanly.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

__all__ = ["EVENT_KINDS", "Event", "EventBus", "EventRecorder", "JsonlWriter"]

# The kinds of event, in the order a turn produces them.
EVENT_KINDS = (
    "listening",  # the pipeline is ready and reading its input {source, locale, profile}
    "speech_start",  # the VAD confirmed speech {audio_s}
    "partial",  # a partial transcript {text}
    "speech_end",  # the endpointer closed an utterance {start_s, end_s, voice_end_s, reason, wait_ms}
    "transcript",  # the final transcript {text, engine, asr_ms, speculative}
    "intent",  # the NLU parse {intent, confidence, scenario, slots, out_of_domain, nlu_ms}
    "reply",  # what the router answered {text, locale, skill, route_ms}
    "first_audio",  # the first reply sample reached the sink {latency_ms, tts_first_ms}
    "reply_done",  # the whole reply was synthesised {audio_s, tts_ms}
    "turn",  # one summary per turn {transcript, intent, slots, reply, latency: {...}}
    "warning",  # something odd that did not stop the run {message}
    "error",  # a failure; the process may go on {message}
    "stopped",  # the input ended or the user stopped {turns, reason}
    "wake",  # listening opened {source: "wake_word" | "push_to_talk", phrase, score, audio_s}
    "awaiting_wake",  # the gate closed: only the wake word (or push-to-talk) opens it again {audio_s}
    "follow_up",  # a reply asked a question: listening without the wake word {seconds, until, until_audio_s}
    "barge_in",  # the reply audio was stopped {trigger, latency_ms, since_onset_ms, audio_s}
)


@dataclass(frozen=True)
class Event:
    kind: str
    t: float  # seconds since the bus started
    turn: int  # 0 before the first utterance
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, "t": round(self.t, 4), "turn": self.turn, **self.data}


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

    def emit(self, kind: str, **data: Any) -> Event:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        event = Event(kind, self.now(), self.turn, data)
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except BrokenPipeError:
                raise
            except Exception as exc:  # a broken display must not stop the assistant
                with self._lock:
                    if callback in self._subscribers:
                        self._subscribers.remove(callback)
                import logging

                logging.getLogger(__name__).warning("event subscriber %r dropped: %s", callback, exc)
        return event


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
