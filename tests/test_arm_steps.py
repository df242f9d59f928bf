"""scripts/arm_steps.py's memory figures for one command: the exact peak and the sampled peak without qemu's code
cache. Natively there is no code cache, so the two must agree: the sampled one never exceeds the true peak (a torn
read of /proc/PID/smaps once counted a moved buffer twice, 65 MB over it)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "arm_steps.py"


def _arm_steps():
    spec = importlib.util.spec_from_file_location("arm_steps", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sampled_peak_is_the_process_peak_natively() -> None:
    # 120 MB filled, then moved by repeated growth (bytearray realloc: mremap) while the sampler reads.
    code = ("import time\nb = bytearray(120 << 20)\nfor _ in range(40):\n    b += bytes(1 << 20)\n"
            "    time.sleep(0.01)\ntime.sleep(0.3)\n")
    rc, _, err, _, peak_mb, sampled_mb = _arm_steps()._measured([sys.executable, "-c", code], None)
    assert rc == 0, err
    assert peak_mb > 150
    assert 0.8 * peak_mb < sampled_mb <= peak_mb + 4, (peak_mb, sampled_mb)
