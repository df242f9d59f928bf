"""The char n-gram second opinion (edge.nlu.charngrams) and how the runtime loads it beside the student."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.nlu.charngrams import CharNgramIntents, features
from edge.nlu.labels import LabelSet
from edge.nlu.runtime import DEFAULT_MODEL_DIR, NluModel, NluModelError

INTENTS = list(LabelSet.load(DEFAULT_MODEL_DIR).intents)
SHIPPED = DEFAULT_MODEL_DIR / "charngrams.npz"


def test_punctuation_at_word_ends_and_case_do_not_change_the_features() -> None:
    assert features("Turn the lights ON.", 1 << 17) == features("turn the lights on", 1 << 17)
    assert features("what's up", 1 << 17) != features("what s up", 1 << 17)
    assert features("?!.", 1 << 17) == {}


def test_the_shipped_model_reads_as_probabilities_over_the_students_intents() -> None:
    model = CharNgramIntents(SHIPPED, INTENTS)
    assert 0.0 < model.weight < 1.0
    for text, intent in [("turn off the lights", "iot_hue_lightoff"), ("what is the weather tomorrow",
                                                                     "weather_query")]:
        p = model.probs(text)
        assert p.shape == (len(INTENTS),) and abs(float(p.sum()) - 1) < 1e-5
        assert INTENTS[int(np.argmax(p))] == intent
    with pytest.raises(ValueError, match="other intents"):
        CharNgramIntents(SHIPPED, INTENTS[::-1])


def _copy_model(tmp_path: Path, with_charngrams: bool) -> Path:
    folder = tmp_path / "nlu"
    shutil.copytree(DEFAULT_MODEL_DIR, folder, ignore=shutil.ignore_patterns("charngrams.npz", "*-fp32.onnx"))
    if with_charngrams:
        shutil.copy(SHIPPED, folder / SHIPPED.name)
    return folder / "student-int8.onnx"


def test_without_the_file_the_student_answers_alone(tmp_path: Path) -> None:
    alone = NluModel(_copy_model(tmp_path, with_charngrams=False))
    assert alone.charngrams is None
    both = NluModel()
    assert both.charngrams is not None
    text = "set an alarm for seven am"
    assert alone.parse(text).intent == both.parse(text).intent == "alarm_set"
    assert alone.parse(text).confidence != both.parse(text).confidence  # the average is taken


def test_a_damaged_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = _copy_model(tmp_path, with_charngrams=True)
    (path.parent / "charngrams.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(NluModelError, match="damaged.*git checkout -- models/nlu"):
        NluModel(path)


def test_four_bit_weights_unpack_to_what_was_packed() -> None:
    from edge.nlu.charngrams import pack4, unpack4

    q = np.random.default_rng(0).integers(-7, 8, size=1000).astype(np.int8)
    assert np.array_equal(unpack4(pack4(q)), q)
    assert pack4(q).nbytes == 500
