"""Tests for edge.audio's sinks and devices: WAV/null sinks, and the real PortAudio path through PulseAudio.

The device tests play on the ALSA device "pulse" of a PulseAudio null sink (see the ``pulse_null_sink``
fixture) and record the same audio back from its monitor with MicrophoneSource; only the failure cases
(a device that vanishes, a library that is missing) are simulated.
"""

from __future__ import annotations

import collections
import ctypes.util
import errno
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.audio import (
    AudioDeviceError,
    AudioWriteError,
    MicrophoneSource,
    NullSink,
    SoundDeviceSink,
    WavReader,
    WavSink,
    list_devices,
    read_audio,
    resolve_device,
)
from edge.audio import devices as devices_module
from edge.audio import sink as sink_module

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
ROUTINE = FIXTURES / "testing_routine.wav"  # "This isn't part of your testing routine is it", 16 kHz
RATE = 16000


def tone(freq: float, seconds: float, rate: int = RATE, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(round(seconds * rate)) / rate)).astype(np.float32)


def db(x: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    return 20 * np.log10(max(rms, 1e-9))


def dominant_hz(x: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with WavReader(path) as r:
        return np.concatenate(list(r.frames()))[:, 0], r.rate


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    msg = str(exc.value)
    assert msg and "\n" not in msg and "Traceback" not in msg
    return msg


# --- NullSink and WavSink (no device needed) ---------------------------------------------------------


def test_null_sink_counts_and_keeps_nothing() -> None:
    with NullSink() as sink:
        sink.write(tone(440, 0.5), RATE)
        sink.write(tone(440, 0.25, 8000), 8000)
        sink.drain()
        assert not sink.playing
    assert sink.samples == 8000 + 2000
    assert sink.seconds == pytest.approx(0.75)
    assert sink.closed


def test_wav_sink_rate_fixed_by_first_write_and_later_writes_resampled(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    with WavSink(out) as sink:
        sink.write(tone(440, 0.5), RATE)
        sink.write(tone(1000, 0.5, 8000), 8000)  # resampled to 16 kHz
        sink.write(tone(440, 0.5, 44100), 44100)
        assert sink.rate == RATE and not sink.playing
    audio, rate = read_wav(out)
    assert rate == RATE
    assert len(audio) == pytest.approx(1.5 * RATE, abs=64)
    assert dominant_hz(audio[:7000]) == pytest.approx(440, abs=5)
    assert dominant_hz(audio[9000:15000]) == pytest.approx(1000, abs=5)
    assert dominant_hz(audio[17000:23000]) == pytest.approx(440, abs=5)
    assert db(audio[9000:15000]) == pytest.approx(db(tone(1000, 0.5)), abs=0.5)
    # A join between writes at different rates is continuous: no sample jumps by more than the sine's slope.
    assert np.max(np.abs(np.diff(audio[:16000]))) < 0.5 * 2 * np.pi * 1000 / RATE * 1.2


def test_wav_sink_given_rate_resamples_everything(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    with WavSink(out, rate=22050) as sink:
        sink.write(tone(440, 1.0), RATE)
    audio, rate = read_wav(out)
    assert rate == 22050 and len(audio) == pytest.approx(22050, abs=64)
    assert dominant_hz(audio, rate) == pytest.approx(440, abs=2)


def test_wav_sink_streams_to_part_file_and_renames_atomically(tmp_path: Path) -> None:
    out = tmp_path / "speech.wav"
    out.write_bytes(b"old contents")
    sink = WavSink(out)
    part = tmp_path / "speech.wav.part"
    sink.write(tone(440, 0.2), RATE)
    sink.drain()
    assert part.exists() and out.read_bytes() == b"old contents"
    assert read_wav(part)[0].size == 3200  # a crash leaves a readable .part (sizes "unknown")
    sink.close()
    sink.close()  # idempotent
    assert not part.exists()
    assert read_wav(out)[0].size == 3200
    with pytest.raises(ValueError, match="closed"):
        sink.write(tone(440, 0.1), RATE)


def test_wav_sink_discards_the_part_file_when_the_with_block_fails(tmp_path: Path) -> None:
    out = tmp_path / "speech.wav"
    out.write_bytes(b"old contents")
    with pytest.raises(RuntimeError), WavSink(out) as sink:
        sink.write(tone(440, 0.2), RATE)
        raise RuntimeError("synthesis crashed")
    assert out.read_bytes() == b"old contents"
    assert list(tmp_path.iterdir()) == [out]


class _FullDisk:
    """A file whose writes fail with ENOSPC once ``room`` bytes have been written."""

    def __init__(self, real: Any, room: int) -> None:
        self.real, self.room = real, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.real.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_wav_sink_full_disk_raises_audio_write_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = open
    monkeypatch.setattr(sink_module, "open", lambda *a, **k: _FullDisk(real_open(*a, **k), 10000), raising=False)
    out = tmp_path / "speech.wav"
    sink = WavSink(out)
    sink.write(tone(440, 0.1), RATE)
    with pytest.raises(AudioWriteError) as exc:
        sink.write(tone(440, 1.0), RATE)
    msg = one_line(exc)
    assert str(out) in msg and "no space left" in msg and exc.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []  # the partial file is gone, and nothing under the final name
    with pytest.raises(AudioWriteError):
        sink.write(tone(440, 0.1), RATE)
    sink.close()  # no second error


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux /dev/full")
def test_wav_sink_full_device_fails_on_close(tmp_path: Path) -> None:
    out = tmp_path / "speech.wav"
    (tmp_path / "speech.wav.part").symlink_to("/dev/full")  # every write there fails with ENOSPC
    sink = WavSink(out)
    sink.write(tone(440, 0.05), RATE)  # still in the write buffer
    with pytest.raises(AudioWriteError, match="no space left") as exc:
        sink.close()
    one_line(exc)
    assert not out.exists() and not (tmp_path / "speech.wav.part").exists()


def test_wav_sink_unwritable_directory(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "speech.wav"
    with pytest.raises(AudioWriteError) as exc:
        WavSink(out)
    msg = one_line(exc)
    assert str(out) in msg and "does not exist" in msg


def test_wav_sink_volume_mute_and_repair(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    with WavSink(out, rate=RATE) as sink:
        sink.write(np.full(100, 0.5, np.float32), RATE)
        sink.volume = 0.5
        sink.write(np.full(100, 0.5, np.float32), RATE)
        sink.volume = 7.0  # clamped to 1
        assert sink.volume == 1.0
        sink.muted = True
        sink.write(np.full(100, 0.5, np.float32), RATE)
        sink.muted = False
        sink.write(np.array([np.nan, np.inf, -np.inf, 2.0, -3.0, 0.25], np.float32), RATE)
    audio, _ = read_wav(out)
    pcm = np.round(audio * 32768).astype(int)
    assert (pcm[:100] == 16384).all() and (pcm[100:200] == 8192).all() and (pcm[200:300] == 0).all()
    assert pcm[300:].tolist() == [0, 0, 0, 32767, -32767, 8192]
    with pytest.raises(ValueError):
        sink.volume = float("nan")


# --- listing and choosing devices -------------------------------------------------------------------


def test_list_and_resolve_devices(pulse_null_sink: str) -> None:
    devices = list_devices()
    pulse = next(d for d in devices if d.name == pulse_null_sink)
    assert pulse.max_input_channels > 0 and pulse.max_output_channels > 0 and pulse.default_rate > 0
    assert pulse.hostapi == "ALSA"
    assert sum(d.is_default_output for d in devices) <= 1
    assert resolve_device(None, "input") is None
    assert resolve_device(pulse.index, "output") == pulse.index
    assert resolve_device(str(pulse.index), "input") == pulse.index
    assert resolve_device("pulse", "input") == pulse.index
    assert resolve_device("PULS", "output") == pulse.index  # a unique case-insensitive part of the name
    with pytest.raises(AudioDeviceError) as exc:
        resolve_device("no such microphone", "input")
    msg = one_line(exc)
    assert "no input device matches 'no such microphone'" in msg and "'pulse'" in msg and "edge devices" in msg
    with pytest.raises(AudioDeviceError, match="no output device has index 999"):
        resolve_device(999, "output")


def test_list_devices_empty(pulse_null_sink: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sounddevice

    monkeypatch.setattr(sounddevice, "query_devices", lambda *a, **k: [])
    assert list_devices() == []
    with pytest.raises(AudioDeviceError, match="no input device found: plug in a microphone"):
        resolve_device("pulse", "input")


def test_missing_portaudio_library(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without libportaudio2, importing sounddevice fails with OSError.
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    with pytest.raises(AudioDeviceError, match="install Debian's libportaudio2") as exc:
        list_devices()
    one_line(exc)


# --- the real device path: play on the null sink, record its monitor ---------------------------------


class Recorder:
    """Records a MicrophoneSource on a thread, keeping each chunk's arrival time."""

    def __init__(self, device: str, block_ms: int = 10, **kwargs: Any) -> None:
        self.mic = MicrophoneSource(device, rate=RATE, block_ms=block_ms, **kwargs)
        self.chunks: list[tuple[float, np.ndarray]] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            for chunk in self.mic:
                self.chunks.append((time.monotonic(), chunk))
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> Recorder:
        self.mic.start()
        self._thread.start()
        deadline = time.monotonic() + 5
        while not self.chunks and time.monotonic() < deadline and self.error is None:
            time.sleep(0.005)
        assert self.chunks, f"the microphone delivered nothing: {self.error}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.mic.stop()
        self._thread.join(5)
        self.mic.close()

    def audio(self) -> np.ndarray:
        return np.concatenate([c for _, c in self.chunks])

    def times(self) -> np.ndarray:
        """Per sample, when it arrived here (an upper bound of when it was played)."""
        parts = []
        for arrived, chunk in self.chunks:
            parts.append(arrived - (len(chunk) - 1 - np.arange(len(chunk))) / RATE)
        return np.concatenate(parts)


def loud(x: np.ndarray, threshold_db: float = -40.0, frame: int = 160) -> np.ndarray:
    """Per 10 ms frame, whether it is louder than the threshold."""
    n = len(x) // frame
    frames = x[: n * frame].reshape(n, frame).astype(np.float64)
    return 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9) > threshold_db


ATTEMPTS = 3


def glitched(rec: Recorder, sink: SoundDeviceSink) -> bool:
    """PortAudio reported lost audio (an output underrun or input overflow): a busy machine starved the stream,
    so the recording does not show what the sink did. Such a run is measured again; a run without one that
    fails the checks fails the test."""
    if sink.underruns or rec.mic.overflows:
        print(f"audio path glitched (underruns {sink.underruns}, overflows {rec.mic.overflows}): measuring again")
        return True
    return False


def loud_part(x: np.ndarray, frame: int = 160) -> np.ndarray:
    """The loud 10 ms frames of ``x`` joined: what was played, without the gaps an underrun on a loaded machine
    puts between them (so durations and frequencies are measured on the sound itself, not on the timing)."""
    n = len(x) // frame
    return x[: n * frame].reshape(n, frame)[loud(x, frame=frame)].ravel()


def test_loopback_tone(pulse_null_sink: str) -> None:
    # Large buffers: on a loaded machine small ones underrun, and the ALSA-to-PulseAudio path then plays some
    # audio twice, which would make this test about the machine's load.
    for _attempt in range(ATTEMPTS):  # again only when the machine glitched the audio path
        with Recorder(pulse_null_sink, block_ms=100) as rec, SoundDeviceSink(pulse_null_sink, latency="high") as sink:
            assert sink.rate == 44100  # the device's default rate; written audio is resampled to it
            time.sleep(0.1)
            silence_db = rec.mic.level
            t0 = time.monotonic()
            sink.write(tone(440, 0.5), RATE)
            assert time.monotonic() - t0 < 0.05  # write() only queues
            assert sink.playing
            time.sleep(0.3)
            playing_db = rec.mic.level
            sink.drain()
            drained = time.monotonic()
            assert not sink.playing
            assert drained - t0 >= 0.45
            time.sleep(0.15)
        if not glitched(rec, sink):
            break
    audio, times = rec.audio(), rec.times()
    active = np.flatnonzero(loud(audio))
    played = loud_part(audio)
    assert played.size, "the tone was not recorded"
    print(f"loopback tone: {len(played) / RATE:.3f} s at {db(played):.1f} dBFS (silence {silence_db:.1f} dBFS, "
          f"meter while playing {playing_db:.1f} dBFS); drain returned {drained - t0:.3f} s after write")
    assert len(played) / RATE == pytest.approx(0.5, abs=0.03)
    assert dominant_hz(played) == pytest.approx(440, abs=3)
    assert db(played) == pytest.approx(db(tone(440, 0.5)), abs=1.0)  # -9 dBFS: played at full volume
    assert silence_db < -90 and playing_db > -15
    # drain() returned once the tone was out: its last sample reached the recorder by then (the recorder's own
    # delay, which a loaded machine stretches, is the margin; drain() returning early is caught above: >= 0.45 s)
    assert times[(active[-1] + 1) * 160 - 1] <= drained + 0.3
    assert rec.error is None and rec.mic.dropped_blocks == 0


def _block_matches(audio: np.ndarray, speech: np.ndarray, block: int = RATE // 4) -> list[tuple[int, float, float]]:
    """Each voiced quarter second of ``speech`` found on its own in ``audio``: (lag, correlation, gain dB).
    Blocks are aligned one by one, so an underrun (a gap a loaded machine puts in the recording) costs only the
    block it falls in, while a wrong sample, rate or level shows in every block."""
    found = []
    n = 1 << int(np.ceil(np.log2(len(audio) + block)))
    spectrum = np.fft.rfft(audio, n)
    for start in range(0, len(speech) - block + 1, block):
        ref = speech[start : start + block]
        if db(ref) < -40:
            continue  # a pause: nothing to align
        xc = np.fft.irfft(spectrum * np.conj(np.fft.rfft(ref, n)), n)[: len(audio) - block + 1]
        lag = int(np.argmax(xc))
        got = audio[lag : lag + block]
        found.append((lag - start, float(np.corrcoef(got, ref)[0, 1]), db(got) - db(ref)))
    return found


def test_loopback_speech(pulse_null_sink: str) -> None:
    speech = read_audio(ROUTINE)
    # Large buffers on both sides: a busy machine (CI) must not starve the stream into gaps; what is checked is
    # the samples and their level, not how quickly they come out.
    for _attempt in range(ATTEMPTS):  # again only when the machine glitched the audio path
        with Recorder(pulse_null_sink, block_ms=100) as rec, SoundDeviceSink(pulse_null_sink, latency="high") as sink:
            sink.volume = 0.8
            sink.write(speech, RATE)
            sink.drain()
            time.sleep(0.1)
        if not glitched(rec, sink):
            break
    audio = rec.audio()
    blocks = _block_matches(audio, speech)
    corr = np.array([c for _, c, _ in blocks])
    gains = np.array([g for _, _, g in blocks])
    lags = [lag for lag, _, _ in blocks]
    print(f"loopback speech: {len(blocks)} voiced quarter seconds, correlation median {np.median(corr):.4f} (min "
          f"{corr.min():.4f}), level {np.median(gains):+.2f} dB vs the file at volume 0.8, lag "
          f"{lags[0] / RATE:.3f}-{lags[-1] / RATE:.3f} s")
    assert len(blocks) >= 8
    # the same samples: most blocks intact (a starved PulseAudio can garble a few without PortAudio noticing)
    assert np.median(corr) > 0.95 and np.mean(corr > 0.9) >= 0.5
    assert np.median(gains) == pytest.approx(20 * np.log10(0.8), abs=0.5)
    assert all(b >= a - RATE // 100 for a, b in zip(lags, lags[1:], strict=False))  # in order; gaps only delay


def test_stop_silences_output_at_once(pulse_null_sink: str) -> None:
    with Recorder(pulse_null_sink) as rec, SoundDeviceSink(pulse_null_sink) as sink:
        written = time.monotonic()
        sink.write(tone(440, 3.0), RATE)
        time.sleep(0.4)
        stopped = time.monotonic()
        sink.stop()
        assert not sink.playing
        sink.drain()  # nothing left: returns at once
        assert time.monotonic() - stopped < 0.05
        time.sleep(0.4)
        sink.write(tone(440, 0.2), RATE)  # the sink plays again after a stop
        sink.drain()
        time.sleep(0.1)
    audio, times = rec.audio(), rec.times()
    frames = loud(audio)
    frame_times = times[159::160][: len(frames)]
    last_loud = frame_times[(frame_times < stopped + 0.3) & frames].max()
    latency = last_loud - stopped  # the time until silence, plus the recording path's delay
    onset = frame_times[frames].min() - written  # the playback delay plus the same recording path's delay
    after = audio[(times > stopped + 0.2) & (times < stopped + 0.38)]
    print(f"stop(): the tone ends in the recording {1000 * latency:.0f} ms after stop() (it started "
          f"{1000 * onset:.0f} ms after write(); output latency {1000 * sink.latency:.1f} ms); "
          f"level 200-380 ms after: {db(after):.1f} dBFS")
    assert latency < 0.2
    assert db(after) < -60
    assert frames[frame_times > stopped + 0.4].sum() >= 15  # the 0.2 s tone written after stop() was played


def test_sound_device_sink_resamples_each_write_to_its_rate(pulse_null_sink: str) -> None:
    # The stream keeps the device's native rate: with PulseAudio's ALSA plugin, a stream at another rate
    # underruns erratically on a null sink, which would make this test about PulseAudio.
    for _attempt in range(ATTEMPTS):  # again only when the machine glitched the audio path
        with Recorder(pulse_null_sink, block_ms=100) as rec, \
                SoundDeviceSink(pulse_null_sink, rate=44100, latency="high") as sink:  # large buffers: see above
            assert sink.rate == 44100
            sink.write(tone(1000, 0.3, 22050), 22050)
            sink.write(tone(1500, 0.3, 48000), 48000)  # a new rate mid-stream: the first resampler's tail is kept
            sink.drain()
            time.sleep(0.1)
        if not glitched(rec, sink):
            break
    played = loud_part(rec.audio())
    assert len(played) / RATE == pytest.approx(0.6, abs=0.03)
    assert dominant_hz(played[400:4400]) == pytest.approx(1000, abs=4)
    assert dominant_hz(played[5200:9200]) == pytest.approx(1500, abs=4)


def test_microphone_level_and_bounded_queue(pulse_null_sink: str) -> None:
    with MicrophoneSource(pulse_null_sink, block_ms=10, max_queue_s=0.1) as mic:
        assert mic.native_rate == 44100 and mic.block_frames == 441
        time.sleep(0.4)  # nobody reads: the queue keeps only the newest 0.1 s
        assert mic.dropped_blocks >= 10
        assert len(mic._queue) == 10
        chunk = next(iter(mic))
        assert chunk.dtype == np.float32 and chunk.ndim == 1
        mic.stop()
        assert sum(len(c) for c in mic) < 0.05 * RATE  # at most the resampler's tail


def test_microphone_stop_from_another_thread_ends_iteration(pulse_null_sink: str) -> None:
    with MicrophoneSource(pulse_null_sink) as mic:
        threading.Timer(0.5, mic.stop).start()
        start = time.monotonic()
        samples = sum(len(c) for c in mic)
        assert time.monotonic() - start < 1.0
        assert samples > 0.2 * RATE


# --- device failures -----------------------------------------------------------------------------------


def test_unknown_devices_fail_with_one_line(pulse_null_sink: str) -> None:
    with pytest.raises(AudioDeviceError) as exc:
        MicrophoneSource("no such microphone")
    assert "no input device matches" in one_line(exc)
    with pytest.raises(AudioDeviceError) as exc:
        SoundDeviceSink("no such speaker")
    assert "no output device matches" in one_line(exc)


def iterate_until_error(mic: MicrophoneSource, timeout: float = 5.0) -> tuple[BaseException | None, float]:
    """Iterate on a thread; return what iteration raised and how long after start it raised."""
    result: list[Any] = [None, None]

    def run() -> None:
        try:
            for _ in mic:
                pass
        except BaseException as exc:
            result[0] = exc
        result[1] = time.monotonic()

    start = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "iteration hung"
    return result[0], result[1] - start


def test_microphone_disappearing_raises_from_iteration(pulse_null_sink: str) -> None:
    with MicrophoneSource(pulse_null_sink) as mic:
        # The stream ends under the reader, as when a device is unplugged. (The aborting thread must be done
        # before close(): PortAudio does not support two threads stopping one stream at once.)
        unplug = threading.Timer(0.2, mic._stream.abort)
        unplug.start()
        error, after = iterate_until_error(mic)
        unplug.join(5)
    assert isinstance(error, AudioDeviceError) and "stopped unexpectedly" in str(error)
    assert after < 1.0


def test_microphone_callback_error_raises_from_iteration(pulse_null_sink: str, monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    import sounddevice

    def vanished(indata: np.ndarray) -> np.ndarray:
        raise sounddevice.PortAudioError("Unanticipated host error [PaErrorCode -9999]")

    monkeypatch.setattr(devices_module, "to_mono", vanished)
    with MicrophoneSource(pulse_null_sink) as mic:
        error, _ = iterate_until_error(mic)
    assert isinstance(error, AudioDeviceError)
    assert str(error).startswith("microphone 'pulse' failed (Unanticipated host error): reconnect it")


def test_microphone_stall_detected(pulse_null_sink: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MicrophoneSource, "_callback", lambda self, *args: None)  # the device goes quiet
    with MicrophoneSource(pulse_null_sink, stall_s=0.4) as mic:
        error, after = iterate_until_error(mic)
    assert isinstance(error, AudioDeviceError) and str(error).startswith("microphone stopped delivering audio")
    assert 0.35 < after < 1.5


def test_speaker_disappearing_raises_on_write_and_drain(pulse_null_sink: str) -> None:
    with SoundDeviceSink(pulse_null_sink) as sink:
        sink.write(tone(440, 2.0), RATE)
        sink._stream.abort()  # PortAudio ends the stream, as when a device is unplugged
        with pytest.raises(AudioDeviceError) as exc:
            sink.drain()
        assert "stopped unexpectedly" in one_line(exc)
        with pytest.raises(AudioDeviceError):
            sink.write(tone(440, 0.1), RATE)
    sink.close()  # idempotent, no error


def test_speaker_callback_error_raises_on_write(pulse_null_sink: str) -> None:
    import sounddevice

    class Vanishing(collections.deque):
        def __getitem__(self, index: Any) -> Any:
            raise sounddevice.PortAudioError("Unanticipated host error [PaErrorCode -9999]")

    with SoundDeviceSink(pulse_null_sink) as sink:
        sink._blocks = Vanishing([tone(440, 0.1)])
        deadline = time.monotonic() + 2
        while sink._error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(AudioDeviceError) as exc:
            sink.write(tone(440, 0.1), RATE)
        assert one_line(exc).startswith("speaker 'pulse' failed (Unanticipated host error)")



@pytest.mark.parametrize(("folder", "why"), [
    ("/proc", "does not take new files"), ("/sys", "permission denied"),
    ("/nonexistent-edge-folder", "does not exist"),
])
def test_wav_sink_in_a_folder_that_takes_no_files_says_why(folder: str, why: str) -> None:
    if not os.path.isdir(folder) and folder != "/nonexistent-edge-folder":
        pytest.skip(f"no {folder} here")
    with pytest.raises(AudioWriteError) as exc:
        WavSink(Path(folder) / "reply.wav")
    msg = one_line(exc)
    assert msg.startswith(f"cannot write {folder}/reply.wav") and why in msg


def test_wav_sink_on_a_read_only_file_system_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    import errno

    real_open = builtins.open

    def read_only(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if str(file).startswith(str(tmp_path)) and "w" in mode:  # what a read-only mount answers, even to root
            raise OSError(errno.EROFS, "Read-only file system", str(file))
        return real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", read_only)
    with pytest.raises(AudioWriteError) as exc:
        WavSink(tmp_path / "reply.wav")
    assert one_line(exc) == (f"cannot write {tmp_path}/reply.wav: {tmp_path} is on a read-only file system; "
                             "choose a writable directory")
