"""The text-to-speech engine interface: text in, one :class:`SpeechChunk` per sentence out, lazily.

:meth:`TtsEngine.stream` normalises the text for speech (:mod:`edge.tts.normalize`), splits it into
sentences (:mod:`edge.tts.sentences`) and synthesises them one at a time, so a player can start on the
first sentence while the rest is still being synthesised.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from edge.tts.normalize import normalize_for_speech
from edge.tts.sentences import split_sentences

__all__ = ["SpeechChunk", "TtsEngine", "TtsError", "TtsWarning", "clean_audio"]


class TtsError(ValueError):
    """A voice or engine cannot be used; the message is one line saying what to do."""


class TtsWarning(UserWarning):
    """A voice was substituted because the locale's own voice is not available."""


@dataclass(frozen=True)
class SpeechChunk:
    """Synthesised audio for one sentence (or, from :meth:`TtsEngine.synthesize`, a whole reply)."""

    samples: np.ndarray  # float32 mono, [-1, 1]
    rate: int
    text: str  # the normalised sentence(s) this chunk speaks

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate if self.rate else 0.0


def clean_audio(samples: np.ndarray) -> np.ndarray:
    """1-D float32 in [-1, 1] with NaN/inf replaced by 0."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(x, -1.0, 1.0)


_CACHE_MAX_WORDS = 3  # pieces of at most this many words are cached
_CACHE_SIZE = 256


def _first_clause(sentence: str) -> list[str]:
    """``sentence`` cut after its first comma, semicolon or colon when both sides have words, else as is."""
    for i, ch in enumerate(sentence):
        if ch in ",;:、，" and i + 1 < len(sentence) and (sentence[i + 1] == " " or ch in "、，"):
            head, tail = sentence[: i + 1].strip(), sentence[i + 1 :].strip()
            if any(c.isalnum() for c in head) and len(tail.split()) >= 2:
                return [head, tail]
            break
    return [sentence]


class TtsEngine(ABC):
    """A loaded voice. ``pause_s`` of silence is put before every chunk but the first (a gap between sentences)."""

    name: str = ""
    locale: str = "en-US"
    rate: int = 22050
    pause_s: float = 0.15
    # Speak the first clause of the first sentence on its own ("Sorry, | I didn't understand that."): the
    # first audio then costs the synthesis of a few words, not of the whole sentence.
    first_clause: bool = True
    clause_pause_s: float = 0.05

    def stream(self, text: str) -> Iterator[SpeechChunk]:
        """Normalise, split into sentences and yield one chunk per sentence as soon as it is synthesised."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        first = True
        pieces = split_sentences(normalize_for_speech(text, self.locale))
        if self.first_clause and pieces:
            pieces = [*_first_clause(pieces[0]), *pieces[1:]]
        previous = ""
        for sentence in pieces:
            audio = self._cached(sentence)
            if audio.size == 0:
                continue  # nothing pronounceable in it
            pause = self.clause_pause_s if previous.endswith((",", ";", ":", "、", "，")) else self.pause_s
            if not first and pause > 0:
                audio = np.concatenate([np.zeros(round(pause * self.rate), dtype=np.float32), audio])
            first = False
            previous = sentence
            yield SpeechChunk(samples=audio, rate=self.rate, text=sentence)

    def _cached(self, piece: str) -> np.ndarray:
        """Synthesised audio of a piece; short ones ("Sorry,", "Hello!") are kept, since replies reuse them."""
        if len(piece.split()) > _CACHE_MAX_WORDS:
            return clean_audio(self._synthesize_sentence(piece))
        cache: OrderedDict[str, np.ndarray] = self.__dict__.setdefault("_phrase_cache", OrderedDict())
        audio = cache.get(piece)
        if audio is None:
            audio = clean_audio(self._synthesize_sentence(piece))
            cache[piece] = audio
            if len(cache) > _CACHE_SIZE:
                cache.popitem(last=False)
        else:
            cache.move_to_end(piece)
        return audio

    def warm(self, phrases: Iterable[str] = ()) -> None:
        """Load the voice's first inference and pre-synthesise short phrases replies often open with."""
        self._synthesize_sentence("OK.")
        for phrase in phrases:
            for piece in split_sentences(normalize_for_speech(phrase, self.locale)):
                self._cached(piece)

    def synthesize(self, text: str) -> SpeechChunk:
        """The whole reply as one chunk (empty samples for text with nothing to say)."""
        chunks = list(self.stream(text))
        samples = np.concatenate([c.samples for c in chunks]) if chunks else np.zeros(0, dtype=np.float32)
        return SpeechChunk(samples=samples, rate=self.rate, text=" ".join(c.text for c in chunks))

    @abstractmethod
    def _synthesize_sentence(self, sentence: str) -> np.ndarray:
        """Float samples at :attr:`rate` for one normalised sentence (may be empty)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(locale={self.locale!r}, rate={self.rate})"
