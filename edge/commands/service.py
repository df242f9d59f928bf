"""`edge service install|uninstall|status`: the assistant as a systemd service, started at boot with its wake word."""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from edge.cli_errors import CliError
from edge.commands.common import profile_or_exit, speech_locale

__all__ = ["add_parsers"]


def _systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def _systemctl(system: bool, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = ["systemctl"] + ([] if system else ["--user"]) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def _spec(args: argparse.Namespace) -> Any:
    from edge.paths import REPO_ROOT
    from edge.service import ServiceSpec, default_executable

    profile = profile_or_exit(args.profile or "rpi4")
    system = bool(args.system)
    user = args.user or os.environ.get("SUDO_USER") or getpass.getuser()
    if system and user == "root":
        raise CliError("a system unit runs as a normal user: give --user NAME (e.g. --user pi)")
    data = "/var/lib/edge/data" if system else str(Path.home() / ".local" / "share" / "edge-service")
    wake = args.wake or (profile.dialogue.wake_phrase if profile.dialogue.wake_phrase != "none" else "hey edge")
    return ServiceSpec(executable=Path(args.executable) if args.executable else default_executable(),
                       profile=str(profile.path) if args.profile and "/" in args.profile else profile.name,
                       wake=wake, locale=speech_locale(args.locale, profile, "service"),
                       input_device=str(profile.audio.input_device),
                       data_dir=data, working_dir=REPO_ROOT, system=system, user=user)


def cmd_service(args: argparse.Namespace) -> int:
    from edge.service import UNIT_NAME, render_unit, unit_path

    system = bool(args.system)
    path = Path(args.unit_dir) / UNIT_NAME if args.unit_dir else unit_path(system)
    live = _systemd_running() and not args.unit_dir
    if args.action == "install":
        spec = _spec(args)
        if not spec.executable.exists():
            raise CliError(f"{spec.executable} does not exist: install edge first (scripts/install-pi)")
        if not spec.system and not args.unit_dir:
            Path(spec.data_dir).mkdir(parents=True, exist_ok=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render_unit(spec))
        except PermissionError:
            raise CliError(f"cannot write {path}: a system unit needs root (sudo .venv/bin/edge service install "
                           "--system --user NAME)") from None
        print(f"edge service: wrote {path}")
        if not live:
            how = "sudo systemctl" if system else "systemctl --user"
            print(f"edge service: systemd is not running here: enable it on the device with "
                  f"`{how} daemon-reload && {how} enable --now edge`")
            return 0
        if not system:
            subprocess.run(["loginctl", "enable-linger", spec.user], check=False)  # user units start at boot
        for step in (("daemon-reload",), ("enable", "--now", "edge")):
            done = _systemctl(system, *step)
            if done.returncode != 0:
                raise CliError(f"systemctl {' '.join(step)} failed: {done.stderr.strip()}")
        print(f"edge service: enabled and started; logs: journalctl {'' if system else '--user '}-u edge -f")
        return 0
    if args.action == "uninstall":
        if live:
            _systemctl(system, "disable", "--now", "edge")
        if path.exists():
            path.unlink()
            print(f"edge service: removed {path}")
        else:
            print(f"edge service: no unit at {path}")
        if live:
            _systemctl(system, "daemon-reload")
        return 0
    # status
    if not path.exists():
        print(f"edge service: not installed ({path} missing); install with `edge service install`")
        return 3
    print(f"edge service: unit {path}")
    if not live:
        print("edge service: systemd is not running here: state unknown")
        return 0
    done = _systemctl(system, "status", "--no-pager", "--lines", "10", "edge")
    print(done.stdout.rstrip())
    return 0 if done.returncode == 0 else 3


def add_parsers(sub: Any) -> None:
    s = sub.add_parser("service", help="the assistant as a systemd service, started at boot with its wake word")
    s.add_argument("action", choices=("install", "uninstall", "status"))
    s.add_argument("--profile", help="device profile name or path (default: rpi4)")
    s.add_argument("--wake", help="wake phrase (default: the profile's, else 'hey edge')")
    s.add_argument("--locale", help="language of the speech: a locale or 'auto' (default: the profile's asr.locale)")
    scope = s.add_mutually_exclusive_group()
    scope.add_argument("--user-unit", dest="system", action="store_false", help="a user unit (default)")
    scope.add_argument("--system", action="store_true", help="a system unit in /etc/systemd/system (root)")
    s.add_argument("--user", help="the user a system unit runs as (default: $SUDO_USER or the current user)")
    s.add_argument("--executable", help="the edge script the unit runs (default: this environment's)")
    s.add_argument("--unit-dir", help="write the unit here instead (no systemctl): for checks")
    s.set_defaults(func=cmd_service, system=False)
