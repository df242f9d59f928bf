"""The one audio rate: every stage (VAD, ASR, wake word) works on 16 kHz mono float32; TTS output is resampled
by the sink. Positions in the audio stream are counted in samples at this rate."""

RATE = 16000

__all__ = ["RATE"]
