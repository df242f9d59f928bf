"""Tests for edge.audio: WAV/FLAC/raw readers, resampling, Silero VAD and endpointing.

Real speech comes from tests/fixtures/audio (see SOURCES.md there); every other format is made from
numpy signals in the test itself, so nothing here needs files outside the repository.
"""

from __future__ import annotations

import errno
import io
import os
import struct
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge.audio import (
    AudioFormatError,
    AudioWarning,
    AudioWriteError,
    Endpointer,
    Resampler,
    SileroVad,
    SpeechEnd,
    SpeechStart,
    VadModelMissingError,
    WavReader,
    read_audio,
    resample,
    split_utterances,
    stream_audio,
    stream_raw_pcm,
    write_wav,
)
from edge.audio import vad as vad_module

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
ROUTINE = FIXTURES / "testing_routine.wav"  # "This isn't part of your testing routine is it"
DOOR = FIXTURES / "another_door.wav"  # "And he walked immediately out of the apartment by another door"
YES = FIXTURES / "yes_563aa4e6_nohash_2.wav"  # "yes"
RATE = 16000
GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


# --- building WAV files with numpy ------------------------------------------------------------------


def encode(frames: np.ndarray, kind: str, width: int) -> bytes:
    """Interleave ``(n, channels)`` float frames into little-endian sample bytes."""
    x = np.asarray(frames, dtype=np.float64)
    if kind == "float":
        return x.astype("<f4" if width == 4 else "<f8").tobytes()
    if width == 1:
        return np.clip(np.round(x * 128 + 128), 0, 255).astype(np.uint8).tobytes()
    scale = 2.0 ** (8 * width - 1)
    ints = np.clip(np.round(x * scale), -scale, scale - 1).astype("<i8")
    return ints.view(np.uint8).reshape(-1, 8)[:, :width].tobytes()


def fmt_chunk(
    tag: int, channels: int, rate: int, width: int, *, extensible: bool = False, valid_bits: int = 0
) -> bytes:
    block = channels * width
    if not extensible:
        body = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, 8 * width)
    else:
        body = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, 8 * width, 22,
                           valid_bits or 8 * width, (1 << channels) - 1)
        body += struct.pack("<H", tag) + GUID_TAIL
    return b"fmt " + struct.pack("<I", len(body)) + body


def chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def make_wav(
    frames: np.ndarray,
    rate: int,
    kind: str = "int",
    width: int = 2,
    *,
    extensible: bool = False,
    valid_bits: int = 0,
    before_data: bytes = b"",
    after_data: bytes = b"",
    data_size: int | None = None,
) -> bytes:
    frames = frames if frames.ndim == 2 else frames[:, None]
    tag = 3 if kind == "float" else 1
    data = encode(frames, kind, width)
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + fmt_chunk(tag, frames.shape[1], rate, width, extensible=extensible, valid_bits=valid_bits)
    body += before_data + b"data" + struct.pack("<I", size) + data + after_data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def tones(rate: int, seconds: float = 1.0) -> np.ndarray:
    """440 Hz + 1500 Hz, peak 0.6: below the Nyquist frequency of every rate tested."""
    t = np.arange(int(rate * seconds)) / rate
    return 0.35 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 1500 * t + 0.3)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_matches_tones(out: np.ndarray, seconds: float, tol: float, gain: float = 1.0) -> None:
    ref = gain * tones(RATE, seconds)
    assert out.dtype == np.float32 and out.ndim == 1
    assert abs(len(out) - len(ref)) <= 1
    n = min(len(out), len(ref))
    edge = RATE // 50  # resampler start/end transients
    err = np.abs(out[edge : n - edge] - ref[edge : n - edge]).max()
    assert err < tol, f"max error {err:.5f} >= {tol}"


# --- every PCM form round-trips to 16 kHz mono ---------------------------------------------------


FORMS = [
    # rate, channels, kind, width, extensible, valid_bits, tolerance
    pytest.param(8000, 2, "int", 3, False, 0, 2e-3, id="8k-stereo-s24"),
    pytest.param(44100, 1, "float", 4, False, 0, 2e-3, id="44.1k-mono-f32"),
    pytest.param(48000, 2, "int", 4, False, 0, 2e-3, id="48k-stereo-s32"),
    pytest.param(22050, 1, "int", 1, False, 0, 2e-2, id="22.05k-mono-u8"),
    pytest.param(16000, 1, "int", 2, False, 0, 1e-4, id="16k-mono-s16"),
    pytest.param(32000, 3, "float", 8, False, 0, 2e-3, id="32k-3ch-f64"),
    pytest.param(48000, 6, "int", 4, True, 24, 2e-3, id="48k-6ch-s24in32-extensible"),
    pytest.param(11025, 2, "float", 4, True, 0, 2e-3, id="11.025k-stereo-f32-extensible"),
    pytest.param(24000, 1, "int", 2, True, 0, 2e-3, id="24k-mono-s16-extensible"),
]


@pytest.mark.parametrize("rate,channels,kind,width,extensible,valid_bits,tol", FORMS)
def test_pcm_forms_round_trip(tmp_path, rate, channels, kind, width, extensible, valid_bits, tol) -> None:
    mono = tones(rate)
    # Channels at different levels: the reader must average them (mean gain here is 0.8).
    gains = np.linspace(1.2, 0.4, channels) if channels > 1 else np.ones(1)
    frames = mono[:, None] * gains[None, :]
    if valid_bits == 24:  # 24 valid bits left-justified in 32-bit slots: low byte zero
        frames = np.round(frames * 2**23) / 2**23
    path = write(tmp_path, "x.wav", make_wav(frames, rate, kind, width, extensible=extensible, valid_bits=valid_bits))
    with WavReader(path) as reader:
        assert (reader.rate, reader.channels) == (rate, channels)
    assert_matches_tones(read_audio(path), 1.0, tol, gain=float(gains.mean()))


def test_real_clip_through_44k_float_stereo(tmp_path) -> None:
    ref = read_audio(ROUTINE)
    up = resample(ref, RATE, 44100)
    stereo = np.stack([up, 0.5 * up], axis=1)
    out = read_audio(write(tmp_path, "routine44.wav", make_wav(stereo, 44100, "float", 4)))
    n = min(len(out), len(ref))
    assert abs(len(out) - len(ref)) <= 1
    # Speech up to 7 kHz survives 16k -> 44.1k -> 16k; only the band edge near 8 kHz is filtered.
    assert np.corrcoef(out[:n], 0.75 * ref[:n])[0, 1] > 0.999


def test_fixture_is_read_as_is() -> None:
    out = read_audio(ROUTINE)
    raw = np.frombuffer(ROUTINE.read_bytes()[44:], "<i2").astype(np.float32) / 32768
    assert np.array_equal(out, raw)


def test_streaming_blocks_equal_whole(tmp_path) -> None:
    path = write(tmp_path, "a.wav", make_wav(tones(8000, 2.0), 8000))
    small = np.concatenate(list(stream_audio(path, block_frames=100)))
    big = np.concatenate(list(stream_audio(path, block_frames=1 << 20)))
    np.testing.assert_allclose(small, big, atol=1e-6)


def test_long_file_streams_in_bounded_memory(tmp_path) -> None:
    """10 minutes of 8 kHz audio (38 MB as float32 at 16 kHz) read with a small peak of Python-side memory."""
    path = tmp_path / "long.wav"
    seconds = 600
    block = encode(tones(8000, 1.0)[:, None], "int", 2)
    with open(path, "wb") as f:  # written in chunks, header as a streaming writer leaves it (size 0xFFFFFFFF)
        f.write(b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + fmt_chunk(1, 1, 8000, 2))
        f.write(b"data" + struct.pack("<I", 0xFFFFFFFF))
        for _ in range(seconds):
            f.write(block)
    tracemalloc.start()
    try:
        total = sum(len(b) for b in stream_audio(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert abs(total - seconds * RATE) <= 1
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MiB"


# --- lying and odd headers -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 0xFFFFFFFF], ids=["zero", "ffffffff"])
def test_streaming_writer_data_size(tmp_path, size) -> None:
    path = write(tmp_path, "s.wav", make_wav(tones(16000)[:, None], 16000, data_size=size))
    assert_matches_tones(read_audio(path), 1.0, 1e-4)


def test_data_size_larger_than_file_reads_what_is_there(tmp_path) -> None:
    data = make_wav(tones(16000)[:, None], 16000, data_size=10**8)
    path = write(tmp_path, "t.wav", data[: len(data) - 1001])  # also ends mid-frame
    with pytest.warns(AudioWarning, match="reading what is there"):
        out = read_audio(path)
    assert len(out) == 16000 - 501
    np.testing.assert_allclose(out, tones(16000)[: len(out)], atol=1e-4)


def test_extra_chunks_odd_sizes_and_wrong_riff_size(tmp_path) -> None:
    before = chunk(b"LIST", b"INFOISFT\x05\x00\x00\x00edge\x00") + chunk(b"fact", struct.pack("<I", 16000))
    before += chunk(b"junk", b"abc")  # odd size: a pad byte follows
    after = chunk(b"LIST", b"INFOICMT\x03\x00\x00\x00hi\x00")  # after the data: must not be read as audio
    data = bytearray(make_wav(tones(16000)[:, None], 16000, "float", 4, before_data=before, after_data=after))
    data[4:8] = struct.pack("<I", 12345)  # the RIFF size lies too
    assert_matches_tones(read_audio(write(tmp_path, "c.wav", bytes(data))), 1.0, 1e-5)


def test_clipped_audio_passes_through(tmp_path) -> None:
    square = np.sign(tones(16000)) * 1.0
    out = read_audio(write(tmp_path, "clip.wav", make_wav(square[:, None], 16000, "int", 2)))
    assert out.max() == pytest.approx(32767 / 32768) and out.min() == -1.0
    hot = read_audio(write(tmp_path, "hot.wav", make_wav(1.5 * square[:, None], 16000, "float", 4)))
    assert hot.max() == pytest.approx(1.5)  # float overs are kept, not clipped


def test_nan_and_inf_are_zeroed_and_counted(tmp_path) -> None:
    x = tones(16000)
    x[[100, 2000, 9000]] = [np.nan, np.inf, -np.inf]
    path = write(tmp_path, "nan.wav", make_wav(x[:, None], 16000, "float", 4))
    reader = WavReader(path)
    with pytest.warns(AudioWarning, match="replaced 3 NaN/infinite samples"):
        frames = np.concatenate(list(reader.frames()))
    reader.close()
    assert reader.nonfinite == 3
    assert np.isfinite(frames).all() and frames[[100, 2000, 9000], 0].tolist() == [0, 0, 0]


# --- bad files: one-line errors naming the file and the fix --------------------------------------------


def expect_error(path: Path, *patterns: str) -> str:
    with pytest.raises(AudioFormatError) as info:
        read_audio(path)
    message = str(info.value)
    assert "\n" not in message and path.name in message
    for pattern in patterns:
        assert pattern in message, message
    return message


def test_not_a_wav_file(tmp_path) -> None:
    mp3 = write(tmp_path, "x.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(500))
    expect_error(mp3, "is not a WAV file (no RIFF/WAVE header; it looks like MP3)", f"`ffmpeg -i {mp3} -ar 16000 -ac 1")
    text = write(tmp_path, "notes.wav", b"hello, this is text, not audio\n" * 10)
    expect_error(text, "not a WAV file", "ffmpeg -i")


def test_zero_length(tmp_path) -> None:
    expect_error(write(tmp_path, "empty.wav", b""), "empty")
    silent_header = make_wav(np.zeros((0, 1)), 16000)
    expect_error(write(tmp_path, "zero.wav", silent_header), "no audio samples")
    expect_error(write(tmp_path, "zero_list.wav", silent_header + chunk(b"LIST", b"INFO")), "no audio samples")
    streamed_nothing = make_wav(np.zeros((0, 1)), 16000, data_size=0xFFFFFFFF)
    expect_error(write(tmp_path, "zero_ff.wav", streamed_nothing), "no audio samples")


@pytest.mark.parametrize("cut", [6, 20, 30, 40], ids=["in-riff", "in-fmt-header", "in-fmt-body", "before-data"])
def test_truncated_header(tmp_path, cut) -> None:
    data = make_wav(tones(16000)[:, None], 16000)
    expect_error(write(tmp_path, "cut.wav", data[:cut]), "truncated", "WAV header")


@pytest.mark.parametrize("tag,law,extensible", [(6, "A-law", False), (7, "mu-law", False), (6, "A-law", True)])
def test_companded_wav_is_refused_by_name(tmp_path, tag, law, extensible) -> None:
    body = b"WAVE" + fmt_chunk(tag, 1, 8000, 1, extensible=extensible) + chunk(b"data", bytes(8000))
    path = write(tmp_path, "phone.wav", b"RIFF" + struct.pack("<I", len(body)) + body)
    expect_error(path, law, "not supported", "ffmpeg -i")


def test_adpcm_is_refused(tmp_path) -> None:
    body = b"WAVE" + fmt_chunk(2, 1, 8000, 1) + chunk(b"data", bytes(100))
    expect_error(write(tmp_path, "adpcm.wav", b"RIFF" + struct.pack("<I", len(body)) + body), "MS ADPCM")


# --- FLAC and raw PCM --------------------------------------------------------------------------------


def test_flac_when_soundfile_is_installed(tmp_path) -> None:
    soundfile = pytest.importorskip("soundfile")
    frames = tones(44100)[:, None] * np.array([[1.0, 0.6]])
    path = tmp_path / "x.flac"
    soundfile.write(path, frames, 44100, subtype="PCM_24")
    assert_matches_tones(read_audio(path), 1.0, 2e-3, gain=0.8)


def test_flac_without_soundfile_says_how_to_get_it(tmp_path, monkeypatch) -> None:
    path = write(tmp_path, "x.flac", b"fLaC" + bytes(100))
    monkeypatch.setitem(sys.modules, "soundfile", None)  # makes `import soundfile` fail
    expect_error(path, "pip install soundfile", "ffmpeg -i")


class TrickleStream(io.RawIOBase):
    """A pipe that hands out a few bytes at a time, splitting frames across reads."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def read1(self, n: int = -1) -> bytes:
        out = self._data[self._pos : self._pos + min(n, self._step)]
        self._pos += len(out)
        return out

    read = read1


def test_raw_pcm_stdin_stereo_8k() -> None:
    frames = tones(8000)[:, None] * np.array([[1.0, 0.6]])
    raw = encode(frames, "int", 2)
    out = np.concatenate(list(stream_raw_pcm(TrickleStream(raw), in_rate=8000, channels=2)))
    assert_matches_tones(out, 1.0, 2e-3, gain=0.8)
    whole = np.concatenate(list(stream_raw_pcm(io.BytesIO(raw), in_rate=8000, channels=2)))
    np.testing.assert_allclose(out, whole, atol=1e-6)


def test_wav_from_a_pipe(tmp_path) -> None:
    data = make_wav(tones(8000)[:, None], 8000, data_size=0xFFFFFFFF)
    assert_matches_tones(np.concatenate(list(stream_audio(TrickleStream(data, 333)))), 1.0, 2e-3)


# --- resampling -----------------------------------------------------------------------------------


def test_resampler_streaming_equals_whole_and_rejects_aliases() -> None:
    x = tones(44100, 2.0).astype(np.float32)
    r = Resampler(44100, 16000)
    parts = [r.process(x[i : i + 777]) for i in range(0, len(x), 777)] + [r.flush()]
    streamed = np.concatenate(parts)
    assert abs(len(streamed) - 32000) <= 1
    np.testing.assert_allclose(streamed[:32000], resample(x, 44100, 16000)[:32000], atol=1e-4)
    # A 12 kHz tone is above the 8 kHz Nyquist frequency of 16 kHz audio: it must vanish, not alias to 4 kHz.
    t = np.arange(48000) / 48000
    alias = resample(np.sin(2 * np.pi * 12000 * t).astype(np.float32), 48000, 16000)
    assert np.abs(alias[200:-200]).max() < 1e-3


# --- writing ------------------------------------------------------------------------------------------


def test_write_wav_round_trip(tmp_path) -> None:
    x = tones(16000).astype(np.float32)
    path = tmp_path / "reply.wav"
    write_wav(path, x, 16000)
    np.testing.assert_allclose(read_audio(path), x, atol=1e-4)
    assert path.read_bytes()[:4] == b"RIFF" and [p.name for p in tmp_path.iterdir()] == ["reply.wav"]


def test_write_wav_full_disk_is_clear_and_atomic(tmp_path, monkeypatch) -> None:
    path = tmp_path / "reply.wav"
    write_wav(path, np.zeros(160, np.float32), 16000)
    before = path.read_bytes()

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("edge.audio.wav.os.fsync", no_space)
    with pytest.raises(AudioWriteError, match="no space left") as info:
        write_wav(path, tones(16000), 16000)
    assert info.value.errno == errno.ENOSPC and "reply.wav" in str(info.value)
    assert path.read_bytes() == before  # the old file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["reply.wav"]  # no temp file left behind


# --- Silero VAD ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    return SileroVad(threads=1)


def energy_onset(x: np.ndarray) -> float:
    """First 10 ms frame within 30 dB of the loudest one: where the speech really starts."""
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    db = 10 * np.log10((frames**2).mean(axis=1) + 1e-12)
    return float(np.argmax(db > db.max() - 30)) / 100


def test_vad_model_missing_names_the_file_and_the_fix(tmp_path, monkeypatch) -> None:
    missing = tmp_path / "silero_vad_v6.onnx"
    with pytest.raises(VadModelMissingError, match="silero_vad_v6.onnx.*pip install 'faster-whisper>=1.2'"):
        SileroVad(missing)
    monkeypatch.setattr(vad_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(VadModelMissingError, match="install faster-whisper"):
        SileroVad()


def test_vad_probability_is_stateful_and_batchable(vad) -> None:
    x = read_audio(ROUTINE)[: 40 * 512]
    vad.reset()
    one_by_one = [vad.probability(w) for w in x.reshape(-1, 512)]
    vad.reset()
    batched = vad.probabilities(x)
    np.testing.assert_allclose(one_by_one, batched, atol=1e-5)
    assert max(batched) > 0.9 and min(batched[:5]) < 0.2
    with pytest.raises(ValueError):
        vad.probability(np.zeros(500, np.float32))


@pytest.mark.parametrize("clip", [ROUTINE, DOOR, YES], ids=["testing_routine", "another_door", "yes"])
def test_vad_finds_the_speech_in_real_clips(vad, clip) -> None:
    x = read_audio(clip)
    ep = Endpointer(vad, speech_pad_ms=0, start_pad_ms=0, onset_lead_ms=0)  # the VAD's own onset
    events = [e for i in range(0, len(x), 1000) for e in ep.process(x[i : i + 1000])] + ep.finish()
    starts = [e for e in events if isinstance(e, SpeechStart)]
    ends = [e for e in events if isinstance(e, SpeechEnd)]
    assert len(starts) == 1 and len(ends) == 1, events
    assert abs(starts[0].time - energy_onset(x)) < 0.1
    assert ends[0].end > ends[0].start + 0.3 * RATE


def _first_start(vad, x: np.ndarray, threshold: float = 0.5, **settings) -> int:
    ep = Endpointer(vad, **settings)
    ep.threshold = threshold  # raised after construction, as the pipeline does over a reply (neg stays 0.35)
    events = [e for i in range(0, len(x), 512) for e in ep.process(x[i : i + 512])] + ep.finish()
    return next(e.sample for e in events if isinstance(e, SpeechStart))


@pytest.mark.parametrize("clip", [ROUTINE, DOOR, YES], ids=["testing_routine", "another_door", "yes"])
def test_a_raised_threshold_keeps_the_first_word(vad, clip) -> None:
    """Over a reply the VAD threshold is 0.8 and the onset is found later: the start moves back over the
    windows just under it, and is widened by start_pad_ms, so the utterance still begins before the voice."""
    x = np.concatenate([np.zeros(RATE, np.float32), read_audio(clip)])
    bare = {"speech_pad_ms": 0, "start_pad_ms": 0}
    normal = _first_start(vad, x, **bare, onset_lead_ms=0)
    late = _first_start(vad, x, 0.8, **bare, onset_lead_ms=0)
    led = _first_start(vad, x, 0.8, **bare)
    assert led <= normal <= late and led < late
    padded = _first_start(vad, x, 0.8)  # the defaults: lead and a 200 ms start pad
    assert padded <= energy_onset(x) * RATE and padded == max(0, led - 200 * RATE // 1000)


def test_speech_end_comes_min_silence_after_the_speech(vad) -> None:
    x = np.concatenate([read_audio(ROUTINE), np.zeros(RATE, np.float32)])
    ep = Endpointer(vad, min_silence_ms=300, speech_pad_ms=100, keep_audio=True)
    events = ep.process(x) + ep.finish()
    end = next(e for e in events if isinstance(e, SpeechEnd))
    assert end.reason == "silence"
    unpadded_end = end.end - 100 * RATE // 1000
    assert 300 * RATE // 1000 <= end.detected_at - unpadded_end < 300 * RATE // 1000 + 2 * 512
    assert end.audio is not None and np.array_equal(end.audio, x[end.start : end.end])


def test_events_do_not_depend_on_chunk_size(vad) -> None:
    x = read_audio(DOOR)
    results = []
    for size in (160, 512, 4001, len(x)):
        ep = Endpointer(vad)
        results.append([e for i in range(0, len(x), size) for e in ep.process(x[i : i + size])] + ep.finish())
    assert all(r == results[0] for r in results[1:])


def test_no_speech_in_silence_or_low_noise(vad) -> None:
    silence = np.zeros(5 * RATE, np.float32)
    noise = np.random.default_rng(0).normal(0, 0.01, 5 * RATE).astype(np.float32)
    assert split_utterances(silence, vad) == []
    assert split_utterances(noise, vad) == []


def test_two_clips_with_a_pause_are_two_utterances(vad) -> None:
    a, b = read_audio(ROUTINE), read_audio(DOOR)
    x = np.concatenate([a, np.zeros(int(1.5 * RATE), np.float32), b])
    segments = split_utterances(x, vad, speech_pad_ms=0, start_pad_ms=0, onset_lead_ms=0)
    assert len(segments) == 2, segments
    second_onset = len(a) / RATE + 1.5 + energy_onset(b)
    assert abs(segments[1].start / RATE - second_onset) < 0.1
    assert segments[0].end < len(a) + 1.5 * RATE / 2


def test_max_utterance_cuts_long_speech(vad) -> None:
    x = read_audio(ROUTINE)
    ep = Endpointer(vad, max_utterance_s=1.0)
    ends = [e for e in ep.process(x) + ep.finish() if isinstance(e, SpeechEnd)]
    assert len(ends) >= 2 and ends[0].reason == "max_length"
    assert all(e.end - e.start <= RATE for e in ends)
    assert all(a.end <= b.start for a, b in zip(ends, ends[1:]))


def test_an_hour_of_silence_in_bounded_memory(vad) -> None:
    """An hour at 16 kHz would be 230 MB as float32; generated lazily, the endpointer holds a few blocks."""
    block = np.zeros(RATE * 2, np.float32)

    def hour() -> Iterator[np.ndarray]:
        for _ in range(1800):
            yield block

    tracemalloc.start()
    try:
        segments = split_utterances(hour(), vad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert segments == []
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB"


# --- endpointer rules, with a scripted VAD -------------------------------------------------------------


class ScriptedVad:
    """Returns preset probabilities, one per window, so the endpointer's rules can be checked exactly."""

    window = 512

    def __init__(self, probs: list[float]) -> None:
        self.probs, self.i = probs, 0

    def reset(self) -> None:
        self.i = 0

    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        n = len(windows)
        out = [self.probs[j] if j < len(self.probs) else 0.0 for j in range(self.i, self.i + n)]
        self.i += n
        return np.array(out, np.float32)


def run_script(probs: list[float], **settings) -> list:
    ep = Endpointer(ScriptedVad(probs), **settings)
    return ep.process(np.zeros(len(probs) * 512, np.float32)) + ep.finish()


def test_short_blips_are_ignored_and_hysteresis_holds() -> None:
    w = 512
    # 2 speech windows (64 ms) < min_speech 100 ms: nothing.
    assert run_script([0, 0.9, 0.9] + [0] * 20, min_speech_ms=100, min_silence_ms=100, speech_pad_ms=0) == []
    # Speech, then values between neg_threshold (0.35) and threshold (0.5) keep it going; silence ends it.
    events = run_script([0.9] * 5 + [0.4] * 5 + [0.1] * 10, min_speech_ms=100, min_silence_ms=200, speech_pad_ms=0)
    assert events == [SpeechStart(0, 4 * w), SpeechEnd(0, 10 * w, 17 * w, "silence")]


def test_padding_never_overlaps_the_previous_utterance() -> None:
    w = 512
    probs = [0.0] * 6 + [0.9] * 10 + [0.0] * 4 + [0.9] * 10 + [0.0] * 10
    events = run_script(probs, min_speech_ms=0, min_silence_ms=100, speech_pad_ms=100, start_pad_ms=0)
    ends = [e for e in events if isinstance(e, SpeechEnd)]
    assert len(ends) == 2
    # Padded by 100 ms (1600 samples) each side; the silence is seen on its 4th window (100 ms = 3.1 windows).
    assert ends[0] == SpeechEnd(6 * w - 1600, 16 * w + 1600, 20 * w, "silence")
    assert ends[1].start == ends[0].end  # padded start clamped to the previous end
    assert all(e.end <= e.detected_at for e in ends)
