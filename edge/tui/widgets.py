"""The app's panels: each one shows one part of the assistant's state and re-renders only when it changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.text import Text
from textual.widgets import Static

from edge.tui.pending import Pending, describe

__all__ = ["LatencyPanel", "LevelMeter", "PendingPanel", "StatusLine", "TurnPanel", "latency_rows"]

METER_FLOOR_DB = -60.0  # the meter's left end; 0 dBFS is full scale
METER_WIDTH = 30

_VAD_STYLES = {"speech": "bold green", "silence": "dim", "thinking": "yellow", "off": "dim red"}


class LevelMeter(Static):
    """The input level (dBFS bar) and the VAD state; redraws only when the bar or the words change."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.level: float | None = None
        self.vad = "off"
        self.mic = "starting"
        self._shown: tuple[Any, ...] = ()

    def set_level(self, db: float | None) -> None:
        self.level = db
        self._refresh()

    def set_vad(self, state: str) -> None:
        self.vad = state
        self._refresh()

    def set_mic(self, text: str) -> None:
        self.mic = text
        self._refresh()

    def on_mount(self) -> None:
        self._refresh()

    def _refresh(self) -> None:
        cells = 0 if self.level is None else round(METER_WIDTH * max(0.0, 1 - self.level / METER_FLOOR_DB))
        db = "  --  " if self.level is None else f"{max(self.level, -99):4.0f} dB"
        key = (cells, db, self.vad, self.mic)
        if key == self._shown:
            return
        self._shown = key
        text = Text()
        text.append("mic ", style="bold")
        text.append("█" * cells, style="green" if cells < METER_WIDTH * 0.85 else "red")
        text.append("░" * (METER_WIDTH - cells), style="dim")
        text.append(f" {db}   VAD: ")
        text.append(self.vad, style=_VAD_STYLES.get(self.vad, "cyan"))
        text.append(f"   {self.mic}", style="italic")
        self.update(text)


class TurnPanel(Static):
    """The last turn: what was heard (partials, then the final transcript), the intent, the reply."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.heard = ""
        self.heard_final = True
        self.engine = ""
        self.intent = ""
        self.reply = ""
        self.reply_state = ""

    def on_mount(self) -> None:
        self._render_turn()

    def partial(self, text: str) -> None:
        self.heard, self.heard_final = text, False
        self._render_turn()

    def transcript(self, text: str, engine: str) -> None:
        self.heard, self.heard_final, self.engine = text, True, engine
        self.intent = self.reply = self.reply_state = ""
        self._render_turn()

    def set_intent(self, data: dict[str, Any]) -> None:
        slots = ", ".join(f"{s['type']}={s['value']}" for s in data.get("slots", [])) or "-"
        name = data.get("intent") or "(none)"
        conf = data.get("confidence")
        ood = "  out of domain" if data.get("out_of_domain") else ""
        self.intent = f"{name} ({conf:.2f})  slots: {slots}{ood}" if conf is not None else f"{name}  slots: {slots}"
        self._render_turn()

    def set_reply(self, text: str, state: str) -> None:
        self.reply, self.reply_state = text, state
        self._render_turn()

    def set_reply_state(self, state: str) -> None:
        self.reply_state = state
        self._render_turn()

    def _render_turn(self) -> None:
        text = Text()
        text.append("heard   ", style="bold")
        if self.heard:
            text.append(self.heard, style="" if self.heard_final else "italic dim")
            if self.heard_final and self.engine:
                text.append(f"  [{self.engine}]", style="dim")
        else:
            text.append("(nothing yet)", style="dim")
        text.append("\nintent  ", style="bold")
        text.append(self.intent or "-")
        text.append("\nreply   ", style="bold")
        text.append(self.reply or "-", style="bold cyan" if self.reply else "")
        if self.reply_state:
            text.append(f"  ({self.reply_state})", style="dim")
        self.update(text)


def latency_rows(latency: dict[str, float]) -> list[tuple[str, float]]:
    """The stages of a turn's ``latency_ms`` in pipeline order, labelled."""
    labels = (("endpoint_wait", "endpoint"), ("asr", "asr"), ("nlu", "nlu"), ("route", "reply"),
              ("tts_first", "tts first audio"), ("tts", "tts all"), ("total", "total"))
    return [(label, float(latency[key])) for key, label in labels if key in latency]


class LatencyPanel(Static):
    """Each stage's latency for the last turn."""

    def show(self, latency: dict[str, float], measured: bool) -> None:
        rows = latency_rows(latency)
        if not rows:
            self.update("no turn yet")
            return
        text = Text()
        for label, ms in rows:
            text.append(f"{label:<16}", style="bold" if label == "total" else "")
            text.append(f"{ms:8.0f} ms\n")
        text.append("measured" if measured else "typed / estimated", style="dim")
        self.update(text)


class PendingPanel(Static):
    """Pending alarms, timers and reminders."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[str, ...] | None = None

    def show(self, items: list[Pending] | None, now: dt.datetime, note: str = "") -> None:
        lines = tuple(describe(item, now) for item in items) if items else ()
        key = (*lines, note)
        if key == self._shown:
            return
        self._shown = key
        if note:
            self.update(Text(note, style="dim"))
        elif not lines:
            self.update(Text("nothing pending", style="dim"))
        else:
            self.update("\n".join(lines))


class StatusLine(Static):
    """One line: the profile, locale and models in use (or what is loading)."""
