"""On-device NLU: the distilled student in ONNX Runtime, tokenised with `tokenizers`.

`parse(text, locale)` gives the intent, its confidence, the scenario and the slots, each slot
with character offsets into the text exactly as given (also for scripts written without spaces,
since offsets come from the tokenizer, not from splitting on spaces).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edge.nlu.labels import LabelSet, decode_bio
from edge.nlu.locales import is_known_locale

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "nlu"
DEFAULT_MODEL_FILE = "student-int8.onnx"


class NluModelError(RuntimeError):
    """The model files are missing or unreadable; the message says which and what to do."""


@dataclass(frozen=True)
class Slot:
    type: str
    value: str
    start: int
    end: int


@dataclass
class Parse:
    text: str
    intent: str | None
    confidence: float
    scenario: str | None
    slots: list[Slot] = field(default_factory=list)
    out_of_domain: bool = False
    locale: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _clean(text: str) -> str:
    """Control and format characters become spaces: same length, so offsets stay valid."""
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs") else c for c in text)


class NluModel:
    def __init__(self, model_path: Path | str | None = None, threads: int = 1, max_tokens: int = 64,
                 ood_threshold: float = 0.5) -> None:
        path = Path(model_path) if model_path else DEFAULT_MODEL_DIR / DEFAULT_MODEL_FILE
        folder = path.parent
        self.model_path = path
        self.max_tokens = max_tokens
        self.ood_threshold = ood_threshold
        for needed in (path, folder / "tokenizer.json", folder / "intents.txt", folder / "slot_types.txt"):
            if not needed.is_file():
                raise NluModelError(f"NLU model file missing: {needed} (restore it with `git checkout -- models/nlu` "
                                    "or pass --model to a folder with the model, tokenizer.json and label files)")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        try:
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as e:  # tokenizers raises a bare Exception on bad JSON
            raise NluModelError(f"NLU tokenizer {folder / 'tokenizer.json'} is corrupt ({e}); "
                                "restore it with `git checkout -- models/nlu`") from None
        self.labels = LabelSet.load(folder)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        opts.enable_cpu_mem_arena = False  # the arena held ~130 MB for a 22 MB model; speed is the same
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise NluModelError(f"NLU model {path} is corrupt or not an ONNX model ({type(e).__name__}); "
                                "restore it with `git checkout -- models/nlu`") from None
        n_intents = self.session.get_outputs()[0].shape[-1]
        if isinstance(n_intents, int) and n_intents != len(self.labels.intents):
            raise NluModelError(f"{path} predicts {n_intents} intents but intents.txt lists "
                                f"{len(self.labels.intents)}: the model and its label files do not belong together")
        self.bos = self.tokenizer.token_to_id("<s>")
        self.eos = self.tokenizer.token_to_id("</s>")
        self.pad = self.tokenizer.token_to_id("<pad>")

    def parse(self, text: str, locale: str | None = None) -> Parse:
        return self.parse_batch([text], locale)[0]

    def parse_batch(self, texts: Sequence[str], locale: str | None = None) -> list[Parse]:
        warnings: list[str] = []
        if locale and not is_known_locale(locale):
            warnings.append(f"unknown locale {locale!r}: parsed with the multilingual model anyway")
        results: list[Parse | None] = [None] * len(texts)
        todo: list[tuple[int, str, str, list[int], list[tuple[int, int]], list[str]]] = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text must be str, got {type(text).__name__}")
            cleaned = _clean(text)
            if not cleaned.strip():
                results[i] = Parse(text, None, 0.0, None, [], True, locale, [*warnings, "empty text: nothing to parse"])
                continue
            enc = self.tokenizer.encode(cleaned, add_special_tokens=False)
            ids, offsets = enc.ids, enc.offsets
            own = list(warnings)
            limit = self.max_tokens - 2
            if len(ids) > limit:
                own.append(f"text truncated to its first {limit} of {len(ids)} tokens "
                           f"(characters 0-{offsets[limit - 1][1]} of {len(text)})")
                log.warning("NLU input truncated to %d of %d tokens", limit, len(ids))
                ids, offsets = ids[:limit], offsets[:limit]
            todo.append((i, text, cleaned, ids, offsets, own))
        if todo:
            width = max(len(t[3]) for t in todo) + 2
            input_ids = np.full((len(todo), width), self.pad, dtype=np.int64)
            mask = np.zeros((len(todo), width), dtype=np.int64)
            for r, (_, _, _, ids, _, _) in enumerate(todo):
                input_ids[r, : len(ids) + 2] = [self.bos, *ids, self.eos]
                mask[r, : len(ids) + 2] = 1
            intent_logits, slot_logits = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})
            probs = np.exp(intent_logits - intent_logits.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            for r, (i, text, cleaned, ids, offsets, own) in enumerate(todo):
                k = int(probs[r].argmax())
                conf = float(probs[r, k])
                intent = self.labels.intents[k]
                tags = slot_logits[r, 1 : len(ids) + 1].argmax(-1).tolist()
                spans = decode_bio(tags, offsets, cleaned, self.labels.slot_types)
                slots = [Slot(t, text[s:e], s, e) for t, s, e in spans]
                results[i] = Parse(text, intent, round(conf, 4), self.labels.scenario(intent), slots,
                                   conf < self.ood_threshold, locale, own)
        return [r for r in results if r is not None]
