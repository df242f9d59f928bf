"""A small SentencePiece Unigram tokenizer in pure Python, for the device.

The `tokenizers` library held about 145 MB of resident memory for the student's 128,921-piece
vocabulary, more than the model and ONNX Runtime together. This reads the same vocabulary from two
compact files and cuts text into the same pieces (checked on every MASSIVE utterance by
`tools.compact_tokenizer`, which writes the files from a `tokenizer.json`):

- `pieces.txt`: one piece per line, in id order (the line number is the id);
- `pieces.npz`: `scores` (float32 log-probabilities) and the normaliser tables `norm_from` /
  `norm_to` (code point -> replacement text, as SentencePiece's nmt_nfkc charsmap maps it) and
  `multi_from` / `multi_to` (a letter with combining marks -> its composed form).

Text is normalised character by character, runs of spaces become one, a "▁" marks every word start,
and each word is cut by Viterbi over the piece scores. Offsets point into the text as given.
"""

from __future__ import annotations

import unicodedata
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.nlu.piece_table import PieceTable

SPACE = "\u2581"
UNK_PENALTY = 10.0


@dataclass(frozen=True)
class Encoding:
    ids: list[int]
    tokens: list[str]
    offsets: list[tuple[int, int]]


class UnigramTokenizer:
    def __init__(self, pieces: Sequence[str] | PieceTable, scores: np.ndarray, norm: dict[str, str], unk_id: int,
                 multi: dict[str, str] | None = None) -> None:
        # piece <-> id in ~3.5 MB (the 128,921 pieces in a dict of str -> int: ~19 MB)
        self.table = pieces if isinstance(pieces, PieceTable) else PieceTable.from_pieces(pieces)
        # float32, as stored: 0.5 MB instead of 128,921 Python floats (~4 MB, and the heap they fragment)
        self.scores = array("f", np.ascontiguousarray(scores, dtype=np.float32).tobytes())
        self.norm = norm
        self.multi = multi or {}
        self.unk_id = unk_id
        self.unk_score = min(self.scores) - UNK_PENALTY
        self.max_len = self.table.max_len

    @classmethod
    def load(cls, folder: Path) -> UnigramTokenizer:
        pieces = PieceTable.from_lines((folder / "pieces.txt").read_bytes())
        data = np.load(folder / "pieces.npz")
        norm = {chr(int(c)): str(t) for c, t in zip(data["norm_from"], data["norm_to"])}
        if len(data["scores"]) != len(pieces):
            raise ValueError(f"{folder}: {len(pieces)} pieces but {len(data['scores'])} scores")
        multi = {str(k): str(v) for k, v in zip(data["multi_from"], data["multi_to"])} if "multi_from" in data else {}
        return cls(pieces, data["scores"], norm, int(data["unk_id"]), multi)

    def token_to_id(self, piece: str) -> int | None:
        return self.table.get(piece)

    def id_to_token(self, i: int) -> str:
        return self.table.piece(i)

    def get_vocab_size(self) -> int:
        return len(self.table)

    def encode_batch(self, texts: Sequence[str], add_special_tokens: bool = False) -> list[Encoding]:
        return [self.encode(t) for t in texts]

    def encode(self, text: str, add_special_tokens: bool = False) -> Encoding:
        ids: list[int] = []
        tokens: list[str] = []
        offsets: list[tuple[int, int]] = []
        for word, origin in self._words(text):
            for a, b, pid in self._viterbi(word):
                ids.append(pid)
                tokens.append(word[a:b] if pid != self.unk_id else self.table.piece(pid))
                real = [o for o in origin[a:b] if o >= 0]
                offsets.append((min(real), max(real) + 1) if real else (0, 0))
        return Encoding(ids, tokens, offsets)

    def _words(self, text: str) -> list[tuple[str, list[int]]]:
        """Normalised words, each starting with "▁", with the index in `text` of every character (-1: added)."""
        chars: list[tuple[str, int]] = []
        i = 0
        while i < len(text):
            j = i + 1
            while j < len(text) and unicodedata.category(text[j]).startswith("M"):
                j += 1
            # as `tokenizers` applies the charsmap: a whole cluster (a letter and its marks, under 6 UTF-8
            # bytes) by its own rule ("a" + U+0300 -> "à"), otherwise character by character
            rep = self.multi.get(text[i:j]) if j - i > 1 and len(text[i:j].encode()) < 6 else None
            if rep is not None:
                chars += [(r, i + min(k, j - i - 1)) for k, r in enumerate(rep)]
            else:
                chars += [(r, k) for k in range(i, j) for r in self.norm.get(text[k], text[k])]
            i = j
        collapsed: list[tuple[str, int]] = []
        for r, i in chars:
            if r == " " and collapsed and collapsed[-1][0] == " ":
                collapsed[-1] = (r, i)  # a run of spaces keeps its last one
            else:
                collapsed.append((r, i))
        if not collapsed:
            return []
        if collapsed[0][0] != " ":
            collapsed.insert(0, (" ", -1))
        words: list[tuple[str, list[int]]] = []
        for r, i in collapsed:
            if r == " ":
                words.append((SPACE, [i]))
            else:
                w, o = words[-1]
                words[-1] = (w + r, [*o, i])
        return words

    def _viterbi(self, word: str) -> list[tuple[int, int, int]]:
        """(start, end, id) of the best cut; a character no piece starts with is one unknown piece."""
        n = len(word)
        neg = -1e30
        best = [0.0] + [neg] * n
        back: list[tuple[int, int]] = [(0, self.unk_id)] * (n + 1)
        lookup = self.table.get
        for start in range(n):
            if best[start] <= neg:
                continue
            single = False
            for end in range(start + 1, min(n, start + self.max_len) + 1):
                pid = lookup(word[start:end])
                if pid is None:
                    continue
                single = single or end == start + 1
                s = best[start] + self.scores[pid]
                if s > best[end]:
                    best[end], back[end] = s, (start, pid)
            if not single:
                s = best[start] + self.unk_score
                if s > best[start + 1]:
                    best[start + 1], back[start + 1] = s, (start, self.unk_id)
        out: list[tuple[int, int, int]] = []
        end = n
        while end > 0:
            start, pid = back[end]
            if pid == self.unk_id and out and out[-1][2] == self.unk_id:
                out[-1] = (start, out[-1][1], pid)  # consecutive unknown characters are one piece
            else:
                out.append((start, end, pid))
            end = start
        return out[::-1]
