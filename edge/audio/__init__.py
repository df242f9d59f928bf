"""Audio in and out: file, stream and microphone sources, resampling to 16 kHz mono, VAD endpointing, and sinks.

Everything downstream of this package sees float32 mono samples at 16 kHz; sinks take any rate.
"""

from edge.audio.devices import DeviceInfo, MicrophoneSource, list_devices, resolve_device
from edge.audio.endpoint import Endpointer, EndpointEvent, Segment, SpeechEnd, SpeechStart, split_utterances
from edge.audio.errors import AudioDeviceError, AudioFormatError, AudioWarning, AudioWriteError
from edge.audio.pcm import S16LE, SampleFormat
from edge.audio.resample import TARGET_RATE, Resampler, resample
from edge.audio.sink import AudioSink, NullSink, SoundDeviceSink, WavSink
from edge.audio.source import AudioReader, open_audio, read_audio, stream_audio, stream_raw_pcm
from edge.audio.vad import SileroVad, VadModelMissingError, default_vad_model_path
from edge.audio.wav import WavInfo, WavReader, write_wav

__all__ = [
    "S16LE",
    "TARGET_RATE",
    "AudioDeviceError",
    "AudioFormatError",
    "AudioReader",
    "AudioSink",
    "AudioWarning",
    "AudioWriteError",
    "DeviceInfo",
    "EndpointEvent",
    "Endpointer",
    "MicrophoneSource",
    "NullSink",
    "Resampler",
    "SampleFormat",
    "Segment",
    "SileroVad",
    "SoundDeviceSink",
    "SpeechEnd",
    "SpeechStart",
    "VadModelMissingError",
    "WavInfo",
    "WavReader",
    "WavSink",
    "default_vad_model_path",
    "list_devices",
    "open_audio",
    "read_audio",
    "resample",
    "resolve_device",
    "split_utterances",
    "stream_audio",
    "stream_raw_pcm",
    "write_wav",
]
