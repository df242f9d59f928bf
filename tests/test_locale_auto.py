"""``--locale auto`` in the live pipeline: each turn understood, answered and spoken in the language heard.

The parts without models (the turn's locale, its voice, the event) use fakes; then one process hears two real
recordings in two languages, a German and an Italian Picovoice command (tests/fixtures/audio/SOURCES.md), and
answers each in its own language with its own voice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.asr.auto import auto_fallback
from edge.asr.base import AsrResult
from edge.audio import read_audio
from edge.pipeline.events import EVENT_KINDS, EventBus, EventRecorder, LanguageHeard
from edge.pipeline.language import TurnLanguage
from edge.tts.espeak_engine import espeak_cannot_read

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
GERMAN = FIXTURES / "rhino_within_context_de.wav"  # Picovoice: lights off ("mache alle Licht aus")
ITALIAN = FIXTURES / "rhino_within_context_it.wav"  # Picovoice: spegnereLuce, luogo = bagno


@dataclass
class _Locale:
    locale: str = "en-US"
    tts: Any = None


@dataclass
class _Voices:
    loaded: list[str] = field(default_factory=list)

    def __call__(self, locale: str) -> Any:
        self.loaded.append(locale)
        if locale.startswith("ja"):
            raise RuntimeError("espeak-ng cannot read Japanese kanji")
        return f"voice:{locale}"


def _heard(locale: str, language: str, p: float) -> AsrResult:
    return AsrResult("text", True, [], "faster-whisper", locale, language, p)


def test_the_turn_follows_the_language_heard_and_each_voice_loads_once() -> None:
    voices = _Voices()
    follow = TurnLanguage("en-US", voices, "voice:en-US", threshold=0.5)
    answerer, responder = _Locale(), _Locale()
    bus, recorder = EventBus(), EventRecorder()
    bus.subscribe(recorder)
    turns = [_heard("de-DE", "de", 0.95), _heard("de-DE", "ja", 0.31), _heard("it-IT", "it", 0.9),
             _heard("de-DE", "de", 0.8), AsrResult("", True, locale="de-DE")]
    chosen = [follow.follow(r, answerer, responder, bus) for r in turns]  # type: ignore[arg-type]
    assert chosen == ["de-DE", "de-DE", "it-IT", "de-DE", "de-DE"]
    assert (answerer.locale, responder.locale, responder.tts) == ("de-DE", "de-DE", "voice:de-DE")
    assert voices.loaded == ["de-DE", "it-IT"]  # en-US came with the assistant; de-DE loaded once
    events = [e.data for e in recorder.of("language")]
    assert [(e["locale"], e["confident"], e["switched"]) for e in events] == [
        ("de-DE", True, True), ("de-DE", False, False), ("it-IT", True, True), ("de-DE", True, True)]
    assert events[1]["language"] == "ja" and events[1]["probability"] == 0.31


def test_a_voice_that_cannot_load_is_said_once_and_the_replies_are_printed() -> None:
    follow = TurnLanguage("en-US", _Voices(), None)
    responder = _Locale(tts="old")
    bus, recorder = EventBus(), EventRecorder()
    bus.subscribe(recorder)
    for _ in range(2):
        follow.follow(_heard("ja-JP", "ja", 0.99), _Locale(), responder, bus)  # type: ignore[arg-type]
        assert responder.tts is None
    warnings = [e.data["message"] for e in recorder.of("warning")]
    assert warnings == ["replies in ja-JP are printed, not spoken: espeak-ng cannot read Japanese kanji"]
    assert follow.voice("en-US") is None  # the configured locale's voice, as the assistant was given it


def test_the_language_event_is_a_new_kind_with_its_own_line() -> None:
    assert "language" in EVENT_KINDS
    event = LanguageHeard(t=1.5, turn=2, language="de", probability=0.95, locale="de-DE", confident=True,
                          switched=True)
    assert json.dumps(event.to_dict()) == ('{"event": "language", "t": 1.5, "turn": 2, "language": "de", '
                                           '"probability": 0.95, "locale": "de-DE", "confident": true, '
                                           '"switched": true}')
    assert event.describe() == "de-DE (heard de, 0.95)"
    unsure = LanguageHeard(language="ja", probability=0.31, locale="en-US")
    assert unsure.describe() == "en-US (heard ja, 0.31: not sure, kept en-US)"


def test_auto_locale_tags_and_scripts_espeak_cannot_read() -> None:
    assert auto_fallback("auto") == "en-US" and auto_fallback("AUTO:de-DE") == "de-DE"
    assert auto_fallback("de-DE") is None and auto_fallback("auto:") is None
    assert espeak_cannot_read("ja-JP") and espeak_cannot_read("km_KH")
    assert espeak_cannot_read("de-DE") is None and espeak_cannot_read("zh-CN") is None


def test_a_locale_auto_fallback_must_be_a_massive_locale() -> None:
    from edge.assembly import AssemblyError, assemble
    from edge.profiles import load_profile

    with pytest.raises(AssemblyError, match="not a MASSIVE locale"):
        assemble(load_profile("desktop"), "auto:xx-YY")


class _Sink:
    """A null sink that keeps, per reply, which voice wrote it."""

    def __init__(self, pipeline: Any = None) -> None:
        from edge.audio.sink import NullSink

        self.inner = NullSink()
        self.pipeline = pipeline
        self.voices: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write(self, samples: np.ndarray, rate: int) -> None:
        tts = self.pipeline.responder.tts
        name = f"{tts.name}:{getattr(tts, 'voice', '')}"
        if not self.voices or self.voices[-1] != name:
            self.voices.append(name)
        self.inner.write(samples, rate)


def test_two_real_recordings_in_two_languages_are_each_answered_in_their_own(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One process, one input: a German command, then an Italian one. Each turn is identified, parsed, answered
    and spoken in its language (espeak-ng's German, then Italian voice), and `edge run` prints the language."""
    from edge.assembly import FrontEnd, assemble
    from edge.audio.wav import write_wav
    from edge.commands.run import TurnPrinter
    from edge.profiles import load_profile

    silence = np.zeros(16000, np.float32)
    audio = np.concatenate([read_audio(GERMAN), silence, read_audio(ITALIAN), silence])
    bus, recorder = EventBus(), EventRecorder()
    bus.subscribe(recorder)
    bus.subscribe(TurnPrinter(show_partials=False))
    sink = _Sink()
    assistant = assemble(load_profile("desktop"), "auto", FrontEnd(sink=sink, bus=bus))  # type: ignore[arg-type]
    from edge.pipeline.speech_gate import AUTO_GATE

    assert assistant.pipeline.answerer.gate is AUTO_GATE  # Whisper base's stricter line for improbable text
    try:
        sink.pipeline = assistant.pipeline
        turns = assistant.pipeline.run([audio[i:i + 512] for i in range(0, audio.size, 512)], source="two")
    finally:
        assistant.close()
    assert [(e.data["language"], e.data["locale"], e.data["confident"]) for e in recorder.of("language")] == [
        ("de", "de-DE", True), ("it", "it-IT", True)]
    assert [t.parse.intent if t.parse else None for t in turns] == ["iot_hue_lightoff", "iot_hue_lightoff"]
    replies = recorder.of("reply")
    assert [e.data["locale"] for e in replies] == ["de-DE", "it-IT"]
    assert "Licht" in replies[0].data["text"] and "bagno" in replies[1].data["text"], replies
    assert sink.voices == ["espeak-ng:de", "espeak-ng:it"]
    assert all(e.data["audio_s"] > 0.5 for e in recorder.of("reply_done"))
    assert recorder.of("listening")[0].data["locale"] == "auto"
    out = capsys.readouterr().out
    assert "  language: de-DE (heard de, " in out and "  language: it-IT (heard it, " in out
    # the same input through `edge run --locale auto`: the language on each turn's lines
    from edge.cli import main

    wav = tmp_path / "two.wav"
    write_wav(wav, audio, 16000)
    assert main(["run", "--input", str(wav), "--locale", "auto", "--output", "none", "--no-speak"]) == 0
    lines = capsys.readouterr().out.splitlines()
    languages = [line.split("(")[0].strip() for line in lines if line.startswith("  language:")]
    assert languages == ["language: de-DE", "language: it-IT"], lines


class _GermanMicrophone:
    """A microphone that hears the German command once, then silence until stopped."""

    def __init__(self, device: object = None, block_ms: int = 32, **_: object) -> None:
        import threading

        self.device_name = "stand-in microphone"
        self._stopped = threading.Event()

    def __enter__(self) -> _GermanMicrophone:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopped.set()

    def __iter__(self) -> Any:
        import time

        audio = np.concatenate([read_audio(GERMAN), np.zeros(16000, np.float32)])
        for i in range(0, audio.size, 512):
            if self._stopped.is_set():
                return
            time.sleep(0.004)
            yield audio[i:i + 512]
        while not self._stopped.is_set():
            time.sleep(0.032)
            yield np.zeros(512, np.float32)


def test_the_terminal_app_shows_the_language_heard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`edge tui --locale auto`: a German command is answered in German, the turn panel shows the language."""
    import asyncio

    import edge.audio.devices as devices
    from edge.tui.app import EdgeApp
    from edge.tui.worker import TuiSettings, canonical_locale

    assert (canonical_locale("AUTO"), canonical_locale("auto:de-de"), canonical_locale("auto:xx-YY")) == (
        "auto", "auto:de-DE", None)
    monkeypatch.setattr(devices, "MicrophoneSource", _GermanMicrophone)
    app = EdgeApp(TuiSettings(locale="auto", output="none", data_dir=tmp_path))

    async def drive() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            deadline = asyncio.get_running_loop().time() + 120
            while app.turns < 1 and asyncio.get_running_loop().time() < deadline:
                await pilot.pause(0.1)
            await pilot.pause(0.2)
            text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
            assert app.turns == 1, (app.errors, text)
            assert "de-DE (heard de, " in text and "locale auto" in text, text
            assert "iot_hue_lightoff" in text and "Licht" in text, text

    asyncio.run(drive())


def test_the_languages_table_says_which_replies_are_printed() -> None:
    from edge.pipeline.support import locale_support
    from edge.profiles import load_profile

    rows = {r["locale"]: r["tts"] for r in locale_support(load_profile("desktop"))}
    assert rows["ja-JP"].startswith("none: replies printed (espeak-ng cannot read Japanese kanji")
    assert "kokoro-ja if the profile names it" in rows["ja-JP"]
    assert rows["km-KH"].startswith("none: replies printed") and rows["de-DE"] == "espeak-ng: de"
