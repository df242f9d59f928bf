"""The assistant on the real microphone path: PortAudio, ALSA's pulse plugin and a PulseAudio null sink.

A clip is played into the null sink while `edge run` records from its monitor, exactly as it would
listen to a person; Ctrl-C ends it cleanly. A microphone that fails mid-session is reopened.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from edge.audio import read_audio
from edge.audio.sink import SoundDeviceSink

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
REPO = Path(__file__).resolve().parent.parent


def _read_events(proc: subprocess.Popen, until: str, timeout: float) -> list[dict]:
    """JSON events from the process's stdout until one of kind ``until`` (or the timeout)."""
    events: list[dict] = []
    done = threading.Event()

    def reader() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            events.append(json.loads(line))
            if events[-1]["event"] == until:
                done.set()
                return

    threading.Thread(target=reader, daemon=True).start()
    done.wait(timeout)
    return events


def test_edge_run_listens_on_the_microphone_until_ctrl_c(pulse_null_sink: str) -> None:
    env = {**os.environ, "PULSE_SINK": "edge_null", "PULSE_SOURCE": "edge_null.monitor"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "run", "--input-device", pulse_null_sink, "--output", "none", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
        # A shell's background job ignores SIGINT, and a child would inherit that: give it a real Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        started = _read_events(proc, "listening", 60)
        assert started and started[-1]["event"] == "listening" and started[-1]["source"] == "microphone"
        time.sleep(0.5)
        clip = read_audio(FIXTURES / "testing_routine.wav")
        with SoundDeviceSink(pulse_null_sink) as speaker:  # the "person" speaking into the room
            speaker.write(np.concatenate([clip, np.zeros(16000, np.float32)]), 16000)
            speaker.drain()
        events = _read_events(proc, "turn", 30)
        turn = next((e for e in events if e["event"] == "turn"), None)
        assert turn is not None, [e["event"] for e in events]
        assert "testing routine" in turn["transcript"].lower()
        assert turn["latency_ms"]["total"] > 0  # measured on live input
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert json.loads(out.strip().splitlines()[-1])["event"] == "stopped"


def test_listener_stays_up_when_the_microphone_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first microphone dies mid-stream; the listener reports it once, reopens, and goes on."""
    import edge.audio.devices as devices
    from edge.assembly import FrontEnd, assemble
    from edge.audio.errors import AudioDeviceError
    from edge.audio.sink import NullSink
    from edge.commands import run as run_cmd
    from edge.pipeline.events import EventRecorder
    from edge.profiles import load_profile

    clip = read_audio(FIXTURES / "another_door.wav")
    opened = []

    class FlakyMicrophone:
        """First open: half a second of audio, then the device vanishes. Second: the clip, then the end."""

        def __init__(self, device: object = None, block_ms: int = 32, **_: object) -> None:
            opened.append(device)

        def __enter__(self) -> FlakyMicrophone:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def __iter__(self):
            if len(opened) == 1:
                yield np.zeros(8000, np.float32)
                raise AudioDeviceError("microphone disappeared (device unplugged?)")
            for i in range(0, clip.size, 512):
                yield clip[i : i + 512]
            yield np.zeros(16000, np.float32)

    monkeypatch.setattr(devices, "MicrophoneSource", FlakyMicrophone)
    monkeypatch.setattr(run_cmd.time, "sleep", lambda s: None)
    pipeline = assemble(load_profile("desktop"), "en-US", FrontEnd(sink=NullSink(), speak=False)).pipeline
    recorder = EventRecorder()
    pipeline.bus.subscribe(recorder)
    try:
        assert run_cmd._listen(pipeline, load_profile("desktop"), None) == 0
    finally:
        pipeline.close()
    assert len(opened) == 2
    assert "disappeared" in recorder.of("error")[0].data["message"]
    assert "door" in recorder.of("turn")[0].data["transcript"].lower()
