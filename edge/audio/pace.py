"""Feed recorded audio at the speed it was spoken, in microphone-sized blocks: a file behaves like a live
microphone (for ``edge run --realtime`` and the latency benchmark)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

import numpy as np

__all__ = ["paced", "with_trailing_silence"]


def paced(chunks: Iterable[np.ndarray], rate: int = 16000, block_ms: int = 32) -> Iterator[np.ndarray]:
    """Re-block ``chunks`` into ``block_ms`` pieces, each yielded no sooner than it would have been recorded."""
    block = max(1, rate * block_ms // 1000)
    start = time.monotonic()
    sent = 0
    pending = np.zeros(0, dtype=np.float32)
    for chunk in chunks:
        pending = np.concatenate([pending, np.asarray(chunk, dtype=np.float32).reshape(-1)])
        while pending.size >= block:
            piece, pending = pending[:block], pending[block:]
            sent += piece.size
            delay = start + sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield piece
    if pending.size:
        sent += pending.size
        delay = start + sent / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield pending


def with_trailing_silence(chunks: Iterable[np.ndarray], seconds: float, rate: int = 16000) -> Iterator[np.ndarray]:
    """The chunks, then ``seconds`` of silence (a clip cut right at the last word still ends by silence)."""
    yield from chunks
    if seconds > 0:
        yield np.zeros(int(seconds * rate), dtype=np.float32)
