"""`edge serve`'s wake word service with a model trained here (slow: about 40 s to train it)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("wyoming", reason="the serve extra is not installed: pip install -e '.[serve]'")

from wyoming.audio import AudioChunk, AudioStart, AudioStop  # noqa: E402
from wyoming.client import AsyncClient  # noqa: E402
from wyoming.info import Describe, Info  # noqa: E402
from wyoming.wake import Detect  # noqa: E402

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")]
PHRASE = "hey edge"


def test_describe_and_detect_a_trained_wake_phrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from edge.profiles import load_profile
    from edge.serve.limits import Limits
    from edge.serve.server import EdgeServer
    from edge.serve.stages import Stages
    from edge.wake import default_model_path, synth, train_wake_model

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    train_wake_model(PHRASE, default_model_path(PHRASE), fast=True, seed=0)
    stages = Stages(load_profile("desktop"), locales=["en-US"], data_dir=tmp_path / "edge")
    voice = synth.ESPEAK_HELD_OUT[0]
    phrase = synth.trim_silence(synth.espeak_render(PHRASE, voice, 165, 55)) * np.float32(0.5)
    silence = np.zeros(16000, np.float32)
    pcm = (np.concatenate([silence, phrase, silence]) * 32767).astype("<i2").tobytes()

    async def main() -> tuple[Info, list[str], str | None]:
        server = EdgeServer(stages, Limits(idle_timeout_s=5))
        address = await server.start("tcp://127.0.0.1:0")
        try:
            async with AsyncClient.from_uri(address, read_timeout=20) as c:
                await c.write_event(Describe().event())
                info = Info.from_event(await c.read_event())
                types, name = [], None
                for audio in (np.zeros(16000 * 2, "<i2").tobytes(), pcm):  # silence first: not-detected
                    await c.write_event(Detect(names=[PHRASE]).event())
                    await c.write_event(AudioStart(rate=16000, width=2, channels=1).event())
                    for i in range(0, len(audio), 2048):
                        await c.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                                       audio=audio[i : i + 2048]).event())
                    await c.write_event(AudioStop().event())
                    event = await c.read_event()
                    types.append(event.type)
                    name = event.data.get("name", name)
                return info, types, name
        finally:
            await server.stop()

    info, types, name = asyncio.run(main())
    assert [m.phrase for p in info.wake for m in p.models] == [PHRASE]
    assert types == ["not-detected", "detection"] and name == PHRASE
