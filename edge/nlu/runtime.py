"""On-device NLU: the distilled student in ONNX Runtime, tokenised with `tokenizers`.

`parse(text, locale)` gives the intent, its confidence, the scenario and the slots, each slot
with character offsets into the text exactly as given (also for scripts written without spaces,
since offsets come from the tokenizer, not from splitting on spaces).
"""

from __future__ import annotations

import logging
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.errors import EdgeError
from edge.nlu.charngrams import CharNgramIntents
from edge.nlu.labels import LabelSet, unit_spans, viterbi_bio
from edge.nlu.locales import is_known_locale
from edge.nlu.pieces import Pieces, Segmenter, TokenizerLike, normalise
from edge.nlu.unigram import UnigramTokenizer

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "nlu"
DEFAULT_MODEL_FILE = "student-int8.onnx"
CHARNGRAMS_FILE = "charngrams.npz"  # optional, beside the model: averaged into its intent probabilities


class NluModelError(EdgeError, RuntimeError):
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _clean(text: str) -> str:
    """Control and format characters become spaces: same length, so offsets stay valid."""
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs") else c for c in text)


def _load_tokenizer(folder: Path, compact: bool) -> TokenizerLike:
    """The compact pure-Python tokenizer (pieces.txt + pieces.npz) when the model has one, else tokenizer.json."""
    try:
        if compact:
            return UnigramTokenizer.load(folder)
        from tokenizers import Tokenizer

        tok: TokenizerLike = Tokenizer.from_file(str(folder / "tokenizer.json"))  # type: ignore[assignment]
        return tok
    except Exception as e:  # numpy, zipfile and tokenizers each raise their own types on a damaged file
        name = "pieces.txt / pieces.npz" if compact else "tokenizer.json"
        raise NluModelError(f"NLU tokenizer {folder}/{name} is corrupt ({type(e).__name__}: {e}); "
                            "restore it with `git checkout -- models/nlu`") from None


def _load_charngrams(path: Path, intents: list[str]) -> CharNgramIntents | None:
    """The char n-gram model beside the student, if there is one; a damaged one is refused with its reason."""
    if not path.is_file():
        return None
    from edge.models import ModelError, check_file

    try:
        check_file(path)
        return CharNgramIntents(path, intents)
    except ModelError as e:
        raise NluModelError(str(e)) from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise NluModelError(f"{path} is damaged ({type(e).__name__}: {e}); restore it with "
                            "`git checkout -- models/nlu`, or delete it to run the student alone") from None


class NluModel:
    def __init__(self, model_path: Path | str | None = None, threads: int = 1, max_tokens: int = 64,
                 ood_threshold: float = 0.5, charngrams: bool = True) -> None:
        """``charngrams=False`` leaves out the char n-gram model beside the student (benchmarks compare both)."""
        path = Path(model_path) if model_path else DEFAULT_MODEL_DIR / DEFAULT_MODEL_FILE
        folder = path.parent
        self.model_path = path
        self.max_tokens = max_tokens
        self.ood_threshold = ood_threshold
        compact = (folder / "pieces.txt").is_file() or not (folder / "tokenizer.json").is_file()
        tokenizer_files = ("pieces.txt", "pieces.npz") if compact else ("tokenizer.json",)
        for needed in (path, *(folder / f for f in tokenizer_files), folder / "intents.txt", folder / "slot_types.txt"):
            if not needed.is_file():
                raise NluModelError(f"NLU model file missing: {needed} (restore it with `git checkout -- models/nlu` "
                                    "or pass --model to a folder with the model, its tokenizer and label files)")
        import onnxruntime as ort

        from edge.models import ModelError, check_file

        weights = path.with_name(path.name + ".data")  # the embedding table, memory-mapped (tools.export_nlu)
        try:
            check_file(path)  # sha256 against models/manifest.toml, cached by size and mtime
            if weights.is_file():
                check_file(weights)
        except ModelError as e:
            raise NluModelError(str(e)) from None
        self.tokenizer = _load_tokenizer(folder, compact)
        self.labels = LabelSet.load(folder)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        opts.enable_cpu_mem_arena = False  # the arena held ~130 MB for a 22 MB model; speed is the same
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf types
            if not weights.is_file() and weights.name in str(e):
                raise NluModelError(f"NLU model weights missing: {weights} (restore them with "
                                    "`git checkout -- models/nlu`)") from None
            also = f" (or its weights file {weights.name})" if weights.is_file() else ""
            raise NluModelError(f"NLU model {path}{also} is corrupt or not an ONNX model ({type(e).__name__}); "
                                "restore it with `git checkout -- models/nlu`") from None
        n_intents = self.session.get_outputs()[0].shape[-1]
        if isinstance(n_intents, int) and n_intents != len(self.labels.intents):
            raise NluModelError(f"{path} predicts {n_intents} intents but intents.txt lists "
                                f"{len(self.labels.intents)}: the model and its label files do not belong together")
        self.bos = self.tokenizer.token_to_id("<s>")
        self.eos = self.tokenizer.token_to_id("</s>")
        self.pad = self.tokenizer.token_to_id("<pad>")
        self.segmenter = Segmenter(self.tokenizer)
        self._output_names = {o.name for o in self.session.get_outputs()}
        self.charngrams = _load_charngrams(folder / CHARNGRAMS_FILE, list(self.labels.intents)) if charngrams else None

    def _run(self, rows: list[list[int]]) -> list[np.ndarray]:
        """The model over a batch of piece ids (each wrapped in <s> ... </s>, padded)."""
        return list(self.session.run(["intent_logits", "slot_logits"], self._feed(rows)))

    def _slots(self, logits: np.ndarray, pieces: Pieces, text: str) -> list[tuple[str, int, int]]:
        """Unit-level BIO by constrained Viterbi over each unit's first piece, then character spans."""
        n = min(len(pieces.ids), self.max_tokens - 2)
        units = [u for u in pieces.units() if u[0] < n]
        if not units:
            return []
        rows = logits[[1 + k for k, _, _ in units]].astype(np.float64)
        rows -= rows.max(-1, keepdims=True)
        logp = rows - np.log(np.exp(rows).sum(-1, keepdims=True))
        return unit_spans(viterbi_bio(logp), units, text, self.labels.slot_types)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The encoder's mean-pooled sentence embedding of each text, L2-normalised ([n, hidden], float32).

        What the intent head sees; on-device learning compares utterances with it. Needs a model exported
        with the `pooled` output (raises NluModelError otherwise).
        """
        if "pooled" not in self._output_names:
            raise NluModelError(f"{self.model_path} has no 'pooled' output: re-export it with tools.export_nlu")
        rows = [self.segmenter.encode(normalise(_clean(t) or " ")).ids[: self.max_tokens - 2] for t in texts]
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        pooled: np.ndarray = np.asarray(self.session.run(["pooled"], self._feed(rows))[0], dtype=np.float32)
        norms: np.ndarray = np.maximum(np.linalg.norm(pooled, axis=-1, keepdims=True), 1e-9)
        return np.asarray(pooled / norms, dtype=np.float32)

    def _feed(self, rows: list[list[int]]) -> dict[str, np.ndarray]:
        width = max(len(ids) for ids in rows) + 2
        input_ids = np.full((len(rows), width), self.pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, ids in enumerate(rows):
            input_ids[r, : len(ids) + 2] = [int(self.bos or 0), *ids, int(self.eos or 0)]
            mask[r, : len(ids) + 2] = 1
        return {"input_ids": input_ids, "attention_mask": mask}

    def parse(self, text: str, locale: str | None = None) -> Parse:
        return self.parse_batch([text], locale)[0]

    def parse_batch(self, texts: Sequence[str], locale: str | None = None) -> list[Parse]:
        warnings: list[str] = []
        if locale and not is_known_locale(locale):
            warnings.append(f"unknown locale {locale!r}: parsed with the multilingual model anyway")
        results: list[Parse | None] = [None] * len(texts)
        todo: list[tuple[int, str, str, Pieces, list[str]]] = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text must be str, got {type(text).__name__}")
            cleaned = _clean(text)
            if not cleaned.strip():
                results[i] = Parse(text, None, 0.0, None, [], True, locale, [*warnings, "empty text: nothing to parse"])
                continue
            pieces = self.segmenter.encode(normalise(cleaned))
            own = list(warnings)
            limit = self.max_tokens - 2
            if len(pieces.ids) > limit:
                own.append(f"text truncated to its first {limit} of {len(pieces.ids)} tokens "
                           f"(characters 0-{pieces.offsets[limit - 1][1]} of {len(text)})")
                log.warning("NLU input truncated to %d of %d tokens", limit, len(pieces.ids))
            todo.append((i, text, cleaned, pieces, own))
        if todo:
            outputs = self._run([t[3].ids[: self.max_tokens - 2] for t in todo])
            intent_logits, slot_logits = outputs[0], outputs[1]
            probs = np.exp(intent_logits - intent_logits.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            if self.charngrams is not None:  # the second opinion: see edge.nlu.charngrams
                best, confs = self.charngrams.combine(probs, np.stack([self.charngrams.probs(t[2]) for t in todo]))
            else:
                best = probs.argmax(-1)
                confs = probs[np.arange(len(todo)), best]
            for r, (i, text, cleaned, pieces, own) in enumerate(todo):
                k = int(best[r])
                conf = float(confs[r])
                intent = self.labels.intents[k]
                spans = self._slots(slot_logits[r], pieces, cleaned)
                slots = [Slot(t, text[s:e], s, e) for t, s, e in spans]
                results[i] = Parse(text, intent, round(conf, 4), self.labels.scenario(intent), slots,
                                   conf < self.ood_threshold, locale, own)
        return [r for r in results if r is not None]
