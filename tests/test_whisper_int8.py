"""The int8 copy of a float Whisper model (edge.asr.whisper_int8): the real tiny.en, transcribing as before."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from edge.asr.whisper_int8 import int8_folder, requantize
from edge.audio import read_audio
from edge.models import require

FIXTURE = Path(__file__).parent / "fixtures" / "audio" / "another_door.wav"


@pytest.fixture(scope="module")
def tiny() -> Path:
    return require("whisper-tiny-en")


def _transcribe(folder: Path) -> str:
    from faster_whisper import WhisperModel

    model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=1, local_files_only=True)
    segments, _ = model.transcribe(read_audio(FIXTURE), beam_size=1, language="en")
    return " ".join(s.text.strip() for s in segments)


def test_the_copy_is_int8_half_the_size_and_transcribes_the_same(tiny: Path, tmp_path: Path) -> None:
    copy = int8_folder(tiny, cache=tmp_path)
    assert copy != tiny and copy.parent == tmp_path
    assert (copy / "model.bin").stat().st_size < 0.6 * (tiny / "model.bin").stat().st_size
    assert {p.name for p in tiny.iterdir()} <= {p.name for p in copy.iterdir()}
    assert _transcribe(copy) == _transcribe(tiny)
    assert "walked immediately out of the apartment" in _transcribe(copy)


def test_the_copy_is_reused_remade_when_stale_and_an_int8_model_is_loaded_as_it_is(tiny: Path,
                                                                                   tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(tiny, source)
    cache = tmp_path / "cache"
    first = int8_folder(source, cache=cache)
    made = (first / "model.bin").stat().st_mtime_ns
    assert int8_folder(source, cache=cache) == first and (first / "model.bin").stat().st_mtime_ns == made
    os.utime(source / "model.bin", ns=(made + 10**9, made + 10**9))  # the installed model changed
    second = int8_folder(source, cache=cache)
    assert second != first and (second / "model.bin").is_file()
    assert not first.exists()  # the stale copy of the same source is gone, not left to fill the disk
    gone = tmp_path / "gone"  # a checkout deleted since its copy was made: that copy goes with the next one made
    shutil.copytree(source, gone)
    orphan = int8_folder(gone, cache=cache)
    shutil.rmtree(gone)
    other = tmp_path / "other-src"
    shutil.copytree(source, other)
    third = int8_folder(other, cache=cache)
    assert not orphan.exists() and second.is_dir() and third.is_dir()  # a copy whose source is there stays
    assert int8_folder(second, cache=tmp_path / "other") == second  # int8 already: nothing to convert
    assert requantize(second / "model.bin", tmp_path / "unused.bin") == 0
    assert not (tmp_path / "unused.bin").exists()


def test_an_unwritable_cache_or_a_damaged_file_loads_the_original(tiny: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert int8_folder(tiny, cache=blocker) == tiny
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.bin").write_bytes(b"\x06\x00\x00\x00garbage")
    assert int8_folder(bad, cache=tmp_path / "c") == bad
    assert not list((tmp_path / "c").glob("*"))  # no partial copy left behind
