"""The second English voice (hibari, manifest model ``hibari-en-us-heart``): chosen by id, never taken for the Piper
voice, loaded and spoken with the network shut, its speech heard back by Whisper tiny.en. Needs the ``hibari``
extra (``pip install 'hibari-tts==0.2.1'``); without it only the one-line error is checked."""

from __future__ import annotations

import importlib.util
import socket
import sys
from typing import Any

import pytest

from edge.tts import create_tts, piper_voice_for
from edge.tts.base import TtsError

needs_hibari = pytest.mark.skipif(importlib.util.find_spec("hibari") is None,
                                  reason="the hibari extra is not installed: pip install 'hibari-tts==0.2.1'")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("the hibari voice tried the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@needs_hibari
def test_hibari_speaks_english_offline_that_whisper_hears_back(no_network: None) -> None:
    from edge.asr import FasterWhisperEngine
    from edge.audio.resample import resample

    voice = create_tts("en-US", voice="hibari-en-us-heart")  # as `edge say --voice hibari-en-us-heart` loads it
    assert (voice.name, voice.rate) == ("hibari", 24000)
    chunks = list(voice.stream("Sorry, I didn't catch that. Your alarm is set for 7:30 tomorrow morning."))
    assert [c.text for c in chunks][0] == "Sorry,"  # the first clause on its own: first audio sooner
    audio = voice.synthesize("Your alarm is set for seven thirty tomorrow morning.")
    assert audio.samples.size / audio.rate > 1.0 and abs(audio.samples).max() > 0.05
    again = voice.synthesize("Your alarm is set for seven thirty tomorrow morning.")
    assert (again.samples == audio.samples).all()  # seeded: the same text, the same audio
    heard = FasterWhisperEngine(locale="en-US", threads=1).transcribe(resample(audio.samples, audio.rate))
    assert "alarm is set for" in heard.text.lower() and "tomorrow morning" in heard.text.lower(), heard.text


@needs_hibari
def test_hibari_is_chosen_only_by_name_and_only_for_english() -> None:
    entry = piper_voice_for("en-US")
    assert entry is not None and entry.id == "piper-en-us-joe-medium"  # Piper stays the English default
    from edge.models import require
    from edge.tts.hibari_engine import HibariTts

    with pytest.raises(TtsError, match="English only"):
        HibariTts(require("hibari-en-us-heart"), locale="de-DE")


def test_profile_and_say_can_choose_hibari() -> None:
    """A profile names it per locale ([tts] voices); `edge say --voice` and the loader take the id."""
    from dataclasses import replace

    from edge.pipeline.loader import PipelineError, load_tts
    from edge.profiles import load_profile

    profile = load_profile("desktop")
    chosen = replace(profile, tts=replace(profile.tts, voices={"en": "hibari-en-us-heart", "*": "auto"}))
    assert chosen.tts_voice("en-US") == "hibari-en-us-heart"
    if importlib.util.find_spec("hibari") is None:
        with pytest.raises(PipelineError, match="pip install 'hibari-tts==0.2.1'"):
            load_tts(chosen, "en-US")
        return
    assert load_tts(chosen, "en-US").name == "hibari"


def test_a_missing_package_is_one_line_naming_the_pip_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Any
                                                              ) -> None:
    from edge.tts.hibari_engine import HibariTts

    model = tmp_path / "hibari.onnx"
    model.write_bytes(b"not used")
    monkeypatch.setitem(sys.modules, "hibari", None)  # import hibari now raises ImportError
    with pytest.raises(TtsError) as err:
        HibariTts(model)
    message = str(err.value)
    assert "\n" not in message and "pip install 'hibari-tts==0.2.1'" in message
