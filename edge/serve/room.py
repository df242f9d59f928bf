"""A satellite's room: utterances from the microphone (or a file), each sent as a turn, replies played.

Half duplex: while a reply plays, the microphone is heard as silence, so the satellite does not answer
itself. With a wake word, an utterance is sent only if the phrase was heard in the ``wake_window_s``
before it ended, or while a reply's question is open (``follow_up_s`` after its audio).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.audio.endpoint import Endpointer, SpeechEnd
from edge.serve.satellite import Announced, SatelliteClient, TurnResult

__all__ = ["Gate", "Utterance", "run_room", "utterances"]


@dataclass
class Utterance:
    audio: np.ndarray  # 16 kHz float32 mono
    wake_word: str | None = None


class Gate:
    """When an utterance may be sent: always (no wake word), or inside a window a wake hit or question opened."""

    def __init__(self, wake: bool, wake_window_s: float = 5.0, follow_up_s: float = 6.0) -> None:
        self.wake = wake
        self.wake_window_s = wake_window_s
        self.follow_up_s = follow_up_s
        self._open_until = 0.0
        self._lock = threading.Lock()

    def open(self, seconds: float) -> None:
        with self._lock:
            self._open_until = max(self._open_until, time.monotonic() + seconds)

    def take(self) -> bool:
        """True if an utterance ending now may be sent (the window is then used up)."""
        if not self.wake:
            return True
        with self._lock:
            if time.monotonic() <= self._open_until:
                self._open_until = 0.0
                return True
            return False


def utterances(chunks: Iterable[np.ndarray], endpointer: Endpointer, gate: Gate, *, wake: Any = None,
               sink: Any = None, stop: threading.Event | None = None,
               on_wake: Callable[[str], None] | None = None) -> Iterator[Utterance]:
    """Utterances in a stream of 16 kHz chunks; the microphone is muted while ``sink`` plays."""
    phrase = getattr(wake, "phrase", None)
    for chunk in chunks:
        if stop is not None and stop.is_set():
            return
        heard = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if sink is not None and sink.playing:
            heard = np.zeros_like(heard)
        if wake is not None and wake.process(heard) is not None:
            gate.open(gate.wake_window_s)
            if on_wake is not None:
                on_wake(phrase or "wake word")
        for event in endpointer.process(heard):
            if isinstance(event, SpeechEnd) and event.audio is not None and gate.take():
                yield Utterance(event.audio, phrase)
    for event in endpointer.finish():
        if isinstance(event, SpeechEnd) and event.audio is not None and gate.take():
            yield Utterance(event.audio, phrase)


async def run_room(client: SatelliteClient, source: Iterable[Utterance], sink: Any, gate: Gate,
                   report: Callable[[TurnResult], None],
                   on_announced: Callable[[Announced], None] | None = None) -> int:
    """Send every utterance ``source`` yields (read in a thread) as a turn; play the replies, and the
    announcements the server speaks between turns (kept connected while the room is quiet). Returns the turns."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Utterance | BaseException | None] = asyncio.Queue()

    def produce() -> None:
        try:
            for utt in source:
                loop.call_soon_threadsafe(queue.put_nowait, utt)
        except BaseException as exc:  # the microphone failed: the loop reports it
            loop.call_soon_threadsafe(queue.put_nowait, exc)
            return
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=produce, name="edge-satellite-audio", daemon=True).start()
    if sink is not None:
        client.announcements.on_audio = sink.write  # alarms, timers, reminders set here, between turns
    if on_announced is not None:
        client.announcements.on_announced = on_announced
    await client.connect()
    keeper = loop.create_task(client.stay_connected())
    turns = 0
    try:
        while True:
            item = await queue.get()
            if item is None:
                return turns
            if isinstance(item, BaseException):
                raise item
            result = await client.turn(item.audio, on_audio=sink.write if sink is not None else None,
                                       wake_word=item.wake_word)
            turns += 1
            if result.expects_answer:
                gate.open(result.audio_s + gate.follow_up_s)
            report(result)
    finally:
        keeper.cancel()
