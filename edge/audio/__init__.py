"""Audio in: file and stream sources, resampling to 16 kHz mono, and VAD endpointing.

Everything downstream of this package sees float32 mono samples at 16 kHz.
"""

from edge.audio.endpoint import Endpointer, EndpointEvent, Segment, SpeechEnd, SpeechStart, split_utterances
from edge.audio.errors import AudioFormatError, AudioWarning, AudioWriteError
from edge.audio.pcm import S16LE, SampleFormat
from edge.audio.resample import TARGET_RATE, Resampler, resample
from edge.audio.source import AudioReader, open_audio, read_audio, stream_audio, stream_raw_pcm
from edge.audio.vad import SileroVad, VadModelMissingError, default_vad_model_path
from edge.audio.wav import WavInfo, WavReader, write_wav

__all__ = [
    "S16LE",
    "TARGET_RATE",
    "AudioFormatError",
    "AudioReader",
    "AudioWarning",
    "AudioWriteError",
    "EndpointEvent",
    "Endpointer",
    "Resampler",
    "SampleFormat",
    "Segment",
    "SileroVad",
    "SpeechEnd",
    "SpeechStart",
    "VadModelMissingError",
    "WavInfo",
    "WavReader",
    "default_vad_model_path",
    "open_audio",
    "read_audio",
    "resample",
    "split_utterances",
    "stream_audio",
    "stream_raw_pcm",
    "write_wav",
]
