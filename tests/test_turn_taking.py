"""Turn-taking alone: scripted speech starts and ends, wake hits and key presses in, decisions out.

No model is loaded; the whole file runs in well under a second.
"""

from __future__ import annotations

import time

import pytest

from edge.audio.endpoint import SpeechEnd, SpeechStart
from edge.audio.rate import RATE
from edge.pipeline.turn_taking import CloseGate, Interrupt, OpenGate, Take, TurnTaking

PAD = RATE * 30 // 1000  # the endpointer's start pad in these scripts


def at(seconds: float) -> int:
    return int(seconds * RATE)


def start(t: float, confirmed_after: float = 0.1) -> SpeechStart:
    return SpeechStart(at(t), at(t + confirmed_after))


def end(t0: float, t1: float, reason: str = "silence") -> SpeechEnd:
    return SpeechEnd(at(t0), at(t1), at(t1 + 0.3), reason)  # type: ignore[arg-type]


def moved_to(tt: TurnTaking, seconds: float) -> TurnTaking:
    tt.advance(at(seconds) - tt.pos)
    return tt


def test_without_a_wake_word_every_utterance_is_taken() -> None:
    tt = TurnTaking(gated=False)
    moved_to(tt, 1.1)
    assert tt.speech_start(start(1.0), playing=False, start_pad=PAD) == [Take(at(1.0))]
    assert tt.taken
    moved_to(tt, 2.3)
    utt = tt.speech_end(end(1.0, 2.0))
    assert utt is not None and utt.taken_from == at(1.0) and not utt.barge_in
    assert not tt.taken and tt.between(playing=False) == []


def test_gated_speech_is_ignored_until_a_wake_hit_opens_the_gate_for_one_utterance() -> None:
    tt = TurnTaking(gated=True, wake_window_s=5.0)
    moved_to(tt, 1.1)
    assert tt.speech_start(start(1.0), False, PAD) == []
    moved_to(tt, 2.3)
    assert tt.speech_end(end(1.0, 2.0)) is None  # never sent to the ASR
    moved_to(tt, 3.0)
    opened = tt.wake_hit(tt.phrase_end(None, None), playing=False)
    assert opened == [OpenGate("wake", at(3.0) + 5 * RATE)]
    moved_to(tt, 4.1)
    assert tt.speech_start(start(4.0), False, PAD) == [Take(at(4.0))]
    moved_to(tt, 5.3)
    assert tt.speech_end(end(4.0, 5.0)) is not None
    assert tt.between(False) == [CloseGate()]  # the opening was used
    moved_to(tt, 6.1)
    assert tt.speech_start(start(6.0), False, PAD) == []


def test_a_command_in_the_wake_phrases_breath_is_taken_from_just_after_the_phrase() -> None:
    tt = TurnTaking(gated=True)
    moved_to(tt, 1.1)
    assert tt.speech_start(start(1.0), False, PAD) == []
    moved_to(tt, 2.0)
    # The detector has been fed up to 2.0 s; the hit's phrase ended at 1.6 s.
    phrase_end = tt.phrase_end(at(2.0), at(1.6))
    assert phrase_end == at(1.6) - RATE * 100 // 1000
    decisions = tt.wake_hit(phrase_end, playing=False)
    assert decisions == [Take(phrase_end)]
    assert tt.utterance is not None and tt.utterance.via_wake


def test_the_wake_window_expires() -> None:
    tt = TurnTaking(gated=True, wake_window_s=2.0)
    moved_to(tt, 1.0)
    tt.wake_hit(tt.phrase_end(None, None), False)
    moved_to(tt, 3.5)
    assert tt.between(False) == [CloseGate()]
    assert tt.speech_start(start(3.6), False, PAD) == []


def test_speech_over_a_reply_interrupts_it_with_barge_in_speech_only() -> None:
    tt = TurnTaking(gated=False, barge_in="speech")
    assert tt.mutes_vad(playing=True) is False and tt.listens_for_wake(playing=True)
    moved_to(tt, 1.1)
    decisions = tt.speech_start(start(1.0), playing=True, start_pad=PAD)
    assert decisions == [Take(at(1.0)), Interrupt("speech", at(1.0) + PAD)]
    assert tt.utterance is not None and tt.utterance.barge_in

    for mode in ("wake", "off"):
        tt = TurnTaking(gated=False, barge_in=mode)
        assert tt.mutes_vad(playing=True)  # half duplex: the VAD hears silence while we talk
        assert tt.listens_for_wake(playing=True) is (mode == "wake")
        assert not tt.mutes_vad(playing=False)


def test_a_wake_hit_while_a_reply_plays_interrupts_and_marks_the_next_utterance() -> None:
    tt = TurnTaking(gated=True, barge_in="wake")
    moved_to(tt, 1.0)
    decisions = tt.wake_hit(tt.phrase_end(None, None), playing=True)
    assert decisions[0] == Interrupt("wake") and isinstance(decisions[1], OpenGate)
    moved_to(tt, 1.6)
    tt.speech_start(start(1.5), False, PAD)
    assert tt.utterance is not None and tt.utterance.barge_in  # "stop" alone would end it there

    off = TurnTaking(gated=True, barge_in="off")
    assert not any(isinstance(d, Interrupt) for d in off.wake_hit(0, playing=True))


def test_push_to_talk_opens_the_gate_or_takes_the_utterance_under_way() -> None:
    tt = TurnTaking(gated=True)
    assert tt.pending_push_to_talk() is None
    tt.push_to_talk(interrupted=False)
    moved_to(tt, 1.0)
    assert tt.pending_push_to_talk() == [OpenGate("push_to_talk", at(1.0) + 5 * RATE)]
    assert tt.pending_push_to_talk() is None  # one press, one opening

    tt = TurnTaking(gated=True)
    moved_to(tt, 1.1)
    tt.speech_start(start(1.0), False, PAD)
    tt.push_to_talk(interrupted=True)
    assert tt.pending_push_to_talk() == [Take(at(1.0))]
    assert tt.utterance is not None and tt.utterance.barge_in


def test_a_question_opens_the_follow_up_window_once_its_audio_has_played() -> None:
    tt = TurnTaking(gated=True, follow_up_s=6.0)
    moved_to(tt, 1.0)
    tt.wake_hit(0, False)
    moved_to(tt, 1.6)
    tt.speech_start(start(1.5), False, PAD)
    moved_to(tt, 2.8)
    tt.speech_end(end(1.5, 2.5))
    tt.replied(asks=True)
    assert tt.between(playing=True) == []  # the question is still being played
    moved_to(tt, 4.0)
    assert tt.between(playing=False) == [OpenGate("follow_up", at(4.0) + 6 * RATE)]
    moved_to(tt, 5.1)
    assert tt.speech_start(start(5.0), False, PAD) == [Take(at(5.0))]


def test_an_utterance_cut_at_max_length_is_continued_and_the_wake_phrase_alone_waits() -> None:
    tt = TurnTaking(gated=True)
    moved_to(tt, 1.0)
    tt.wake_hit(0, False)
    moved_to(tt, 1.1)
    tt.speech_start(start(1.05), False, PAD)
    moved_to(tt, 20.0)
    assert tt.speech_end(end(1.05, 19.0, "max_length")) is not None
    tt.between(False)
    moved_to(tt, 20.1)
    assert tt.speech_start(start(20.0), False, PAD) == [Take(at(20.0))]  # the same sentence goes on

    utt = tt.speech_end(end(20.0, 20.05))
    assert utt is not None
    assert tt.only_wake_phrase(utt) == OpenGate("wake", tt.pos + 5 * RATE)


def test_a_bad_barge_in_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="barge_in must be one of"):
        TurnTaking(barge_in="sometimes")


def test_turn_taking_is_fast() -> None:
    t0 = time.perf_counter()
    tt = TurnTaking(gated=True, barge_in="speech")
    for i in range(2000):
        moved_to(tt, i * 2.0 + 0.5)
        tt.wake_hit(0, playing=i % 2 == 0)
        moved_to(tt, i * 2.0 + 0.7)
        tt.speech_start(start(i * 2.0 + 0.6), i % 2 == 0, PAD)
        moved_to(tt, i * 2.0 + 1.5)
        tt.speech_end(end(i * 2.0 + 0.6, i * 2.0 + 1.2))
        tt.between(False)
    assert time.perf_counter() - t0 < 1.0
