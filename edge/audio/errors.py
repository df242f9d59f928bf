"""Errors and warnings raised by the audio readers and writers."""

from __future__ import annotations

from edge.errors import EdgeError


class AudioFormatError(EdgeError, ValueError):
    """An audio file cannot be read; the message is one line naming the file and what to do."""


class AudioWriteError(EdgeError, OSError):
    """An audio file cannot be written (for example, the disk is full); the target is left untouched."""


class AudioWarning(UserWarning):
    """Audio was read, but something in it was repaired (for example NaN samples replaced by 0)."""


class AudioDeviceError(EdgeError, OSError):
    """A microphone or speaker cannot be used; the message is one line saying what to do."""
