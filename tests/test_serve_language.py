"""`edge serve --locale auto`: each turn's language identified from real recordings, remembered per room.

One server (desktop profile, multilingual Whisper base, loaded once for the module) driven by the wyoming package's
own client: a German command then an English one on the same connection, each understood and answered in its
language; two satellites keep their own languages; a turn Whisper is unsure of, or too short to trust, keeps the
room's language (the pipeline's rule, :mod:`edge.pipeline.language`).
"""

from __future__ import annotations

import asyncio
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("wyoming", reason="the serve extra is not installed: pip install -e '.[serve]'")

from wyoming.asr import Transcribe  # noqa: E402
from wyoming.audio import AudioChunk, AudioStart, AudioStop  # noqa: E402
from wyoming.client import AsyncClient  # noqa: E402
from wyoming.event import Event  # noqa: E402
from wyoming.pipeline import PipelineStage, RunPipeline  # noqa: E402

from edge.serve.language import HeardTurn, heard_context, wants_identification  # noqa: E402
from edge.serve.limits import Limits  # noqa: E402
from edge.serve.server import EdgeServer  # noqa: E402
from edge.serve.stages import StageError, Stages  # noqa: E402

AUDIO = Path(__file__).resolve().parent / "fixtures" / "audio"
GERMAN = "rhino_within_context_de.wav"  # "mache alle Licht aus" (turn off all the lights), 2.5 s
ENGLISH = "testing_routine.wav"  # LibriSpeech: "This isn't part of your testing routine, is it?"
ITALIAN = "rhino_within_context_it.wav"  # "Spegni la luce nel bagno"
YES = "yes_563aa4e6_nohash_2.wav"  # "yes": Whisper base is not sure which language (en 0.37)
HAO_ZHU = "porcupine_hao_zhu_zh.wav"  # 豪猪, a Chinese wake word alone: zh 0.85 from 0.4 s of speech
LIMITS = Limits(idle_timeout_s=30.0, turn_timeout_s=20.0, session_timeout_s=120.0, write_timeout_s=10.0,
                max_sessions=4, work_timeout_s=60.0)


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stages]:
    """A server's stages run with --locale auto (rooms start in en-US), models loaded once."""
    from edge.profiles import load_profile

    data = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", str(data))
        s = Stages(load_profile("desktop"), locales=["en-US", "de-DE", "it-IT", "zh-CN"], default_locale="auto",
                   data_dir=data / "edge", voices=1)
        s.preload()
        yield s


def _pcm(name: str) -> bytes:
    with wave.open(str(AUDIO / name)) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (16000, 2, 1)
        return w.readframes(w.getnframes())


async def _turn(client: AsyncClient, name: str, end: str = "handle", **data: Any) -> dict[str, Event]:
    """One satellite turn (run-pipeline from asr, no language named): its events by type, up to the end stage."""
    event = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage(end)).event()
    event.data.update(data)
    await client.write_event(event)
    await _audio(client, _pcm(name))
    last = {"handle": ("handled", "not-handled"), "tts": ("audio-stop",), "asr": ("transcript",)}[end]
    events: dict[str, Event] = {}
    while True:
        got = await client.read_event()
        assert got is not None, f"connection closed during {name}"
        assert got.type != "error", got.data
        events.setdefault(got.type, got)
        if got.type in last:
            return events


async def _audio(client: AsyncClient, pcm: bytes) -> None:
    await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
    for i in range(0, len(pcm), 8192):
        await client.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=pcm[i : i + 8192]).event())
    await client.write_event(AudioStop().event())


def _serve(stages: Stages, test: Any) -> Any:
    async def main() -> Any:
        server = EdgeServer(stages, LIMITS)
        address = await server.start("tcp://127.0.0.1:0")
        try:
            return await asyncio.wait_for(test(address), 120)
        finally:
            await server.stop()

    return asyncio.run(main())


def _client(address: str) -> AsyncClient:
    return AsyncClient.from_uri(address, connect_timeout=5, read_timeout=60)


def _answer(events: dict[str, Event]) -> dict[str, Any]:
    handled = events.get("handled") or events["not-handled"]
    return dict(handled.data)


def test_german_then_english_on_one_connection_each_answered_in_its_language(stages: Stages) -> None:
    async def test(address: str) -> list[dict[str, Event]]:
        async with _client(address) as c:
            return [await _turn(c, GERMAN, "tts"), await _turn(c, ENGLISH)]

    german, english = _serve(stages, test)
    heard = german["transcript"].data
    assert heard["language"] == "de-DE" and "licht" in heard["text"].lower(), heard
    assert heard["context"]["language_heard"] == "de" and heard["context"]["language_probability"] > 0.9
    assert heard["context"]["language_switched"] is True
    reply = _answer(german)
    assert reply["context"]["language"] == "de-DE" and reply["context"]["intent"] == "iot_hue_lightoff"
    assert "licht" in reply["text"].lower(), reply["text"]  # "Ich habe alle Lichter ausgeschaltet."
    assert german["audio-start"].data["rate"] > 0  # spoken (espeak-ng's German voice)
    heard = english["transcript"].data
    assert heard["language"] == "en-US" and "testing routine" in heard["text"].lower(), heard
    assert _answer(english)["context"]["language"] == "en-US"


def test_two_satellites_keep_their_own_language_and_unsure_or_short_turns_keep_it(stages: Stages) -> None:
    async def test(address: str) -> dict[str, dict[str, Event]]:
        out = {}
        async with _client(address) as kitchen, _client(address) as hall:
            out["kitchen_it"] = await _turn(kitchen, ITALIAN, satellite="kitchen")
            out["hall_zh"] = await _turn(hall, HAO_ZHU, "asr", satellite="hall")  # short: keeps en-US
            out["kitchen_yes"] = await _turn(kitchen, YES, satellite="kitchen")  # unsure: keeps it-IT
            out["hall_yes"] = await _turn(hall, YES, satellite="hall")  # unsure: keeps en-US, not the kitchen's
        return out

    out = _serve(stages, test)
    assert out["kitchen_it"]["transcript"].data["language"] == "it-IT"
    assert _answer(out["kitchen_it"])["context"]["language"] == "it-IT"
    short = out["hall_zh"]["transcript"].data
    assert short["language"] == "en-US" and short["context"]["language_heard"] == "zh", short
    assert "too short to tell" in short["context"]["language_kept"]
    assert short["context"]["language_confident"] is False
    unsure = out["kitchen_yes"]["transcript"].data
    assert unsure["language"] == "it-IT" and unsure["context"]["language_confident"] is False, unsure
    assert _answer(out["kitchen_yes"])["context"]["language"] == "it-IT"
    assert out["hall_yes"]["transcript"].data["language"] == "en-US"
    assert stages.identifier().locale_of("satellite:kitchen") == "it-IT"


def test_a_transcribe_request_for_auto_identifies_and_text_follows_the_room(stages: Stages) -> None:
    async def test(address: str) -> tuple[Event, Event]:
        async with _client(address) as c:
            await c.write_event(Transcribe(language="auto").event())
            await _audio(c, _pcm(GERMAN))
            transcript = await c.read_event()
            # a typed turn on the same connection, no language named: the room's language (German)
            await c.write_event(Event(type="transcript", data={"text": "wie spät ist es"}))
            handled = await c.read_event()
            assert transcript is not None and handled is not None
            return transcript, handled

    transcript, handled = _serve(stages, test)
    assert transcript.type == "transcript" and transcript.data["language"] == "de-DE"
    assert handled.data["context"]["language"] == "de-DE", handled.data


# --- units -----------------------------------------------------------------------------------------------


def test_which_requests_ask_for_identification() -> None:
    assert wants_identification(None, True) and wants_identification("", True) and wants_identification("auto", False)
    assert not wants_identification(None, False) and not wants_identification("de", True)
    assert not wants_identification("en-US", True)
    assert heard_context(None, None) is None and heard_context({"a": 1}, None) == {"a": 1}
    ctx = heard_context({"conversation_id": "x"}, HeardTurn("ja", "de-DE", "w", "ja", 0.3, False, False))
    assert ctx == {"conversation_id": "x", "language_heard": "ja", "language_probability": 0.3,
                   "language_confident": False, "language_switched": False}


def test_auto_with_a_locale_that_is_not_massive_is_refused_in_one_line(stages: Stages) -> None:
    with pytest.raises(StageError, match="not a MASSIVE locale"):
        Stages(stages.profile, default_locale="auto:xx-YY", inventory=stages.inventory)
    german = Stages(stages.profile, default_locale="auto:de-de", inventory=stages.inventory)
    assert german.auto and german.default_locale == "de-DE"
    plain = Stages(stages.profile, default_locale="de-DE", inventory=stages.inventory)
    assert not plain.auto and plain.default_locale == "de-DE"


def test_serve_runs_auto_by_default_only_where_the_profile_has_multilingual_whisper() -> None:
    from edge.asr.auto import auto_unavailable
    from edge.commands.serve import _default_locale
    from edge.profiles import load_profile

    assert auto_unavailable(load_profile("desktop")) == ""
    assert _default_locale(load_profile("desktop")) == "auto"
    low = load_profile("low-memory")
    assert "hears no language but those it names" in auto_unavailable(low)
    assert _default_locale(low) == "en-US"
