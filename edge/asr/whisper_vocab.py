"""Whisper's tokenizer for decoding, from the model folder's vocabulary file, without loading ``tokenizer.json``.

faster-whisper loads the Hugging Face ``tokenizers`` BPE (``tokenizer.json``: 50k pieces, 50k merges) with every
model: ~21 MB resident (x86) for Whisper tiny.en. Transcribing needs only the special tokens' ids and the
decoding of token ids to text, which for Whisper's byte-level BPE is a table lookup: each piece is a string of
stand-in characters, one per byte (GPT-2's ``bytes_to_unicode``); the pieces' bytes joined are the UTF-8 text.
:class:`WhisperVocab` does that from ``vocabulary.txt`` / ``vocabulary.json`` (CTranslate2's copy of the same
vocabulary, in id order) at ~3 MB, and behaves like ``tokenizers.Tokenizer`` for what faster-whisper's
``Tokenizer`` calls: ``token_to_id`` and ``decode`` (special and unknown ids skipped, invalid UTF-8 replaced, as
the Rust decoder does). Anything else (``encode``: the wake word's keyword check, faster-whisper's own
``transcribe`` suppressing symbols) loads the full ``tokenizer.json`` the first time it is asked for.
"""

from __future__ import annotations

import json
import re
import threading
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["WhisperVocab", "byte_decoder"]

_SPECIAL = re.compile(r"<\|[^|]*\|>")
_TIMESTAMP = re.compile(r"<\|\d+\.\d+\|>")  # in CTranslate2's vocabulary, not tokenizer.json's
_FIRST_SPECIAL = "<|endoftext|>"


@cache
def byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet: the stand-in character for each byte, mapped back to the byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = list(printable), 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars)}


def _read_vocabulary(folder: Path) -> list[str]:
    txt, js = folder / "vocabulary.txt", folder / "vocabulary.json"
    if txt.is_file():
        pieces = txt.read_text("utf-8").split("\n")
        return pieces[:-1] if pieces and pieces[-1] == "" else pieces
    if js.is_file():
        loaded = json.loads(js.read_text("utf-8"))
        if isinstance(loaded, list) and all(isinstance(p, str) for p in loaded):
            return loaded
    raise ValueError(f"{folder} has no vocabulary.txt or vocabulary.json (a list of pieces in id order)")


class WhisperVocab:
    """Decode-only Whisper tokenizer (see the module's docstring); ``tokenizer.json`` loads on demand."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        pieces = _read_vocabulary(self.folder)
        try:
            self.eot = pieces.index(_FIRST_SPECIAL)  # every id from here on is special (or a timestamp)
        except ValueError:
            raise ValueError(f"{self.folder}: the vocabulary has no {_FIRST_SPECIAL} token") from None
        table = byte_decoder()
        self._bytes = [bytes(table[c] for c in piece) for piece in pieces[: self.eot]]
        self._special = {p: i for i, p in enumerate(pieces[self.eot:], self.eot)
                         if _SPECIAL.fullmatch(p) and not _TIMESTAMP.fullmatch(p)}
        self._full: Any = None
        self._lock = threading.Lock()

    def token_to_id(self, token: str) -> int | None:
        if token in self._special:
            return self._special[token]
        return self.full().token_to_id(token)  # type: ignore[no-any-return]

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        if not skip_special_tokens:
            return str(self.full().decode(ids, skip_special_tokens=False))
        n = len(self._bytes)
        return b"".join(self._bytes[i] for i in ids if 0 <= i < n).decode("utf-8", errors="replace")

    def full(self) -> Any:
        """The ``tokenizers.Tokenizer`` from ``tokenizer.json``, loaded the first time it is needed."""
        with self._lock:
            if self._full is None:
                from tokenizers import Tokenizer

                self._full = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            return self._full

    @property
    def loaded_in_full(self) -> bool:
        return self._full is not None

    def __getattr__(self, name: str) -> Any:  # encode, get_vocab_size, id_to_token...: the real tokenizer's
        if name.startswith("_") or name in ("folder", "eot"):
            raise AttributeError(name)
        return getattr(self.full(), name)
