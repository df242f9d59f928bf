"""The NLU tokenizer's compact piece -> id map (issue 17): exactly a dict's answers, in a fraction of its memory."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from edge.nlu.piece_table import PieceTable
from edge.nlu.unigram import UnigramTokenizer

NLU = Path(__file__).resolve().parent.parent / "models" / "nlu"


def test_small_table_answers_as_a_dict() -> None:
    pieces = ["▁the", "a", "é", "東京", "", "x y", "a", "🙂"]  # "a" twice: the last id wins, as in a dict
    table = PieceTable.from_pieces(pieces)
    ref = {p: i for i, p in enumerate(pieces)}
    assert len(table) == len(pieces) and table.max_len == 4
    for p in [*pieces, "b", "▁th", "東", "🙂🙂", "A"]:
        assert table.get(p) == ref.get(p), p
    assert [table.piece(i) for i in range(len(pieces))] == pieces
    with pytest.raises(IndexError):
        table.piece(len(pieces))


def test_from_lines_takes_a_missing_last_newline() -> None:
    assert [PieceTable.from_lines(b"a\nbc").piece(i) for i in range(2)] == ["a", "bc"]
    assert len(PieceTable.from_lines(b"a\nbc\n")) == 2 and len(PieceTable.from_lines(b"")) == 0


@pytest.mark.skipif(not (NLU / "pieces.txt").is_file(), reason="no compact NLU tokenizer")
def test_the_nlu_vocabulary_maps_every_piece_to_its_line() -> None:
    pieces = (NLU / "pieces.txt").read_text("utf-8").split("\n")[:-1]
    tok = UnigramTokenizer.load(NLU)
    assert tok.get_vocab_size() == len(pieces) and tok.max_len == max(map(len, pieces))
    assert all(tok.token_to_id(p) == i for i, p in enumerate(pieces))
    assert all(tok.id_to_token(i) == pieces[i] for i in range(0, len(pieces), 101))
    rng = random.Random(17)
    known = set(pieces)
    for _ in range(2000):  # substrings of pieces, mostly not pieces themselves: a miss must say None
        p = rng.choice(pieces)
        a = rng.randrange(len(p) + 1)
        s = p[a:a + rng.randrange(1, 5)] + rng.choice(["", "x", "▁"])
        assert tok.token_to_id(s) == (pieces.index(s) if s in known else None)
