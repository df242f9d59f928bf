"""The one place that turns a profile, a locale and a front end's choices into a running assistant.

``edge run``, ``edge chat``, the TUI, the benchmarks and the server call :func:`assemble` (or
:func:`assemble_text` for typed turns only) and get one :class:`Assistant` back: the pipeline, the router,
the wake detector, the scheduler, the sink and what went wrong on the way. Nothing above this module
builds a stage itself.

Layers, each importing only those below it: front ends (``edge.commands``, ``edge.tui``, ``edge.bench``,
``edge.serve``) -> ``edge.assembly`` -> ``edge.pipeline`` -> stages (``edge.asr``, ``edge.nlu``, ``edge.tts``,
``edge.skills``, ``edge.wake``) -> ``edge.audio``, ``edge.profiles``.

``degrade=True`` (the TUI): a stage that fails to load is reported in ``warnings`` and left out where
the rest still works (no ASR: typed turns only; no TTS: replies in text; no wake word: always
listening; no scheduler: alarms do not ring). The NLU and the VAD stay required.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.memory import apply_heap_limits, release_free_memory
from edge.pipeline.assistant import Pipeline
from edge.pipeline.events import EventBus, WarningRaised
from edge.pipeline.listening import WakeDetector
from edge.pipeline.loader import PipelineError, load_asr, load_endpointer, load_nlu, load_tts
from edge.pipeline.speech_gate import AUTO_GATE
from edge.profiles import DialogueSettings, Profile
from edge.skills.contract import Router

if TYPE_CHECKING:
    from edge.audio.sink import AudioSink
    from edge.nlu.engine import NluEngine
    from edge.skills.scheduler import Scheduler

__all__ = ["AssemblyError", "Assistant", "FrontEnd", "SinkError", "TextAssistant", "UnreadableScript", "assemble",
           "assemble_text", "WakeLoadError", "load_router", "load_wake", "open_sink", "start_scheduler", "wake_spec"]

log = logging.getLogger(__name__)
_OFF = ("", "none", "off")


class AssemblyError(PipelineError):
    """A part of the assistant cannot be built; the message says which and what to do."""


class UnreadableScript(PipelineError):
    """The only voice for a locale is espeak-ng, which cannot read its script: replies there are printed."""


class WakeLoadError(AssemblyError):
    """The wake detector asked for cannot be loaded (``installed`` False: the wake extra is missing)."""

    def __init__(self, spec: str, reason: BaseException, installed: bool = True) -> None:
        self.spec, self.reason, self.installed = spec, reason, installed
        what = "cannot load the wake-word detector: " if installed else \
            "wake-word detection is not available in this installation "
        super().__init__(f"--wake {spec!r}: {what}{reason}" if installed else f"--wake {spec!r}: {what}({reason})")

    def degraded(self) -> str:
        """The same, for a front end that goes on always listening."""
        if not self.installed:
            return f"wake word {self.spec!r} is not available in this installation ({self.reason}): always listening"
        return f"cannot load the wake word {self.spec!r} ({self.reason}): always listening"


@dataclass(frozen=True)
class FrontEnd:
    """What the front end chose. ``wake``: a phrase or wake-model path ("none": always listen; None: the
    profile's ``[dialogue] wake_phrase``), or ``wake_detector``, one already loaded. ``router``: answer
    with this instead of the skills (benchmarks). ``announce``: announcements can be heard or written
    (a speaker, a live input): the scheduler starts, so alarms, timers and reminders fire."""

    sink: AudioSink | None = None
    bus: EventBus | None = None
    wake: str | None = None
    wake_detector: WakeDetector | None = None
    data_dir: Path | None = None
    speak: bool = True
    voice: str | None = None
    barge_in: str | None = None
    router: Router | None = None
    announce: bool = False
    progress: Callable[[str], None] | None = None  # lines while a wake model is trained or loaded


@dataclass
class Assistant:
    """A running assistant: :meth:`close` stops the scheduler and the pipeline (the sink is the front end's)."""

    profile: Profile
    locale: str
    pipeline: Pipeline
    router: Router
    wake: WakeDetector | None
    scheduler: Scheduler | None
    sink: AudioSink | None
    store: Any = None  # the skills' store (alarms, lists...), None without the skills
    warnings: list[str] = field(default_factory=list)

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        self.pipeline.close()


@dataclass
class TextAssistant:
    """Typed turns only (``edge chat``): the NLU and the router."""

    nlu: NluEngine
    router: Router
    warnings: list[str] = field(default_factory=list)


class SinkError(AssemblyError):
    """The reply sink asked for cannot be opened (no speaker, a bad --output); the message says which."""


def open_sink(spec: str | None, device: str | int | None = None, fallback_to_null: bool = True,
              note: Callable[[str], None] | None = None) -> tuple[AudioSink, str]:
    """The reply sink and a description. ``spec``: a .wav path, "speaker", "none", or None (the speaker if there
    is one; with ``fallback_to_null``, none otherwise, said through ``note``). Raises :class:`SinkError`."""
    from edge.audio.devices import list_devices
    from edge.audio.errors import AudioDeviceError
    from edge.audio.sink import NullSink, SoundDeviceSink, WavSink

    if spec == "none":
        return NullSink(), "none"
    if spec not in (None, "speaker"):
        path = Path(spec)
        if path.suffix.lower() != ".wav":
            raise SinkError(f"--output {spec}: give a .wav file name, 'speaker' or 'none'")
        if path.parent and not path.parent.exists():
            raise SinkError(f"--output {spec}: folder {path.parent} does not exist")
        return WavSink(path), str(path)
    dev = None if device in (None, "default") else device
    try:
        if spec is None and not any(d.max_output_channels > 0 for d in list_devices()):
            raise AudioDeviceError("no output device")
        return SoundDeviceSink(dev), f"speaker ({dev or 'default'})"
    except AudioDeviceError as exc:
        if spec == "speaker" or not fallback_to_null:
            raise SinkError(str(exc)) from None
        if note is not None:
            note(f"no speaker ({exc}); replies are not played (use --output reply.wav to keep them)")
        return NullSink(), "none"


def wake_spec(front: FrontEnd, profile: Profile) -> str | None:
    """The wake phrase or model path asked for, None for none."""
    spec = front.wake if front.wake is not None else profile.dialogue.wake_phrase
    return None if spec is None or spec.strip().lower() in _OFF else spec


def load_wake(spec: str | None, progress: Callable[[str], None] | None = None) -> WakeDetector | None:
    """The wake detector for a phrase or model path (None for "none"). Its Whisper check loads lazily: it
    shares the pipeline's Whisper engine once that is loaded (:func:`assemble`)."""
    if spec is None or spec.strip().lower() in _OFF:
        return None
    try:
        from edge.wake import load_detector  # an optional part, imported only when asked for
    except ImportError as exc:
        raise WakeLoadError(spec, exc, installed=False) from None

    def say(*info: Any) -> None:
        if progress is not None:
            progress(" ".join(str(i) for i in info))

    try:
        detector: WakeDetector = load_detector(spec, progress=say, lazy=True)
    except Exception as exc:  # whatever the detector's loader raises, the user gets one line
        raise WakeLoadError(spec, exc) from None
    return detector


def load_router(sink: AudioSink | None = None, data_dir: Path | None = None,
                announce: Callable[[str], None] | None = None, locale: str = "en-US",
                restore_volume: bool = True) -> Router:
    """The skill router (every MASSIVE intent), its store under ``data_dir`` ($XDG_DATA_HOME/edge by default).
    ``restore_volume``: apply the saved volume and mute to ``sink`` now (a sink that plays).

    Falls back to the small built-in router, with a warning, if the skills cannot be loaded.
    """
    try:
        from edge.skills.audio_control import restore_volume as restore
        from edge.skills.router import ContextFactory, SkillRouter

        services: dict[str, Any] = {"sink": sink} if sink is not None else {}
        router = SkillRouter(ContextFactory(data_dir=data_dir, services=services, announce=announce))
        if sink is not None and restore_volume:
            restore(router.context(locale))
        return router
    except Exception as exc:  # the assistant still answers the basics
        from edge.skills.basic import BasicRouter

        log.warning("skills unavailable (%s: %s); using the basic router", type(exc).__name__, exc)
        return BasicRouter()


def start_scheduler(pipeline: Pipeline, router: Router, locale: str) -> Scheduler | None:
    """Alarms, timers and reminders fire through ``pipeline.announce``; those due while edge was off are
    reported first. None for a router without the skills' context (nothing to schedule)."""
    context = getattr(router, "context", None)
    if context is None:
        return None
    from edge.skills.scheduler import DueItem, Scheduler, announcement, missed_report
    from edge.skills.store import store_for

    ctx = context(locale)
    store = store_for(ctx.services, ctx.data_dir)
    if store.notice:
        pipeline.announce(store.notice)

    def say_due(item: DueItem) -> None:
        pipeline.announce(announcement(item, ctx.say, locale))

    scheduler = Scheduler(store, ctx.clock, announce=say_due)
    report = missed_report(scheduler.missed_on_start(), ctx.say, locale)
    if report:
        pipeline.announce(report)
    ctx.services["scheduler"] = scheduler
    scheduler.start()
    return scheduler


def assemble(profile: Profile, locale: str = "en-US", front: FrontEnd | None = None, *,
             degrade: bool = False) -> Assistant:
    """Load every stage the profile names for ``locale`` and wire them into a running assistant.

    Raises :class:`AssemblyError` (a :class:`PipelineError`) naming what is missing; with ``degrade`` only
    for the NLU and the VAD, the rest going to ``warnings``.
    """
    front = front or FrontEnd()
    apply_heap_limits(profile.memory.large_block_kb)  # before any model loads or thread starts
    asked = locale
    auto = _auto_locale(locale)  # --locale auto[:<locale>]: each turn in the language heard, from this one
    locale = auto or locale
    warnings: list[str] = []
    wake = front.wake_detector or _wake(front, profile, degrade, warnings)
    announcements: list[str] = []
    router = front.router or load_router(front.sink, front.data_dir, announcements.append, locale)
    tts = None
    if front.speak:
        try:
            tts = _optional(lambda: _voice(profile, locale, front.voice), degrade, warnings, "replies are not spoken")
        except UnreadableScript as exc:  # said once; the replies are printed
            warnings.append(f"replies in {locale} are printed, not spoken: {exc}")
            if front.bus is not None:
                front.bus.emit(WarningRaised(message=warnings[-1]))
    endpointer = load_endpointer(profile)
    asr = _optional(lambda: _load_auto_asr(profile, locale) if auto else load_asr(profile, locale), degrade, warnings,
                    f"no speech input for {asked}")
    dialogue = profile.dialogue or DialogueSettings()
    nlu = load_nlu(profile)
    if front.router is None:  # edge.learn: learned phrasings and custom intents, turn log (issue 15)
        nlu, router = _learning(nlu, router, profile, front.data_dir)
    pipeline = Pipeline(
        endpointer=endpointer, asr=asr, nlu=nlu, tts=tts, sink=front.sink, locale=locale,
        router=router, bus=front.bus, speculate_ms=profile.asr.speculate_ms,
        partial_interval_ms=profile.asr.partial_interval_ms, announcements=announcements, wake=wake,
        barge_in=front.barge_in or dialogue.barge_in, barge_in_threshold=dialogue.barge_in_threshold,
        barge_in_min_speech_ms=dialogue.barge_in_min_speech_ms, wake_window_s=dialogue.wake_window_s,
        follow_up_s=dialogue.follow_up_s,
    )
    if auto and asr is not None:
        pipeline.language = _turn_language(profile, locale, front, asr, tts, router)
        pipeline.answerer.gate = AUTO_GATE  # Whisper base: a stricter line for improbable text
    session = getattr(router, "session", None)
    if session is not None:  # the router's dialogue keeps the same follow-up window as the turn-taking
        session.follow_up_s = dialogue.follow_up_s
    if wake is not None:
        _share_wake_asr(wake, asr, degrade, warnings)
    assistant = Assistant(profile, asked if auto else locale, pipeline, router, wake, None, front.sink,
                          warnings=warnings)
    if front.announce:
        try:
            assistant.scheduler = start_scheduler(pipeline, router, locale)
        except Exception as exc:  # alarms then do not ring; the rest works
            if not degrade:
                pipeline.close()
                raise
            warnings.append(f"alarms and timers will not ring: {exc}")
    context = getattr(router, "context", None)
    if context is not None:
        assistant.store = context(locale).services.get("store")
    release_free_memory()  # the models' load-time copies
    return assistant


def assemble_text(profile: Profile, locale: str = "en-US", data_dir: Path | None = None) -> TextAssistant:
    """The NLU and the skill router for typed turns, replies never played (``edge chat``)."""
    from edge.audio.sink import NullSink

    apply_heap_limits(profile.memory.large_block_kb)
    nlu = load_nlu(profile)
    router = load_router(NullSink(), data_dir, None, locale, restore_volume=False)
    nlu, router = _learning(nlu, router, profile, data_dir)  # edge.learn (issue 15)
    return TextAssistant(nlu, router)


def _learning(nlu: Any, router: Router, profile: Profile, data_dir: Path | None) -> tuple[Any, Router]:
    """edge.learn: the NLU through the learned layer, the router logging turns (unchanged if it cannot load)."""
    from edge.learn.hooks import attach

    return attach(nlu, router, profile, data_dir)


def _wake(front: FrontEnd, profile: Profile, degrade: bool, warnings: list[str]) -> WakeDetector | None:
    spec = wake_spec(front, profile)
    try:
        return load_wake(spec, front.progress)
    except WakeLoadError as exc:
        if not degrade:
            raise
        warnings.append(exc.degraded())
        return None


def _share_wake_asr(wake: WakeDetector, asr: Any, degrade: bool, warnings: list[str]) -> None:
    """The wake word's Whisper check uses the pipeline's Whisper engine (not a second copy) where it can."""
    if getattr(wake, "verifier", None) is None:
        return
    try:
        from edge.wake import share_asr

        share_asr(wake, asr)
    except Exception as exc:  # a check that cannot load: one line
        first = str(exc).splitlines()[0]
        if not degrade:
            raise AssemblyError(f"wake-word check: cannot load Whisper tiny.en: {first}") from None
        wake.verifier = None  # type: ignore[attr-defined]
        warnings.append(f"wake word check unavailable ({first[:100]}): more false wakes")


def _auto_locale(locale: str) -> str | None:
    """The configured locale of ``auto`` / ``auto:<locale>`` (a MASSIVE locale), None for any other locale."""
    from edge.asr.auto import auto_fallback
    from edge.locale_tags import canonical
    from edge.nlu.locales import MASSIVE_LOCALES

    fallback = auto_fallback(locale)
    if fallback is None:
        return None
    known = canonical(fallback, MASSIVE_LOCALES)
    if known is None:
        raise AssemblyError(f"--locale {locale}: {fallback!r} is not a MASSIVE locale (e.g. auto:de-DE)")
    return known


def _load_auto_asr(profile: Profile, fallback: str) -> Any:
    from edge.asr.auto import load_auto_asr
    from edge.models import ModelError

    try:
        return load_auto_asr(profile, fallback)
    except ModelError as exc:
        raise PipelineError(str(exc)) from None


def _voice(profile: Profile, locale: str, voice: str | None = None) -> Any:
    """The profile's voice for ``locale``; an espeak-ng voice for a script it cannot read is refused (the reply
    is printed instead)."""
    from edge.tts.espeak_engine import espeak_cannot_read

    tts = load_tts(profile, locale, voice)
    why = espeak_cannot_read(locale) if tts.name == "espeak-ng" else None
    if why is not None:
        raise UnreadableScript(why)
    return tts


def _turn_language(profile: Profile, configured: str, front: FrontEnd, asr: Any, tts: Any, router: Router) -> Any:
    """--locale auto: the turn's locale follows the ASR's choice; each locale's voice is loaded when first needed
    (warmed with the router's common phrases), ``front.voice`` only for the configured locale."""
    from edge.pipeline.language import TurnLanguage

    def load(locale: str) -> Any:
        if not front.speak:
            return None
        voice = _voice(profile, locale)
        voice.warm(router.common_phrases(locale))
        return voice

    chooser = getattr(asr, "chooser", None)
    return TurnLanguage(configured, load, tts, threshold=getattr(chooser, "threshold", 0.5))


def _optional(load: Callable[[], Any], degrade: bool, warnings: list[str], what: str) -> Any:
    """``load()``; in degrade mode a stage that cannot load is None and said in ``warnings``."""
    try:
        return load()
    except PipelineError as exc:
        if not degrade:
            raise
        warnings.append(f"{what}: {exc}")
        return None
