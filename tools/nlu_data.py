"""Tokenised, labelled MASSIVE for training: cached per tokenizer, batched by length."""

from __future__ import annotations

import hashlib
import pickle
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from edge.nlu.labels import LabelSet, token_bio
from edge.nlu.massive import Example, load_massive

MAX_TOKENS = 48


@dataclass
class Encoded:
    ids: list[np.ndarray]  # int32 token ids incl. <s> ... </s>
    slot_labels: list[np.ndarray]  # int16 BIO ids, -100 where ignored
    intents: np.ndarray  # int16
    locales: list[str]
    partitions: list[str]


def label_set(examples: list[Example]) -> LabelSet:
    return LabelSet(tuple(sorted({e.intent for e in examples})),
                    tuple(sorted({s.type for e in examples for s in e.spans})))


def load_examples(data: Path, cache_dir: Path) -> list[Example]:
    cache = cache_dir / f"massive-{hashlib.sha1(str(data.resolve()).encode()).hexdigest()[:10]}.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    exs = load_massive(data)
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(exs))
    return exs


def encode(examples: list[Example], tokenizer: Tokenizer, labels: LabelSet) -> Encoded:
    slot_index = {t: i for i, t in enumerate(labels.slot_types)}
    intent_index = {t: i for i, t in enumerate(labels.intents)}
    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
    ids, slots = [], []
    for i in range(0, len(examples), 20000):
        chunk = examples[i : i + 20000]
        for ex, enc in zip(chunk, tokenizer.encode_batch([e.utt for e in chunk], add_special_tokens=False)):
            tok_ids = enc.ids[: MAX_TOKENS - 2]
            offs = enc.offsets[: MAX_TOKENS - 2]
            lab = token_bio(offs, [(s.type, s.start, s.end) for s in ex.spans], slot_index)
            ids.append(np.array([bos, *tok_ids, eos], dtype=np.int32))
            slots.append(np.array([-100, *lab, -100], dtype=np.int16))
    return Encoded(ids, slots, np.array([intent_index[e.intent] for e in examples], dtype=np.int16),
                   [e.locale for e in examples], [e.partition for e in examples])


def batches(indices: list[int], enc: Encoded, batch_size: int, seed: int, pad_id: int):
    """Yield (indices, ids, mask, slot_labels, intents) with similar lengths per batch."""
    rng = random.Random(seed)
    order = list(indices)
    rng.shuffle(order)
    groups = []
    for i in range(0, len(order), batch_size * 50):
        pool = sorted(order[i : i + batch_size * 50], key=lambda k: len(enc.ids[k]))
        groups += [pool[j : j + batch_size] for j in range(0, len(pool), batch_size)]
    rng.shuffle(groups)
    for g in groups:
        yield collate(g, enc, pad_id)


def collate(g: list[int], enc: Encoded, pad_id: int):
    t = max(len(enc.ids[k]) for k in g)
    ids = np.full((len(g), t), pad_id, dtype=np.int64)
    mask = np.zeros((len(g), t), dtype=np.int64)
    lab = np.full((len(g), t), -100, dtype=np.int64)
    for r, k in enumerate(g):
        n = len(enc.ids[k])
        ids[r, :n] = enc.ids[k]
        mask[r, :n] = 1
        lab[r, :n] = enc.slot_labels[k]
    return g, ids, mask, lab, enc.intents[g].astype(np.int64)
