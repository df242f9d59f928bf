"""Tokenised, labelled MASSIVE for training: cached per tokenizer, batched by length."""

from __future__ import annotations

import hashlib
import os
import pickle
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from edge.nlu.labels import LabelSet
from edge.nlu.massive import Example, load_massive
from edge.nlu.pieces import Segmenter, normalise, unit_bio
from edge.nlu.textform import spoken_form

MAX_TOKENS = 48
# Tokenised data and other derived files, outside the repository (EDGE_TRAIN_CACHE overrides).
CACHE = Path(os.environ.get("EDGE_TRAIN_CACHE", Path.home() / ".cache" / "edge-train")) / "cache"


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


UNSPACED_LOCALES = {"ja-JP", "zh-CN", "zh-TW"}
_TRAILING = ("?", ".", "!", " ?")


_NUMBER_TABLES: dict[str, dict[str, str]] = {}
_NUMBER_RE: dict[str, re.Pattern[str]] = {}


def _number_words(lang: str) -> dict[str, str]:
    """Number words 0-100 of a language (num2words) -> digits, for the typed view of spoken numbers."""
    if lang not in _NUMBER_TABLES:
        from num2words import num2words

        table: dict[str, str] = {}
        for n in range(101):
            try:
                table.setdefault(str(num2words(n, lang=lang)).lower(), str(n))
            except (NotImplementedError, KeyError, ValueError, TypeError, IndexError, OverflowError):
                break
        _NUMBER_TABLES[lang] = table
        if table:
            words = sorted(table, key=len, reverse=True)
            _NUMBER_RE[lang] = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, words)) + r")(?!\w)")
    return _NUMBER_TABLES[lang]


def _rewrite(utt: str, spans: list[tuple[str, int, int]], fn) -> tuple[str, list[tuple[str, int, int]]]:
    """Apply ``fn`` to each slot and each stretch between slots on its own, keeping the spans exact."""
    pieces: list[tuple[str | None, str]] = []
    pos = 0
    for typ, a, b in sorted(spans, key=lambda x: x[1]):
        pieces += [(None, utt[pos:a]), (typ, utt[a:b])]
        pos = b
    pieces.append((None, utt[pos:]))
    text, out = "", []
    for typ, part in pieces:
        said = fn(part).strip()
        if not said:
            continue
        if text:
            text += " "
        if typ is not None:
            out.append((typ, len(text), len(text) + len(said)))
        text += said
    return text, out


def augment(ex: Example, rng: random.Random, p_spoken: float = 0.5, p_punct: float = 0.2, p_digits: float = 0.3,
            ) -> tuple[str, list[tuple[str, int, int]]]:
    """One training view of an utterance, as a person types it or a recogniser writes it.

    MASSIVE writes numbers as words ("wake me up at five am"); people type digits. In ``p_digits`` of the
    utterances with number words those become digits ("at 5 am"); the few written with digits are said
    as words (``spoken_form``, the form the pipeline gives transcripts) in ``p_spoken`` of them. A
    trailing "?"/"." is added to ``p_punct``. Slots and the text between them are rewritten on their
    own, so the spans stay exact.
    """
    spans = [(s.type, s.start, s.end) for s in ex.spans]
    utt = ex.utt
    lang = ex.locale.split("-")[0]
    table = _number_words(lang)
    spaced = ex.locale not in UNSPACED_LOCALES
    if spaced and table and _NUMBER_RE[lang].search(utt) and rng.random() < p_digits:
        utt, spans = _rewrite(utt, spans, lambda part: _NUMBER_RE[lang].sub(lambda m: table[m.group(0)], part))
    elif spaced and any(c.isdigit() for c in utt) and rng.random() < p_spoken:
        utt, spans = _rewrite(utt, spans, lambda part: spoken_form(part, ex.locale)
                              if any(c.isdigit() for c in part) else part)
    if spaced and rng.random() < p_punct:
        utt = utt + rng.choice(_TRAILING)
    return utt, spans


def encode(examples: list[Example], tokenizer: Tokenizer, labels: LabelSet, augment_seed: int | None = None,
           ) -> Encoded:
    """Pieces and unit labels (on each unit's first piece; -100 elsewhere), as the runtime segments text.

    With ``augment_seed``, train-partition utterances get a transcript- or typing-style view (``augment``).
    """
    slot_index = {t: i for i, t in enumerate(labels.slot_types)}
    intent_index = {t: i for i, t in enumerate(labels.intents)}
    seg = Segmenter(tokenizer)
    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
    rng = random.Random(augment_seed)
    ids, slots = [], []
    for i in range(0, len(examples), 20000):
        chunk = examples[i : i + 20000]
        views = []
        for e in chunk:
            if augment_seed is not None and e.partition == "train":
                views.append(augment(e, rng))
            else:
                views.append((e.utt, [(s.type, s.start, s.end) for s in e.spans]))
        texts = [normalise(t) for t, _ in views]
        for (_, spans), p in zip(views, seg.encode_batch(texts)):
            n = min(len(p.ids), MAX_TOKENS - 2)
            units = [u for u in p.units() if u[0] < n]
            lab = np.full(n, -100, dtype=np.int16)
            for (k, _, _), v in zip(units, unit_bio(units, spans, slot_index)):
                lab[k] = v
            ids.append(np.array([bos, *p.ids[:n], eos], dtype=np.int32))
            slots.append(np.concatenate([[-100], lab, [-100]]).astype(np.int16))
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
