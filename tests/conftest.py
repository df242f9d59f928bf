"""Shared fixtures: a PulseAudio null sink for the real microphone/speaker tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
PULSE_DEVICE = "pulse"  # ALSA's PulseAudio plugin, as PortAudio lists it


def audio_required() -> bool:
    """True in CI (``CI`` set) or with ``EDGE_REQUIRE_AUDIO=1``: missing audio support fails instead of skipping."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false") or os.environ.get("EDGE_REQUIRE_AUDIO") == "1"


def _unavailable(reason: str) -> None:
    if audio_required():
        pytest.fail(f"{reason} (required because CI or EDGE_REQUIRE_AUDIO=1 is set)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pulse_null_sink() -> Iterator[str]:
    """Start PulseAudio with the null sink edge_null (scripts/pulse-null-sink) and yield the device to use.

    Audio played on the device comes back when recording from it (the sink's monitor). PulseAudio's null
    sink renders 2 s blocks unless a stream asks for a low latency, so a silent low-latency stream plays for
    the whole session: streams opened by the tests then start at once.
    """
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        _unavailable("PulseAudio is not installed: apt-get install pulseaudio pulseaudio-utils libasound2-plugins")
    done = subprocess.run([REPO / "scripts" / "pulse-null-sink"], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        pytest.fail(f"scripts/pulse-null-sink failed:\n{done.stdout}{done.stderr}", pytrace=False)
    with pytest.MonkeyPatch.context() as mp:
        # libpulse clients (ALSA's pulse plugin included) honour these even if the defaults change meanwhile.
        mp.setenv("PULSE_SINK", "edge_null")
        mp.setenv("PULSE_SOURCE", "edge_null.monitor")
        from edge.audio import AudioDeviceError, list_devices

        try:
            names = [d.name for d in list_devices()]
            if PULSE_DEVICE not in names:
                # PortAudio lists ALSA's "pulse" only when PulseAudio was running when it was initialised.
                import sounddevice

                sounddevice._terminate()
                sounddevice._initialize()
                names = [d.name for d in list_devices()]
        except AudioDeviceError as exc:
            _unavailable(str(exc))
        if PULSE_DEVICE not in names:
            pytest.fail(f"PortAudio has no {PULSE_DEVICE!r} device (devices: {names}): install libasound2-plugins",
                        pytrace=False)
        with _Keepalive(PULSE_DEVICE):
            yield PULSE_DEVICE


class _Keepalive:
    """Silence played on edge_null by ``pacat`` with a 10 ms latency, from enter to exit.

    While a low-latency stream plays, the null sink renders in small blocks and new streams start at once.
    A separate process: a stream in this one would underrun whenever a test holds the GIL, and after an
    underrun the null sink may go back to 2 s blocks.
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _Keepalive:
        if shutil.which("pacat") is None:
            pytest.fail("pacat is missing: apt-get install pulseaudio-utils", pytrace=False)
        with open("/dev/zero", "rb") as zero:
            self.proc = subprocess.Popen(
                ["pacat", "--playback", "--raw", "--device=edge_null", "--format=s16le", "--rate=44100",
                 "--channels=1", "--latency-msec=10", "--client-name=edge-tests-keepalive"],
                stdin=zero, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_flowing()
        return self

    def _wait_flowing(self) -> None:
        """Wait until a stream opened now plays in real time (the first one waits out a 2 s block)."""
        import sounddevice

        frames = [0]

        def callback(outdata: Any, n: int, time_info: Any, status: Any) -> None:
            outdata.fill(0)
            frames[0] += n

        start = time.monotonic()
        with sounddevice.OutputStream(device=self.device, channels=1, dtype="float32", latency="low",
                                      callback=callback) as probe:
            need = int(probe.samplerate * 0.2)
            while frames[0] < need and time.monotonic() - start < 10:
                if self.proc is not None and self.proc.poll() is not None:
                    err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                    pytest.fail(f"pacat exited: {err.strip()}", pytrace=False)
                time.sleep(0.01)
        if frames[0] < need:
            pytest.fail(f"the PulseAudio null sink did not play 0.2 s within {time.monotonic() - start:.1f} s",
                        pytrace=False)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(5)


@pytest.fixture(autouse=True, scope="session")
def _private_xdg_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Alarms, lists and settings the tests create go to a temporary folder, never the user's own."""
    root = tmp_path_factory.mktemp("xdg")
    saved = {k: os.environ.get(k) for k in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_MUSIC_DIR")}
    os.environ["XDG_DATA_HOME"] = str(root / "data")
    os.environ["XDG_CONFIG_HOME"] = str(root / "config")
    os.environ["XDG_MUSIC_DIR"] = str(root / "music")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
