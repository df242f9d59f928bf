"""The wake phrase is taken off the transcript even where Whisper spells it its own way."""

from __future__ import annotations

import pytest

from edge.pipeline.listening import strip_wake_phrase


@pytest.mark.parametrize(("text", "phrase", "command"), [
    ("Häuschrecke. Mach alle Licht aus.", "heuschrecke", "Mach alle Licht aus."),  # real Picovoice clips (de, pt)
    ("A bacachia ligá-los na cozinha.", "abacaxi", "ligá-los na cozinha."),
    ("Hey edgy, what time is it", "hey edge", "what time is it"),
    ("Monsieur Chouchou allume la lumière", "mon chouchou", "allume la lumière"),
    ("Hey Edge, what time is it?", "hey edge", "what time is it?"),  # exact, and the tail of the phrase
    ("Edge. What time is it?", "hey edge", "What time is it?"),
])
def test_the_wake_phrase_is_taken_off(text: str, phrase: str, command: str) -> None:
    assert strip_wake_phrase(text, phrase) == command


@pytest.mark.parametrize(("text", "phrase"), [
    ("What time is it?", "hey edge"),
    ("Harvest moon is nice", "hey jarvis"),
    ("Computing is fun", "computer"),
    ("곡불 소 모든 물을 다 파란색으로 다 바꿔줘.", "코뿔소"),  # too far from the phrase to guess
    ("Play jazz", "ok"),  # under four letters: never guessed at
])
def test_a_command_that_only_resembles_it_is_kept(text: str, phrase: str) -> None:
    assert strip_wake_phrase(text, phrase) == text
