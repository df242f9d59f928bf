"""espeak-ng formant TTS through its command line: one subprocess per sentence, WAV on stdout.

It speaks about a hundred languages in a few MB, robotic but intelligible, so it is the fallback wherever
no Piper voice is installed. The text goes in on stdin (never through a shell).
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import warnings

import numpy as np

from edge.audio.errors import AudioFormatError, AudioWarning
from edge.audio.wav import WavReader
from edge.tts.base import TtsEngine, TtsError, TtsWarning

__all__ = ["ESPEAK_VOICES", "NOT_FOUND", "UNREADABLE", "EspeakTts", "espeak_cannot_read", "espeak_voice_for",
           "espeak_voices"]

NOT_FOUND = "espeak-ng not found: install it (Debian: apt-get install espeak-ng)"
BASE_WPM = 175
_TIMEOUT_S = 60

# Every MASSIVE locale (and a few regional variants) -> espeak-ng voice.
ESPEAK_VOICES = {
    "af-za": "af", "am-et": "am", "ar-sa": "ar", "az-az": "az", "bn-bd": "bn", "ca-es": "ca", "cy-gb": "cy",
    "da-dk": "da", "de-de": "de", "el-gr": "el", "en-us": "en-us", "en-gb": "en-gb", "es-es": "es",
    "es-mx": "es-419", "fa-ir": "fa", "fi-fi": "fi", "fr-fr": "fr-fr", "fr-be": "fr-be", "fr-ch": "fr-ch",
    "he-il": "he", "hi-in": "hi", "hu-hu": "hu", "hy-am": "hy", "id-id": "id", "is-is": "is", "it-it": "it",
    "ja-jp": "ja", "jv-id": "jv", "ka-ge": "ka", "km-kh": "km", "kn-in": "kn", "ko-kr": "ko", "lv-lv": "lv",
    "ml-in": "ml", "mn-mn": "mn", "ms-my": "ms", "my-mm": "my", "nb-no": "nb", "nl-nl": "nl", "pl-pl": "pl",
    "pt-pt": "pt", "pt-br": "pt-br", "ro-ro": "ro", "ru-ru": "ru", "sl-sl": "sl", "sq-al": "sq", "sv-se": "sv",
    "sw-ke": "sw", "ta-in": "ta", "te-in": "te", "th-th": "th", "tl-ph": "tl", "tr-tr": "tr", "ur-pk": "ur",
    "vi-vn": "vi", "zh-cn": "cmn", "zh-tw": "cmn", "zh-hk": "yue",
}
_LANGUAGE_VOICES = {"en": "en-us", "fr": "fr-fr", "zh": "cmn", "no": "nb", "nn": "nb", "fil": "tl"}
# The closest voice espeak-ng 1.51 has for a language it lacks (same family or script); used with a warning.
_CLOSEST = {"jv": "id", "su": "id", "tl": "id", "mn": "ru"}

# Languages whose script espeak-ng 1.51 cannot read aloud: a reply in them is printed, not spoken.
UNREADABLE = {
    "ja": "espeak-ng cannot read Japanese kanji (it says \"Chinese letter\" for each)",
    "km": "espeak-ng has no Khmer voice (an English voice cannot read Khmer script)",
}


def espeak_cannot_read(locale: str) -> str | None:
    """Why espeak-ng cannot speak replies in ``locale``, or None where it can."""
    return UNREADABLE.get((locale or "").replace("_", "-").split("-")[0].lower())


def _find_binary(binary: str | None) -> str:
    path = shutil.which(binary or "espeak-ng")
    if path is None:
        raise TtsError(NOT_FOUND)
    return path


@functools.lru_cache(maxsize=4)
def espeak_voices(binary: str = "espeak-ng") -> frozenset[str]:
    """Names ``-v`` accepts: language codes, voice names and voice files, lower-cased."""
    try:
        out = subprocess.run([_find_binary(binary), "--voices"], capture_output=True, text=True, check=True,
                             timeout=_TIMEOUT_S).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise TtsError(f"espeak-ng --voices failed ({exc}): reinstall espeak-ng (Debian: apt-get install "
                       f"espeak-ng)") from None
    names: set[str] = set()
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5:
            names.update(c.lower() for c in (cols[1], cols[3], cols[4]))
    return frozenset(names)


def espeak_voice_for(locale: str, available: frozenset[str]) -> str:
    """The espeak-ng voice for a locale; the closest (or English) with a :class:`TtsWarning` if it has none."""
    tag = (locale or "en").replace("_", "-").lower()
    lang = tag.split("-")[0]
    for voice in (ESPEAK_VOICES.get(tag), _LANGUAGE_VOICES.get(lang), lang):
        if voice and voice in available:
            return voice
    closest = _CLOSEST.get(lang)
    voice = closest if closest in available else "en-us" if "en-us" in available else "en"
    warnings.warn(f"espeak-ng has no voice for {locale}; using {voice!r} instead", TtsWarning, stacklevel=3)
    return voice


class EspeakTts(TtsEngine):
    """espeak-ng. ``speed`` scales 175 words per minute; ``pitch`` is 0-99 (50 normal); ``voice`` overrides the
    locale's voice and may carry a variant ("en-us+f3", see ``espeak-ng --voices=variant``)."""

    name = "espeak-ng"

    def __init__(
        self,
        locale: str = "en-US",
        voice: str | None = None,
        speed: float = 1.0,
        pitch: int = 50,
        binary: str | None = None,
    ) -> None:
        self.binary = _find_binary(binary)
        if not speed > 0:
            raise TtsError(f"speed must be a positive factor (1.0 = normal), got {speed!r}")
        if not isinstance(pitch, int) or not 0 <= pitch <= 99:
            raise TtsError(f"espeak-ng pitch must be an integer 0-99 (50 = normal), got {pitch!r}")
        available = espeak_voices(self.binary)
        if voice:
            if voice.split("+")[0].lower() not in available:
                raise TtsError(f"espeak-ng has no voice {voice!r}: list them with `espeak-ng --voices`")
            self.voice = voice
        else:
            self.voice = espeak_voice_for(locale, available)
        self.locale = locale
        self.speed = float(speed)
        self.wpm = max(80, min(450, round(BASE_WPM * self.speed)))
        self.pitch = pitch
        self.rate = self._probe_rate()

    def _command(self) -> list[str]:
        return [self.binary, "--stdout", "-b", "1", "-v", self.voice, "-s", str(self.wpm), "-p", str(self.pitch),
                "--stdin"]

    def _run(self, text: str) -> tuple[np.ndarray, int]:
        try:
            proc = subprocess.run(self._command(), input=text.encode("utf-8"), capture_output=True,
                                  timeout=_TIMEOUT_S, check=False)
        except FileNotFoundError:
            raise TtsError(NOT_FOUND) from None
        except subprocess.TimeoutExpired:
            raise TtsError(f"espeak-ng took over {_TIMEOUT_S} s on one sentence: shorten the text") from None
        if proc.returncode != 0:
            err = " ".join(proc.stderr.decode("utf-8", "replace").split()) or f"exit status {proc.returncode}"
            raise TtsError(f"espeak-ng failed with voice {self.voice!r}: {err}")
        if not proc.stdout:
            return np.zeros(0, dtype=np.float32), 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AudioWarning)  # espeak-ng writes a placeholder data size
            try:
                reader = WavReader(io.BytesIO(proc.stdout), name="espeak-ng output")
                blocks = list(reader.frames())
            except AudioFormatError:
                return np.zeros(0, dtype=np.float32), 0
        audio = np.concatenate(blocks).mean(axis=1) if blocks else np.zeros(0, dtype=np.float32)
        return audio.astype(np.float32), reader.rate

    def _probe_rate(self) -> int:
        _, rate = self._run("a")
        return rate or 22050

    def _synthesize_sentence(self, sentence: str) -> np.ndarray:
        return self._run(sentence)[0]

    def __repr__(self) -> str:
        return f"EspeakTts(voice={self.voice!r}, locale={self.locale!r}, wpm={self.wpm}, pitch={self.pitch})"
