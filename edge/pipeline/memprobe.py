"""Measure the memory one stage costs: load it in a fresh interpreter, run it once, report peak RSS.

``python -m edge.pipeline.memprobe STAGE PROFILE LOCALE`` prints one JSON line
``{"stage", "base_mb", "peak_mb"}``: ``base_mb`` is the interpreter with numpy and onnxruntime imported,
``peak_mb`` the peak after loading the stage and running it on one utterance. Used by
``edge profile check`` and the pipeline benchmark.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import numpy as np

from edge.errors import EdgeError

__all__ = ["STAGES", "MemoryProbeError", "measure", "peak_rss_mb", "status_mb"]


class MemoryProbeError(EdgeError, RuntimeError):
    """A stage's memory could not be measured; the message is the probe's last error line."""

STAGES = ("vad", "asr", "nlu", "tts", "pipeline")


def status_mb(field: str) -> float | None:
    """A memory field of ``/proc/self/status`` ("VmRSS", "VmHWM"...) in MiB; None where there is no /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    VmHWM from /proc, where there is one: unlike ``ru_maxrss`` it starts afresh at exec, so a probe started
    by a big process (the benchmark) does not report its parent's peak.
    """
    peak = status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _exercise(stage: str, profile_name: str, locale: str) -> list[object]:
    """Load and run the stage(s); returns them, so that they all stay loaded until the peak is read."""
    from edge.pipeline import loader
    from edge.profiles import load_profile

    profile = load_profile(profile_name)
    speech = (np.sin(np.arange(32000) * 2 * np.pi * 220 / 16000) * 0.3).astype(np.float32)
    kept: list[object] = []
    if stage in ("vad", "pipeline"):
        ep = loader.load_endpointer(profile)
        ep.process(speech)
        kept.append(ep)
    if stage in ("asr", "pipeline"):
        asr = loader.load_asr(profile, locale)
        asr.transcribe(speech)
        kept.append(asr)
    if stage in ("nlu", "pipeline"):
        nlu = loader.load_nlu(profile)
        nlu.parse("wake me up at seven tomorrow", locale)
        kept.append(nlu)
    if stage in ("tts", "pipeline"):
        tts = loader.load_tts(profile, locale)
        for _ in tts.stream("It is seven o'clock. Have a good day."):
            pass
        kept.append(tts)
    return kept


def main(argv: list[str]) -> int:
    stage, profile_name, locale = argv
    import onnxruntime  # noqa: F401 - part of the baseline every stage pays

    base = peak_rss_mb()
    kept = _exercise(stage, profile_name, locale)
    print(json.dumps({"stage": stage, "base_mb": round(base, 1), "peak_mb": round(peak_rss_mb(), 1)}))
    del kept
    return 0


def measure(stage: str, profile: str, locale: str, timeout: float = 300) -> dict[str, float]:
    """Run the probe in a subprocess; raises :class:`MemoryProbeError` with the probe's last error line on failure."""
    proc = subprocess.run(
        [sys.executable, "-m", "edge.pipeline.memprobe", stage, profile, locale],
        capture_output=True, text=True, timeout=timeout,
    )
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        raise MemoryProbeError(lines[-1] if lines else f"memory probe for {stage} failed ({proc.returncode})")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
