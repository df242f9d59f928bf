"""Device profiles: TOML files in ``device_profiles/`` that tune the runtime for one kind of device.

A profile has top-level ``name`` and ``description`` keys and one table per subsystem (``[nlu]``,
``[budget]``, ...). Every key is required and unknown keys are rejected, so a typo fails loudly.

To add a section: define a frozen dataclass whose fields carry a validator in their metadata
(``field(metadata=_spec(_Int(1, 8)))``), add a field of that type to :class:`Profile`, and register it
in ``_SECTIONS``.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from edge.errors import EdgeError
from edge.paths import REPO_ROOT

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILE_DIR",
    "REPO_ROOT",
    "AsrSettings",
    "AudioSettings",
    "Budget",
    "DialogueSettings",
    "MemorySettings",
    "NluSettings",
    "TtsSettings",
    "VadSettings",
    "Profile",
    "ProfileError",
    "list_profiles",
    "load_profile",
]

PROFILE_DIR = REPO_ROOT / "device_profiles"
DEFAULT_PROFILE = "desktop"
ENV_PROFILE_DIR = "EDGE_PROFILE_DIR"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


BARGE_IN_MODES = ("speech", "wake", "off")  # what may interrupt a reply (see DialogueSettings.barge_in)


class ProfileError(EdgeError, ValueError):
    """A device profile is missing, unreadable or invalid."""


# --- value validators -------------------------------------------------------------------------------


class _Check:
    """Validates and converts one TOML value; ``describe()`` states the allowed values."""

    def describe(self) -> str:
        raise NotImplementedError

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def convert(self, value: Any) -> Any:
        return value


@dataclass(frozen=True)
class _Int(_Check):
    lo: int
    hi: int

    def describe(self) -> str:
        return f"an integer from {self.lo} to {self.hi}"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.lo <= value <= self.hi


@dataclass(frozen=True)
class _Float(_Check):
    lo: float
    hi: float

    def describe(self) -> str:
        return f"a number from {self.lo} to {self.hi}"

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and self.lo <= value <= self.hi
        )

    def convert(self, value: Any) -> float:
        return float(value)


@dataclass(frozen=True)
class _Str(_Check):
    def describe(self) -> str:
        return "a non-empty string"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value.strip() != ""


@dataclass(frozen=True)
class _ModelPath(_Str):
    """A file path; relative paths are resolved against the repo root (the file need not exist yet)."""

    def describe(self) -> str:
        return "a non-empty path string (relative to the repo root, or absolute)"

    def convert(self, value: Any) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else (REPO_ROOT / path).resolve()


@dataclass(frozen=True)
class _Choice(_Check):
    options: tuple[str, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.options


@dataclass(frozen=True)
class _Device(_Check):
    """An audio device: "default", a device name (or part of one), or a PortAudio index."""

    def describe(self) -> str:
        return '"default", a device name (or part of one, see `edge devices`), or a device index'

    def accepts(self, value: Any) -> bool:
        return (isinstance(value, str) and value.strip() != "") or (
            isinstance(value, int) and not isinstance(value, bool) and value >= 0
        )


_LOCALE_RE = re.compile(r"^(\*|[a-z]{2,3}(-[A-Za-z0-9]{2,4})?)$")


@dataclass(frozen=True)
class _LocaleMap(_Check):
    """A table of locale -> model id (``"*"`` for every other locale)."""

    def describe(self) -> str:
        return 'a table of locale = "model id" (e.g. { "en-US" = "whisper-tiny-en", "*" = "none" })'

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict) and all(
            isinstance(k, str) and _LOCALE_RE.match(k) and isinstance(v, str) and v.strip() for k, v in value.items()
        )

    def convert(self, value: Any) -> dict[str, str]:
        return dict(value)


@dataclass(frozen=True)
class _SpeechLocale(_Check):
    """The language of speech when a command names none: "auto" or a locale tag."""

    def describe(self) -> str:
        return '"auto" (identify the language of each utterance) or a locale such as "en-US"'

    def accepts(self, value: Any) -> bool:
        tag = r"^[a-z]{2,3}-[A-Za-z0-9]{2,4}$"
        return isinstance(value, str) and (value == "auto" or re.match(tag, value) is not None)


def _spec(check: _Check) -> dict[str, _Check]:
    return {"check": check}


# --- profile structure --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NluSettings:
    """Intent and slot model settings."""

    model: Path = field(metadata=_spec(_ModelPath()))
    threads: int = field(metadata=_spec(_Int(1, 64)))
    ood_threshold: float = field(metadata=_spec(_Float(0.0, 1.0)))
    max_tokens: int = field(metadata=_spec(_Int(8, 512)))


@dataclass(frozen=True)
class AudioSettings:
    """Microphone and speaker."""

    input_device: str | int = field(metadata=_spec(_Device()))
    output_device: str | int = field(metadata=_spec(_Device()))
    block_ms: int = field(metadata=_spec(_Int(8, 200)))


@dataclass(frozen=True)
class VadSettings:
    """Silero VAD and endpointing (see edge.audio.endpoint)."""

    threshold: float = field(metadata=_spec(_Float(0.05, 0.95)))
    min_silence_ms: int = field(metadata=_spec(_Int(50, 5000)))
    speech_pad_ms: int = field(metadata=_spec(_Int(0, 1000)))
    min_speech_ms: int = field(metadata=_spec(_Int(0, 5000)))
    max_utterance_s: float = field(metadata=_spec(_Float(1.0, 300.0)))
    threads: int = field(metadata=_spec(_Int(1, 64)))


@dataclass(frozen=True)
class AsrSettings:
    """Speech recognition: which model serves which locale, and how it runs."""

    models: dict[str, str] = field(metadata=_spec(_LocaleMap()))
    # The language of speech when `edge run`, `tui`, `transcribe`, `serve` or `service install` name none:
    # "auto" where the profile's model for "*" is multilingual Whisper and installed (else en-US, said once).
    locale: str = field(metadata=_spec(_SpeechLocale()))
    threads: int = field(metadata=_spec(_Int(1, 64)))
    beam_size: int = field(metadata=_spec(_Int(1, 10)))
    # Start decoding once the trailing silence has lasted this long (before the end is certain); 0 = never.
    speculate_ms: int = field(metadata=_spec(_Int(0, 5000)))
    # Re-decode the utterance for partial transcripts every this many ms of audio; 0 = no partials.
    partial_interval_ms: int = field(metadata=_spec(_Int(0, 60_000)))


@dataclass(frozen=True)
class TtsSettings:
    """Speech synthesis: Piper voice per locale, espeak-ng elsewhere."""

    engine: str = field(metadata=_spec(_Choice(("auto", "piper", "espeak-ng"))))
    voices: dict[str, str] = field(metadata=_spec(_LocaleMap()))
    threads: int = field(metadata=_spec(_Int(1, 64)))
    speed: float = field(metadata=_spec(_Float(0.5, 2.0)))
    # Piper's convolution weights: "float32" as the voice ships, or "int8" (a copy made once in the models cache,
    # edge.tts.piper_int8): 23-35 MB less peak memory, about half a point more WER when transcribed back.
    piper_weights: str = field(metadata=_spec(_Choice(("float32", "int8"))))


@dataclass(frozen=True)
class DialogueSettings:
    """Turn-taking: the wake phrase, how long listening stays open, and what may interrupt a reply.

    Optional section: a profile without ``[dialogue]`` gets these defaults (always listening, the
    microphone muted while the assistant talks unless the wake word or push-to-talk interrupts it).
    """

    # Wake phrase, or a wake model path, for `edge run`; "none": always listening. `--wake` overrides it.
    wake_phrase: str = field(default="none", metadata=_spec(_Str()))
    # Seconds after the wake word (or push-to-talk) within which the command must start.
    wake_window_s: float = field(default=5.0, metadata=_spec(_Float(1.0, 60.0)))
    # After a reply that asks a question: seconds after its audio ends to listen without the wake word.
    follow_up_s: float = field(default=6.0, metadata=_spec(_Float(0.0, 60.0)))
    # What the microphone may interrupt a reply with: "speech" (any speech: a headset or echo cancellation),
    # "wake" (only the wake word: a speaker the microphone hears) or "off" (muted while it talks).
    barge_in: str = field(default="wake", metadata=_spec(_Choice(BARGE_IN_MODES)))
    # Silero probability that starts speech while the assistant talks (stricter than [vad] threshold).
    barge_in_threshold: float = field(default=0.7, metadata=_spec(_Float(0.05, 0.99)))
    # Milliseconds of such speech that stop the reply (shorter than [vad] min_speech_ms: the reply must stop
    # quickly, and the stricter threshold keeps noise from doing it).
    barge_in_min_speech_ms: int = field(default=100, metadata=_spec(_Int(0, 2000)))


@dataclass(frozen=True)
class LearnSettings:  # edge.learn (issue 15); optional section [learn]
    """On-device learning: ``turn_log = "off"`` keeps no turn log and mines nothing (learned items still apply)."""

    turn_log: str = field(default="on", metadata=_spec(_Choice(("on", "off"))))
    # Sightings of a failed phrasing followed by its rephrasing before it is learned (a "yes" learns at once).
    sightings: int = field(default=2, metadata=_spec(_Int(1, 100)))
    retention_days: int = field(default=30, metadata=_spec(_Int(1, 3650)))


@dataclass(frozen=True)
class MemorySettings:  # optional section [memory]
    """The C allocator's trade between speed and peak memory (:mod:`edge.memory`)."""

    # Blocks of at least this many KiB get their own mapping and go back to the system when freed: a lower peak,
    # a little slower. 0 = the allocator's own behaviour (fastest).
    large_block_kb: int = field(default=0, metadata=_spec(_Int(0, 1_048_576)))


@dataclass(frozen=True)
class Budget:
    """Resource targets the device must meet."""

    memory_mb: int = field(metadata=_spec(_Int(16, 1_048_576)))
    latency_ms: int = field(metadata=_spec(_Int(1, 60_000)))


@dataclass(frozen=True)
class Profile:
    """A validated device profile."""

    name: str
    description: str
    path: Path
    audio: AudioSettings
    vad: VadSettings
    asr: AsrSettings
    nlu: NluSettings
    tts: TtsSettings
    budget: Budget
    dialogue: DialogueSettings = field(default_factory=DialogueSettings)
    learn: LearnSettings = field(default_factory=LearnSettings)  # edge.learn (issue 15)
    memory: MemorySettings = field(default_factory=MemorySettings)

    def asr_model(self, locale: str) -> str | None:
        """The ASR model id for a locale: exact tag, then its language ("en"), then "*"; None if not listed
        (the manifest is then asked), "none" where the profile turns ASR off for it."""
        return _for_locale(self.asr.models, locale)

    def tts_voice(self, locale: str) -> str | None:
        """The TTS voice for a locale (model id, .onnx path or espeak-ng voice); None or "auto" = engine default."""
        return _for_locale(self.tts.voices, locale)


def _for_locale(table: dict[str, str], locale: str) -> str | None:
    for key in (locale, locale.split("-")[0], "*"):
        if key in table:
            return table[key]
    return None


# Top-level scalar keys and their checks; sections map a TOML table name to its dataclass.
_TOP_LEVEL: dict[str, _Check] = {"name": _Str(), "description": _Str()}
_SECTIONS: dict[str, type] = {
    "audio": AudioSettings,
    "vad": VadSettings,
    "asr": AsrSettings,
    "nlu": NluSettings,
    "tts": TtsSettings,
    "budget": Budget,
}
# Sections a profile may leave out (their dataclass defaults apply); present, every key is required.
_OPTIONAL_SECTIONS: dict[str, type] = {"dialogue": DialogueSettings, "learn": LearnSettings,  # learn: issue 15
                                       "memory": MemorySettings}


# --- loading ------------------------------------------------------------------------------------------


def _display(path: Path) -> str:
    """Short path for messages: relative to the repo root or the cwd when possible."""
    for base in (REPO_ROOT, Path.cwd()):
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)


def _search_dirs() -> list[Path]:
    dirs: list[Path] = []
    env = os.environ.get(ENV_PROFILE_DIR, "")
    for part in env.split(os.pathsep):
        if part.strip():
            dirs.append(Path(part).expanduser().resolve())
    dirs.append(PROFILE_DIR)
    return dirs


def list_profiles() -> list[str]:
    """Names of the profiles available in ``$EDGE_PROFILE_DIR`` and ``device_profiles/``, sorted."""
    names: set[str] = set()
    for directory in _search_dirs():
        if directory.is_dir():
            names.update(p.stem for p in directory.glob("*.toml") if p.is_file())
    return sorted(names)


def _find(name: str) -> Path:
    if not _NAME_RE.match(name):
        raise ProfileError(f"invalid profile name {name!r}: use letters, digits, '-', '_' or '.', or give a path")
    for directory in _search_dirs():
        candidate = directory / f"{name}.toml"
        if candidate.is_file():
            return candidate
    where = ", ".join(_display(d) for d in _search_dirs())
    available = ", ".join(list_profiles()) or "(none)"
    raise ProfileError(f"unknown profile {name!r} (looked in {where}); available profiles: {available}")


def _is_path_like(value: str | Path) -> bool:
    if isinstance(value, Path):
        return True
    return value.endswith(".toml") or "/" in value or os.sep in value


def _check_keys(where: str, table: dict[str, Any], known: list[str], prefix: str = "") -> None:
    unknown = [k for k in table if k not in known]
    if unknown:
        keys = ", ".join(f"{prefix}{k}" for k in unknown)
        raise ProfileError(f"{where}: unknown key {keys}; known keys: {', '.join(prefix + k for k in known)}")
    missing = [k for k in known if k not in table]
    if missing:
        keys = ", ".join(f"{prefix}{k}" for k in missing)
        raise ProfileError(f"{where}: missing key {keys}")


def _value(where: str, key: str, value: Any, check: _Check) -> Any:
    if not check.accepts(value):
        raise ProfileError(f"{where}: {key} must be {check.describe()}, got {value!r}")
    return check.convert(value)


def _section(where: str, name: str, table: Any, cls: type) -> Any:
    if not isinstance(table, dict):
        raise ProfileError(f"{where}: {name} must be a table ([{name}]), got {table!r}")
    specs = {f.name: f.metadata["check"] for f in fields(cls)}
    _check_keys(where, table, list(specs), prefix=f"{name}.")
    return cls(**{key: _value(where, f"{name}.{key}", table[key], check) for key, check in specs.items()})


def _parse(path: Path, data: dict[str, Any]) -> Profile:
    where = _display(path)
    known = list(_TOP_LEVEL) + list(_SECTIONS) + list(_OPTIONAL_SECTIONS)
    unknown = [k for k in data if k not in known]
    if unknown:
        raise ProfileError(f"{where}: unknown key {', '.join(unknown)}; known keys: {', '.join(known)}")
    for key in _TOP_LEVEL:
        if key not in data:
            raise ProfileError(f"{where}: missing key {key}")
    for section in _SECTIONS:
        if section not in data:
            raise ProfileError(f"{where}: missing section [{section}] (required sections: {', '.join(_SECTIONS)})")
    top = {key: _value(where, key, data[key], check) for key, check in _TOP_LEVEL.items()}
    sections = {name: _section(where, name, data[name], cls) for name, cls in _SECTIONS.items()}
    sections.update({name: _section(where, name, data[name], cls) for name, cls in _OPTIONAL_SECTIONS.items()
                     if name in data})
    return Profile(path=path, **top, **sections)


def load_profile(name_or_path: str | Path | None = None) -> Profile:
    """Load and validate a profile by name (``"rpi4"``) or by path; ``None`` loads ``desktop``.

    Raises :class:`ProfileError` naming the file, the key and the allowed values.
    """
    if name_or_path is None:
        name_or_path = DEFAULT_PROFILE
    if _is_path_like(name_or_path):
        path = Path(name_or_path).expanduser().resolve()
        if not path.is_file():
            raise ProfileError(f"{_display(path)}: profile file not found")
    else:
        path = _find(str(name_or_path))
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{_display(path)}: invalid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{_display(path)}: invalid TOML: not UTF-8 ({exc})") from exc
    except OSError as exc:
        raise ProfileError(f"{_display(path)}: cannot read profile: {exc.strerror or exc}") from exc
    return _parse(path, data)
