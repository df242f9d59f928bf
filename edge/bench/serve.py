"""`edge bench serve`: satellites speaking at once against one `edge serve` on this machine.

The server runs in its own process (``edge serve`` on a free loopback port); the satellites are Wyoming
clients in this one. Each utterance is a real English recording, cut by the same VAD a satellite runs.
For 1, 2, 4 and 8 satellites sending an utterance at the same moment: end of speech (``audio-stop``
sent) to the first reply audio received, p50 and p95. The same turns run locally (in this process, the
same models, no network) are measured in the same run, for the cost of going through the server.
The sizing table scales what is measured here; Pi 5 and mini PC rows are estimates and say so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.bench.results import write_atomic
from edge.errors import EdgeError

__all__ = ["ServeBenchError", "add_arguments", "run_serve_bench"]

REPO = Path(__file__).resolve().parents[2]
CLIPS = ("testing_routine.wav", "another_door.wav", "rhino_within_context_en.wav", "yes_563aa4e6_nohash_2.wav")
TARGET_MS = (1000.0, 1500.0)
# Estimates, not measurements: Pi 5 compute is ~5.6x slower than this machine (edge.bench.profiles_cost);
# a 4-core x86 mini PC (an N100-class box) is taken as this machine's per-core speed with twice the cores.
BOARDS = {"Raspberry Pi 5 (estimate)": ("slower", 5.6), "4-core mini PC (estimate)": ("cores", 2.0)}


class ServeBenchError(EdgeError):
    """The server under test did not start or answer; the message says what it printed."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clients", default="1,2,4,8", help="satellites speaking at once, comma-separated (1,2,4,8)")
    p.add_argument("--rounds", type=int, default=3, help="rounds per load level (each satellite speaks once each)")
    p.add_argument("--profile", help="device profile for the server and the local run (default: desktop)")
    p.add_argument("--voices", type=int, default=2, help="copies of each voice in the server (edge serve --voices)")
    p.add_argument("--locale", default="en-US", help="the server's --locale (en-US; auto: each turn's language "
                                                     "identified with Whisper base)")
    p.add_argument("--out", type=Path, default=Path("runs/bench"), help="results folder (JSON, Markdown, PNG)")
    p.add_argument("--report", type=Path, help="also write the Markdown here (its plot beside it)")


def _pct(values: list[float], q: float) -> float:
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def _clips(profile: Any) -> list[tuple[str, np.ndarray]]:
    """Each recording's first utterance, as a satellite's VAD cuts it."""
    from edge.audio import read_audio
    from edge.audio.endpoint import SpeechEnd
    from edge.pipeline.loader import load_endpointer

    out = []
    for name in CLIPS:
        audio = read_audio(REPO / "tests" / "fixtures" / "audio" / name)
        ep = load_endpointer(profile)
        events = [*ep.process(audio), *ep.finish()]
        ends = [e for e in events if isinstance(e, SpeechEnd) and e.audio is not None]
        out.append((name, ends[0].audio if ends else audio))
    return out


def _local_turn(stages: Any, audio: np.ndarray, locale: str) -> float:
    """End of speech to the first reply audio, in process: ASR, NLU and skills, the first TTS piece."""
    from edge.serve import services

    t0 = time.perf_counter()
    heard = services.transcribe(stages, audio, 16000, locale)
    reply = services.handle(stages, heard.text, heard.locale, stages.new_session())
    first: list[float] = []

    def on_chunk(samples: np.ndarray, rate: int) -> bool:
        first.append(time.perf_counter())
        return False  # the first piece is what is measured

    services.synthesize(stages, reply.text, None, reply.locale, on_chunk)
    return ((first[0] if first else time.perf_counter()) - t0) * 1000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _locales_flag(locale: str) -> list[str]:
    """``--locales`` for the server: the one locale measured; every installed one with ``auto`` (identified)."""
    return [] if _auto(locale) else ["--locales", locale]


def _auto(locale: str) -> bool:
    return locale.strip().lower().split(":")[0] == "auto"


def _start_server(args: argparse.Namespace, port: int, data: Path, max_clients: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "edge.cli", "serve", "--uri", f"tcp://127.0.0.1:{port}", "--locale", args.locale,
           *_locales_flag(args.locale), "--max-sessions", str(max_clients + 2), "--data-dir", str(data),
           "--voices", str(args.voices)]
    if args.profile:
        cmd += ["--profile", args.profile]
    env = {**os.environ, "XDG_DATA_HOME": str(data)}
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


async def _wait_ready(uri: str, proc: subprocess.Popen, timeout_s: float = 180.0) -> None:
    from edge.serve.satellite import SatelliteClient

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if proc.poll() is not None:
            raise ServeBenchError(f"edge serve exited: {(proc.stderr.read() if proc.stderr else '').strip()[-300:]}")
        client = SatelliteClient(uri, "bench-probe", attempts=1, progress=lambda msg: None)
        try:
            await client.connect()
            return
        except Exception:
            await asyncio.sleep(0.5)
        finally:
            await client.close()
    raise ServeBenchError(f"edge serve did not answer within {timeout_s:g} s")


async def _paired(uri: str, clips: list[tuple[str, np.ndarray]], stages: Any,
                  args: argparse.Namespace) -> tuple[list[float], list[float]]:
    """The same turn locally, then through the server, alternately: the background load is the same for both."""
    from edge.serve.satellite import SatelliteClient

    client = SatelliteClient(uri, "bench-paired", attempts=3, progress=lambda msg: None)
    local: list[float] = []
    remote: list[float] = []
    loop = asyncio.get_running_loop()
    try:
        for r in range(max(1, args.rounds)):
            for i, (_, audio) in enumerate(clips):
                local.append(await loop.run_in_executor(None, _local_turn, stages, audio, args.locale))
                client.name = f"bench-paired-{r}-{i}"
                result = await client.turn(audio)
                remote.append(result.first_audio_ms if result.first_audio_ms is not None else float("nan"))
    finally:
        await client.close()
    return local, remote


async def _load_level(uri: str, n: int, rounds: int, clips: list[tuple[str, np.ndarray]]) -> dict[str, Any]:
    from edge.serve.satellite import SatelliteClient

    clients = [SatelliteClient(uri, f"bench-{n}-{i}", attempts=3, progress=lambda msg: None) for i in range(n)]
    first: list[float] = []
    asr: list[float] = []
    failed = 0
    try:
        await asyncio.gather(*(c.connect() for c in clients))
        for r in range(rounds):
            for i, c in enumerate(clients):
                c.name = f"bench-{n}-{i}-{r}"  # a fresh dialogue each turn

            async def one(i: int, c: Any, r: int = r) -> Any:
                return await c.turn(clips[(r + i) % len(clips)][1])

            results = await asyncio.gather(*(one(i, c) for i, c in enumerate(clients)), return_exceptions=True)
            for res in results:
                if isinstance(res, BaseException) or res.first_audio_ms is None:
                    failed += 1
                    continue
                first.append(res.first_audio_ms)
                asr.append(res.transcript_ms or 0.0)
    finally:
        await asyncio.gather(*(c.close() for c in clients))
    return {"clients": n, "turns": len(first), "failed": failed, "first_audio_ms_p50": _pct(first, 0.5),
            "first_audio_ms_p95": _pct(first, 0.95), "first_audio_ms_max": max(first, default=float("nan")),
            "transcript_ms_p50": _pct(asr, 0.5), "samples_ms": [round(x, 1) for x in first]}


def _sizing(levels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most satellites speaking at once within each p95 target: measured here, estimated for other boards."""
    rows = []
    here = {"machine": "this machine (measured)"}
    for target in TARGET_MS:
        ok = [lv["clients"] for lv in levels if lv["first_audio_ms_p95"] <= target and not lv["failed"]]
        here[f"within_{target:.0f}"] = max(ok, default=0)
    rows.append(here)
    for board, (kind, factor) in BOARDS.items():
        row = {"machine": board}
        for target in TARGET_MS:
            if kind == "slower":  # every turn's compute that much longer: scale the measured latency
                ok = [lv["clients"] for lv in levels if lv["first_audio_ms_p95"] * factor <= target]
            else:  # more cores: about factor x the turns in flight at the same latency
                ok = [int(lv["clients"] * factor) for lv in levels if lv["first_audio_ms_p95"] <= target]
            row[f"within_{target:.0f}"] = max(ok, default=0)
        rows.append(row)
    return rows


def _plot(report: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    levels = report["levels"]
    xs = [lv["clients"] for lv in levels]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot(xs, [lv["first_audio_ms_p50"] for lv in levels], "o-", label="p50")
    ax.plot(xs, [lv["first_audio_ms_p95"] for lv in levels], "s-", label="p95")
    ax.axhline(report["local_ms_p50"], color="grey", linestyle=":", label="same turn locally (p50)")
    for target, color in zip(TARGET_MS, ("green", "orange")):
        ax.axhline(target, color=color, linestyle="--", linewidth=1, label=f"{target:.0f} ms")
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_xlabel("satellites speaking at once")
    ax.set_ylabel("end of speech to first reply audio, ms")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)
    return path


def markdown(r: dict[str, Any], plot: str | None) -> str:
    lines = [
        "# Serving satellites: `edge bench serve`",
        "",
        f"Generated by `edge bench serve` on {r['date']} ({r['machine']}). One `edge serve` process (profile "
        f"{r['profile']}, {r['locale']}, {r.get('voices', 1)} cop{'y' if r.get('voices', 1) == 1 else 'ies'} of the "
        "voice) on loopback; N satellites send a VAD-cut recorded English utterance at "
        f"the same moment, {r['rounds']} rounds per level. Latency: `audio-stop` sent (end of speech) to the first "
        "reply audio chunk received (ASR, NLU and skills, the first synthesised sentence, and the protocol). "
        f"Load average of the machine as it started: {r.get('load_average', 0):.1f} (on 2 cores, anything over 0 "
        "is other work competing with every figure below).",
        "",
        f"Same turns run locally in the benchmark process (same models, no server), alternating with the same "
        f"turn sent by one satellite through the server: local p50 **{r['local_ms_p50']:.0f} ms** (p95 "
        f"{r['local_ms_p95']:.0f}, n={r['local_n']}), through the server p50 **{r['paired_remote_ms_p50']:.0f} "
        f"ms**; the server's cost, median of the paired differences: **{r['overhead_ms_p50']:+.0f} ms**.",
        "",
        "| satellites at once | turns | failed | first reply audio p50 ms | p95 ms | max ms | transcript p50 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for lv in r["levels"]:
        lines.append(f"| {lv['clients']} | {lv['turns']} | {lv['failed']} | {lv['first_audio_ms_p50']:.0f} | "
                     f"{lv['first_audio_ms_p95']:.0f} | {lv['first_audio_ms_max']:.0f} | "
                     f"{lv['transcript_ms_p50']:.0f} |")
    lines += ["", "Sizing: the most satellites **speaking at the same moment** served within a p95 target (rooms "
              "rarely speak at once, so a house with more rooms than this is fine most of the time).", "",
              "| machine | within 1 s p95 | within 1.5 s p95 |", "|---|---|---|"]
    for row in r["sizing"]:
        lines.append(f"| {row['machine']} | {row['within_1000']} | {row['within_1500']} |")
    lines += ["", "The estimate rows are not measurements: a Pi 5 is taken as 5.6x slower per turn (the factor "
              "`edge bench profiles` uses), a 4-core N100-class mini PC as this machine's per-core speed with twice "
              "the cores (twice the turns in flight at the same latency). Measure them with `edge bench serve` on "
              "the device."]
    if plot:
        lines += ["", f"![first reply audio by satellites at once]({plot})"]
    return "\n".join(lines) + "\n"


async def _bench(args: argparse.Namespace, levels: list[int], clips: list[tuple[str, np.ndarray]],
                 stages: Any) -> dict[str, Any]:
    port = _free_port()
    uri = f"tcp://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="edge-bench-serve-") as tmp:
        proc = _start_server(args, port, Path(tmp), max(levels))
        try:
            await _wait_ready(uri, proc)
            await _load_level(uri, 1, 1, clips)  # warm-up: first use of each path in the server
            local, remote = await _paired(uri, clips, stages, args)
            results = []
            for n in levels:
                print(f"edge bench serve: {n} satellite(s) at once...", file=sys.stderr, flush=True)
                results.append(await _load_level(uri, n, max(1, args.rounds), clips))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {"local_ms": local, "paired_remote_ms": remote, "levels": results}


def run_serve_bench(args: argparse.Namespace) -> int:
    from edge.bench.common import machine, results_dir
    from edge.cli_errors import CliError
    from edge.commands.common import profile_or_exit
    from edge.serve.stages import Stages

    try:
        levels = sorted({int(x) for x in args.clients.split(",") if x.strip()})
    except ValueError:
        raise CliError(f"--clients {args.clients}: give numbers, e.g. 1,2,4,8") from None
    if not levels or levels[0] < 1 or levels[-1] > 64:
        raise CliError("--clients: numbers from 1 to 64")
    out = results_dir(args.out)
    load = os.getloadavg()[0]
    profile = profile_or_exit(args.profile)
    clips = _clips(profile)
    with tempfile.TemporaryDirectory(prefix="edge-bench-local-") as tmp:
        stages = Stages(profile, locales=None if _auto(args.locale) else [args.locale], default_locale=args.locale,
                        data_dir=tmp)
        stages.preload()
        try:
            measured = asyncio.run(_bench(args, levels, clips, stages))
        except ServeBenchError as exc:
            raise CliError(str(exc).splitlines()[0]) from None
    local = measured["local_ms"]
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"), "machine": machine(), "profile": profile.name, "locale": args.locale,
        "rounds": args.rounds, "voices": args.voices, "clips": [name for name, _ in clips], "load_average": load,
        "local_ms_p50": statistics.median(local), "local_ms_p95": _pct(local, 0.95), "local_n": len(local),
        "levels": measured["levels"],
    }
    remote = measured["paired_remote_ms"]
    report["paired_remote_ms_p50"] = statistics.median(remote)
    report["overhead_ms_p50"] = statistics.median([b - a for a, b in zip(local, remote)])
    report["sizing"] = _sizing(report["levels"])
    write_atomic(out / "serve.json", json.dumps(report, indent=2))
    md_path = args.report or out / "serve.md"
    plot = _plot(report, md_path.with_name("serve_latency.png"))
    md = markdown(report, plot.name if plot else None)
    write_atomic(out / "serve.md", md)
    if args.report:
        write_atomic(args.report, md)
    print(md)
    return 0
