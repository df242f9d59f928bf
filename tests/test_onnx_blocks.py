"""tools.onnx_blocks reads back the weights of a block-quantised MatMul as onnxruntime multiplies by them.

The node is packed here by hand (the MatMulNBits layout: per output column, blocks of 32 input rows, two 4-bit
values to a byte, low nibble first) and onnxruntime's own kernel is the judge."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tools.onnx_blocks import nbits_weight

BLOCK = 32


def _pack(values: np.ndarray, bits: int) -> np.ndarray:
    """[n, m] integers in 0..2^bits-1 -> uint8 rows (4 bits: two to a byte, the even one low)."""
    v = values.astype(np.uint8)
    return v if bits == 8 else (v[:, 0::2] | (v[:, 1::2] << 4)).astype(np.uint8)


def _nbits_model(weight: np.ndarray, bits: int, with_zero: bool) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    k, n = weight.shape
    blocks = -(-k // BLOCK)
    padded = np.zeros((blocks * BLOCK, n), np.float32)
    padded[:k] = weight
    cols = padded.T.reshape(n, blocks, BLOCK)
    top = 2 ** bits - 1
    if with_zero:
        low, high = cols.min(-1), cols.max(-1)
        scale = np.maximum(high - low, 1e-6) / top
        zero = np.clip(np.rint(-low / scale), 0, top)
    else:
        zero = np.full((n, blocks), 2.0 ** (bits - 1))
        scale = np.maximum(np.abs(cols).max(-1), 1e-6) / (2 ** (bits - 1) - 1)
    q = np.clip(np.rint(cols / scale[..., None]) + zero[..., None], 0, top)
    inits = {"w_q": _pack(q.reshape(n, -1), bits).reshape(n, blocks, BLOCK * bits // 8),
             "w_scales": scale.astype(np.float32).reshape(-1)}
    inputs = ["x", "w_q", "w_scales"]
    if with_zero:
        zero_rows = zero if bits == 8 or blocks % 2 == 0 else np.concatenate([zero, np.zeros((n, 1))], 1)
        inits["w_zero"] = _pack(zero_rows, bits).reshape(-1)
        inputs.append("w_zero")
    node = helper.make_node("MatMulNBits", inputs, ["y"], domain="com.microsoft", K=k, N=n, bits=bits,
                            block_size=BLOCK, accuracy_level=0)  # float compute: y is exactly x @ weights
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, n])],
        [numpy_helper.from_array(v, name) for name, v in inits.items()])
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    return model, inits


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("with_zero", [False, True])
def test_weights_match_what_onnxruntime_multiplies_by(bits: int, with_zero: bool) -> None:
    rng = np.random.default_rng(bits)
    weight = rng.normal(size=(80, 24)).astype(np.float32)  # K = 80: the last block of 32 is partial
    model, inits = _nbits_model(weight, bits, with_zero)
    got = nbits_weight(model.graph.node[0], inits)
    assert got.shape == weight.shape
    step = 2 * np.abs(weight).max() / (2 ** (bits - 1) - 1)
    assert np.abs(got - weight).max() <= step  # quantisation error, no more
    x = rng.normal(size=(5, 80)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x})[0], x @ got, rtol=1e-4, atol=1e-4)


def test_other_bit_widths_are_refused() -> None:
    node = helper.make_node("MatMulNBits", ["x", "w_q", "w_scales"], ["y"], domain="com.microsoft", K=32, N=2,
                            bits=2, block_size=BLOCK)
    with pytest.raises(ValueError, match="2-bit"):
        nbits_weight(node, {})
