"""The systemd unit that starts the assistant at boot with its wake word (`edge service install`).

A user unit (``~/.config/systemd/user/edge.service``, started at boot through ``loginctl enable-linger``) runs in
the user's audio session (PipeWire/PulseAudio on Raspberry Pi OS); a system unit
(``/etc/systemd/system/edge.service``) runs as the given user on ALSA, its data in ``/var/lib/edge``. Either
restarts on failure and logs to journald (``journalctl [--user] -u edge``).
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["UNIT_NAME", "ServiceSpec", "render_unit", "unit_path"]

UNIT_NAME = "edge.service"


@dataclass(frozen=True)
class ServiceSpec:
    """What the unit runs: ``edge run`` with a profile, a wake phrase, a locale and a data folder."""

    executable: Path
    profile: str
    wake: str
    locale: str
    input_device: str
    data_dir: str
    working_dir: Path
    system: bool = False
    user: str = ""


def _quote(arg: str) -> str:
    """One ExecStart argument: quoted for systemd (double quotes; % and $ escaped)."""
    if arg and all(c.isalnum() or c in "-_./:+@=" for c in arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$") + '"'


def render_unit(spec: ServiceSpec) -> str:
    """The unit file's text."""
    args = [str(spec.executable), "run", "--profile", spec.profile, "--locale", spec.locale,
            "--wake", spec.wake, "--input-device", spec.input_device, "--data-dir", spec.data_dir]
    lines = [
        "# Written by `edge service install`; `edge service uninstall` removes it.",
        "[Unit]",
        f"Description=edge offline voice assistant (profile {spec.profile}, wake word {spec.wake!r})",
        "After=sound.target" + ("" if spec.system else " pipewire.service pulseaudio.service"),
        "StartLimitIntervalSec=300",
        "StartLimitBurst=10",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(_quote(a) for a in args),
        f"WorkingDirectory={spec.working_dir}",
        "Environment=PYTHONUNBUFFERED=1",
        "Restart=on-failure",
        "RestartSec=5",
        "StandardOutput=journal",
        "StandardError=journal",
        "SyslogIdentifier=edge",
    ]
    if spec.system:
        lines += [f"User={spec.user}", "SupplementaryGroups=audio", "StateDirectory=edge",
                  "Environment=XDG_DATA_HOME=/var/lib/edge/data XDG_CACHE_HOME=/var/lib/edge/cache"]
    lines += ["", "[Install]", "WantedBy=" + ("multi-user.target" if spec.system else "default.target"), ""]
    return "\n".join(lines)


def unit_path(system: bool) -> Path:
    if system:
        return Path("/etc/systemd/system") / UNIT_NAME
    return Path.home() / ".config" / "systemd" / "user" / UNIT_NAME


def default_executable() -> Path:
    """The ``edge`` script of the running interpreter's environment."""
    return Path(sys.executable).parent / "edge"


def describe(spec: ServiceSpec) -> str:
    return shlex.join(["edge", "run", "--profile", spec.profile, "--wake", spec.wake])
