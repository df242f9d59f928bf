"""Build the student's starting point from the fine-tuned teacher.

1. Vocabulary: the pieces MASSIVE's train and dev text uses, plus every single-character piece of
   every script that text is written in (so an unseen word in a seen script still splits into
   known characters, never `<unk>`). Unigram keeps the same segmentation of that text because
   every piece of its best path survives; this is checked on a sample.
2. Word embeddings: the kept rows of the teacher's table, factorised by SVD into
   vocab x E and E x hidden (E = --embedding-dim), which is what keeps a 120k-piece
   multilingual vocabulary inside the on-device size budget.
3. Encoder: --layers teacher layers (evenly spaced, first and last included), the teacher's heads.

    python -m tools.build_student --data PATH --teacher runs/teacher/best.pt \
        --tokenizer runs/e5-small-hf/tokenizer.json --out runs/student-init
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from tools.nlu_data import CACHE, load_examples
from tools.nlu_model import EncoderConfig, JointModel, load_checkpoint, load_pretrained_encoder, save_checkpoint

SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")


def script_of(ch: str) -> str:
    """Coarse Unicode script: the first word of the character's name (LATIN, CJK, THAI...)."""
    try:
        return unicodedata.name(ch).split()[0]
    except ValueError:
        return "?"


def kept_piece_ids(texts: list[str], tokenizer: Tokenizer, pieces: list[str]) -> list[int]:
    used: set[int] = set()
    for i in range(0, len(texts), 20000):
        for enc in tokenizer.encode_batch(texts[i : i + 20000], add_special_tokens=False):
            used.update(enc.ids)
    scripts = {script_of(c) for t in texts for c in t if not c.isspace()}
    for i, p in enumerate(pieces):
        core = p.lstrip("\u2581")
        if p in SPECIALS or p == "\u2581" or (len(core) == 1 and script_of(core) in scripts):
            used.add(i)
    return sorted(used)


def trimmed_tokenizer_json(src: Path, keep: list[int]) -> dict:
    spec = json.loads(src.read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    spec["model"]["vocab"] = [vocab[i] for i in keep]
    new_id = {old: new for new, old in enumerate(keep)}
    spec["model"]["unk_id"] = new_id[spec["model"]["unk_id"]]
    spec["added_tokens"] = [t for t in spec.get("added_tokens", []) if t["id"] in new_id]  # drops <mask>
    for tok in spec["added_tokens"]:
        tok["id"] = new_id[tok["id"]]
    post = spec.get("post_processor") or {}
    for sp in (post.get("special_tokens") or {}).values():
        sp["ids"] = [new_id[i] for i in sp["ids"]]
    return spec


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--teacher", type=Path, required=True,
                    help="teacher checkpoint (.pt from tools.train_nlu), or the pretrained HF folder itself")
    ap.add_argument("--tokenizer", type=Path, required=True, help="the teacher's tokenizer.json")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--embedding-dim", type=int, default=112)
    ap.add_argument("--max-positions", type=int, default=128)
    args = ap.parse_args(argv)

    examples = load_examples(args.data, CACHE)
    texts = [e.utt for e in examples if e.partition in ("train", "dev")]
    big = Tokenizer.from_file(str(args.tokenizer))
    pieces = [p for p, _ in json.loads(args.tokenizer.read_text(encoding="utf-8"))["model"]["vocab"]]
    keep = kept_piece_ids(texts, big, pieces)
    spec = trimmed_tokenizer_json(args.tokenizer, keep)
    args.out.mkdir(parents=True, exist_ok=True)
    tok_path = args.out / "tokenizer.json"
    tok_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    small = Tokenizer.from_file(str(tok_path))

    # same segmentation of MASSIVE text, and every character of a seen script is known
    sample = texts[:: max(1, len(texts) // 20000)]
    for a, b in zip(big.encode_batch(sample), small.encode_batch(sample)):
        if a.tokens != b.tokens:
            raise SystemExit(f"segmentation changed: {a.tokens} vs {b.tokens}")
    print(f"vocabulary: {len(keep)} of {len(pieces)} pieces; segmentation identical on {len(sample)} utterances")

    if args.teacher.is_dir():  # no fine-tuned teacher: start from the pretrained encoder, heads fresh
        from tools.nlu_data import label_set

        labels = label_set(examples)
        teacher = load_pretrained_encoder(args.teacher, len(labels.intents), len(labels.bio))
    else:
        teacher, _ = load_checkpoint(args.teacher)
    tc = teacher.config
    rows = teacher.word.weight.detach()[torch.tensor(keep)]
    if teacher.word_proj is not None:
        rows = teacher.word_proj(rows)
    u, s, vt = torch.linalg.svd(rows, full_matrices=False)
    e = args.embedding_dim
    energy = float((s[:e] ** 2).sum() / (s**2).sum())
    print(f"embedding SVD rank {e}: keeps {energy:.3f} of the energy")
    chosen = np.linspace(0, tc.layers - 1, args.layers).round().astype(int).tolist()
    c = EncoderConfig(
        vocab_size=len(keep), hidden=tc.hidden, layers=args.layers, heads=tc.heads, ff=tc.ff,
        max_positions=args.max_positions, position_offset=0, eps=tc.eps,
        embedding_dim=e, n_intents=tc.n_intents, n_slot_labels=tc.n_slot_labels, dropout=tc.dropout,
    )
    student = JointModel(c)
    with torch.no_grad():
        student.word.weight.copy_(u[:, :e] * s[:e])
        student.word_proj.weight.copy_(vt[:e].T)
        off = tc.position_offset  # the student counts positions from 0
        student.pos.weight.copy_(teacher.pos.weight[off : off + args.max_positions])
        for name in ("token_type", "eln", "intent_head", "slot_head"):
            src, dst = getattr(teacher, name), getattr(student, name)
            if isinstance(src, torch.nn.Parameter):
                dst.copy_(src)
            else:
                dst.load_state_dict(src.state_dict())
        for dst, src in zip(student.layers, chosen):
            dst.load_state_dict(teacher.layers[src].state_dict())
    save_checkpoint(args.out / "init.pt", student, teacher_layers=chosen, kept_piece_ids=keep)
    n = sum(p.numel() for p in student.parameters())
    print(f"student: {args.layers} layers (teacher layers {chosen}), {n / 1e6:.1f}M parameters -> {args.out}")


if __name__ == "__main__":
    main()
