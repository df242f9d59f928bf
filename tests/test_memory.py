"""The [memory] profile section and the allocator settings it applies (edge.memory), in a fresh process each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_profiles import GOOD, write

from edge.profiles import ProfileError, load_profile

_PEAK = """
import sys
from edge.memory import apply_heap_limits
ok = apply_heap_limits(int(sys.argv[1]))
del bytearray(8 << 20)[:]  # glibc now serves blocks of this size from its heap (its threshold adapts)
blocks, kept = [], []
for _ in range(12):  # 96 MiB of temporary tensors, each followed by something that stays
    blocks.append(bytearray(8 << 20))
    kept.append(bytearray(64 << 10))
del blocks
rss = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS"))
print(ok, rss // 1024)
"""


def _run(kb: int) -> tuple[bool, int]:
    out = subprocess.run([sys.executable, "-c", _PEAK, str(kb)], capture_output=True, text=True, check=True)
    ok, rss = out.stdout.split()
    return ok == "True", int(rss)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_large_blocks_go_back_to_the_system_when_freed() -> None:
    ok, compact = _run(4096)
    default_ok, default = _run(0)
    assert ok and not default_ok  # 0 leaves the allocator alone
    assert default - compact > 60, (default, compact)  # the freed 96 MiB went back to the system


def test_the_section_is_optional_and_checked(tmp_path: Path) -> None:
    assert load_profile(write(tmp_path, GOOD)).memory.large_block_kb == 0
    assert load_profile(write(tmp_path, GOOD + "\n[memory]\nlarge_block_kb = 1024\n")).memory.large_block_kb == 1024
    with pytest.raises(ProfileError, match="memory.large_block_kb"):
        load_profile(write(tmp_path, GOOD + "\n[memory]\nlarge_block_kb = -1\n"))
    with pytest.raises(ProfileError, match="unknown"):
        load_profile(write(tmp_path, GOOD + "\n[memory]\nlarge_block_kb = 0\nheap = 1\n"))


def test_the_small_profiles_use_it() -> None:
    assert load_profile("rpi4").memory.large_block_kb > 0
    assert load_profile("low-memory").memory.large_block_kb > 0
    assert load_profile("desktop").memory.large_block_kb == 0
