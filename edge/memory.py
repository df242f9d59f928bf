"""The C allocator's trade between speed and peak memory, set from a profile's optional ``[memory]`` section.

glibc's malloc keeps freed memory for reuse, and its threshold for giving a large block its own mapping grows
with use (up to 32 MiB), so the big temporary tensors of the ASR decoder and the Piper vocoder end up in a heap
that rarely shrinks: the rpi4 profile's ``edge run`` peaked at 462 MB on x86. With blocks of 4 MiB and more
mapped on their own (and so returned at once when freed), at most two allocator arenas, and the heap trimmed
above 128 KiB, the same run peaked at about 400 MB, and at 1 MiB at about 392 MB, at some cost in speed (each
large block is mapped and zeroed again). Only glibc (Linux) has these settings; elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

__all__ = ["apply_heap_limits", "release_free_memory"]

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_TRIM_BYTES = 128 * 1024

_applied: int | None = None


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def apply_heap_limits(large_block_kb: int) -> bool:
    """Map blocks of ``large_block_kb`` KiB and more on their own (0 = leave the allocator as it is).

    Best called before models load and threads start; returns whether the settings took effect.
    """
    global _applied
    if large_block_kb <= 0 or _applied == large_block_kb:
        return _applied == large_block_kb and large_block_kb > 0
    libc = _libc()
    if libc is None:
        return False
    ok = all(libc.mallopt(param, value) == 1 for param, value in (
        (_M_MMAP_THRESHOLD, large_block_kb * 1024), (_M_TRIM_THRESHOLD, _TRIM_BYTES), (_M_ARENA_MAX, 2)))
    if ok:
        _applied = large_block_kb
    else:
        log.warning("the C allocator refused the [memory] settings; memory use stays as it is")
    return ok


def release_free_memory() -> None:
    """Give the memory freed so far back to the system (after loading models: their load-time copies)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
