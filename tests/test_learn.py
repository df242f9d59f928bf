"""edge.learn without the model: a bag-of-words embedder and a rule NLU stand in for the student."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from edge.learn.calibrate import Thresholds, save_thresholds
from edge.learn.db import LearnStore, open_learn_store
from edge.learn.hooks import LearningNlu, LearningRouter
from edge.learn.intents_file import IntentsFileError, load_intents_file, parse_example
from edge.learn.learner import Learner, LearnSettings
from edge.learn.memory import model_key
from edge.learn.signals import correction_kind
from edge.learn.slots import carry_slots
from edge.learn.turnlog import TurnLog
from edge.nlu.runtime import Parse, Slot
from edge.skills.contract import Reply


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # calibrations are cached there


def embed(texts: list[str]) -> np.ndarray:
    """Hashed bag of words, L2-normalised: sentences sharing words are close."""
    out = np.zeros((len(texts), 64), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().replace(",", " ").split():
            out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % 64] += 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


KNOWN = {"turn on the kitchen lights": ("iot_hue_lighton", [Slot("house_place", "kitchen", 12, 19)]),
         "what time is it": ("datetime_query", []), "set an alarm": ("alarm_set", [])}


class RuleNlu:
    def parse(self, text: str, locale: str | None = None) -> Parse:
        intent, slots = KNOWN.get(text, ("general_quirky", []))
        sure = text in KNOWN
        return Parse(text, intent, 0.95 if sure else 0.1, intent.split("_")[0], list(slots), not sure, locale)

    def embed(self, texts: list[str]) -> np.ndarray:
        return embed(texts)


@dataclass
class FakeSession:
    pending: object = None


class FakeRouter:
    def __init__(self) -> None:
        self.session = FakeSession()

    def handle(self, parse: Parse, locale: str) -> Reply:
        skill = "dialogue" if parse.out_of_domain else "iot"
        return Reply("ok" if skill != "dialogue" else "Sorry?", locale, skill, expects_answer=skill == "dialogue")

    def drop_pending(self) -> None:
        self.session.pending = None


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        self.t += 2.0
        return self.t


def make(path: Path, sightings: int = 2, log_turns: bool = True) -> tuple[LearningNlu, LearningRouter, Learner]:
    store = LearnStore(path / "learn.db")
    save_thresholds(store, model_key(embed), Thresholds(0.9, 0.6, 0.3, "test", repeat=0.3))
    learner = Learner(store, embed, LearnSettings(log_turns=log_turns, sightings=sightings), clock=Clock())
    return LearningNlu(RuleNlu(), learner), LearningRouter(FakeRouter(), learner), learner


def say(nlu: LearningNlu, router: LearningRouter, text: str) -> tuple[Parse, Reply]:
    parse = nlu.parse(text, "en-US")
    return parse, router.handle(parse, "en-US")


def test_rephrase_is_learned_after_two_sightings_and_survives_a_restart(tmp_path: Path) -> None:
    nlu, router, learner = make(tmp_path)
    for n in range(2):
        assert say(nlu, router, "make the kitchen bright")[0].out_of_domain
        say(nlu, router, "no, that's not what I asked")
        say(nlu, router, "turn on the kitchen lights")
        assert len(learner.memory.items) == n  # applied at the second sighting only
    nlu2, _, learner2 = make(tmp_path)  # a new process: same database
    parse = nlu2.parse("make the kitchen bright", "en-US")
    assert (parse.intent, parse.out_of_domain) == ("iot_hue_lighton", False)
    assert [(s.type, s.value) for s in parse.slots] == [("house_place", "kitchen")]
    assert nlu2.parse("what time is it").intent == "datetime_query"  # the rest untouched
    assert nlu2.parse("set an alarm").intent == "alarm_set"
    turns = learner2.log.recent(10)
    assert any("complaint" in t.signals and t.failed for t in turns)


def test_confirmed_clarification_learns_at_once(tmp_path: Path) -> None:
    from edge.skills.dialogue import Pending

    nlu, router, learner = make(tmp_path)
    parse, _ = say(nlu, router, "lights kitchen on now")
    router.inner.session.pending = Pending("clarify", "iot", Parse(parse.text, "iot_hue_lighton", 0.3, "iot"))
    say(nlu, router, "yes")
    assert [it.intent for it in learner.memory.items] == ["iot_hue_lighton"]
    assert nlu.parse("lights kitchen on now").intent == "iot_hue_lighton"


def test_a_typed_phrasing_learned_is_known_as_the_voice_pipeline_hands_it_over(tmp_path: Path) -> None:
    """Typed "it's dark, kitchen" learned; the voice pipeline parses a transcript's spoken form, "its dark kitchen"
    (apostrophes dropped: edge.nlu.textform.spoken_form), which the learned layer once did not recognise."""
    from edge.nlu.textform import spoken_form
    from edge.skills.dialogue import Pending

    nlu, router, learner = make(tmp_path)
    parse, _ = say(nlu, router, "it's dark, kitchen")
    router.inner.session.pending = Pending("clarify", "iot", Parse(parse.text, "iot_hue_lighton", 0.3, "iot"))
    say(nlu, router, "yes")
    heard = spoken_form("It's dark, kitchen.", "en-US")
    assert heard == "its dark kitchen"
    assert nlu.parse(heard, "en-US").intent == "iot_hue_lighton"


def test_rejecting_a_learned_parse_undoes_the_item(tmp_path: Path) -> None:
    nlu, router, learner = make(tmp_path, sightings=1)
    say(nlu, router, "make the kitchen bright")
    say(nlu, router, "turn on the kitchen lights")
    assert len(learner.memory.items) == 1
    assert say(nlu, router, "make the kitchen bright")[0].intent == "iot_hue_lighton"
    say(nlu, router, "no")
    assert learner.memory.items == []


def test_unrelated_success_after_a_failure_is_not_mined(tmp_path: Path) -> None:
    nlu, router, learner = make(tmp_path, sightings=1)
    say(nlu, router, "blorp zap")
    say(nlu, router, "what time is it")
    assert learner.memory.items == []


def test_interruption_and_profile_switch(tmp_path: Path) -> None:
    nlu, router, learner = make(tmp_path)
    say(nlu, router, "turn on the kitchen lights")
    router.drop_pending()
    assert learner.log.recent(1)[0].signals[-1] == "interrupted"
    nlu, router, learner = make(tmp_path / "off", log_turns=False)
    say(nlu, router, "turn on the kitchen lights")
    assert learner.log.count() == 0


def test_turn_log_is_bounded_and_forgotten(tmp_path: Path) -> None:
    log = TurnLog(open_learn_store(tmp_path), max_turns=3)
    for n in range(5):
        log.record(f"turn {n}", "en-US", None, [], 0.1)
    assert [t.text for t in log.recent(10)] == ["turn 4", "turn 3", "turn 2"]
    assert log.forget() == 3 and log.count() == 0


def test_custom_intents_file_and_one_line_errors(tmp_path: Path) -> None:
    from edge.learn.custom import install_intents

    good = tmp_path / "i.toml"
    examples = ", ".join(f'"{v} a [beverage : {b}]"' for v, b in
                         [("make me", "latte"), ("brew", "mocha"), ("pour me", "americano"), ("fix", "flat white"),
                          ("get me", "espresso")])
    good.write_text(f'[[intent]]\nname = "order_coffee"\nreply = "One {{beverage}}."\nexamples = [{examples}]\n')
    intents = load_intents_file(good, {"iot_coffee"})
    nlu, router, learner = make(tmp_path)
    assert install_intents(learner, intents, str(good)) == 5
    parse, reply = say(nlu, router, "brew me a latte")
    assert parse.intent == "order_coffee" and reply.text == "One latte."
    assert nlu.parse("what time is it").intent == "datetime_query"
    bad = tmp_path / "bad.toml"
    for body, words in [('[[intent]]\nname = "a_b"\nreply = "x"\nexamples = ["one"]\n', "needs 5 to 20 examples"),
                        ('[[intent]]\nname = "iot_coffee"\nreply = "x"\n', "model's intents"),
                        ('[[intent]]\nname = "a_b"\nexamples = ["a","b","c","d","e"]\n', "nothing to do"),
                        ("[[intent]\n", "not valid TOML")]:
        bad.write_text(body)
        with pytest.raises(IntentsFileError, match=words) as err:
            load_intents_file(bad, {"iot_coffee"})
        assert "\n" not in str(err.value)


def test_small_parts() -> None:
    assert parse_example("make me an [beverage : americano] now") == (
        "make me an americano now", [{"type": "beverage", "value": "americano", "start": 11, "end": 20}])
    assert [(s.type, s.value, s.start) for s in carry_slots([{"type": "time", "value": "Seven"}], "at seven pm")] \
        == [("time", "seven", 3)]
    assert correction_kind("No, that's not what I asked", "en-US") == "complaint"
    assert correction_kind("nein", "de-DE") == "no"
    assert correction_kind("turn on the lights", "en-US") is None


def test_model_slot_types_are_renamed_to_custom_slots(tmp_path: Path) -> None:
    from edge.learn.custom import install_intents, type_map
    from edge.learn.intents_file import CustomIntent, parse_example

    examples = [parse_example(f"brew me a [beverage : {b}]") for b in ("latte", "mocha", "americano", "tea", "cocoa")]
    intent = CustomIntent("order_coffee", "en-US", examples, reply="One {beverage}.")

    def tagger(texts: list[str]) -> list[Parse]:  # the model tags the last word as a drink
        out = []
        for t in texts:
            start = t.rindex(" ") + 1
            out.append(Parse(t, "iot_coffee", 0.9, "iot", [Slot("drink_type", t[start:], start, len(t))]))
        return out

    assert type_map(intent, tagger) == {"drink_type": "beverage"}
    nlu, router, learner = make(tmp_path)
    install_intents(learner, [intent], parse_batch=tagger)
    learner.layer.thresholds = Thresholds(0.9, 0.5, 0.3, "test")
    parse = learner.apply(tagger(["brew me a cortado"])[0])
    assert parse.intent == "order_coffee"
    assert [(s.type, s.value) for s in parse.slots] == [("beverage", "cortado")]
    assert router.handle(parse, "en-US").text == "One cortado."


def test_a_quick_repeat_in_other_words_marks_an_unsure_turn_failed(tmp_path: Path) -> None:
    nlu, router, learner = make(tmp_path)
    learner.settings = LearnSettings(repeat_s=30.0)
    parse = Parse("kitchen lights on", "iot_hue_lightoff", 0.6, "iot", [])
    router.handle(parse, "en-US")  # acted, but unsure (0.6)
    say(nlu, router, "turn on the kitchen lights")
    first = learner.log.recent(2)[1]
    assert first.failed and "repeated" in first.signals


class TimerRouter(FakeRouter):
    """A timer skill that claims its requests by their words, whatever the NLU made of them (as edge's does)."""

    def handle(self, parse: Parse, locale: str) -> Reply:
        if "timer" in parse.text:
            return Reply("Timer set.", locale, "timers")
        return super().handle(parse, locale)


def test_a_skill_acting_on_an_unsure_parse_is_no_failure_and_teaches_nothing(tmp_path: Path) -> None:
    """`edge chat` run twice with "set a timer for five minutes" (unsure parse, timer set by its words), then
    "what time is it" taught the assistant that setting a timer means asking the time: the acted turn was logged
    as failed and the next request mined as its rephrasing. A skill that acted answered the user."""
    nlu, _, learner = make(tmp_path)
    router = LearningRouter(TimerRouter(), learner)
    for _ in range(3):
        parse, reply = say(nlu, router, "set a timer for the kitchen")
        assert parse.out_of_domain and reply.skill == "timers"
        say(nlu, router, "turn on the kitchen lights")
    assert learner.memory.items == []
    timer = learner.log.recent(2)[1]
    assert not timer.failed and timer.signals == ["acted"]
    assert nlu.parse("set a timer for the kitchen", "en-US").out_of_domain  # still the model's own parse


def test_stop_alone_teaches_nothing(tmp_path: Path) -> None:
    """"be quiet" after a failed request is the user giving up, not a rephrasing of it (the router stops; the
    model reads it as audio_volume_mute, which a failed "quiet blah" must never be learned as)."""
    nlu, router, learner = make(tmp_path)
    for _ in range(3):
        assert say(nlu, router, "quiet blah")[0].out_of_domain
        router.handle(Parse("be quiet", "audio_volume_mute", 0.95, "audio", []), "en-US")
    assert learner.memory.items == [] and learner.miner.pending() == []


def test_learn_command_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from edge.cli import main

    assert main(["learn", "undo", "7", "--data-dir", str(tmp_path)]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('[[intent]]\nname = "order_coffee"\nreply = "x"\nexamples = ["a", "b"]\n')
    assert main(["learn", "intents", str(bad), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["edge learn: error: no active learned item 7; see `edge learn list` for the ids",
                   f'edge learn: error: {bad}: intent 1 ("order_coffee"): needs 5 to 20 examples, has 2']
    assert main(["learn", "forget", "--data-dir", str(tmp_path)]) == 0
    assert main(["learn", "list", "--data-dir", str(tmp_path)]) == 0
    assert "turns logged: 0" in capsys.readouterr().out


def test_without_a_usable_data_folder_the_assistant_runs_unchanged(tmp_path: Path) -> None:
    from edge.learn.hooks import attach

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    nlu, router = RuleNlu(), FakeRouter()
    assert attach(nlu, router, None, blocker) == (nlu, router)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "learn.db").write_bytes(b"this is not sqlite" * 100)
    wrapped, _ = attach(nlu, router, None, damaged)
    assert isinstance(wrapped, LearningNlu)  # the damaged file was set aside, a fresh one started
    assert list(damaged.glob("learn.db.corrupt-*"))


def test_a_no_after_a_confirmed_guess_takes_it_back(tmp_path: Path) -> None:
    from edge.skills.dialogue import Pending

    nlu, router, learner = make(tmp_path)
    parse, _ = say(nlu, router, "lights kitchen on now")
    router.inner.session.pending = Pending("clarify", "iot", Parse(parse.text, "iot_hue_lighton", 0.3, "iot"))
    say(nlu, router, "yes")
    assert len(learner.memory.items) == 1
    say(nlu, router, "that's not what I asked")
    assert learner.memory.items == []


def test_known_requests_of_other_intents_keep_their_utterances(tmp_path: Path) -> None:
    nlu, router, learner = make(tmp_path)
    learner.set_thresholds(Thresholds(0.5, 0.5, 0.3, "test"))
    learner.memory.add("rephrase", "kitchen lights bright now", "en-US", "iot_hue_lighton", [])
    query = "kitchen lights dim now"
    assert nlu.parse(query).intent == "iot_hue_lighton"  # thresholds alone: captured
    learner.set_thresholds(learner.thresholds, embed(["kitchen lights dim"]), np.array(["iot_hue_lightdim"]))
    assert nlu.parse(query).intent == "general_quirky"  # a known dimming request is closer: the model keeps it
    learner.set_thresholds(learner.thresholds, embed(["kitchen lights dim"]), np.array(["iot_hue_lighton"]))
    assert nlu.parse(query).intent == "iot_hue_lighton"  # a known request of the same intent does not block


def test_a_calibration_shipped_beside_the_model_is_used(tmp_path: Path) -> None:
    from edge.learn.calibrate import save_bundle

    key = model_key(embed)
    save_bundle(tmp_path, key, Thresholds(0.7, 0.6, 0.5, "shipped"), embed(["a b", "c d"]), ["x", "y"])
    learner = Learner(LearnStore(tmp_path / "learn.db"), embed, model_dir=tmp_path)
    assert learner.thresholds.source == "shipped"
    assert learner.layer.background is not None and list(learner.layer.background_intents) == ["x", "y"]
    other = Learner(LearnStore(tmp_path / "other.db"), lambda t: embed(t) * -1, model_dir=tmp_path)
    assert other.thresholds.source.startswith("default")  # made for another model: ignored


def test_a_learned_rephrasing_takes_a_similar_utterance_only_from_an_unsure_model(tmp_path: Path) -> None:
    from edge.learn.layer import LearnedLayer

    _, _, learner = make(tmp_path)
    item = learner.memory.add("rephrase", "lights kitchen bright", "en-US", "iot_hue_lighton", [],
                              confused="general_quirky")
    layer = LearnedLayer(learner.memory, Thresholds(0.5, 0.5, 0.3, "test"))
    near = "lights kitchen bright please"
    emb = embed([near])[0]

    def model(intent: str, confidence: float) -> Parse:
        return Parse(near, intent, confidence, intent.split("_")[0], [])

    assert layer.apply(model("general_quirky", 0.95), emb).intent == "general_quirky"  # sure, even if the same mistake
    assert layer.apply(model("weather_query", 0.4), emb).intent == item.intent  # an unsure model
    assert layer.apply(model("iot_hue_lightoff", 0.95), emb).intent == "iot_hue_lightoff"  # sure of another
    same_words = Parse("Lights, kitchen bright!", "iot_hue_lightoff", 0.95, "iot", [])
    assert layer.apply(same_words, emb).intent == item.intent  # the very words: always


def test_a_learned_rephrasing_stays_inside_its_radius_from_known_requests(tmp_path: Path) -> None:
    from edge.learn.layer import LearnedLayer

    _, _, learner = make(tmp_path)
    learner.memory.add("rephrase", "lights kitchen bright", "en-US", "iot_hue_lighton", [])
    layer = LearnedLayer(learner.memory, Thresholds(0.5, 0.5, 0.3, "test"))
    query = "lights kitchen bright now please"
    unsure = Parse(query, "weather_query", 0.3, "weather", [])
    emb = embed([query])[0]
    assert layer.apply(unsure, emb).intent == "iot_hue_lighton"  # no background: the thresholds alone
    known = "lights kitchen bright dim"  # a known dimming request closer to the item than the query is
    layer.set_background(embed([known]), np.array(["iot_hue_lightdim"]))
    sim = float(embed([query])[0] @ embed(["lights kitchen bright"])[0])
    assert float(embed([known])[0] @ emb) < sim < layer.radius(0)  # not closer to the query, but to the item
    assert layer.apply(unsure, emb).intent == "weather_query"


def test_a_custom_intent_must_beat_each_known_intents_nearest_requests(tmp_path: Path) -> None:
    from edge.learn.custom import install_intents
    from edge.learn.intents_file import CustomIntent, parse_example

    _, _, learner = make(tmp_path)
    examples = [parse_example(f"brew me a {b} now") for b in ("latte", "mocha", "americano", "tea", "cocoa")]
    install_intents(learner, [CustomIntent("order_coffee", "en-US", examples, reply="ok")])
    layer = learner.layer
    query = "brew me a cortado now"
    parse = Parse(query, "iot_coffee", 0.9, "iot", [])
    far = ["what time is it", "set an alarm for seven", "play some jazz"]
    one_odd = ["brew me a cortado"]  # one known request of another intent close by: outvoted by its far ones
    layer.set_background(embed(one_odd + far), np.array(["iot_coffee"] * 4))
    assert learner.apply(parse).intent == "order_coffee"
    close = ["brew me a cortado", "brew a cortado now", "me a cortado now"]  # the known intent's own turf
    layer.set_background(embed(close + far), np.array(["iot_coffee"] * 6))
    assert learner.apply(parse).intent == "iot_coffee"


def test_the_custom_intent_head_is_refit_when_the_custom_intents_change(tmp_path: Path) -> None:
    import time

    from edge.learn.custom import install_intents, remove_intents
    from edge.learn.intents_file import CustomIntent, parse_example
    from edge.learn.layer import HEAD_MARGIN

    _, _, learner = make(tmp_path)
    known = {"alarm_set": ["set an alarm for seven", "wake me up at six", "alarm at eight please"],
             "weather_query": ["what is the weather", "will it rain today", "is it sunny outside"],
             "play_music": ["play some jazz", "put on music", "play my playlist"]}
    texts = [t for ts in known.values() for t in ts]
    learner.layer.set_background(embed(texts), np.array([i for i, ts in known.items() for _ in ts]))
    coffee = [parse_example(f"brew me a {b} now") for b in ("latte", "mocha", "americano", "tea", "cocoa")]
    install_intents(learner, [CustomIntent("order_coffee", "en-US", coffee, reply="ok")])
    parse = Parse("brew me a cortado now", "general_quirky", 0.2, "general", [])
    t0 = time.perf_counter()
    assert learner.apply(parse).intent == "order_coffee"
    assert time.perf_counter() - t0 < 1.0  # the refit is a small linear solve
    head = learner.layer._head
    assert head is not None and head.names == ["order_coffee"]
    assert float(head.margins(learner.memory.prepare(embed([parse.text])[0]))[0]) > HEAD_MARGIN
    rain = Parse("will it rain today now", "weather_query", 0.9, "weather", [])
    assert learner.apply(rain).intent == "weather_query"  # a known intent's request is not captured
    taxi = [parse_example(f"call a taxi to the {p}") for p in ("station", "airport", "hotel", "office", "port")]
    install_intents(learner, [CustomIntent("book_taxi", "en-US", taxi, reply="ok")])
    assert learner.apply(Parse("call a taxi to the museum", "general_quirky", 0.2, "general", [])).intent \
        == "book_taxi"
    assert learner.layer._head is head and head.names == ["order_coffee", "book_taxi"]  # refit at the next parse
    remove_intents(learner, ["order_coffee"])
    assert learner.apply(parse).intent == "general_quirky"  # gone with its intent
    assert head.names == ["book_taxi"]
