"""edge.nlu.massive on small files written into tmp_path."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from edge.nlu.massive import (
    Example,
    MassiveFormatError,
    Span,
    available_locales,
    load_massive,
    parse_annotation,
)


def record(locale: str, n: int, partition: str = "train", *, utt: str = "wake me up at five am",
           annot: str = "wake me up at [time : five am]", intent: str = "alarm_set", **extra) -> dict:
    return {"id": str(n), "locale": locale, "partition": partition, "scenario": intent.split("_")[0],
            "intent": intent, "utt": utt, "annot_utt": annot, **extra}


def jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def sample(locale: str) -> list[dict]:
    return [
        record(locale, 0, "train"),
        record(locale, 1, "dev", utt="what's the weather", annot="what's the weather", intent="weather_query"),
        record(locale, 2, "test", utt="play jazz", annot="play [music_genre : jazz]", intent="play_music"),
    ]


def write_tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_dir(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


EXPECTED_EN = [
    Example("0", "en-US", "train", "alarm", "alarm_set", "wake me up at five am",
            (Span("time", 14, 21, "five am"),)),
    Example("1", "en-US", "dev", "weather", "weather_query", "what's the weather", ()),
    Example("2", "en-US", "test", "play", "play_music", "play jazz", (Span("music_genre", 5, 9, "jazz"),)),
]


# ---- layouts -------------------------------------------------------------------------------

def test_folder_of_locale_files(tmp_path: Path) -> None:
    folder = write_dir(tmp_path / "data", {
        "en-US.jsonl": jsonl(sample("en-US")),
        "de-DE.jsonl": jsonl(sample("de-DE")),
        "README.md": b"not data",
    })
    assert available_locales(folder) == ["de-DE", "en-US"]
    everything = load_massive(folder)
    assert len(everything) == 6
    assert {e.locale for e in everything} == {"de-DE", "en-US"}
    assert load_massive(folder, locales=["en-US"]) == EXPECTED_EN
    assert load_massive(str(folder), locales=["en-US"], splits=["test"]) == EXPECTED_EN[2:]
    dev = load_massive(folder, splits=["dev", "test"])
    assert sorted((e.locale, e.partition) for e in dev) == [
        ("de-DE", "dev"), ("de-DE", "test"), ("en-US", "dev"), ("en-US", "test")]


def test_our_tar_gz_layout(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "massive.tar.gz", {
        "massive_1.1/en-US.jsonl": jsonl(sample("en-US")),
        "massive_1.1/fr-FR.jsonl": jsonl(sample("fr-FR")),
    })
    assert available_locales(archive) == ["en-US", "fr-FR"]
    assert load_massive(archive, locales=["en-US"]) == EXPECTED_EN
    assert len(load_massive(archive)) == 6


def test_official_release_layout(tmp_path: Path) -> None:
    # amazon-massive-dataset-1.1.tar.gz holds 1.1/data/<locale>.jsonl plus other files
    extra = {"judgments": [{"worker_id": "7", "intent_score": 1}], "worker_id": "3", "slot_method": []}
    archive = write_tar(tmp_path / "amazon-massive-dataset-1.1.tar.gz", {
        "1.1/LICENSE": b"licence text",
        "1.1/data/en-US.jsonl": jsonl([{**r, **extra} for r in sample("en-US")]),
        "1.1/data/ja-JP.jsonl": jsonl([record("ja-JP", 0, utt="今週は午前五時に起こして",
                                              annot="[date : 今週] は [time : 午前五時] に起こして")]),
    })
    assert available_locales(archive) == ["en-US", "ja-JP"]
    assert load_massive(archive, locales=["en-US"]) == EXPECTED_EN
    (ja,) = load_massive(archive, locales=["ja-JP"])
    assert ja.spans == (Span("date", 0, 2, "今週"), Span("time", 3, 7, "午前五時"))


# ---- annot_utt -----------------------------------------------------------------------------

def test_annotation_ja_style_spaces_only_in_annot() -> None:
    spans = parse_annotation("[date : 今週] は [time : 午前五時] に起こして", "今週は午前五時に起こして")
    assert [(s.type, s.start, s.end) for s in spans] == [("date", 0, 2), ("time", 3, 7)]
    assert [s.value for s in spans] == ["今週", "午前五時"]


def test_annotation_spaces_in_utt_but_not_annot_and_colon_in_value() -> None:
    # utt has a space inside the slot that annot lacks; the value itself contains ':'
    utt = "set an alarm for 5:30 pm please"
    spans = parse_annotation("set an alarm for [time : 5:30pm] please", utt)
    assert spans == (Span("time", 17, 24, "5:30 pm"),)
    assert utt[17:24] == "5:30 pm"


def test_annotation_slot_at_start_end_and_adjacent() -> None:
    utt = "tomorrow at nine"
    spans = parse_annotation("[date : tomorrow] at [time : nine]", utt)
    assert spans == (Span("date", 0, 8, "tomorrow"), Span("time", 12, 16, "nine"))
    assert parse_annotation("no slots here", "no slots here") == ()


# ---- malformed input -----------------------------------------------------------------------

def _bad_line(tmp_path: Path, line3: bytes) -> MassiveFormatError:
    good = jsonl(sample("en-US")[:2])
    folder = write_dir(tmp_path / "bad", {"en-US.jsonl": good + line3 + b"\n"})
    with pytest.raises(MassiveFormatError) as info:
        load_massive(folder)
    err = info.value
    assert err.line == 3
    assert err.source == str(folder / "en-US.jsonl")
    assert "en-US.jsonl:3:" in str(err)
    return err


def test_invalid_json_line_3(tmp_path: Path) -> None:
    err = _bad_line(tmp_path, b'{"id": "2", "locale": ')
    assert "invalid JSON" in err.reason


def test_missing_key(tmp_path: Path) -> None:
    r = record("en-US", 2)
    del r["intent"]
    err = _bad_line(tmp_path, jsonl([r]).strip())
    assert "intent" in err.reason


def test_annot_not_matching_utt(tmp_path: Path) -> None:
    r = record("en-US", 2, utt="wake me up at five am", annot="wake me up at [time : six am]")
    err = _bad_line(tmp_path, jsonl([r]).strip())
    assert "does not match" in err.reason
    # annot covering only part of utt is also a mismatch
    with pytest.raises(ValueError, match="does not cover"):
        parse_annotation("wake me up", "wake me up at five am")


@pytest.mark.parametrize("annot", [
    "wake me up at [time : five am",
    "wake me up at time : five am]",
    "wake me up at [time : [five] am]",
])
def test_unbalanced_bracket(tmp_path: Path, annot: str) -> None:
    err = _bad_line(tmp_path, jsonl([record("en-US", 2, annot=annot)]).strip())
    assert "bracket" in err.reason


def test_invalid_utf8(tmp_path: Path) -> None:
    line = jsonl([record("en-US", 2)]).strip().replace(b"five", b"fi\xff\xfeve")
    err = _bad_line(tmp_path, line)
    assert "UTF-8" in err.reason


def test_unknown_partition(tmp_path: Path) -> None:
    err = _bad_line(tmp_path, jsonl([record("en-US", 2, "validation")]).strip())
    assert "validation" in err.reason


def test_not_an_object(tmp_path: Path) -> None:
    err = _bad_line(tmp_path, b'["a", "list"]')
    assert "object" in err.reason


def test_wrong_field_type(tmp_path: Path) -> None:
    err = _bad_line(tmp_path, jsonl([record("en-US", 2, utt=5)]).strip())
    assert "type" in err.reason


def test_error_inside_tar_names_member_and_line(tmp_path: Path) -> None:
    data = jsonl(sample("en-US")[:2]) + b"not json\n"
    archive = write_tar(tmp_path / "m.tar.gz", {"massive_1.1/en-US.jsonl": data})
    with pytest.raises(MassiveFormatError) as info:
        load_massive(archive)
    assert info.value.line == 3
    assert info.value.source == f"{archive}!massive_1.1/en-US.jsonl"


def test_blank_lines_skipped_but_counted(tmp_path: Path) -> None:
    recs = sample("en-US")
    data = jsonl(recs[:1]) + b"\n" + jsonl(recs[1:2]) + b"{oops\n"
    folder = write_dir(tmp_path / "d", {"en-US.jsonl": data})
    with pytest.raises(MassiveFormatError) as info:
        load_massive(folder)
    assert info.value.line == 4


# ---- missing things ------------------------------------------------------------------------

def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_massive(tmp_path / "nowhere.tar.gz")


def test_folder_without_jsonl(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_massive(write_dir(tmp_path / "empty", {"notes.txt": b"x"}))


def test_unknown_locale(tmp_path: Path) -> None:
    folder = write_dir(tmp_path / "data", {"en-US.jsonl": jsonl(sample("en-US"))})
    with pytest.raises(FileNotFoundError, match="xx-XX"):
        load_massive(folder, locales=["en-US", "xx-XX"])


def test_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "junk.tar.gz"
    path.write_bytes(b"this is not a tar file at all" * 20)
    with pytest.raises(MassiveFormatError):
        load_massive(path)
