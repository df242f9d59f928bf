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


def test_the_choice_is_the_intent_both_models_find_likely_and_the_confidence_the_average() -> None:
    from edge.nlu.charngrams import choose

    student = np.array([[0.90, 0.10, 0.00], [0.2, 0.7, 0.1]], dtype=np.float32)
    ngram = np.array([[0.01, 0.60, 0.39], [0.1, 0.8, 0.1]], dtype=np.float32)
    assert ((student + ngram) / 2).argmax(-1).tolist() == [0, 1]  # the average follows the sure student
    assert choose(student, ngram, 0.5).tolist() == [1, 1]  # the geometric mean wants both to agree
    assert choose(student, ngram, 0.0).tolist() == [0, 1]  # weight 0: the student alone
    assert choose(student, ngram, 1.0).tolist() == [1, 1]

    model = CharNgramIntents(SHIPPED, INTENTS)
    s, n = np.zeros((2, len(INTENTS)), np.float32), np.zeros((2, len(INTENTS)), np.float32)
    s[:, :3], n[:, :3] = student, ngram
    best, conf = model.combine(s, n)
    assert model.choice_weight is not None and 0.0 < model.choice_weight < 1.0
    assert best.tolist() == choose(s, n, model.choice_weight).tolist()
    w = model.weight
    assert np.allclose(conf, [(1 - w) * s[r, k] + w * n[r, k] for r, k in enumerate(best)])


def test_a_file_without_a_choice_weight_takes_the_averages_best(tmp_path: Path) -> None:
    with np.load(SHIPPED) as z:
        arrays = {k: z[k] for k in z.files if k != "choice_weight"}
    old = tmp_path / "charngrams.npz"
    np.savez_compressed(old, **arrays)
    model = CharNgramIntents(old, INTENTS)
    assert model.choice_weight is None
    s = np.array([[0.90, 0.10, 0.00] + [0.0] * (len(INTENTS) - 3)], np.float32)
    n = np.array([[0.01, 0.60, 0.39] + [0.0] * (len(INTENTS) - 3)], np.float32)
    best, conf = model.combine(s, n)
    assert best.tolist() == [0] and np.allclose(conf, (1 - model.weight) * 0.9 + model.weight * 0.01)
    np.savez_compressed(old, **arrays, choice_weight=np.float32(1.5))
    with pytest.raises(ValueError, match="choice_weight"):
        CharNgramIntents(old, INTENTS)
