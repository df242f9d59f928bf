"""Which of the recogniser's best transcripts the assistant acts on.

A beam search (``[asr] beam_size`` > 1) ends with several transcripts. The likeliest by sound alone is often a
near-miss of a command ("Time between us and candidate."), while one a little less likely ("Time between us and
Canada.") is a request the NLU knows well. Each transcript is scored by its mean token log probability plus
``NLU_WEIGHT`` times the log of the NLU's confidence in its top intent, and the best one is kept: a rescoring of
the n-best list by the language understanding, as spoken dialogue systems do. The weight was chosen on a spoken
set built from MASSIVE's dev split, never on the test split the benchmark reports
(``docs/benchmarks/asr-nbest.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from edge.asr.base import AsrResult, Hypothesis
from edge.nlu.engine import NluEngine
from edge.nlu.textform import spoken_form

__all__ = ["NLU_WEIGHT", "TranscriptChooser"]

NLU_WEIGHT = 1.0
_FLOOR = 1e-6  # an NLU confidence of 0 must not make a transcript impossible


class TranscriptChooser:
    """Picks, for a result with several hypotheses, the one the NLU understands best (see the module)."""

    def __init__(self, nlu: NluEngine, locale: Callable[[], str], weight: float = NLU_WEIGHT) -> None:
        self.nlu = nlu
        self.locale = locale  # the assistant's current locale, for results that name none
        self.weight = weight

    def __call__(self, result: AsrResult) -> AsrResult:
        if len(result.hypotheses) < 2 or self.weight <= 0:
            return result
        locale = result.locale or self.locale()
        best = max(result.hypotheses, key=lambda h: self.score(h, locale))
        if best.text == result.text:
            return result
        evidence = result.evidence and replace(result.evidence, avg_logprob=best.score)  # of the text acted on
        return replace(result, text=best.text, evidence=evidence)

    def score(self, hypothesis: Hypothesis, locale: str) -> float:
        if not hypothesis.text.strip():
            return -math.inf
        confidence = self.nlu.parse(spoken_form(hypothesis.text, locale), locale).confidence
        return hypothesis.score + self.weight * math.log(max(confidence, _FLOOR))
