"""audio_volume_*: louder, quieter, mute, unmute, "set the volume to 40 percent", on ``services["sink"]``.

The volume (0-1) and the mute state are kept in the settings, so they survive a restart
(:func:`restore_volume` applies them to a new sink).
"""

from __future__ import annotations

import re
from typing import Any

from edge.nlu.runtime import Parse
from edge.skills.base import Outcome, SkillContext
from edge.skills.helpers import outcome, settings, slot, words, words_of
from edge.skills.maths import _TENS, _UNITS

__all__ = ["STEP", "AudioControlSkill", "restore_volume"]

STEP = 0.1


def _number(text: str) -> float | None:
    found = re.search(r"\d+(?:[.,]\d+)?", text)
    if found:
        return float(found.group().replace(",", "."))
    total = None
    for w in words(text):
        if w in _TENS:
            total = (total or 0) + _TENS[w]
        elif w in _UNITS:
            total = (total or 0) + _UNITS[w]
        elif w == "hundred":
            total = (total or 1) * 100
    return float(total) if total is not None else None


def _level(amount: float, percent: bool = False) -> float:
    """A spoken amount as a volume: a percentage when said so ("10 percent") or above 10, else a scale of ten."""
    return amount / 100.0 if percent or amount > 10 else amount / 10.0


def restore_volume(ctx: SkillContext) -> None:
    """Apply the saved volume and mute state to ``services["sink"]`` (call once when the sink opens)."""
    sink = ctx.services.get("sink")
    if sink is None:
        return
    saved = settings(ctx)
    sink.volume = float(saved.get("audio.volume", sink.volume))
    sink.muted = bool(saved.get("audio.muted", sink.muted))


_UNSPACED = ("ja", "zh", "th")  # written without spaces between words: a phrase may touch the next word


def asks_unmute(text: str, locale: str) -> bool:
    """Whether ``text`` says one of the locale's (or English) unmute phrases ("unmute", "Ton wieder an")."""
    low = f" {' '.join(words(text))} "
    phrases = words_of(locale, "audio.unmute_words") | words_of("en", "audio.unmute_words")
    unspaced = locale.split("-")[0].lower() in _UNSPACED
    return any((p in low) if unspaced else (f" {p} " in low) for p in phrases)


class AudioControlSkill:
    name = "audio"
    intents = ("audio_volume_down", "audio_volume_mute", "audio_volume_other", "audio_volume_up")
    honest: tuple[str, ...] = ()
    # Its claim by text (an unmute phrase) is certain: the router acts on it even when the NLU is unsure, so a
    # mute, misheard or not, is always undone by saying "unmute".
    certain_by_text = True

    def handles(self, parse: Parse) -> bool:
        return asks_unmute(parse.text, parse.locale or "en")

    def handle(self, parse: Parse, ctx: SkillContext) -> Outcome:
        volume, muted = self._current(ctx)
        intent = parse.intent
        amount = slot(parse, "change_amount")
        lowered = " ".join(words(parse.text))
        percent_words = words_of(ctx.locale, "audio.percent_words") | words_of("en", "audio.percent_words")
        percent = any(w in (amount or parse.text).lower() for w in percent_words)
        step = _number(amount) if amount else None
        step = _level(step, percent) if step is not None else STEP
        unmute = asks_unmute(parse.text, ctx.locale)
        to_words = words_of(ctx.locale, "audio.to_words") | words_of("en", "audio.to_words")
        if intent in ("audio_volume_up", "audio_volume_down") and amount and _number(amount) is not None \
                and (words(amount) or [""])[0] in to_words:
            intent = "audio_volume_other"  # "turn it up to 50 percent": a level, not a step
        if unmute:
            return self._apply(ctx, volume, False, "audio.unmuted")
        if intent == "audio_volume_up":
            volume, muted = min(1.0, volume + step), False
        elif intent == "audio_volume_down":
            volume = max(0.0, volume - step)
        elif intent == "audio_volume_mute":
            return self._apply(ctx, volume, True, "audio.muted")
        else:  # audio_volume_other: "set the volume to 4", "maximum volume", or "what's the volume"
            maximum = any(w in lowered for w in words_of(ctx.locale, "audio.max_words") | {"max", "maximum"})
            number = _number(amount or parse.text)
            if maximum:
                volume = 1.0
            elif number is not None:
                volume = min(1.0, max(0.0, _level(number, percent)))
            else:
                key = "audio.status_muted" if muted else "audio.status"
                return outcome(ctx, self.name, key, percent=round(volume * 100))
        return self._apply(ctx, volume, muted, "audio.set")

    def preview(self, parse: Parse, ctx: SkillContext) -> Outcome | None:
        return None  # the reply states the new level, which depends on acting

    def _current(self, ctx: SkillContext) -> tuple[float, bool]:
        sink: Any = ctx.services.get("sink")
        saved = settings(ctx)
        volume = float(saved.get("audio.volume", sink.volume if sink is not None else 1.0))
        muted = bool(saved.get("audio.muted", sink.muted if sink is not None else False))
        return volume, muted

    def _apply(self, ctx: SkillContext, volume: float, muted: bool, key: str) -> Outcome:
        volume = round(volume, 3)
        sink: Any = ctx.services.get("sink")
        if sink is not None:
            sink.volume = volume
            sink.muted = muted
        saved = settings(ctx)
        saved.set("audio.volume", volume)
        saved.set("audio.muted", muted)
        return outcome(ctx, self.name, key, percent=round(volume * 100),
                       state={"volume": volume, "muted": muted})
