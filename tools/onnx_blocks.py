"""The float weights of onnxruntime's block-quantised MatMul (``com.microsoft.MatMulNBits``), without torch.

tools.export_nlu quantises the student's MatMul weights in blocks of 32 input rows (4 or 8 bits, one scale per
block); tools.warm_start reads them back to train the shipped model further.
"""

from __future__ import annotations

import numpy as np
import onnx


def _attrs(node: onnx.NodeProto) -> dict[str, int]:
    return {a.name: int(onnx.helper.get_attribute_value(a)) for a in node.attribute
            if a.type == onnx.AttributeProto.INT}


def nbits_weight(node: onnx.NodeProto, inits: dict[str, np.ndarray]) -> np.ndarray:
    """The [K, N] float32 weight of a MatMulNBits node (as the MatMul it replaced), from its initializers."""
    a = _attrs(node)
    k, n, bits, block = a["K"], a["N"], a["bits"], a["block_size"]
    if bits not in (4, 8):
        raise ValueError(f"{node.name}: {bits}-bit MatMulNBits is not supported (4 or 8)")
    packed = inits[node.input[1]]
    blocks = -(-k // block)
    if bits == 8:
        q = packed.reshape(n, blocks * block).astype(np.float32)
    else:
        flat = packed.reshape(n, -1)
        q = np.empty((n, flat.shape[1] * 2), np.float32)
        q[:, 0::2] = flat & 0x0F  # the low nibble holds the even element
        q[:, 1::2] = flat >> 4
    scales = inits[node.input[2]].reshape(n, blocks).astype(np.float32)
    if len(node.input) > 3 and node.input[3]:
        zero = inits[node.input[3]]
        if bits == 4:
            z = np.empty((n, zero.reshape(n, -1).shape[1] * 2), np.float32)
            z[:, 0::2] = zero.reshape(n, -1) & 0x0F
            z[:, 1::2] = zero.reshape(n, -1) >> 4
            zero = z[:, :blocks]
        zero = zero.reshape(n, blocks).astype(np.float32)
    else:
        zero = np.full((n, blocks), 2.0 ** (bits - 1), np.float32)
    w = (q.reshape(n, blocks, block) - zero[..., None]) * scales[..., None]
    out: np.ndarray = w.reshape(n, blocks * block)[:, :k].T.copy()
    return out
