"""The work behind each Wyoming service, as plain blocking functions (the server runs them in worker threads).

- :func:`transcribe`: audio -> text, in the locale asked for (or the default);
- :func:`handle`: text -> NLU -> dialogue and skills (with the client's session) -> reply text;
- :func:`synthesize`: text -> audio, one piece per sentence, handed to a callback as soon as each is ready.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from edge.serve.language import HeardTurn, wants_identification
from edge.serve.stages import StageError, Stages

if TYPE_CHECKING:
    from edge.asr.base import AsrResult

__all__ = ["HandleResult", "StageError", "TranscribeResult", "handle", "synthesize", "transcribe"]


@dataclass(frozen=True)
class TranscribeResult:
    text: str
    locale: str
    engine: str
    asr_ms: float
    heard: HeardTurn | None = None  # with language identification: what was heard, how sure, whether kept


@dataclass(frozen=True)
class HandleResult:
    """A reply: ``speech`` is the text as it will be spoken (numbers, times written out), ``text`` as written."""

    text: str
    speech: str
    locale: str
    handled: bool  # False: not understood (the reply says so)
    intent: str | None
    confidence: float
    skill: str
    expects_answer: bool
    timings_ms: dict[str, float] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)  # what the skill changed: {"timer_id": 3}...


def _identify(stages: Stages, samples: np.ndarray, rate: int, room: str, wake: str | None) -> TranscribeResult:
    from edge.asr.base import AsrModelError, as_mono_float32
    from edge.audio.resample import TARGET_RATE, resample

    x = as_mono_float32(samples)
    x = resample(x, rate) if rate != TARGET_RATE else x
    t0 = time.perf_counter()
    try:
        heard = stages.identifier().transcribe(x, room, wake, lambda result: _choose(stages, result))
    except AsrModelError as exc:
        raise StageError(f"{exc} (or name the language in the request)") from None
    return TranscribeResult(heard.text, heard.locale, heard.engine, (time.perf_counter() - t0) * 1000, heard)


def _choose(stages: Stages, result: AsrResult) -> AsrResult:
    """Of a beam's transcripts, the one the NLU understands best (as the pipeline does:
    :mod:`edge.pipeline.hypotheses`); a result with one transcript as it is."""
    if len(result.hypotheses) < 2:
        return result
    from edge.pipeline.hypotheses import TranscriptChooser

    try:
        nlu = stages.nlu()
    except StageError:  # a server without an NLU model transcribes as the recogniser heard it
        return result
    return TranscriptChooser(nlu, lambda: result.locale or stages.default_locale)(result)


def _not_understood(locale: str) -> set[str]:
    """The replies that mean "I did not get that" (sent as ``not-handled``)."""
    from edge.skills.i18n import Templates

    say = Templates(locale).say
    return {say("common.unsure"), say("common.silence")}


def transcribe(stages: Stages, samples: np.ndarray, rate: int, language: str | None, room: str = "",
               wake: str | None = None) -> TranscribeResult:
    """Recognise one utterance (float32 mono at ``rate``). With ``language`` "auto", or none on a server run with
    ``--locale auto``, its language is identified and ``room``'s locale follows it (:mod:`edge.serve.language`;
    ``wake``: the satellite's wake phrase, which may open the transcript)."""
    if wants_identification(language, stages.auto):
        return _identify(stages, samples, rate, room, wake)
    locale = stages.asr_locale(language)
    engine, lock = stages.asr(locale)
    t0 = time.perf_counter()
    with lock:
        result = engine.transcribe(samples, rate)
    result = _choose(stages, replace(result, locale=result.locale or locale))
    return TranscribeResult(result.text.strip(), locale, result.engine or engine.name,
                            (time.perf_counter() - t0) * 1000)


def handle(stages: Stages, text: str, language: str | None, session: Any) -> HandleResult:
    """NLU, dialogue and skills for one transcript, in ``session``."""
    from edge.nlu.textform import spoken_form
    from edge.tts.normalize import normalize_for_speech

    locale = stages.handle_locale(language)
    nlu = stages.nlu()
    router = stages.router()
    t0 = time.perf_counter()
    parse = nlu.parse(spoken_form(text, locale), locale)
    t1 = time.perf_counter()
    with stages.router_lock:
        try:
            reply = router.handle(parse, locale, session=session)
        except TypeError:  # a router without sessions (the basic fallback)
            reply = router.handle(parse, locale)
    t2 = time.perf_counter()
    try:
        speech = normalize_for_speech(reply.text, locale)
    except Exception:  # the written reply is still better than none
        speech = reply.text
    handled = bool(text.strip()) and reply.text not in _not_understood(locale)
    data = reply.data if isinstance(getattr(reply, "data", None), dict) else {}
    intent = data.get("intent", parse.intent)  # after the dialogue: the pending question's intent
    state = data.get("state")
    return HandleResult(reply.text, speech, locale, handled, intent, float(parse.confidence), reply.skill,
                        bool(reply.expects_answer), {"nlu": (t1 - t0) * 1000, "route": (t2 - t1) * 1000},
                        dict(state) if isinstance(state, dict) else {})


def synthesize(stages: Stages, text: str, voice: str | None, language: str | None,
               on_chunk: Callable[[np.ndarray, int], bool]) -> tuple[str, str]:
    """Speak ``text`` sentence by sentence; ``on_chunk(samples, rate)`` gets each piece and returns False to
    stop early. Returns (voice name, locale) used."""
    from edge.tts.base import TtsError

    name, locale = stages.voice_for(voice, language)
    with stages.voice(name, locale) as (engine, lock):
        pieces = iter(engine.stream(text))
        priority = 0  # the lock is held per sentence: each reply's first sentence goes before the others' rest
        try:
            while True:
                with lock.hold(priority):
                    chunk = next(pieces, None)
                if chunk is None or not on_chunk(chunk.samples, chunk.rate):
                    break
                priority = 1
        except TtsError as exc:
            raise StageError(str(exc)) from None
    return name, locale
