"""A benchmark never runs its spoken commands against the user's own assistant (store, turn log, learning)."""

from __future__ import annotations

import ast
from pathlib import Path

from edge.bench.common import scratch_data_dir

BENCH = Path(__file__).resolve().parent.parent / "edge" / "bench"


def test_every_assistant_a_benchmark_assembles_has_its_own_data_or_no_skills() -> None:
    offenders = []
    for path in sorted(BENCH.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "FrontEnd":
                keywords = {k.arg for k in node.keywords}
                if not keywords & {"router", "data_dir"}:
                    offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, f"FrontEnd without router= or data_dir= (the user's data would be used): {offenders}"


def test_a_scratch_folder_is_new_empty_and_writable() -> None:
    a, b = scratch_data_dir(), scratch_data_dir()
    assert a != b and a.is_dir() and not any(a.iterdir())
    (a / "edge.db").write_bytes(b"")
    assert (a / "edge.db").exists()
