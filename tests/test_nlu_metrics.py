"""Hand-worked cases for edge.nlu.metrics."""

from __future__ import annotations

import pytest

from edge.nlu.metrics import Scores, average, per_locale, score


def test_perfect() -> None:
    gold = [("alarm_set", {("time", 0, 4)}), ("play_music", {("artist_name", 5, 10), ("song_name", 12, 20)})]
    s = score(gold, gold)
    assert s == Scores(2, 1.0, 1.0, 1.0, 1.0, 1.0)


def test_partial_overlap_and_wrong_type_count_as_wrong() -> None:
    gold = [
        ("alarm_set", {("time", 0, 4), ("date", 10, 15)}),
        ("play_music", {("artist_name", 5, 10)}),
    ]
    pred = [
        ("alarm_set", {("time", 0, 3), ("date", 10, 15)}),  # time span one char short
        ("play_music", {("song_name", 5, 10)}),  # right offsets, wrong type
    ]
    s = score(gold, pred)
    # tp = 1 (the date); 3 predicted, 3 gold
    assert s.n == 2
    assert s.intent_acc == 1.0
    assert s.slot_precision == pytest.approx(1 / 3)
    assert s.slot_recall == pytest.approx(1 / 3)
    assert s.slot_f1 == pytest.approx(1 / 3)
    assert s.exact_match == 0.0


def test_micro_counts_summed_over_utterances() -> None:
    gold = [
        ("a", [("x", 0, 1), ("y", 2, 3), ("z", 4, 5)]),
        ("b", [("x", 0, 2)]),
        ("c", []),
    ]
    pred = [
        ("a", [("x", 0, 1), ("y", 2, 3)]),  # 2 tp, 1 missed
        ("c", [("x", 0, 2), ("w", 3, 4)]),  # 1 tp, 1 spurious; wrong intent
        ("c", []),  # nothing to find, exact
    ]
    s = score(gold, pred)
    # tp 3, predicted 4, gold 4 -> P = R = F1 = 0.75 (a per-utterance mean would differ)
    assert s.slot_precision == pytest.approx(0.75)
    assert s.slot_recall == pytest.approx(0.75)
    assert s.slot_f1 == pytest.approx(0.75)
    assert s.intent_acc == pytest.approx(2 / 3)
    assert s.exact_match == pytest.approx(1 / 3)


def test_precision_and_recall_differ() -> None:
    gold = [("a", {("x", 0, 1), ("y", 2, 3)})]
    pred = [("a", {("x", 0, 1), ("y", 2, 4), ("z", 5, 6), ("w", 7, 8)})]
    s = score(gold, pred)
    # tp 1, predicted 4, gold 2: P = 1/4, R = 1/2, F1 = 2*(1/8)/(3/4) = 1/3
    assert s.slot_precision == pytest.approx(0.25)
    assert s.slot_recall == pytest.approx(0.5)
    assert s.slot_f1 == pytest.approx(1 / 3)
    assert s.exact_match == 0.0


def test_duplicate_spans_count_once() -> None:
    gold = [("a", [("x", 0, 1), ("x", 0, 1)])]
    pred = [("a", [("x", 0, 1), ("x", 0, 1), ("x", 0, 1)])]
    s = score(gold, pred)
    assert (s.slot_precision, s.slot_recall, s.slot_f1, s.exact_match) == (1.0, 1.0, 1.0, 1.0)

    # a duplicated wrong span is one false positive, not two
    s = score([("a", [("x", 0, 1)])], [("a", [("x", 0, 1), ("y", 2, 3), ("y", 2, 3)])])
    assert s.slot_precision == pytest.approx(0.5)
    assert s.slot_recall == 1.0


def test_no_spans_anywhere_is_perfect_slot_score() -> None:
    s = score([("a", ()), ("b", set())], [("a", []), ("c", ())])
    assert (s.slot_precision, s.slot_recall, s.slot_f1) == (1.0, 1.0, 1.0)
    assert s.intent_acc == 0.5
    assert s.exact_match == 0.5


def test_no_predicted_spans_but_gold_spans() -> None:
    s = score([("a", {("x", 0, 1)}), ("b", ())], [("a", ()), ("b", ())])
    assert (s.slot_precision, s.slot_recall, s.slot_f1) == (0.0, 0.0, 0.0)
    assert s.intent_acc == 1.0
    assert s.exact_match == 0.5


def test_predicted_spans_but_no_gold_spans() -> None:
    s = score([("a", ())], [("a", {("x", 0, 1)})])
    assert (s.slot_precision, s.slot_recall, s.slot_f1) == (0.0, 0.0, 0.0)
    assert s.exact_match == 0.0


def test_length_mismatch_and_empty_input_raise() -> None:
    with pytest.raises(ValueError):
        score([("a", ())], [])
    with pytest.raises(ValueError):
        score([], [])
    with pytest.raises(ValueError):
        per_locale(["en-US"], [("a", ())], [("a", ()), ("b", ())])


def test_per_locale_groups_by_locale() -> None:
    locales = ["fr-FR", "en-US", "fr-FR", "en-US", "en-US"]
    gold = [("a", {("x", 0, 1)}), ("a", ()), ("b", ()), ("b", {("y", 1, 2)}), ("c", ())]
    pred = [("a", {("x", 0, 1)}), ("a", ()), ("a", ()), ("b", ()), ("x", ())]
    out = per_locale(locales, gold, pred)
    assert list(out) == ["en-US", "fr-FR"]
    # en-US: intents a/a, b/b, c/x -> 2/3; one gold span, none predicted -> P=R=F1=0; exact: 1st only
    assert out["en-US"].n == 3
    assert out["en-US"].intent_acc == pytest.approx(2 / 3)
    assert out["en-US"].slot_f1 == 0.0
    assert out["en-US"].exact_match == pytest.approx(1 / 3)
    # fr-FR: intents a/a, b/a -> 1/2; span found -> F1 1; exact: 1st only
    assert out["fr-FR"] == Scores(2, 0.5, 1.0, 1.0, 1.0, 0.5)


def test_average_is_unweighted_and_excludes_ca_es() -> None:
    scores = {
        "en-US": Scores(100, 0.9, 0.8, 0.7, 0.75, 0.6),
        "de-DE": Scores(10, 0.7, 0.6, 0.5, 0.55, 0.4),
        "ca-ES": Scores(50, 0.0, 0.0, 0.0, 0.0, 0.0),
    }
    avg = average(scores)
    assert avg.n == 110
    assert avg.intent_acc == pytest.approx(0.8)  # not weighted by n (which would give ~0.882)
    assert avg.slot_precision == pytest.approx(0.7)
    assert avg.slot_recall == pytest.approx(0.6)
    assert avg.slot_f1 == pytest.approx(0.65)
    assert avg.exact_match == pytest.approx(0.5)

    everything = average(scores, exclude=())
    assert everything.n == 160
    assert everything.intent_acc == pytest.approx(1.6 / 3)

    with pytest.raises(ValueError):
        average({"ca-ES": scores["ca-ES"]})
