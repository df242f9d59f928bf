"""The TF-IDF + logistic regression intent baseline on a tiny hand-made set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge.bench.baseline import Baseline, train_baseline
from edge.nlu.massive import Example

UTTERANCES = {
    "alarm_set": [
        "wake me up at seven am", "set an alarm for six thirty", "alarm at five tomorrow morning",
        "please set an alarm for noon", "wake me up at eight", "set my alarm for seven fifteen",
        "réveille-moi à sept heures", "mets une alarme à six heures", "weck mich um sieben uhr",
        "stell einen wecker für sechs uhr", "set alarm nine pm", "i need an alarm at four am",
    ],
    "weather_query": [
        "what is the weather today", "will it rain tomorrow", "how hot is it outside",
        "what's the weather like in paris", "is it going to snow this weekend", "weather forecast for monday",
        "quel temps fait-il aujourd'hui", "va-t-il pleuvoir demain", "wie ist das wetter heute",
        "regnet es morgen", "do i need an umbrella today", "how cold will it be tonight",
    ],
    "play_music": [
        "play some jazz", "play my workout playlist", "put on the beatles",
        "play the latest song by adele", "i want to hear some rock music", "play music please",
        "joue de la musique", "mets la chanson de stromae", "spiel etwas musik",
        "spiel die beatles", "start playing my favourite songs", "play classical music",
    ],
}


def _examples() -> list[Example]:
    return [
        Example(id=f"{intent}-{i}", locale="xx-XX", partition="train", scenario=intent.split("_")[0],
                intent=intent, utt=utt)
        for intent, utts in UTTERANCES.items()
        for i, utt in enumerate(utts)
    ]


def test_train_predict_save_load(tmp_path: Path) -> None:
    model = train_baseline(_examples(), max_features=5000)
    assert model.train_seconds >= 0
    queries = ["set an alarm for seven", "what's the weather tomorrow", "play some music", "weck mich um acht uhr"]
    expected = ["alarm_set", "weather_query", "play_music", "alarm_set"]
    assert model.predict(queries) == expected
    assert model.predict([]) == []

    path = tmp_path / "sub" / "baseline.pkl"
    model.save(path)
    loaded = Baseline.load(path)
    assert loaded.predict(queries) == expected
    assert loaded.train_seconds == model.train_seconds
    assert loaded.config["max_features"] == 5000


def test_rejects_bad_input() -> None:
    one_intent = [e for e in _examples() if e.intent == "play_music"]
    with pytest.raises(ValueError):
        train_baseline(one_intent)
    with pytest.raises(TypeError):
        train_baseline(_examples(), no_such_setting=1)


def test_import_does_not_need_sklearn() -> None:
    code = "import sys, edge.bench.baseline; assert 'sklearn' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


def test_loads_a_baseline_saved_by_the_script(tmp_path: Path) -> None:
    """`python -m edge.bench.baseline` pickles the class as __main__.Baseline; loading must still work."""
    path = tmp_path / "baseline.pkl"
    code = (
        "import __main__, pickle\n"
        "from edge.bench import baseline as b\n"
        "class Baseline(b.Baseline): pass\n"
        "Baseline.__module__ = '__main__'; Baseline.__qualname__ = 'Baseline'; __main__.Baseline = Baseline\n"
        f"pickle.dump(Baseline(vectorizer=None, classifier=None, train_seconds=1.5), open({str(path)!r}, 'wb'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
    assert Baseline.load(path).train_seconds == 1.5
