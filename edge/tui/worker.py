"""The app's one assistant thread: builds the pipeline, listens on the microphone, serves typed turns.

The pipeline is not thread-safe, so everything that touches it runs here: the microphone loop
(:meth:`Pipeline.run` over a metered microphone iterator), typed lines (``pipeline.typed_turn`` between
microphone blocks, or while waiting on the queue when there is no microphone) and rebuilding it
(:func:`edge.assembly.assemble`, degraded) for another locale or profile. The app only talks to it through
:meth:`AssistantWorker.submit` and friends, and hears back through the worker's one event bus: the
pipeline's events and the worker's own (``AppLoading``, ``AppLoaded``, ``AppMic``, ``AppLevel``...,
:mod:`edge.pipeline.events`), delivered on this thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge.audio.devices import SILENCE_DB, db_level
from edge.locale_tags import canonical
from edge.pipeline.events import (
    AppError,
    AppLevel,
    AppLoaded,
    AppLoadFailed,
    AppLoading,
    AppMic,
    AppNote,
    AppStopped,
    AppStore,
    ErrorRaised,
    Event,
    EventBus,
)

if TYPE_CHECKING:
    from edge.assembly import Assistant
    from edge.pipeline.assistant import Pipeline
    from edge.pipeline.listening import WakeDetector
    from edge.profiles import Profile

__all__ = ["AssistantWorker", "Loaded", "MicState", "TuiSettings", "canonical_locale", "loaded_record"]

LEVEL_INTERVAL_S = 0.1  # level meter updates: ~10 per second
MIC_RETRY_S = 2.0  # a failed microphone is tried again this often


@dataclass
class TuiSettings:
    """What `edge tui` was asked for."""

    profile: str | None = None
    locale: str = "en-US"
    input_device: str | None = None
    output: str | None = None  # None: the speaker if there is one; "speaker", "none" or a .wav path
    output_device: str | None = None
    wake: str | None = None
    mic: bool = True
    data_dir: Path | None = None
    speak: bool = True
    voice: str | None = None


@dataclass(frozen=True)
class Loaded:
    """The pipeline now in use, as the header shows it."""

    profile: str
    locale: str
    asr: str
    nlu: str
    tts: str
    output: str
    can_listen: bool
    wake: str | None = None  # the wake phrase, None: always listening
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class MicState:
    """``state``: "off" (--no-mic), "opening", "on", "failed" or "unusable" (no ASR for the locale)."""

    state: str
    message: str = ""
    device: str = ""


@dataclass
class _Control:
    """A request that needs the pipeline out of its loop: rebuild it (profile and/or locale) or stop."""

    kind: str  # "switch" | "stop"
    profile: str | None = None
    locale: str | None = None


def canonical_locale(tag: str) -> str | None:
    """``tag`` as MASSIVE spells it ("de-de" is "de-DE"); None if no MASSIVE language matches. ``auto`` and
    ``auto:<locale>`` (language identified per turn, from that locale) stay as they are, the locale spelt right."""
    from edge.asr.auto import auto_fallback
    from edge.nlu.locales import MASSIVE_LOCALES

    fallback = auto_fallback(tag)
    if fallback is not None:
        known = canonical(fallback, MASSIVE_LOCALES)
        return None if known is None else "auto" if tag.strip().lower() == "auto" else f"auto:{known}"
    return canonical(tag, MASSIVE_LOCALES)


def loaded_record(assistant: Assistant, settings: TuiSettings, sink_desc: str) -> Loaded:
    """What the header shows of an assembled assistant."""
    pipeline, profile, locale = assistant.pipeline, assistant.profile, assistant.locale
    return Loaded(profile=profile.name, locale=locale, asr=_asr_label(pipeline.asr, profile, locale),
                  nlu=Path(profile.nlu.model).stem, tts=_tts_label(pipeline.tts, profile, locale, settings.voice),
                  output=sink_desc, can_listen=pipeline.asr is not None,
                  wake=getattr(assistant.wake, "phrase", None) if pipeline.wake is not None else None,
                  problems=tuple(assistant.warnings))


def _asr_label(asr: Any, profile: Profile, locale: str) -> str:
    if asr is None:
        return "off"
    return str(getattr(asr, "model_id", None) or profile.asr_model(locale) or asr.name)


def _tts_label(tts: Any, profile: Profile, locale: str, voice: str | None) -> str:
    if tts is None:
        return "off"
    path = getattr(tts, "model_path", None)
    chosen = Path(path).stem if path else (voice or profile.tts_voice(locale))
    return f"{tts.name}:{chosen}" if chosen and chosen != "auto" else str(tts.name)


def wake_for(settings: TuiSettings, profile: Profile, cache: dict[str, WakeDetector | None],
             bus: EventBus) -> WakeDetector | None:
    """The wake detector --wake (or else the profile's ``[dialogue] wake_phrase``) asks for, loaded once into
    ``cache``; one that cannot load is said once, and the assistant listens without it."""
    from edge.assembly import FrontEnd, WakeLoadError, load_wake, wake_spec

    spec = wake_spec(FrontEnd(wake=settings.wake), profile)
    if spec is None:
        return None
    if spec not in cache:
        try:
            cache[spec] = load_wake(spec, lambda line: bus.emit(AppNote(message=f"wake word: {line}")))
        except WakeLoadError as exc:
            cache[spec] = None
            bus.emit(AppError(message=exc.degraded()))
    return cache[spec]


def _output_device(settings: TuiSettings) -> str | int | None:
    from edge.profiles import ProfileError, load_profile

    if settings.output_device is not None:
        return settings.output_device
    try:
        return load_profile(settings.profile).audio.output_device
    except ProfileError:  # reported when the pipeline loads
        return None


def open_reply_sink(spec: str | None, device: str | int | None) -> tuple[Any, str, str | None]:
    """The sink replies are played on, its description, and a problem to show (no speaker: text only)."""
    from edge.assembly import SinkError, open_sink
    from edge.audio.sink import NullSink

    try:
        sink, desc = open_sink(spec, device, fallback_to_null=False)
        return sink, desc, None
    except SinkError as exc:
        return NullSink(), "none", f"no speaker ({exc}): replies are shown, not played"


class AssistantWorker:
    """Owns the pipeline in one thread. Thread-safe entry points: submit, switch, push_to_talk,
    stop_speaking, stop."""

    def __init__(self, settings: TuiSettings, on_event: Callable[[Event], None]) -> None:
        self.settings = settings
        self.bus = EventBus()
        self.bus.subscribe(self._on_event)
        self.bus.subscribe(on_event)
        self.assistant: Assistant | None = None
        self.pipeline: Pipeline | None = None
        self.profile: Profile | None = None
        self.locale = settings.locale
        self.loaded: Loaded | None = None
        self._requests: queue.Queue[str | _Control] = queue.Queue()
        self._control: _Control | None = None
        self._stopping = threading.Event()
        self._mic: Any = None
        self._mic_failed_with: str | None = None
        self._mic_retry_at = 0.0
        self._in_speech = False
        self._wakes: dict[str, WakeDetector | None] = {}
        self._sink: Any = None
        self._sink_desc = "none"
        self._thread = threading.Thread(target=self._main, name="edge-tui-assistant", daemon=True)

    # --- from the app (any thread) -----------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def submit(self, text: str) -> None:
        """A typed turn; answered between microphone blocks (or at once without a microphone)."""
        self._requests.put(text)

    def switch(self, profile: str | None = None, locale: str | None = None) -> None:
        """Rebuild the pipeline for another profile and/or locale; on failure the current one stays."""
        self._requests.put(_Control("switch", profile, locale))
        self._interrupt_mic()

    def push_to_talk(self) -> bool | None:
        """Take the next utterance without the wake word (stops a reply playing); None if the pipeline cannot."""
        return self._call_pipeline("push_to_talk")

    def stop_speaking(self) -> bool | None:
        """Cut the reply being spoken: True if one was; None if the pipeline cannot."""
        return self._call_pipeline("stop_speaking")

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread: the microphone stops, the pipeline and the speaker are closed."""
        self._stopping.set()
        self._requests.put(_Control("stop"))
        self._interrupt_mic()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _call_pipeline(self, name: str) -> bool | None:
        fn = getattr(self.pipeline, name, None)
        if fn is None:
            return None
        result = fn()
        return True if result is None else bool(result)

    def _interrupt_mic(self) -> None:
        mic = self._mic
        if mic is not None:
            mic.stop()

    # --- the thread ---------------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            self._sink, self._sink_desc, problem = open_reply_sink(self.settings.output, _output_device(self.settings))
            if problem:
                self.bus.emit(AppError(message=problem))
            self._load(self.settings.profile, self.settings.locale, first=True)
            while not self._stopping.is_set():
                if self._control is None:
                    self._drain(block=False)  # typed lines, and a request that stopped the microphone
                if self._control is not None:
                    control, self._control = self._control, None
                    self._handle_control(control)
                    continue
                if self._can_listen():
                    self._listen()
                else:
                    self._serve_typed(MIC_RETRY_S if self._mic_wanted() else None)
        except Exception as exc:  # the app must hear about it rather than lose its assistant silently
            self.bus.emit(AppError(message=f"assistant stopped: {type(exc).__name__}: {exc}"))
        finally:
            self._close()
            self.bus.emit(AppStopped())

    def _mic_wanted(self) -> bool:
        return self.settings.mic and self.loaded is not None and self.loaded.can_listen

    def _can_listen(self) -> bool:
        return self._mic_wanted() and (self._mic_failed_with is None or time.monotonic() >= self._mic_retry_at)

    def _load(self, profile_name: str | None, locale: str, first: bool = False) -> bool:
        from edge.assembly import FrontEnd, assemble
        from edge.pipeline.loader import PipelineError
        from edge.profiles import ProfileError, load_profile

        self.bus.emit(AppLoading(profile=profile_name or "desktop", locale=locale))
        try:
            profile = load_profile(profile_name)
            wake = wake_for(self.settings, profile, self._wakes, self.bus)
            settings = self.settings
            front = FrontEnd(sink=self._sink, bus=self.bus, wake="none" if wake is None else None,
                             wake_detector=wake, data_dir=settings.data_dir, speak=settings.speak,
                             voice=settings.voice, announce=True)
            assistant = assemble(profile, locale, front, degrade=True)
        except (ProfileError, PipelineError) as exc:
            what = "cannot start" if first or self.pipeline is None else "kept the current setup"
            self.bus.emit(AppLoadFailed(message=f"{what}: {exc}"))
            return False
        if self.assistant is not None:
            self.assistant.close()
        loaded = loaded_record(assistant, self.settings, self._sink_desc)
        self.assistant, self.pipeline, self.profile, self.locale, self.loaded = (
            assistant, assistant.pipeline, profile, locale, loaded)
        self._mic_failed_with = None
        self.bus.emit(AppStore(store=assistant.store))
        self.bus.emit(AppLoaded(loaded=loaded))
        if not self.settings.mic:
            self.bus.emit(AppMic(state=MicState("off", "microphone off (--no-mic): type below")))
        elif not loaded.can_listen:
            self.bus.emit(AppMic(state=MicState("unusable", f"no speech recognition for {locale}: type below")))
        return True

    def _handle_control(self, control: _Control) -> None:
        if control.kind == "stop":
            self._stopping.set()
            return
        profile = control.profile if control.profile is not None else (
            str(self.profile.path) if self.profile is not None else self.settings.profile)
        self._load(profile, control.locale or self.locale)

    def _listen(self) -> None:
        """The microphone through the pipeline until a control request, the app's stop, or a device failure."""
        from edge.audio.devices import MicrophoneSource
        from edge.audio.errors import AudioDeviceError

        spec = self.settings.input_device or self.profile.audio.input_device
        device = None if spec == "default" else spec
        try:
            if self._mic_failed_with is None:  # retries stay quiet: the failure is on screen until it is fixed
                self.bus.emit(AppMic(state=MicState("opening", device=str(device or "default"))))
            with MicrophoneSource(device, block_ms=self.profile.audio.block_ms) as mic:
                self._mic = mic
                if self._stopping.is_set() or self._control is not None:
                    return
                self.bus.emit(AppMic(state=MicState("on", device=mic.device_name)))
                self._mic_failed_with = None
                self.pipeline.run(self._metered(mic), live=True, source="microphone", keep_turns=False)
        except AudioDeviceError as exc:
            self._mic_failed(str(exc), f"{exc} (retrying every {MIC_RETRY_S:.0f} s; typing works)", device)
        except Exception as exc:  # a failing stage must not take typing down with it: report, retry later
            message = f"listening failed ({type(exc).__name__}: {exc}); retrying every {MIC_RETRY_S:.0f} s"
            self._mic_failed(message, message, device)
        finally:
            self._mic = None
            self._in_speech = False
            self.bus.emit(AppLevel(db=None))

    def _mic_failed(self, message: str, shown: str, device: str | int | None) -> None:
        """Said once per distinct failure (retries stay quiet), tried again in MIC_RETRY_S."""
        if message != self._mic_failed_with:
            self.bus.emit(AppMic(state=MicState("failed", shown, device=str(device or "default"))))
        self._mic_failed_with = message
        self._mic_retry_at = time.monotonic() + MIC_RETRY_S

    def _metered(self, chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """The microphone's blocks with the level reported and typed turns answered between them; ends at a
        control request."""
        last = time.monotonic()
        peak = SILENCE_DB
        for block in chunks:
            peak = max(peak, db_level(block))
            now = time.monotonic()
            if now - last >= LEVEL_INTERVAL_S:
                self.bus.emit(AppLevel(db=peak))
                last, peak = now, SILENCE_DB
            if not self._in_speech and not self._drain(block=False):
                return
            if self._stopping.is_set():
                return
            yield block

    def _serve_typed(self, timeout: float | None) -> None:
        """Typed turns only (no microphone): wait on the queue, speak what the scheduler announces."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stopping.is_set() and self._control is None:
            wait = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if wait <= 0:
                return
            try:
                item = self._requests.get(timeout=wait)
            except queue.Empty:
                self._speak_announcements()
                continue
            self._handle(item)

    def _drain(self, block: bool) -> bool:
        """Answer every queued typed line; False once a control request is waiting (it is kept)."""
        while self._control is None:
            try:
                item = self._requests.get(block=block)
            except queue.Empty:
                return True
            self._handle(item)
        return False

    def _handle(self, item: str | _Control) -> None:
        if isinstance(item, _Control):
            self._control = item
        elif self.pipeline is None:
            self.bus.emit(AppError(message="no assistant loaded: switch to a working profile (/profile NAME)"))
        else:
            self._typed_turn(item)

    def _typed_turn(self, text: str) -> None:
        p = self.pipeline
        try:
            p.typed_turn(text)
        except Exception as exc:  # one bad turn must not end the session
            p.bus.emit(ErrorRaised(message=f"turn failed: {type(exc).__name__}: {exc}"))

    def _speak_announcements(self) -> None:
        if self.pipeline is not None and self.pipeline.announcements:
            self.pipeline.say_announcements()

    def _on_event(self, event: Event) -> None:
        if event.kind == "speech_start":
            self._in_speech = True
        elif event.kind in ("speech_end", "stopped"):
            self._in_speech = False

    def _close(self) -> None:
        if self.assistant is not None:
            self.assistant.close()
        if self._sink is not None:
            self._sink.close()

