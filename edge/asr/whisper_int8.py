"""A CTranslate2 Whisper model whose weights are stored as float, kept once more as int8 in the models cache.

CTranslate2 quantizes float weights to int8 while it loads a model, holding the file's float copy and the int8
copy at once: Whisper tiny.en peaked at 168 MB to end at 90 MB loaded. A ``model.bin`` that is int8 already loads
at its final size (89 MB peak). This module writes that file once, from the installed model, with
CTranslate2's own rule (``ctranslate2.specs.model_spec``: one scale per output row, 127 / max |w|), so the
weights are the ones the runtime would have made; transcripts are unchanged.

The copy lives in ``<models cache>/int8/<name>-<hash of the source's path, size and mtime>/``, written to a
temporary folder and renamed into place. Making one removes the copies it replaces: those of the same source
path made before the model changed, and those whose source no longer exists (a deleted checkout or venv), so
the cache does not grow by a whole model for each. Whenever it cannot be made or used (a read-only or full
disk, a format this reader does not know), the original folder is loaded as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from edge.model_join import models_cache_dir

__all__ = ["int8_folder", "requantize"]

log = logging.getLogger(__name__)

_VERSION = 6  # CTranslate2's model.bin format version this reader knows
_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")  # CTranslate2's DataType order
_STAMP = "int8-source.json"


class _Unsupported(ValueError):
    """A model.bin this reader does not handle (another format version, bfloat16)."""


def _read_str(f: BinaryIO) -> str:
    (n,) = struct.unpack("<H", f.read(2))
    return f.read(n)[:-1].decode("utf-8")


def _write_str(f: BinaryIO, s: str) -> None:
    b = s.encode("utf-8")
    f.write(struct.pack("<H", len(b) + 1) + b + b"\0")


def _headers(f: BinaryIO, read: bool) -> Iterator[tuple[str, tuple[int, ...], str, bytes]]:
    """Each variable's name, shape, dtype and data (``b""`` without ``read``: its data is skipped)."""
    (count,) = struct.unpack("<I", f.read(4))
    for _ in range(count):
        name = _read_str(f)
        (rank,) = struct.unpack("<B", f.read(1))
        shape = struct.unpack(f"<{rank}I", f.read(4 * rank))
        dtype_id, nbytes = struct.unpack("<BI", f.read(5))
        if read:
            yield name, shape, _DTYPES[dtype_id], f.read(nbytes)
        else:
            f.seek(nbytes, os.SEEK_CUR)
            yield name, shape, _DTYPES[dtype_id], b""


def _quantizable(name: str, shape: tuple[int, ...], dtype: str) -> bool:
    """Linear, convolution and embedding weights: what CTranslate2 keeps as int8 (layer norms are gamma/beta)."""
    return name.endswith("/weight") and len(shape) >= 2 and dtype in ("float32", "float16")


def _write_quantized(o: BinaryIO, name: str, values: np.ndarray, rows_per_block: int = 2048) -> None:
    """``name`` as int8, then ``name + "_scale"``: a block of rows at a time (an embedding table in float32
    would cost four times its int8 size at once)."""
    rows = values.reshape(values.shape[0], -1)
    _write_str(o, name)
    o.write(struct.pack(f"<B{values.ndim}I", values.ndim, *values.shape))
    o.write(struct.pack("<BI", _DTYPES.index("int8"), rows.size))
    scales = []
    for first in range(0, rows.shape[0], rows_per_block):
        block = rows[first:first + rows_per_block].astype(np.float32)
        amax = np.abs(block).max(axis=1)
        amax[amax == 0] = 127.0
        amax = np.maximum(amax, np.float32(127) / np.finfo(np.float32).max)
        scale = (127.0 / amax).astype(np.float32)
        block *= scale[:, None]
        o.write(np.rint(block, out=block).astype(np.int8).tobytes())
        scales.append(scale)
    _write_var(o, name + "_scale", np.concatenate(scales))


def _preamble(f: BinaryIO) -> tuple[int, str, int, int]:
    (version,) = struct.unpack("<I", f.read(4))
    if version != _VERSION:
        raise _Unsupported(f"model.bin format version {version}, not {_VERSION}")
    name = _read_str(f)
    (revision,) = struct.unpack("<I", f.read(4))
    return version, name, revision, f.tell()


def _write_var(o: BinaryIO, name: str, values: np.ndarray) -> None:
    _write_str(o, name)
    o.write(struct.pack(f"<B{values.ndim}I", values.ndim, *values.shape))
    data = np.ascontiguousarray(values).tobytes()
    o.write(struct.pack("<BI", _DTYPES.index(str(values.dtype)), len(data)))
    o.write(data)


def requantize(source: Path, dest: Path) -> int:
    """Write ``dest``: ``source`` (a CTranslate2 model.bin) with its float weights as int8; returns how many
    weights were quantized (0: nothing to do, ``dest`` is then not written). One variable is in memory at a
    time. Raises OSError or ValueError."""
    with source.open("rb") as f:
        version, name, revision, start = _preamble(f)
        headers = [(var, shape, dtype) for var, shape, dtype, _ in _headers(f, read=False)]
        if any(dtype == "bfloat16" for _, _, dtype in headers):
            raise _Unsupported("bfloat16 weights")
        quantized = sum(_quantizable(*h) for h in headers)
        if not quantized:
            return 0
        f.seek(start)
        with dest.open("wb") as o:
            o.write(struct.pack("<I", version))
            _write_str(o, name)
            o.write(struct.pack("<II", revision, len(headers) + quantized))
            for var, shape, dtype, data in _headers(f, read=True):
                values = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape)
                if _quantizable(var, shape, dtype):
                    _write_quantized(o, var, values)
                else:
                    _write_var(o, var, values)
            rest = f.read()  # the aliases (count, then name pairs), copied as they are
            o.write(rest)
    return quantized


def _source_key(model_bin: Path) -> dict[str, object]:
    st = model_bin.stat()
    return {"path": str(model_bin.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _usable(folder: Path, key: dict[str, object]) -> bool:
    try:
        stamp = json.loads((folder / _STAMP).read_text())
        return bool(stamp.get("source") == key and (folder / "model.bin").stat().st_size == stamp.get("size"))
    except (OSError, ValueError):
        return False


def _prune(made: Path, key: dict[str, object]) -> None:
    """Remove the other copies in ``made``'s cache folder that nothing loads any more (see the module docstring).
    A copy that another process is writing (``.part-``) or whose stamp cannot be read is left alone."""
    for other in made.parent.iterdir():
        if other == made or ".part-" in other.name or not other.is_dir():
            continue
        try:
            source = json.loads((other / _STAMP).read_text())["source"]["path"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if source == key["path"] or not Path(source).exists():
            shutil.rmtree(other, ignore_errors=True)


def int8_folder(folder: Path, cache: Path | None = None) -> Path:
    """The folder to load: an int8 copy of ``folder`` in the cache (made now if missing or stale), or ``folder``
    itself when its weights are int8 already or no copy can be made."""
    model_bin = folder / "model.bin"
    try:
        key = _source_key(model_bin)
    except OSError:
        return folder  # the caller reports the missing file
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    dest = (cache or models_cache_dir() / "int8") / f"{folder.name}-{digest}"
    if _usable(dest, key):
        return dest
    tmp = dest.with_name(f"{dest.name}.part-{os.getpid()}")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if not requantize(model_bin, tmp / "model.bin"):
            shutil.rmtree(tmp, ignore_errors=True)
            return folder  # int8 already
        for item in folder.iterdir():
            if item.name != "model.bin" and item.is_file():
                shutil.copy2(item, tmp / item.name)
        stamp = {"source": key, "size": (tmp / "model.bin").stat().st_size}
        (tmp / _STAMP).write_text(json.dumps(stamp))
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
        _prune(dest, key)
    except (OSError, ValueError, struct.error, IndexError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if _usable(dest, key):  # another process made it first
            return dest
        log.warning("loading %s as stored (no int8 copy: %s)", folder, exc)
        return folder
    return dest
