"""Text to model pieces and labelling units, the same way in training and on the device.

The model labels *units*, not pieces: a unit is a word (pieces from one that starts with "▁" up to the
next such piece), a single character in Chinese and Japanese, or a piece in the other scripts often
written without spaces (Thai, Lao, Myanmar, Khmer), so a place name typed inside a run of Thai can
still be a slot of its own. Only the
first piece of a unit carries a slot label; its other pieces follow it. That is MASSIVE's own scoring
convention, and it keeps slots whole: "▁thu|rs|day" is one unit, so "rsday" can no longer be a slot.

Pieces of several CJK characters ("時に" is one SentencePiece piece that crosses a slot boundary) are
split into their single characters, which the trimmed vocabulary always keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class TokenizerLike(Protocol):
    """What the segmenter needs: `tokenizers.Tokenizer` (training) or `edge.nlu.unigram.UnigramTokenizer` (device)."""

    def encode_batch(self, texts: Any, add_special_tokens: bool = ...) -> Any: ...

    def token_to_id(self, token: str) -> int | None: ...


SPACE = "\u2581"


def is_cjk_char(ch: str) -> bool:
    """CJK ideographs, kana and CJK punctuation: each character is a unit of its own."""
    o = ord(ch)
    return (0x3000 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF
            or 0xFF00 <= o <= 0xFFEF or 0x31F0 <= o <= 0x31FF or 0x20000 <= o <= 0x2FA1F)


def is_unspaced_char(ch: str) -> bool:
    """Scripts often written without spaces between words: CJK (a unit per character), and Thai, Lao,
    Tibetan, Myanmar and Khmer (a unit per piece, since their words are several characters)."""
    o = ord(ch)
    return is_cjk_char(ch) or 0x0E00 <= o <= 0x0FFF or 0x1000 <= o <= 0x109F or 0x1780 <= o <= 0x17FF


def normalise(text: str) -> str:
    """Lower case, one character for one, so offsets into the text stay valid.

    The trimmed vocabulary was built from MASSIVE's (lower-case) text: "Turn" would otherwise split into
    "▁T|ur|n". A character whose lower case is longer ("İ") is kept as it is.
    """
    out = []
    for c in text:
        low = c.lower()
        out.append(low if len(low) == 1 else c)
    return "".join(out)


@dataclass(frozen=True)
class Pieces:
    ids: list[int]
    offsets: list[tuple[int, int]]  # character range of each piece in the text (leading space excluded)
    first: list[bool]  # the piece starts a unit
    ignored: list[bool]  # a bare "▁" piece: no character of its own, never labelled

    def units(self) -> list[tuple[int, int, int]]:
        """(first piece index, start, end) of every unit, end being the end of its last piece."""
        out: list[list[int]] = []
        for i, ((s, e), f, ign) in enumerate(zip(self.offsets, self.first, self.ignored)):
            if ign:
                continue
            if f or not out:
                out.append([i, s, e])
            else:
                out[-1][2] = max(out[-1][2], e)
        return [(a, b, c) for a, b, c in out]


class Segmenter:
    """Wraps a `tokenizers` Unigram tokenizer: pieces, their offsets and unit starts."""

    def __init__(self, tokenizer: TokenizerLike) -> None:
        self.tokenizer = tokenizer
        self._char_ids: dict[str, int | None] = {}

    def _char_id(self, ch: str) -> int | None:
        if ch not in self._char_ids:
            self._char_ids[ch] = self.tokenizer.token_to_id(ch)
        return self._char_ids[ch]

    def encode(self, text: str) -> Pieces:
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Sequence[str]) -> list[Pieces]:
        out = []
        for text, enc in zip(texts, self.tokenizer.encode_batch(list(texts), add_special_tokens=False)):
            out.append(self._units(text, enc.ids, enc.tokens, enc.offsets))
        return out

    def _units(self, text: str, ids: list[int], tokens: list[str], offsets: list[tuple[int, int]]) -> Pieces:
        r_ids: list[int] = []
        r_off: list[tuple[int, int]] = []
        r_first: list[bool] = []
        r_ign: list[bool] = []
        next_first = True
        prev_unspaced = False
        for tid, tok, (s, e) in zip(ids, tokens, offsets):
            if tok == SPACE:
                r_ids.append(tid)
                r_off.append((s, s))
                r_first.append(False)
                r_ign.append(True)
                next_first = True
                continue
            spaced = tok.startswith(SPACE)
            while s < e and text[s].isspace():
                s += 1
            chars = text[s:e]
            if len(chars) > 1 and any(is_cjk_char(c) for c in chars):
                split = [self._char_id(c) for c in chars]
                if all(x is not None for x in split):
                    for k, x in enumerate(split):
                        r_ids.append(int(x))  # type: ignore[arg-type]
                        r_off.append((s + k, s + k + 1))
                        r_first.append(True)
                        r_ign.append(False)
                    next_first, prev_unspaced = False, True
                    continue
            unspaced = bool(chars) and is_unspaced_char(chars[0])
            first = next_first or spaced or unspaced or prev_unspaced or not r_ids
            r_ids.append(tid)
            r_off.append((s, e))
            r_first.append(first)
            r_ign.append(False)
            next_first, prev_unspaced = False, bool(chars) and is_unspaced_char(chars[-1])
        return Pieces(r_ids, r_off, r_first, r_ign)


def unit_bio(units: Sequence[tuple[int, int, int]], spans: Sequence[tuple[str, int, int]],
             slot_index: dict[str, int]) -> list[int]:
    """BIO label of each unit from gold character spans: a unit belongs to the span its first character is in."""
    labels = []
    prev_span = -1
    for _, s, e in units:
        lab, cur = 0, -1
        for n, (typ, a, b) in enumerate(spans):
            if a <= s < b or (s < a < e):
                k = slot_index[typ]
                lab, cur = (2 * k + 2 if n == prev_span else 2 * k + 1), n
                break
        labels.append(lab)
        prev_span = cur
    return labels
