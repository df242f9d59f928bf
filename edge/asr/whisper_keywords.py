"""Whisper as a keyword checker (the wake word's second stage): how well Whisper hears each of some texts in a
short clip, the decoder forced to say it (CTranslate2's ``align``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from edge.asr.base import as_mono_float32
from edge.asr.whisper_text import cut_repetition

if TYPE_CHECKING:
    from edge.asr.whisper import FasterWhisperEngine

__all__ = ["phrase_scores"]


def phrase_scores(engine: FasterWhisperEngine, samples: np.ndarray, texts: list[str], max_prefix_tokens: int = 14,
                  last_prefixes: int | None = None) -> tuple[str, list[float]]:
    """:meth:`FasterWhisperEngine.phrase_scores <edge.asr.whisper.FasterWhisperEngine.phrase_scores>`."""
    import ctranslate2

    x = as_mono_float32(samples)
    if x.size == 0 or not texts:
        return "", [0.0] * len(texts)
    encoded, frames = engine._encode_short(x, 5.0 if engine.context_pad_s is None else engine.context_pad_s,
                                         to_cpu=True)
    tok = engine._tokenizer
    ids = engine._decode_ids(encoded, x.size, 1)
    # prefixes end at word starts inside the transcript; never the whole of it: the phrase forced after all
    # Whisper heard is the decoder's guess at what might follow, not evidence in the audio
    cut = [0] + [k for k in range(1, min(len(ids) - 1, max_prefix_tokens) + 1)
                 if tok.decode([ids[k]]).startswith(" ")]
    if last_prefixes is not None:
        cut = [0] + cut[1:][-last_prefixes:] if last_prefixes > 0 else [0]
    encoded_texts = [tok.encode(" " + t.strip()) for t in texts]
    jobs = [(i, k, ids[:k] + e) for i, e in enumerate(encoded_texts) for k in cut if e]
    enc = np.asarray(encoded)
    best = [0.0] * len(texts)
    start = list(tok.sot_sequence)
    for b in range(0, len(jobs), 24):  # one batched decoder pass per 24 forced sequences
        part = jobs[b : b + 24]
        batch = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(enc, len(part), axis=0)))
        for (i, k, _seq), res in zip(part, engine.model.model.align(batch, start, [s for _, _, s in part],
                                                                  [frames] * len(part))):
            p = np.asarray(res.text_token_probs[k : k + len(encoded_texts[i])], dtype=np.float64)
            if p.size:
                best[i] = max(best[i], float(np.exp(np.mean(np.log(p + 1e-12)))))
    return cut_repetition(tok.decode(ids).strip()), best
