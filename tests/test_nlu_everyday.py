"""Everyday phrasings a new user tried, which the first model got wrong, and their German, French and
Spanish equivalents: typed as people type them (capitals, punctuation, digits), through the shipped model."""

from __future__ import annotations

import pytest

from edge.nlu.runtime import NluModel


@pytest.fixture(scope="module")
def nlu() -> NluModel:
    return NluModel(threads=1)


INTENT_CASES = [
    ("en-US", "turn the sound down a little", "audio_volume_down"),
    ("de-DE", "mach den Ton ein bisschen leiser", "audio_volume_down"),
    ("fr-FR", "baisse un peu le son", "audio_volume_down"),
    ("es-ES", "baja un poco el volumen", "audio_volume_down"),
    ("en-US", "Turn the kitchen lights on.", "iot_hue_lighton"),
    ("de-DE", "Schalte das Licht in der Küche ein.", "iot_hue_lighton"),
    ("fr-FR", "Allume la lumière de la cuisine.", "iot_hue_lighton"),
    ("es-ES", "Enciende las luces de la cocina.", "iot_hue_lighton"),
    ("zh-CN", "打开客厅的灯", "iot_hue_lighton"),
    ("en-US", "wake me up tomorrow", "alarm_set"),
    ("de-DE", "weck mich morgen", "alarm_set"),
    ("fr-FR", "réveille-moi demain", "alarm_set"),
    ("es-ES", "despiértame mañana", "alarm_set"),
    ("en-US", "Set an alarm for 7 am", "alarm_set"),
]

SLOT_CASES = [
    ("en-US", "Turn the kitchen lights on.", ("house_place", "kitchen")),
    ("en-US", "wake me up tomorrow", ("date", "tomorrow")),
    ("en-US", "at six fifteen", ("time", "six fifteen")),  # the answer to "For what time?"
    ("de-DE", "um sechs Uhr fünfzehn", ("time", "sechs Uhr fünfzehn")),
    ("fr-FR", "à six heures quinze", ("time", "six heures quinze")),
    ("es-ES", "a las seis y cuarto", ("time", "seis y cuarto")),
    ("en-US", "Set an alarm for 7 am", ("time", "7 am")),
    ("zh-CN", "打开客厅的灯", ("house_place", "客厅")),
]


@pytest.mark.parametrize(("locale", "text", "intent"), INTENT_CASES, ids=[f"{c[0]}:{c[1]}" for c in INTENT_CASES])
def test_everyday_intent(nlu: NluModel, locale: str, text: str, intent: str) -> None:
    p = nlu.parse(text, locale)
    assert p.intent == intent, p


@pytest.mark.parametrize(("locale", "text", "slot"), SLOT_CASES, ids=[f"{c[0]}:{c[1]}" for c in SLOT_CASES])
def test_everyday_slot(nlu: NluModel, locale: str, text: str, slot: tuple[str, str]) -> None:
    p = nlu.parse(text, locale)
    assert slot in [(s.type, s.value) for s in p.slots], p
