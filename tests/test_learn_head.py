"""The custom-intent head: its margin lines per language, and its batch scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_learn import embed, make

from edge.learn import head as head_module
from edge.learn.custom import install_intents
from edge.learn.head import HEAD_MARGIN, HEAD_MARGIN_OTHER, CustomHead, margin_line
from edge.learn.intents_file import CustomIntent, parse_example
from edge.nlu.runtime import Parse


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_the_margin_line_of_the_examples_language_applies_to_that_language_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert HEAD_MARGIN == HEAD_MARGIN_OTHER == 0.3  # one line for now (chosen on dev, docs/learning.md)
    monkeypatch.setattr(head_module, "HEAD_MARGIN", 0.2)
    monkeypatch.setattr(head_module, "HEAD_MARGIN_OTHER", 0.34)
    assert margin_line("en-US", "en-US") == 0.2
    assert margin_line("en-GB", "en_us") == 0.2  # the language decides, not the region
    assert margin_line("de-DE", "en-US") == 0.34
    assert margin_line(None, "en-US") == 0.34  # an utterance of unknown language: the other line
    assert margin_line("en-US", None) == 0.34


def test_a_custom_intent_takes_a_borderline_utterance_in_its_examples_language_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, learner = make(tmp_path)
    known = {"alarm_set": ["set an alarm for seven", "wake me up at six", "alarm at eight please"],
             "weather_query": ["what is the weather", "will it rain today", "is it sunny outside"]}
    texts = [t for ts in known.values() for t in ts]
    learner.layer.set_background(embed(texts), np.array([i for i, ts in known.items() for _ in ts]))
    coffee = [parse_example(f"brew me a {b} now") for b in ("latte", "mocha", "americano", "tea", "cocoa")]
    install_intents(learner, [CustomIntent("order_coffee", "en-US", coffee, reply="ok")])
    text = "brew me a cortado now"
    learner.apply(Parse(text, "general_quirky", 0.2, "general", [], False, "en-US"))  # fits the head
    head = learner.layer._head
    assert head is not None
    margin = float(head.margins(learner.memory.prepare(embed([text])[0]))[0])
    monkeypatch.setattr(head_module, "HEAD_MARGIN", margin - 0.05)  # this utterance is between the two lines
    monkeypatch.setattr(head_module, "HEAD_MARGIN_OTHER", margin + 0.05)
    for locale, taken in (("en-US", True), ("en-GB", True), ("de-DE", False), (None, False)):
        parse = Parse(text, "general_quirky", 0.2, "general", [], False, locale)
        assert (learner.apply(parse).intent == "order_coffee") is taken, locale


def test_the_head_scores_rows_of_queries_as_it_scores_each() -> None:
    rng = np.random.default_rng(0)
    background = rng.normal(size=(40, 8)).astype(np.float32)
    head = CustomHead(background, [np.arange(0, 20), np.arange(20, 40)])
    head.fit({"a": rng.normal(size=(5, 8)).astype(np.float32), "b": rng.normal(size=(5, 8)).astype(np.float32)})
    queries = rng.normal(size=(7, 8)).astype(np.float32)
    rows = head.margins(queries)
    assert rows.shape == (7, 2)
    assert np.allclose(rows, np.stack([head.margins(q) for q in queries]), atol=1e-5)
    head.fit({})
    assert head.margins(queries).shape == (7, 0)


def test_the_lexical_evidence_tried_on_dev_scores_shared_spelling() -> None:
    from tools.fewshot_lexical import LexicalIndex, load_idf

    idf = load_idf(Path(__file__).resolve().parents[1] / "models" / "nlu")
    assert idf is not None and idf.size == 2 ** 17
    lex = LexicalIndex(idf)
    lex.fit({"coffee": ["brew me a latte", "make me a coffee"], "taxi": ["call me a taxi", "book a cab"]})
    same = lex.scores("brew me a latte")
    assert same[0] == pytest.approx(1.0, abs=1e-5) and same[1] < 0.9
    near = lex.scores("make me a coffee please")
    assert near[0] > near[1] > 0.0
    assert np.all(lex.scores("タクシーを呼んで") < 0.1)  # another script shares next to nothing (the padding)
    assert lex.scores("").shape == (2,)
