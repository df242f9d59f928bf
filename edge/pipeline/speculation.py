"""Work done during the endpointing silence wait, in case the utterance ends there.

While the user is silent but the endpointer has not yet decided the utterance is over, the recognizer
decodes the utterance as it would be (:meth:`UtteranceRecognizer.speculate`); :func:`prepare` then runs in
the same worker: the NLU, the router's side-effect-free preview of the reply, and the reply's first audio
chunk. The turn uses each part only if it matches what the real turn computes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge.nlu.textform import spoken_form
from edge.pipeline.latency import TurnLatency
from edge.pipeline.responder import FirstChunk
from edge.skills.contract import Reply, Router

if TYPE_CHECKING:
    from edge.asr.base import AsrResult
    from edge.audio.endpoint import Endpointer
    from edge.nlu.engine import NluEngine
    from edge.nlu.runtime import Parse
    from edge.pipeline.recognizer import UtteranceRecognizer
    from edge.tts.base import SpeechChunk, TtsEngine

__all__ = ["Prepared", "charge", "prepare", "speculate"]


@dataclass
class Prepared:
    """What a speculation computed past the transcript: the parse, the previewed reply, its first audio."""

    text: str
    parse: Parse
    nlu_ms: float
    nlu_done: float  # time.monotonic()
    reply: Reply | None = None
    first: FirstChunk | None = None
    tts_done: float = 0.0
    locale: str = ""  # the locale it was parsed and previewed in: a turn in another locale does not use it

    def first_audio_for(self, reply: Reply) -> FirstChunk | None:
        """The first chunk, if it was synthesised for this very reply."""
        if self.first is not None and self.reply is not None and self.reply.text == reply.text:
            return self.first
        return None


def prepare(result: AsrResult, clean: Callable[[str], str], nlu: NluEngine, router: Router, locale: str,
            tts: TtsEngine | None) -> Prepared:
    """The follow-up of a speculative decode (in the ASR worker): nothing here may have side effects."""
    from edge.tts.base import TtsError

    text = clean(result.text)
    t0 = time.perf_counter()
    parse = nlu.parse(spoken_form(text, locale), locale)
    prepared = Prepared(text, parse, (time.perf_counter() - t0) * 1000, time.monotonic(), locale=locale)
    try:
        prepared.reply = router.preview(parse, locale)
    except Exception:  # the real call reports it; speculation just gives up
        prepared.reply = None
    if prepared.reply is not None and tts is not None:
        t0 = time.perf_counter()
        try:
            rest: Iterator[SpeechChunk] = iter(tts.stream(prepared.reply.text))
            chunk = next(rest, None)
            if chunk is not None:
                prepared.first = FirstChunk(chunk, rest, (time.perf_counter() - t0) * 1000)
        except TtsError:
            prepared.first = None
    prepared.tts_done = time.monotonic()
    return prepared


def speculate(ep: Endpointer, recognizer: UtteranceRecognizer, start: int,
              follow_up: Callable[[AsrResult], Prepared]) -> None:
    """In a silence within the utterance taken from ``start``: decode it as it would end here (called every
    block of the silence; the audio is copied only when the tentative end has moved)."""
    tentative = ep.tentative_end(with_audio=False)
    if tentative is None:
        return
    begin = max(tentative.start, start)
    if recognizer.wants_speculation(begin, tentative.end):
        recognizer.speculate(begin, tentative.end, ep.audio(begin, tentative.end), follow_up)


def charge(latency: TurnLatency, prepared: Prepared, decided: float, decoded_at: float) -> None:
    """The speculative job ran ASR, NLU and the first TTS chunk in a row: charge each stage only with the part
    of it that was still running after the end of speech was ``decided`` (time.monotonic())."""
    latency.asr = max(0.0, decoded_at - decided) * 1000
    latency.nlu = max(0.0, prepared.nlu_done - max(decided, decoded_at)) * 1000
    latency.tts_wait = max(0.0, prepared.tts_done - max(decided, prepared.nlu_done)) * 1000
