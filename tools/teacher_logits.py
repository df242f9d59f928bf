"""Compute the teacher's intent and slot logits once, for the student to learn from.

Picks --count training utterances spread evenly over all locales (seeded), runs the teacher over
them in batches and writes fp16 logits: `intent_logits.npy` [N, intents], `slot_logits.npy`
[tokens, BIO labels] with `slot_offsets.npy` [N + 1] (rows per utterance, `<s>`/`</s>` included)
and `indices.npy` (positions in the cached example list). Resumes from `partial/` if interrupted.

    python -m tools.teacher_logits --data PATH --teacher runs/teacher/best.pt \
        --tokenizer runs/e5-small-hf/tokenizer.json --out runs/teacher-logits --count 300000
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from tools.nlu_data import CACHE, collate, encode, label_set, load_examples
from tools.nlu_model import load_checkpoint


def spread_sample(locales: list[str], partitions: list[str], count: int, seed: int) -> list[int]:
    """Round-robin over locales of shuffled train indices, so every locale gets an equal share."""
    by_loc: dict[str, list[int]] = {}
    for i, (loc, part) in enumerate(zip(locales, partitions)):
        if part == "train":
            by_loc.setdefault(loc, []).append(i)
    rng = random.Random(seed)
    for v in by_loc.values():
        rng.shuffle(v)
    out: list[int] = []
    k = 0
    while len(out) < count and any(k < len(v) for v in by_loc.values()):
        out += [v[k] for v in by_loc.values() if k < len(v)]
        k += 1
    out = out[:count]
    rng.shuffle(out)
    return out


@torch.no_grad()
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--teacher", type=Path, required=True)
    ap.add_argument("--tokenizer", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=300_000)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--chunk", type=int, default=20_000, help="utterances per resumable part")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--assemble-only", action="store_true",
                    help="stop early: keep the parts already computed, write the arrays from them")
    args = ap.parse_args(argv)

    examples = load_examples(args.data, CACHE)
    labels = label_set(examples)
    tok = Tokenizer.from_file(str(args.tokenizer))
    pad = tok.token_to_id("<pad>")
    enc = encode(examples, tok, labels)
    idx = spread_sample(enc.locales, enc.partitions, args.count, args.seed)
    model, _ = load_checkpoint(args.teacher)
    model.eval()
    parts = args.out / "partial"
    parts.mkdir(parents=True, exist_ok=True)
    t0, computed = time.time(), 0  # rate counts only this run's work, not parts resumed from disk
    for c0 in range(0, len(idx), args.chunk):
        part = parts / f"{c0:08d}.npz"
        if part.exists():
            continue
        if args.assemble_only:
            idx = idx[:c0]  # parts are written in order, so the first c0 utterances are complete
            break
        chunk = idx[c0 : c0 + args.chunk]
        # longest first inside the chunk keeps padding low; order restored below
        order = sorted(range(len(chunk)), key=lambda j: len(enc.ids[chunk[j]]))
        intents = np.zeros((len(chunk), len(labels.intents)), np.float16)
        slots: list[np.ndarray | None] = [None] * len(chunk)
        for b in range(0, len(order), args.batch_size):
            js = order[b : b + args.batch_size]
            _, ids, mask, _, _ = collate([chunk[j] for j in js], enc, pad)
            il, sl = model(torch.from_numpy(ids), torch.from_numpy(mask))
            for r, j in enumerate(js):
                intents[j] = il[r].numpy()
                slots[j] = sl[r, : int(mask[r].sum())].numpy().astype(np.float16)
        lengths = np.array([len(s) for s in slots])
        np.savez(part, intents=intents, slots=np.concatenate(slots), lengths=lengths)
        done = c0 + len(chunk)
        computed += len(chunk)
        rate = computed / (time.time() - t0)
        print(f"{done}/{len(idx)} utterances, {rate:.0f}/s, eta {(len(idx) - done) / rate / 60:.0f} min", flush=True)
    files = sorted(parts.glob("*.npz"))
    loaded = [np.load(f) for f in files]
    np.save(args.out / "intent_logits.npy", np.concatenate([x["intents"] for x in loaded]))
    np.save(args.out / "slot_logits.npy", np.concatenate([x["slots"] for x in loaded]))
    lengths = np.concatenate([x["lengths"] for x in loaded])
    np.save(args.out / "slot_offsets.npy", np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
    np.save(args.out / "indices.npy", np.array(idx, dtype=np.int64))
    print(f"wrote {args.out}: {len(idx)} utterances, {int(lengths.sum())} token rows")


if __name__ == "__main__":
    main()
