"""Whisper loaded lean (issue 17): faster-whisper imported without PyAV, and decoded without tokenizer.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.asr.whisper_int8 import int8_folder
from edge.asr.whisper_load import lean_whisper_model
from edge.asr.whisper_vocab import WhisperVocab, byte_decoder
from edge.models import require

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "audio" / "rhino_within_context_en.wav"


@pytest.fixture(scope="module")
def tiny() -> Path:
    return int8_folder(require("whisper-tiny-en"))


@pytest.fixture(scope="module")
def hf(tiny: Path):  # type: ignore[no-untyped-def]
    tokenizers = pytest.importorskip("tokenizers")
    return tokenizers.Tokenizer.from_file(str(tiny / "tokenizer.json"))


def test_byte_decoder_is_gpt2s_alphabet() -> None:
    table = byte_decoder()
    assert len(table) == 256 and sorted(table.values()) == list(range(256))
    assert table["!"] == ord("!") and table["Ġ"] == ord(" ") and table["Ċ"] == ord("\n")


def test_vocab_decodes_as_the_hf_tokenizer(tiny: Path, hf) -> None:  # type: ignore[no-untyped-def]
    vocab = WhisperVocab(tiny)
    rng = np.random.default_rng(17)
    cases = [list(map(int, rng.integers(0, vocab.eot, n))) for n in (1, 2, 5, 30, 200) for _ in range(20)]
    cases += [hf.encode(t, add_special_tokens=False).ids for t in (
        " Can I have a medium double shot Americano?", " Grüße, naïve café — 東京 🙂", " It's 7:30 a.m.")]
    cases += [[vocab.eot, 1212, vocab.eot + 1, 318, 51000, 10**6]]  # special, timestamp and unknown ids skipped
    for ids in cases:
        assert vocab.decode(ids) == hf.decode(ids), ids
    assert not vocab.loaded_in_full


def test_vocab_special_ids_match_and_anything_else_loads_the_full_tokenizer(tiny: Path, hf) -> None:  # type: ignore[no-untyped-def]
    vocab = WhisperVocab(tiny)
    specials = [t["content"] for t in json.loads((tiny / "tokenizer.json").read_text("utf-8"))["added_tokens"]]
    assert len(specials) > 100
    for token in specials:
        assert vocab.token_to_id(token) == hf.token_to_id(token), token
    assert not vocab.loaded_in_full  # the special tokens come from the vocabulary file
    assert vocab.encode(" hello", add_special_tokens=False).ids == hf.encode(" hello", add_special_tokens=False).ids
    assert vocab.loaded_in_full and vocab.token_to_id("hello") == hf.token_to_id("hello")


def test_vocab_reads_a_json_vocabulary_and_rejects_a_folder_without_one(tiny: Path, tmp_path: Path) -> None:
    pieces = (tiny / "vocabulary.txt").read_text("utf-8").split("\n")[:-1]
    (tmp_path / "vocabulary.json").write_text(json.dumps(pieces), "utf-8")
    assert WhisperVocab(tmp_path).decode([1212, 318]) == WhisperVocab(tiny).decode([1212, 318])
    with pytest.raises(ValueError, match="no vocabulary"):
        WhisperVocab(tmp_path / "missing")


def test_lean_model_has_every_attribute_the_real_constructor_sets(tiny: Path) -> None:
    from faster_whisper import WhisperModel

    real = WhisperModel(str(tiny), device="cpu", compute_type="int8", cpu_threads=1, local_files_only=True)
    lean = lean_whisper_model(tiny, 1)
    assert set(vars(lean)) == set(vars(real))
    assert lean.feat_kwargs == real.feat_kwargs and lean.num_samples_per_token == real.num_samples_per_token
    assert isinstance(lean.hf_tokenizer, WhisperVocab)
    from edge.audio import read_audio

    audio = read_audio(FIXTURE)
    texts = [" ".join(s.text.strip() for s in m.transcribe(audio, beam_size=1, language="en")[0]) for m in (real, lean)]
    assert texts[0] == texts[1] and "Americano" in texts[1]


_WITHOUT_AV = f"""
import sys
from edge.asr.whisper import FasterWhisperEngine
from edge.audio import read_audio
engine = FasterWhisperEngine(locale="en-US", threads=1)
text = engine.transcribe(read_audio({str(FIXTURE)!r})).text
print("av" in sys.modules, engine.model.hf_tokenizer.loaded_in_full, text)
import faster_whisper.audio
decoded = faster_whisper.audio.decode_audio({str(FIXTURE)!r})  # a file: the real PyAV loads now
import av
print(type(av).__name__, av is sys.modules["av"], round(len(decoded) / 16000, 1))
"""


def test_faster_whisper_is_imported_without_pyav_until_a_file_is_decoded() -> None:
    out = subprocess.run([sys.executable, "-c", _WITHOUT_AV], capture_output=True, text=True, check=True, cwd=ROOT)
    first, second = out.stdout.strip().splitlines()[-2:]
    assert first.startswith("False False ") and "Americano" in first
    kind, same, seconds = second.split()
    assert kind == "module" and same == "True" and float(seconds) > 1


def test_pyav_imported_first_is_left_alone() -> None:
    code = ("import sys, av; from edge.asr.whisper_import import import_faster_whisper; import_faster_whisper(); "
            "import faster_whisper.audio as a; print(a.av is av is sys.modules['av'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "True"
