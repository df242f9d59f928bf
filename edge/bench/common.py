"""What every benchmark suite shares: the data folder, the results folder, a progress bar, the memory guard."""

from __future__ import annotations

import atexit
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from edge.cli_errors import CliError
from edge.paths import SHARED_ROOT

__all__ = [
    "DEFAULT_DATA",
    "MemoryGuard",
    "PartialResults",
    "Progress",
    "data_argument",
    "machine",
    "massive_path",
    "results_dir",
]

DEFAULT_DATA = SHARED_ROOT / "data"
_MASSIVE_NAMES = ("massive-1.1/massive_1.1_jsonl.tar.gz", "massive_1.1_jsonl.tar.gz", "1.1/data")


def scratch_data_dir() -> Path:
    """An empty data folder for a benchmark's assistant (the skills' store, the turn log, learned phrasings),
    removed when the process exits. A benchmark's spoken commands ("mute volume", "turn the lights orange")
    must not change the user's assistant, nor its learned state the benchmark's results."""
    path = Path(tempfile.mkdtemp(prefix="edge-bench-"))
    atexit.register(shutil.rmtree, path, True)
    return path


def data_argument(p: Any) -> None:
    p.add_argument("--data", type=Path, default=Path(os.environ.get("EDGE_DATA", DEFAULT_DATA)),
                   help="data folder with audio/ and massive-1.1/ (default ../shared/data or $EDGE_DATA)")


def massive_path(data: Path) -> Path:
    """MASSIVE under ``data`` (or ``data`` itself when it is the archive or a folder of jsonl files)."""
    if data.is_file() or (data.is_dir() and any(data.glob("*.jsonl"))):
        return data
    for name in _MASSIVE_NAMES:
        if (data / name).exists():
            return data / name
    raise CliError(f"no MASSIVE data under {data}: pass --data with the folder holding "
                   f"massive-1.1/massive_1.1_jsonl.tar.gz (or set EDGE_DATA)")


def results_dir(path: Path) -> Path:
    """Create ``path`` and prove it writable now, before an hour of work is spent on results it cannot keep."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"x")
        probe.unlink()
    except OSError as exc:
        raise CliError(f"results folder {path} is not writable ({exc.strerror or exc}): pass --out with a "
                       f"folder you can write") from None
    return path


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


class Progress:
    """A one-line progress bar on stderr (a line every 10 s when stderr is not a terminal)."""

    def __init__(self, label: str, stream: Any = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self._last = 0.0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tty:
            print(file=self.stream, flush=True)

    def update(self, done: int, total: int, note: str = "") -> None:
        now = time.monotonic()
        if done < total and now - self._last < (0.2 if self.tty else 10.0):
            return
        self._last = now
        frac = done / total if total else 1.0
        elapsed = now - self.started
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        bar = "#" * int(frac * 24)
        line = (f"{self.label} [{bar:<24}] {done}/{total} {frac:5.1%} {elapsed:5.0f}s elapsed, "
                f"{eta:4.0f}s left {note[:30]}")
        if self.tty:
            print(f"\r{line:<110}", end="", file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)


def _rss_mb() -> float:
    from edge.pipeline.memprobe import status_mb

    return status_mb("VmRSS") or 0.0


class MemoryGuard:
    """The profile's memory budget as a hard limit: a watcher thread samples this process's resident memory
    every 20 ms and, when what the stages added since the guard started goes over the budget, stops the run
    with an error naming the stage that did not fit.

    Counting from the guard's start leaves out what the benchmark itself holds (its data, a test runner's
    other models). Stages are named with ``with guard.stage("asr: whisper-tiny-en")``; the check is raised
    at the next :meth:`check` (called between clips) or at the end of the stage, so a stage that overshoots is
    reported by name even when it finishes.
    """

    def __init__(self, budget_mb: float | None, interval_s: float = 0.02) -> None:
        self.budget_mb = budget_mb
        self.interval_s = interval_s
        self.current = "start-up"
        self.limited = True
        self.base_mb = _rss_mb()
        self.peak_mb = self.base_mb
        self.peak_stage = self.current
        self.over: tuple[str, float] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> MemoryGuard:
        self._thread = threading.Thread(target=self._watch, name="memory-guard", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        self._sample()

    def _sample(self) -> None:
        rss = _rss_mb()
        if rss > self.peak_mb:
            self.peak_mb, self.peak_stage = rss, self.current
        added = rss - self.base_mb
        if self.budget_mb is not None and self.limited and added > self.budget_mb and self.over is None:
            self.over = (self.current, added)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def check(self) -> None:
        if self.over is not None:
            stage, rss = self.over
            raise CliError(f"memory budget exceeded in stage {stage!r}: {rss:.0f} MiB added > budget "
                           f"{self.budget_mb:.0f} MiB of the profile; raise [budget] memory_mb or pick a lighter "
                           f"model for that stage")

    def stage(self, name: str, limit: bool = True) -> _Stage:
        """A named stage; ``limit=False`` for work a device never does (training a baseline in the bench)."""
        return _Stage(self, name, limit)


class _Stage:
    def __init__(self, guard: MemoryGuard, name: str, limit: bool) -> None:
        self.guard, self.name, self.limit = guard, name, limit

    def __enter__(self) -> None:
        self.prev = (self.guard.current, self.guard.limited)
        self.guard.current, self.guard.limited = self.name, self.limit

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.guard._sample()
        if exc_type is None:
            self.guard.check()
        self.guard.current, self.guard.limited = self.prev


class PartialResults:
    """Per-item results appended (and flushed) to ``<name>.partial.jsonl`` as a suite runs, so an interrupted
    run resumes where it stopped. The first line holds the run's settings; a rerun with other settings
    starts over cleanly. A torn last line (killed mid-write) is dropped. :meth:`finish` removes the file once
    the final report has been written."""

    def __init__(self, folder: Path, name: str, settings: dict[str, Any]) -> None:
        import json

        self.path = folder / f"{name}.partial.jsonl"
        self.settings = json.loads(json.dumps(settings, default=str))
        self.rows: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            lines = self.path.read_bytes().split(b"\n")
            complete = lines[:-1]  # after the last newline: empty, or a torn line
            try:
                head = json.loads(complete[0]) if complete else None
            except ValueError:
                head = None
            if head == {"settings": self.settings}:
                for raw in complete[1:]:
                    try:
                        row = json.loads(raw)
                    except ValueError:
                        continue
                    self.rows[row["key"]] = row
        self.resumed = len(self.rows)
        with self.path.open("w", encoding="utf-8") as f:  # rewrite: drops a torn line or other settings' rows
            f.write(json.dumps({"settings": self.settings}) + "\n")
            for row in self.rows.values():
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._f = self.path.open("a", encoding="utf-8")

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def add(self, key: str, row: dict[str, Any]) -> None:
        import json

        row = dict(row, key=key)
        self.rows[key] = row
        self._f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()

    def finish(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
