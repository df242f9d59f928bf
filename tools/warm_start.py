"""Rebuild a training checkpoint from the shipped int8 ONNX student, to train it further.

Training checkpoints live outside the repository and do not survive a new machine; the shipped
`student-int8.onnx` does. Its int8 weights, dequantised, give a torch JointModel that agrees with the
ONNX file on nearly every utterance, and training continues from there at a low learning rate instead
of starting again from e5-small.

    python -m tools.warm_start --onnx models/nlu/student-int8.onnx --like runs/student-init/init.pt \
        --tokenizer runs/student-init/tokenizer.json --data PATH --out runs/warm/init.pt

`--like` gives the architecture (a checkpoint of the same shape, e.g. from tools.build_student);
with `--data` the rebuilt model is compared with the ONNX file on dev utterances, batch 1.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict, deque
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from tools.nlu_model import load_checkpoint, save_checkpoint
from tools.onnx_blocks import nbits_weight

_PREFIX = "model."


def dequantised(inits: dict[str, np.ndarray], base: str) -> np.ndarray:
    """`base`_quantized with its scale and zero point, as float32 (per-channel along the last axis)."""
    q = inits[base + "_quantized"].astype(np.float32)
    scale = inits[base + "_scale"].astype(np.float32)
    zero = inits[base + "_zero_point"].astype(np.float32)
    return (q - zero) * scale


def _linear_of(graph: onnx.GraphProto, weight: str, biases: set[str]) -> str | None:
    """The torch module a MatMul weight belongs to: follow the graph down to the Add of its bias."""
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
    queue, seen = deque(consumers[weight]), set()
    while queue:
        node = queue.popleft()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.op_type == "Add":
            bias = next((i for i in node.input if i in biases), None)
            if bias:
                return bias[len(_PREFIX):-len(".bias")]
            continue  # an Add without a bias is past the linear layer
        for out in node.output:
            queue.extend(consumers[out])
    return None


def onnx_state(path: Path, like: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A JointModel state dict from the int8 ONNX export of tools.export_nlu (any of its quantisation schemes)."""
    model = onnx.load(str(path))
    graph = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    state: dict[str, np.ndarray] = {}
    for name, value in inits.items():
        if name.startswith(_PREFIX) and name.endswith("_Transposed"):  # a Gemm weight the block quantiser flipped
            state[name[len(_PREFIX):-len("_Transposed")]] = value.T.astype(np.float32)
        elif name.startswith(_PREFIX) and not name.endswith(("_quantized", "_scale", "_zero_point")):
            state[name[len(_PREFIX):]] = value.astype(np.float32)
    biases = {n for n in inits if n.startswith(_PREFIX) and n.endswith(".bias")}
    for name in inits:
        if not name.endswith("_quantized"):
            continue
        base = name[: -len("_quantized")]
        w = dequantised(inits, base)
        if base in ("model.word.weight", "model.pos.weight"):  # Gather tables, stored as is
            state[base[len(_PREFIX):]] = w
            continue
        module = _linear_of(graph, name, biases)
        if module is None:  # the one MatMul without a bias: the factorised word projection
            module = "word_proj"
        state[f"{module}.weight"] = w.T.copy()  # MatMul [in, out] -> Linear [out, in]
    for node in graph.node:  # the block-quantised MatMuls (tools.export_nlu --quantize block8 / block4)
        if node.op_type != "MatMulNBits":
            continue
        module = _linear_of(graph, node.input[1], biases) or "word_proj"
        state[f"{module}.weight"] = nbits_weight(node, inits).T.copy()
    missing = set(like) - set(state)
    extra = set(state) - set(like)
    if missing or extra:
        raise ValueError(f"{path}: does not match the architecture (missing {sorted(missing)}, extra {sorted(extra)})")
    out = {}
    for k, v in state.items():
        if tuple(v.shape) != tuple(like[k].shape):
            raise ValueError(f"{path}: {k} has shape {v.shape}, expected {tuple(like[k].shape)}")
        out[k] = torch.from_numpy(np.ascontiguousarray(v))
    return out


def agreement(onnx_path: Path, model: torch.nn.Module, tokenizer_path: Path, texts: list[str]) -> dict:
    """Intent agreement and mean |Δ| of intent logits between the rebuilt model and the ONNX file."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    model.eval()
    agree, diffs = 0, []
    with torch.no_grad():
        for text in texts:
            ids = np.array([tok.encode(text.lower()).ids], dtype=np.int64)
            mask = np.ones_like(ids)
            ref = sess.run(["intent_logits"], {"input_ids": ids, "attention_mask": mask})[0][0]
            got = model(torch.from_numpy(ids), torch.from_numpy(mask))[0][0].numpy()
            agree += int(ref.argmax() == got.argmax())
            diffs.append(float(np.abs(ref - got).mean()))
    return {"utterances": len(texts), "intent_agreement": agree / len(texts),
            "mean_abs_logit_diff": float(np.mean(diffs))}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", type=Path, required=True)
    ap.add_argument("--like", type=Path, required=True, help="a checkpoint of the same architecture")
    ap.add_argument("--tokenizer", type=Path, help="tokenizer.json, for the check")
    ap.add_argument("--data", type=Path, help="MASSIVE, for the check on dev utterances")
    ap.add_argument("--check-per-locale", type=int, default=10)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    model, _ = load_checkpoint(args.like)
    model.load_state_dict(onnx_state(args.onnx, model.state_dict()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(args.out, model, warm_start=str(args.onnx))
    print(f"wrote {args.out}")
    if args.data and args.tokenizer:
        from edge.nlu.massive import load_massive

        counts: dict[str, int] = {}
        texts = []
        for e in load_massive(args.data, splits=["dev"]):
            if counts.get(e.locale, 0) < args.check_per_locale:
                counts[e.locale] = counts.get(e.locale, 0) + 1
                texts.append(e.utt)
        print(json.dumps(agreement(args.onnx, model, args.tokenizer, texts), indent=2))


if __name__ == "__main__":
    main()
