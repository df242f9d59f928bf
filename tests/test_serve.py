"""`edge serve` over the real Wyoming protocol: the wyoming package's own client against a server on loopback.

The models (Whisper tiny.en, Piper, the NLU) are loaded once for the module; each test starts its own
server (cheap) with the limits it needs, inside its own event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import wave
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("wyoming", reason="the serve extra is not installed: pip install -e '.[serve]'")

from wyoming.asr import Transcribe, Transcript  # noqa: E402
from wyoming.audio import AudioChunk, AudioStart, AudioStop  # noqa: E402
from wyoming.client import AsyncClient, AsyncTcpClient  # noqa: E402
from wyoming.event import Event  # noqa: E402
from wyoming.info import Describe, Info  # noqa: E402
from wyoming.intent import Recognize  # noqa: E402
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeVoice  # noqa: E402
from wyoming.wake import Detect  # noqa: E402

from edge.serve.limits import Limits  # noqa: E402
from edge.serve.server import EdgeServer  # noqa: E402
from edge.serve.stages import Stages  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
AUDIO = REPO / "tests" / "fixtures" / "audio"
TEST_LIMITS = Limits(idle_timeout_s=1.0, turn_timeout_s=5.0, session_timeout_s=30.0, write_timeout_s=5.0,
                     max_sessions=4, work_timeout_s=30.0)


def _wav(name: str) -> tuple[bytes, int]:
    with wave.open(str(AUDIO / name)) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        return w.readframes(w.getnframes()), w.getframerate()


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stages]:
    """Edge's stages for en-US, loaded once; dialogue data and wake models in a fresh folder."""
    from edge.profiles import load_profile

    data = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", str(data))
        s = Stages(load_profile("desktop"), default_locale="en-US", data_dir=data / "edge")
        s.preload()
        yield s


def serve(stages: Stages, test: Callable[[str, EdgeServer], Awaitable[Any]], limits: Limits = TEST_LIMITS,
          uri: str = "tcp://127.0.0.1:0", **kw: Any) -> Any:
    """Run ``test(address, server)`` against a fresh server in a new event loop."""

    async def main() -> Any:
        server = EdgeServer(stages, limits, **kw)
        address = await server.start(uri)
        try:
            return await asyncio.wait_for(test(address, server), 60)
        finally:
            await server.stop()

    return asyncio.run(main())


async def _until(client: AsyncClient, *types: str) -> list[Event]:
    """Events up to and including the first of ``types``."""
    events = []
    while True:
        event = await client.read_event()
        assert event is not None, f"connection closed while waiting for {types}"
        events.append(event)
        if event.type in types:
            return events


async def _send_audio(client: AsyncClient, pcm: bytes, rate: int, channels: int = 1, step: int = 4096) -> None:
    await client.write_event(AudioStart(rate=rate, width=2, channels=channels).event())
    for i in range(0, len(pcm), step):
        await client.write_event(AudioChunk(rate=rate, width=2, channels=channels, audio=pcm[i : i + step]).event())
    await client.write_event(AudioStop().event())


def _client(address: str, read_timeout: float = 20.0) -> AsyncClient:
    return AsyncClient.from_uri(address, connect_timeout=5, read_timeout=read_timeout)


# --- describe ---------------------------------------------------------------------------------------------


def test_describe_lists_what_is_installed(stages: Stages) -> None:
    async def test(address: str, _: EdgeServer) -> Info:
        host, port = address[len("tcp://"):].rsplit(":", 1)
        async with AsyncTcpClient(host, int(port), connect_timeout=5, read_timeout=20) as c:
            await c.write_event(Describe().event())
            return Info.from_event((await _until(c, "info"))[-1])

    info = serve(stages, test)
    models = {m.name: m for p in info.asr for m in p.models}
    assert "whisper-tiny-en" in models and "en-US" in models["whisper-tiny-en"].languages
    assert all(m.installed for m in models.values())
    voices = {v.name: v for p in info.tts for v in p.voices}
    assert "en-US" in voices["piper-en-us-joe-medium"].languages
    assert info.tts[0].supports_synthesize_streaming
    assert "en-US" in info.handle[0].models[0].languages
    assert info.wake == []  # no wake model trained in this data folder
    assert info.intent == []  # edge handles the text itself: a handle program, not an intent one


# --- speech to text ---------------------------------------------------------------------------------------


def test_transcribe_a_real_recording(stages: Stages) -> None:
    pcm, rate = _wav("testing_routine.wav")
    stereo = np.repeat(np.frombuffer(pcm, dtype="<i2"), 2).tobytes()  # the same speech as 2 channels

    async def test(address: str, _: EdgeServer) -> list[Transcript]:
        out = []
        async with _client(address) as c:
            for data, channels in ((pcm, 1), (stereo, 2)):
                await c.write_event(Transcribe(language="en").event())
                await _send_audio(c, data, rate, channels)
                out.append(Transcript.from_event((await _until(c, "transcript"))[-1]))
        return out

    for transcript in serve(stages, test):
        assert "testing routine" in transcript.text.lower()
        assert transcript.language == "en-US"


def test_unknown_language_gets_an_error_and_the_connection_goes_on(stages: Stages) -> None:
    pcm, rate = _wav("yes_563aa4e6_nohash_2.wav")

    async def test(address: str, _: EdgeServer) -> tuple[Event, Event]:
        async with _client(address) as c:
            await c.write_event(Transcribe(language="tlh").event())  # Klingon: no model
            await _send_audio(c, pcm, rate)
            error = (await _until(c, "error"))[-1]
            await c.write_event(Describe().event())
            return error, (await _until(c, "info"))[-1]

    error, info = serve(stages, test)
    assert error.data["code"] == "unavailable" and "tlh" in error.data["text"]
    assert info.type == "info"


# --- text to speech ---------------------------------------------------------------------------------------


def test_synthesize_streams_audio_sentence_by_sentence(stages: Stages) -> None:
    async def test(address: str, _: EdgeServer) -> tuple[list[Event], list[Event]]:
        async with _client(address) as c:
            await c.write_event(Synthesize(text="Hello there. It is seven o'clock.",
                                           voice=SynthesizeVoice(language="en_US")).event())
            whole = await _until(c, "audio-stop")
            # streamed request (Home Assistant's way): the full text repeats inside it and is ignored
            await c.write_event(SynthesizeStart(voice=SynthesizeVoice(name="piper-en-us-joe-medium")).event())
            await c.write_event(SynthesizeChunk(text="Good morning. How ").event())
            await c.write_event(SynthesizeChunk(text="are you?").event())
            await c.write_event(Synthesize(text="Good morning. How are you?").event())
            await c.write_event(SynthesizeStop().event())
            streamed = await _until(c, "synthesize-stopped")
        return whole, streamed

    whole, streamed = serve(stages, test)
    assert whole[0].type == "audio-start" and whole[0].data["rate"] == 22050
    chunks = [e for e in whole if e.type == "audio-chunk"]
    seconds = sum(len(e.payload or b"") for e in chunks) / 2 / 22050
    assert len(chunks) > 5 and 1.0 < seconds < 6.0
    assert [e.type for e in streamed].count("audio-start") == 2  # one per sentence batch
    assert streamed[-1].type == "synthesize-stopped"


# --- intent handling and dialogue ------------------------------------------------------------------------


def test_two_turn_dialogue_is_kept_per_client(stages: Stages) -> None:
    async def ask(c: AsyncClient, text: str, **context: str) -> Event:
        await c.write_event(Transcript(text=text, context=context or None).event())
        return (await _until(c, "handled", "not-handled"))[-1]

    async def test(address: str, _: EdgeServer) -> dict[str, Event]:
        out = {}
        async with _client(address) as a, _client(address) as b:
            out["a1"] = await ask(a, "set an alarm")
            out["b1"] = await ask(b, "what is two plus two")
            out["a2"] = await ask(a, "seven a.m.")
        # Home Assistant: a new connection per turn, the conversation in context.conversation_id
        async with _client(address) as c:
            out["h1"] = await ask(c, "set an alarm", conversation_id="ha-1")
        async with _client(address) as c:
            await c.write_event(Recognize(text="eight a.m.", context={"conversation_id": "ha-1"}).event())
            out["h2"] = (await _until(c, "handled", "not-handled"))[-1]
        return out

    out = serve(stages, test, Limits(idle_timeout_s=30.0, max_sessions=4))  # a waits while b is answered
    assert out["a1"].type == "handled" and "what time" in out["a1"].data["text"].lower()
    assert out["a1"].data["context"]["expects_answer"] is True
    assert "four" in out["b1"].data["text"].lower()  # spoken-ready: "The answer is four."
    assert out["a2"].type == "handled" and "alarm set for seven" in out["a2"].data["text"].lower()
    assert out["a2"].data["context"]["intent"] == "alarm_set"
    assert "what time" in out["h1"].data["text"].lower()
    assert "alarm set for eight" in out["h2"].data["text"].lower()
    assert out["h2"].data["context"]["intent"] == "alarm_set"


def test_wake_detection_says_when_no_model_is_trained(stages: Stages) -> None:
    async def test(address: str, _: EdgeServer) -> dict:
        async with _client(address) as c:
            await c.write_event(Detect(names=["hey edge"]).event())
            return (await _until(c, "error"))[-1].data

    error = serve(stages, test)
    assert error["code"] == "unavailable" and "edge wake train" in error["text"]


# --- a satellite's turn -----------------------------------------------------------------------------------


def test_satellite_turn_audio_in_reply_audio_out(stages: Stages, tmp_path: Path) -> None:
    from edge.audio import read_audio
    from edge.audio.sink import WavSink
    from edge.pipeline.loader import load_endpointer
    from edge.serve.room import Gate, run_room, utterances
    from edge.serve.satellite import SatelliteClient

    seen: list[Any] = []
    out = tmp_path / "reply.wav"

    async def test(address: str, _: EdgeServer) -> int:
        client = SatelliteClient(address, "kitchen", attempts=3)
        sink = WavSink(out)
        audio = read_audio(AUDIO / "testing_routine.wav")
        chunks = [audio[i : i + 512] for i in range(0, audio.size, 512)]
        try:
            gate = Gate(False)
            return await run_room(client, utterances(chunks, load_endpointer(stages.profile), gate), sink, gate,
                                  seen.append)
        finally:
            await client.close()
            sink.close()

    assert serve(stages, test) == 1
    result = seen[0]
    assert "testing routine" in result.transcript.lower()
    assert result.reply and result.handled is not None
    assert result.transcript_ms <= result.reply_ms <= result.first_audio_ms <= result.total_ms
    assert result.audio_s > 0.3
    with wave.open(str(out)) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(result.audio_s, abs=0.05)


def test_satellite_reconnects_when_the_server_comes_back(stages: Stages) -> None:
    from edge.serve.satellite import SatelliteClient

    port = _free_port()
    pcm, _ = _wav("yes_563aa4e6_nohash_2.wav")
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768

    async def main() -> tuple[str, str, int]:
        notes: list[str] = []
        client = SatelliteClient(f"tcp://127.0.0.1:{port}", "hall", backoff_s=(0.1, 0.4), progress=notes.append)
        server = EdgeServer(stages, TEST_LIMITS)

        async def later() -> None:
            await asyncio.sleep(0.5)  # the satellite is retrying by now
            await server.start(f"tcp://127.0.0.1:{port}")

        starting = asyncio.create_task(later())
        first = await client.turn(audio)
        await server.stop()  # the server restarts between two turns
        await starting
        server = EdgeServer(stages, TEST_LIMITS)
        await server.start(f"tcp://127.0.0.1:{port}")
        try:
            second = await client.turn(audio)
        finally:
            await client.close()
            await server.stop()
        assert any("retrying" in n for n in notes)
        return first.transcript, second.transcript, client.reconnects

    first, second, reconnects = asyncio.run(asyncio.wait_for(main(), 60))
    assert "yes" in first.lower() and "yes" in second.lower()
    assert reconnects == 1


def _spoken(stages: Stages, text: str) -> np.ndarray:
    """``text`` in the server's own voice, at 16 kHz: a satellite's utterance without a recording."""
    from edge.audio.resample import resample
    from edge.serve import services

    pieces: list[np.ndarray] = []
    rates: list[int] = []

    def keep(samples: np.ndarray, rate: int) -> bool:
        pieces.append(samples)
        rates.append(rate)
        return True

    services.synthesize(stages, text, None, "en-US", keep)
    speech = resample(np.concatenate(pieces), rates[0], 16000)
    pad = np.zeros(8000, dtype=np.float32)
    return np.concatenate([pad, speech, pad]).astype(np.float32)


def test_timer_set_by_a_satellite_is_announced_to_that_satellite(stages: Stages, tmp_path: Path) -> None:
    """The server's scheduler fires a timer set by voice through a satellite, and speaks it in that room only."""
    from edge.serve.satellite import Announced, SatelliteClient

    audio = _spoken(stages, "Set a timer for three seconds.")

    async def test(address: str, server: EdgeServer) -> tuple[Any, list[Announced], int, list[Announced]]:
        heard: list[Announced] = []
        elsewhere: list[Announced] = []
        samples: list[int] = []
        arrived = asyncio.Event()
        kitchen = SatelliteClient(address, "kitchen", attempts=3, keepalive_s=0.2)
        hall = SatelliteClient(address, "hall", attempts=3, keepalive_s=0.2)
        kitchen.announcements.on_audio = lambda x, rate: samples.append(x.size)
        kitchen.announcements.on_announced = lambda a: (heard.append(a), arrived.set())
        hall.announcements.on_announced = elsewhere.append
        try:
            await hall.connect()
            result = await kitchen.turn(audio)
            async with asyncio.timeout(30):  # the timer is due 3 s after the turn; generous for a loaded machine
                await arrived.wait()
            await hall.turn(np.zeros(1600, dtype=np.float32))  # a whole turn later: anything sent to hall is in
            return result, heard, sum(samples), elsewhere
        finally:
            await kitchen.close()
            await hall.close()

    result, heard, n_samples, elsewhere = serve(stages, test, Limits(idle_timeout_s=1.0, max_sessions=4))
    assert "timer" in result.transcript.lower() and "timer set for three seconds" in (result.reply or "").lower()
    assert len(heard) == 1 and "timer" in heard[0].text.lower() and heard[0].language == "en-US"
    assert heard[0].audio_s > 0.3 and n_samples > 0.3 * 16000
    assert elsewhere == []


# --- limits and hostile clients ---------------------------------------------------------------------------


async def _raw(address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = address[len("tcp://"):].rsplit(":", 1)
    return await asyncio.open_connection(host, int(port))


async def _error_then_close(reader: asyncio.StreamReader, within: float) -> tuple[dict, float]:
    """The error event the server sends before it closes the connection, and how long both took."""
    t0 = time.perf_counter()
    async with asyncio.timeout(within):
        header = json.loads(await reader.readline())
        data = json.loads(await reader.readexactly(header["data_length"]))
        rest = await reader.read()  # EOF: the server closed it
    assert header["type"] == "error" and rest == b""
    return data, time.perf_counter() - t0


def test_garbage_header_and_huge_payload_are_refused_at_once(stages: Stages) -> None:
    async def test(address: str, server: EdgeServer) -> list[dict]:
        out = []
        for line in (b"\x00\xffnot json at all\n",
                     b'{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, '
                     b'"payload_length": 2147483648}\n',
                     b'{"type": "transcript", "data_length": -5}\n',
                     b'{"type": "x", "pad": "' + b"a" * 20000 + b'"}\n'):
            reader, writer = await _raw(address)
            writer.write(line)
            data, took = await _error_then_close(reader, 2.0)
            assert took < 0.5
            out.append(data)
            writer.close()
        async with _client(address) as c:  # and the server goes on serving
            await c.write_event(Describe().event())
            await _until(c, "info")
        return out

    codes = [d["code"] for d in serve(stages, test)]
    assert codes == ["bad_header", "too_large", "bad_header", "too_large"]


def test_slow_client_is_dropped_while_a_good_turn_completes(stages: Stages) -> None:
    pcm, rate = _wav("testing_routine.wav")

    async def slowloris(address: str) -> tuple[dict, float]:
        reader, writer = await _raw(address)
        t0 = time.perf_counter()

        async def drip() -> None:
            for b in b'{"type": "describe"}\n':
                writer.write(bytes([b]))
                await asyncio.sleep(0.3)  # one byte at a time, never a whole event within the 1 s limit

        dripping = asyncio.create_task(drip())
        data, _ = await _error_then_close(reader, 5.0)
        dripping.cancel()
        writer.close()
        return data, time.perf_counter() - t0

    async def good(address: str) -> str:
        async with _client(address) as c:
            await c.write_event(Transcribe().event())
            await _send_audio(c, pcm, rate)
            return Transcript.from_event((await _until(c, "transcript"))[-1]).text

    async def test(address: str, _: EdgeServer) -> tuple[Any, str]:
        slow, text = await asyncio.gather(slowloris(address), good(address))
        return slow, text

    (error, took), text = serve(stages, test)
    assert error["code"] == "timeout" and 0.9 < took < 2.5
    assert "testing routine" in text.lower()


def test_connection_flood_is_capped_and_cleared(stages: Stages) -> None:
    pcm, rate = _wav("testing_routine.wav")

    async def test(address: str, server: EdgeServer) -> tuple[str, list[str], int]:
        async with _client(address) as good:
            await good.write_event(Describe().event())
            await _until(good, "info")  # admitted before the flood
            flood = [await _raw(address) for _ in range(30)]
            await good.write_event(Transcribe().event())
            await _send_audio(good, pcm, rate)
            text = Transcript.from_event((await _until(good, "transcript"))[-1]).text
        codes = []
        for reader, writer in flood:  # every one is closed by the server: refused at once, or after the idle limit
            data, _ = await _error_then_close(reader, 3.0)
            codes.append(data["code"])
            writer.close()
        async with _client(address) as after:
            await after.write_event(Describe().event())
            await _until(after, "info")
        return text, codes, server.refused

    text, codes, refused = serve(stages, test)
    assert "testing routine" in text.lower()
    assert codes.count("busy") == refused >= 26 and set(codes) <= {"busy", "timeout"}


def test_audio_longer_than_the_limit_is_refused(stages: Stages) -> None:
    limits = Limits(max_audio_s=1.0, idle_timeout_s=2.0, max_sessions=2)
    pcm, rate = _wav("testing_routine.wav")  # ~3 s

    async def test(address: str, _: EdgeServer) -> dict:
        async with _client(address) as c:
            await c.write_event(Transcribe().event())
            try:
                await _send_audio(c, pcm, rate)
            except ConnectionError:
                pass
            return (await _until(c, "error"))[-1].data

    assert serve(stages, test, limits)["code"] == "too_large"


def test_shared_token(stages: Stages) -> None:
    from edge.serve.satellite import SatelliteClient, SatelliteError

    async def test(address: str, _: EdgeServer) -> tuple[dict, str]:
        async with _client(address) as c:
            await c.write_event(Describe().event())  # open without the token
            await _until(c, "info")
            await c.write_event(Transcript(text="what time is it").event())
            refused = (await _until(c, "error"))[-1].data
        wrong = SatelliteClient(address, "den", token="guess", attempts=1)
        with pytest.raises(SatelliteError, match="token"):
            await wrong.connect()
        right = SatelliteClient(address, "den", token="s3cret", attempts=1)
        await right.connect()
        await right.close()
        return refused, "ok"

    refused, ok = serve(stages, test, token="s3cret")
    assert refused["code"] == "unauthorized" and ok == "ok"


def test_unix_socket(stages: Stages, tmp_path: Path) -> None:
    path = tmp_path / "edge.sock"

    async def test(address: str, _: EdgeServer) -> str:
        assert address == f"unix://{path}"
        async with _client(address) as c:
            await c.write_event(Recognize(text="what is two plus two").event())
            return (await _until(c, "handled"))[-1].data["text"]

    assert "four" in serve(stages, test, uri=f"unix://{path}").lower()


# --- load ----------------------------------------------------------------------------------------------


def test_load_four_satellites_at_once(stages: Stages) -> None:
    from edge.serve.satellite import SatelliteClient

    pcm, _ = _wav("testing_routine.wav")
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    n = 4

    async def test(address: str, _: EdgeServer) -> list[Any]:
        clients = [SatelliteClient(address, f"room-{i}", attempts=2) for i in range(n)]
        try:
            return await asyncio.gather(*(c.turn(audio) for c in clients))
        finally:
            await asyncio.gather(*(c.close() for c in clients))

    results = serve(stages, test, Limits(max_sessions=n, idle_timeout_s=10.0))
    assert len(results) == n
    assert all("testing routine" in r.transcript.lower() and r.audio_s > 0.3 for r in results)
    assert max(r.first_audio_ms for r in results) < 20_000  # bounded: every one answered, none starved


# --- the command line --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_refuses_the_lan_without_the_flag() -> None:
    done = subprocess.run([sys.executable, "-m", "edge.cli", "serve", "--uri", "tcp://0.0.0.0:10799"],
                          capture_output=True, text=True, timeout=60, cwd=REPO, env={**os.environ})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--lan" in done.stderr and "Traceback" not in done.stderr


def test_satellite_command_with_a_wav(stages: Stages, tmp_path: Path) -> None:
    out = tmp_path / "reply.wav"

    async def test(address: str, _: EdgeServer) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "edge.cli", "satellite", "--server", address, "--input",
            str(AUDIO / "testing_routine.wav"), "--output", str(out), "--name", "study", "--json", "--attempts", "3",
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 50)
        return proc.returncode or 0, stdout.decode(), stderr.decode()

    rc, stdout, stderr = serve(stages, test)
    assert rc == 0, stderr
    turns = [json.loads(line) for line in stdout.splitlines()]
    assert len(turns) == 1 and "testing routine" in turns[0]["transcript"].lower()
    assert turns[0]["reply"] and turns[0]["first_audio_ms"] > 0
    with wave.open(str(out)) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(turns[0]["audio_s"], abs=0.05)
