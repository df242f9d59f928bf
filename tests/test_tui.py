"""The terminal app, driven by Textual's pilot: typed and spoken turns, what the screen shows, bad input.

Real models throughout. The microphone is either a real PortAudio stream on the PulseAudio null sink's
monitor (a clip is played into the sink), or a stand-in device that disappears mid-session.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from edge.audio import read_audio
from edge.audio.errors import AudioDeviceError
from edge.tui.app import Chooser, EdgeApp
from edge.tui.widgets import LevelMeter
from edge.tui.worker import TuiSettings

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
REPO = Path(__file__).resolve().parent.parent
LOAD_S = 90  # model loading on a busy 2-core machine


def screen_text(app: EdgeApp) -> str:
    """What the terminal shows now, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def wait_for(pilot: object, check: Callable[[], object], timeout: float, what: str, app: EdgeApp) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; errors: {app.errors}\n{screen_text(app)}")
        await pilot.pause(0.1)  # type: ignore[attr-defined]
    await pilot.pause(0.1)  # type: ignore[attr-defined]


async def type_line(pilot: object, app: EdgeApp, text: str) -> None:
    await pilot.click("#input")  # type: ignore[attr-defined]
    await pilot.press(*text, "enter")  # type: ignore[attr-defined]


class VanishingMicrophone:
    """A microphone that disappears half a second in; reopened, it hears a clip, then silence until stopped."""

    opened: list[object] = []
    clip = np.zeros(0, np.float32)

    def __init__(self, device: object = None, block_ms: int = 32, **_: object) -> None:
        self.opened.append(device)
        self.device_name = "stand-in microphone"
        self._stopped = threading.Event()

    def __enter__(self) -> VanishingMicrophone:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopped.set()

    def _paced(self, audio: np.ndarray) -> Iterator[np.ndarray]:
        for i in range(0, audio.size, 512):
            if self._stopped.is_set():
                return
            time.sleep(0.004)  # faster than real time, slow enough for the app to redraw in between
            yield audio[i : i + 512]

    def __iter__(self) -> Iterator[np.ndarray]:
        if len(self.opened) == 1:
            yield from self._paced(np.zeros(8000, np.float32))
            raise AudioDeviceError("microphone 'stand-in microphone' stopped unexpectedly (unplugged?)")
        yield from self._paced(np.concatenate([self.clip, np.zeros(16000, np.float32)]))
        while not self._stopped.is_set():
            time.sleep(0.032)
            yield np.zeros(512, np.float32)


def test_typed_and_spoken_turns_switches_and_a_microphone_that_vanishes(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import edge.audio.devices as devices
    import edge.tui.worker as worker

    VanishingMicrophone.opened = []
    VanishingMicrophone.clip = read_audio(FIXTURES / "another_door.wav")
    monkeypatch.setattr(devices, "MicrophoneSource", VanishingMicrophone)
    monkeypatch.setattr(worker, "MIC_RETRY_S", 0.5)
    app = EdgeApp(TuiSettings(output="none", data_dir=tmp_path))

    async def drive() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.loaded is not None, LOAD_S, "the models", app)
            assert "profile desktop" in screen_text(app) and "whisper-tiny-en" in screen_text(app)
            # The microphone vanishes: said in the app, reopened, and the next utterance is heard.
            await wait_for(pilot, lambda: any("unplugged" in e for e in app.errors), 20, "the microphone failure", app)
            await wait_for(pilot, lambda: app.turns >= 1, 60, "the spoken turn", app)
            text = screen_text(app)
            assert "door" in text.lower() and "stand-in microphone" in text
            assert len(VanishingMicrophone.opened) == 2

            # A typed turn: transcript, intent, reply and the new alarm in the pending list.
            await type_line(pilot, app, "set an alarm for seven am tomorrow")
            await wait_for(pilot, lambda: app.turns >= 2, 60, "the alarm turn", app)
            text = screen_text(app)
            assert "heard   set an alarm for seven am tomorrow" in text
            assert "alarm_set (" in text and "time=seven am" in text
            assert "Alarm set for 7 AM tomorrow." in text
            assert "alarm    07:00 tomorrow" in text
            assert "total" in text  # the latency panel

            # A profile that does not exist: one line in the app, and the assistant keeps answering.
            await type_line(pilot, app, "/profile no-such-profile")
            await wait_for(pilot, lambda: any("no-such-profile" in e for e in app.errors), 20, "the error", app)
            assert "unknown profile 'no-such-profile'" in screen_text(app)
            await type_line(pilot, app, "what is 12 times 7")
            await wait_for(pilot, lambda: app.turns >= 3, 30, "the sum", app)
            assert "The answer is 84." in screen_text(app)
            assert "profile desktop" in screen_text(app)

            # An unknown locale is refused; German loads with speech input (multilingual Whisper base) and answers.
            await type_line(pilot, app, "/locale xx-YY")
            await wait_for(pilot, lambda: any("unknown locale" in e for e in app.errors), 10, "the refusal", app)
            await type_line(pilot, app, "/locale de-de")
            await wait_for(pilot, lambda: app.loaded is not None and app.loaded.locale == "de-DE", LOAD_S,
                           "German", app)
            assert "no speech input" not in screen_text(app)
            await type_line(pilot, app, "wie spät ist es")
            await wait_for(pilot, lambda: app.turns >= 4, 30, "the German reply", app)
            assert "Es ist" in screen_text(app)
            assert "locale de-DE" in screen_text(app)
            assert "alarm    07:00 tomorrow" in screen_text(app)  # same data folder after the switch

    asyncio.run(drive())
    assert not app.worker._thread.is_alive()


def test_a_terminal_too_small_a_profile_that_fails_to_load_and_no_microphone(tmp_path: Path) -> None:
    wake = tmp_path / "missing-wake-model.npz"
    app = EdgeApp(TuiSettings(profile="no-such-profile", output="none", mic=False, data_dir=tmp_path, wake=str(wake)))

    async def drive() -> None:
        async with app.run_test(size=(50, 12)) as pilot:
            await pilot.pause(0.2)
            assert "terminal too small: make it at least 60x16" in screen_text(app)
            assert "last turn" not in screen_text(app)
            await pilot.resize_terminal(120, 40)
            await wait_for(pilot, lambda: app.errors, 20, "the load error", app)
            text = screen_text(app)
            assert "too small" not in text and "last turn" in text
            assert "cannot start: unknown profile 'no-such-profile'" in text
            await type_line(pilot, app, "/nonsense")
            await wait_for(pilot, lambda: "unknown command /nonsense" in screen_text(app), 5, "the refusal", app)
            # F3 lists the profiles to switch to; Escape closes the list.
            await pilot.press("f3")
            await wait_for(pilot, lambda: isinstance(app.screen, Chooser), 5, "the profile list", app)
            assert "rpi5" in screen_text(app) and "low-memory" in screen_text(app)
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, Chooser), 5, "the list to close", app)
            assert "no assistant loaded" in screen_text(app)
            # Nothing loaded: a typed line says what to do; switching to a working profile recovers.
            await type_line(pilot, app, "hello")
            await wait_for(pilot, lambda: "no assistant loaded" in screen_text(app), 10, "the hint", app)
            await type_line(pilot, app, "/profile desktop")
            await wait_for(pilot, lambda: app.loaded is not None, LOAD_S, "the models", app)
            assert "no microphone: type below" in screen_text(app)  # --no-mic
            # A wake model that cannot be loaded: said once; the assistant goes on without a wake word.
            assert any("cannot load the wake word" in e and "missing-wake-model.npz" in e for e in app.errors)
            assert "no wake word" in screen_text(app)
            await type_line(pilot, app, "set a timer for ten minutes")
            await wait_for(pilot, lambda: app.turns >= 1, 60, "the timer turn", app)
            text = screen_text(app)
            assert "Timer set for 10 minutes." in text
            assert "timer    " in text and "(in 9:5" in text  # counting down in the pending list

    asyncio.run(drive())


def test_the_terminal_app_keeps_a_mute_on_its_status_line(tmp_path: Path) -> None:
    """A stored mute (trust item 5) stays on the status line, turns later, until a typed "unmute"."""
    app = EdgeApp(TuiSettings(output=str(tmp_path / "reply.wav"), mic=False, data_dir=tmp_path))

    async def drive() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            await wait_for(pilot, lambda: app.loaded is not None, LOAD_S, "the models", app)
            assert "MUTED" not in screen_text(app)
            await type_line(pilot, app, "mute")
            await wait_for(pilot, lambda: app.turns >= 1, 60, "the mute turn", app)
            status = " ".join(" ".join(screen_text(app).splitlines()[:2]).split())  # the status line wraps
            assert 'MUTED: REPLIES ARE SILENT UNTIL YOU SAY "UNMUTE"' in status
            await type_line(pilot, app, "what is 2 plus 2")
            await wait_for(pilot, lambda: app.turns >= 2, 60, "a muted reply", app)
            assert "MUTED" in " ".join(screen_text(app).splitlines()[:2])  # still there, turns later
            await type_line(pilot, app, "unmute")
            await wait_for(pilot, lambda: app.turns >= 3, 60, "the unmute turn", app)
            assert "MUTED" not in " ".join(screen_text(app).splitlines()[:2])

    asyncio.run(drive())


def test_microphone_through_the_pulseaudio_null_sink(pulse_null_sink: str, tmp_path: Path) -> None:
    if shutil.which("paplay") is None:
        pytest.fail("paplay is missing: apt-get install pulseaudio-utils", pytrace=False)
    app = EdgeApp(TuiSettings(input_device=pulse_null_sink, output="none", data_dir=tmp_path))
    levels: list[float] = []

    async def drive() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.mic_state.state == "on", LOAD_S, "the microphone", app)
            await pilot.pause(0.5)
            meter = app.query_one(LevelMeter)
            quiet = meter.level
            # The "person" speaking into the room: a separate player, so that a busy test process cannot
            # starve the stream (an underrun would put gaps into the speech).
            player = await asyncio.create_subprocess_exec(
                "paplay", "--device=edge_null", str(FIXTURES / "testing_routine.wav"))

            def heard() -> bool:
                return any("testing routine" in t.lower() for t in app.transcripts)

            deadline = time.monotonic() + 60
            while not heard() and time.monotonic() < deadline:
                if meter.level is not None:
                    levels.append(meter.level)
                await pilot.pause(0.05)
            assert await player.wait() == 0
            await pilot.pause(0.2)
            assert heard(), (app.transcripts, app.errors)
            assert "testing routine" in screen_text(app).lower()
            assert quiet is not None and quiet < -60, quiet
            assert max(levels) > -40, max(levels)  # the meter moved while the clip played
            if os.environ.get("EDGE_TUI_SCREENSHOT"):  # docs/tui.svg: EDGE_TUI_SCREENSHOT=docs/tui.svg pytest -k pulse
                await type_line(pilot, app, "wake me up at seven thirty tomorrow")
                await wait_for(pilot, lambda: app.turns >= 2, 60, "the alarm turn", app)
                path = Path(os.environ["EDGE_TUI_SCREENSHOT"]).resolve()
                app.save_screenshot(path.name, str(path.parent))

    asyncio.run(drive())


def test_edge_without_a_terminal_prints_help_and_tui_says_why(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "edge.cli"], capture_output=True, text=True, env=env, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and "usage: edge" in done.stdout
    done = subprocess.run([sys.executable, "-m", "edge.cli", "tui", "--no-mic"], capture_output=True, text=True,
                          env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stderr.strip() == ("edge tui: error: the terminal app needs a terminal: run it in one "
                                   "(edge chat and edge run work in pipes)")
