"""Writes scripts/arm-check's report (Markdown and JSON) from the results arm_steps.py wrote inside the rootfs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--install-s", type=int, required=True)
    ap.add_argument("--total-s", type=int, required=True)
    ap.add_argument("--built", default="")
    ap.add_argument("--md", required=True)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    r = json.loads(Path(a.results).read_text())
    r.update(install_s=a.install_s, total_s=a.total_s, built_wheels=a.built.split())
    Path(a.json).write_text(json.dumps(r, indent=1, ensure_ascii=False) + "\n")
    built = ", ".join(r["built_wheels"]) or "none"
    lines = [
        "# aarch64 check (scripts/arm-check)",
        "",
        f"Debian bookworm arm64 (Raspberry Pi OS 64-bit's base), Python {r['python']} on {r['machine']} under",
        f"qemu-user on an x86_64 host, {r['when']}. Installed by `scripts/install-pi --profile rpi4` from aarch64",
        f"wheels in {r['install_s']} s; whole check {r['total_s']} s. Packages with no wheel on the index, built here",
        f"as pure-Python wheels: {built}.",
        "",
        "**Emulated: correctness and memory only.** Seconds are qemu's (emulating a Cortex-A72), not a Pi's;",
        "for a Pi's latency run `edge bench pipeline --profile rpi5 --report ...` on the Pi. Peak RSS is",
        "the emulator process's (it includes qemu's translated-code cache: an idle `python -c pass` peaks at",
        f"{r['python_idle_rss_mb']:.0f} MB here), so it is an upper bound on the Pi's. The last column leaves out",
        "qemu's translation buffer (its writable and executable mappings, which a Pi does not have): the",
        "process's VmRSS every 0.1 s less those mappings, the nearer figure for a Pi (it still holds qemu's own",
        "heap, and a sample can miss a peak shorter than 0.1 s).",
        "",
        "| command | profile | result | seconds (emulated) | peak RSS MB | without qemu's code cache MB |",
        "|---|---|---|---:|---:|---:|",
    ]
    for s in r["results"]:
        guest = s.get("peak_rss_no_code_cache_mb")
        if s["step"].startswith("profile check"):
            guest = None  # its stages run in child processes the sampler does not follow
        lines.append(f"| `edge {s['step']}` | {s['profile']} | {'ok' if s['ok'] else 'FAILED: ' + str(s['problem'])} "
                     f"| {s['seconds']} | {s['peak_rss_mb']:.0f} | {'-' if guest is None else f'{guest:.0f}'} |")
    stages = next((s.get("stages") for s in r["results"] if s.get("stages")), None)
    if stages:
        lines += ["", "`edge profile check rpi4` per stage (each loaded alone in its own process; peak MB):", "",
                  "| locale | " + " | ".join(next(iter(stages.values())).keys()) + " |",
                  "|---|" + "---:|" * len(next(iter(stages.values()))) ]
        for locale, mem in stages.items():
            cells = [str(v.get("peak_mb", v)) if isinstance(v, dict) else str(v) for v in mem.values()]
            lines.append(f"| {locale} | " + " | ".join(cells) + " |")
    Path(a.md).write_text("\n".join(lines) + "\n")
    return 0 if all(s["ok"] for s in r["results"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
