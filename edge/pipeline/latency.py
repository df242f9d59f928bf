"""Where a turn's time went: one typed record per turn, filled by the loop, the speculation and the responder.

``as_dict()`` gives the figures in the order the ``turn`` event has always listed them: the stages in
pipeline order, with ``total`` right after ``tts_first`` when it was measured at the first reply sample
(live input), else last (estimated as the silence wait plus each stage).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TurnLatency"]

_STAGES = ("endpoint_wait", "asr", "nlu", "tts_wait", "route", "tts_first")
_ESTIMATED = ("endpoint_wait", "asr", "nlu", "route", "tts_first")


@dataclass
class TurnLatency:
    """Milliseconds per stage; None where the stage did not run. ``tts_wait``: the part of a speculative
    first-audio synthesis still running after the end of speech (folded into ``tts_first`` when spoken)."""

    endpoint_wait: float | None = None
    asr: float | None = None
    nlu: float | None = None
    tts_wait: float | None = None
    route: float | None = None
    tts_first: float | None = None
    tts: float | None = None
    total: float | None = None
    measured: bool = False  # ``total`` was measured from the arrival of the end of speech

    def estimate_total(self) -> None:
        """Without a measurement: the silence wait plus each stage's time."""
        if self.total is None:
            self.total = sum(getattr(self, k) or 0.0 for k in _ESTIMATED)

    def as_dict(self) -> dict[str, float]:
        out = {k: v for k in _STAGES if (v := getattr(self, k)) is not None}
        if self.measured and self.total is not None:
            out["total"] = self.total
        if self.tts is not None:
            out["tts"] = self.tts
        if not self.measured and self.total is not None:
            out["total"] = self.total
        return out
