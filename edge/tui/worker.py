"""The app's one assistant thread: builds the pipeline, listens on the microphone, serves typed turns.

The pipeline is not thread-safe, so everything that touches it runs here: the microphone loop
(:meth:`Pipeline.run` over a metered microphone iterator), typed lines (``pipeline.respond`` between
microphone blocks, or while waiting on the queue when there is no microphone) and rebuilding it for
another locale or profile. The app only talks to it through :meth:`AssistantWorker.submit` and friends,
and hears back through ``notify(kind, value)``, called from this thread:

``loading`` (dict), ``loaded`` (:class:`Loaded`), ``load_failed`` (str), ``mic`` (:class:`MicState`),
``level`` (dBFS float, ~10 per second), ``event`` (a pipeline :class:`~edge.pipeline.events.Event`),
``store`` (the skills store, or None), ``error`` (str), ``note`` (str), ``stopped`` (None).
"""

from __future__ import annotations

import inspect
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.audio.devices import SILENCE_DB, db_level
from edge.pipeline.events import Event, EventBus

__all__ = ["AssistantWorker", "Loaded", "MicState", "TuiSettings", "build_pipeline", "canonical_locale"]

Notify = Callable[[str, Any], None]
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
    """``tag`` as MASSIVE spells it ("de-de" is "de-DE"); None if no MASSIVE language matches."""
    from edge.nlu.locales import MASSIVE_LOCALES, is_known_locale

    exact = {loc.lower(): loc for loc in MASSIVE_LOCALES}
    cleaned = tag.strip().replace("_", "-")
    locale = exact.get(cleaned.lower(), cleaned)
    return locale if locale and is_known_locale(locale) else None


def _accepted(fn: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """The keyword arguments (not None) that ``fn`` takes: the pipeline's options vary between versions."""
    params = inspect.signature(fn).parameters
    return {k: v for k, v in kwargs.items() if v is not None and k in params}


def load_wake(spec: str | None, notify: Notify) -> tuple[Any, str | None]:
    """The wake detector for a phrase or model path (None: always listening) and a problem to show."""
    if spec is None or spec.strip().lower() in ("", "none", "off"):
        return None, None
    try:
        from edge.wake import load_detector
    except ImportError as exc:
        return None, f"wake word {spec!r} is not available in this installation ({exc}): always listening"
    def progress(*info: Any) -> None:
        notify("note", "wake word: " + " ".join(map(str, info)))

    try:
        return load_detector(spec, progress=progress, lazy=True), None  # Whisper shared in build_pipeline
    except Exception as exc:  # whatever the loader raises, the user gets one line and the app goes on
        return None, f"cannot load the wake word {spec!r} ({exc}): always listening"


def build_pipeline(profile: Any, locale: str, settings: TuiSettings, sink: Any, sink_desc: str,
                   bus: EventBus, wake: Any = None) -> tuple[Any, Loaded]:
    """The pipeline for ``profile`` and ``locale``; where a stage fails to load, every stage that does: without
    ASR it serves typed turns only, without TTS it answers in text. Only the NLU and the VAD are required
    (PipelineError otherwise). Returns the pipeline and what it runs."""
    from edge.pipeline.assistant import Pipeline
    from edge.pipeline.loader import PipelineError

    problems: list[str] = []
    options = _accepted(Pipeline.from_profile, wake=wake)
    if wake is not None and "wake" not in options:
        problems.append("this pipeline has no wake word support: always listening")
    try:
        pipeline = Pipeline.from_profile(profile, locale, sink=sink, bus=bus, speak=settings.speak,
                                         voice=settings.voice, data_dir=settings.data_dir, **options)
    except PipelineError:
        pipeline = _partial_pipeline(profile, locale, settings, sink, bus, wake, problems)
    asr = pipeline.asr
    if wake is not None and getattr(wake, "verifier", None) is not None:
        try:  # the wake word's Whisper check uses this pipeline's Whisper engine where it is one
            from edge.wake import share_asr

            share_asr(wake, asr)
        except Exception as exc:  # noqa: BLE001 - a check that cannot load: stage 1 alone, said once
            wake.verifier = None
            problems.append(f"wake word check unavailable ({str(exc).splitlines()[0][:100]}): more false wakes")
    loaded = Loaded(profile=profile.name, locale=locale, asr=_asr_label(asr, profile, locale),
                    nlu=Path(profile.nlu.model).stem, tts=_tts_label(pipeline.tts, profile, locale, settings.voice),
                    output=sink_desc, can_listen=asr is not None,
                    wake=getattr(wake, "phrase", None) if getattr(pipeline, "wake", None) is not None else None,
                    problems=tuple(problems))
    return pipeline, loaded


def _partial_pipeline(profile: Any, locale: str, settings: TuiSettings, sink: Any, bus: EventBus, wake: Any,
                      problems: list[str]) -> Any:
    """What from_profile builds, stage by stage, leaving out (and reporting) the ASR or TTS that fails."""
    from edge.pipeline.assistant import Pipeline
    from edge.pipeline.loader import PipelineError, load_asr, load_endpointer, load_nlu, load_router, load_tts

    nlu = load_nlu(profile)
    endpointer = load_endpointer(profile)
    asr = None
    try:
        asr = load_asr(profile, locale)
    except PipelineError as exc:
        problems.append(f"no speech input for {locale}: {exc}")
    tts = None
    if settings.speak:
        try:
            tts = load_tts(profile, locale, settings.voice)
        except PipelineError as exc:
            problems.append(f"replies are not spoken: {exc}")
    announcements: list[str] = []
    router = load_router(sink, settings.data_dir, announcements.append)
    dialogue = getattr(profile, "dialogue", None)
    extra = _accepted(Pipeline.__init__, wake=wake, barge_in=getattr(dialogue, "barge_in", None),
                      barge_in_threshold=getattr(dialogue, "barge_in_threshold", None),
                      barge_in_min_speech_ms=getattr(dialogue, "barge_in_min_speech_ms", None),
                      wake_window_s=getattr(dialogue, "wake_window_s", None),
                      follow_up_s=getattr(dialogue, "follow_up_s", None))
    return Pipeline(endpointer=endpointer, asr=asr, nlu=nlu, tts=tts, sink=sink, locale=locale,  # type: ignore[arg-type]
                    router=router, bus=bus, speculate_ms=profile.asr.speculate_ms,  # type: ignore[arg-type]
                    partial_interval_ms=profile.asr.partial_interval_ms, announcements=announcements, **extra)


def _asr_label(asr: Any, profile: Any, locale: str) -> str:
    if asr is None:
        return "off"
    return str(getattr(asr, "model_id", None) or profile.asr_model(locale) or asr.name)


def _tts_label(tts: Any, profile: Any, locale: str, voice: str | None) -> str:
    if tts is None:
        return "off"
    path = getattr(tts, "model_path", None)
    chosen = Path(path).stem if path else (voice or profile.tts_voice(locale))
    return f"{tts.name}:{chosen}" if chosen and chosen != "auto" else str(tts.name)


def open_reply_sink(spec: str | None, device: str | int | None) -> tuple[Any, str, str | None]:
    """The sink replies are played on, its description, and a problem to show (no speaker: text only)."""
    from edge.audio.sink import NullSink
    from edge.cli_errors import CliError
    from edge.commands.common import open_sink

    try:
        sink, desc = open_sink(spec, device, fallback_to_null=False)
        return sink, desc, None
    except CliError as exc:
        return NullSink(), "none", f"no speaker ({exc}): replies are shown, not played"


class AssistantWorker:
    """Owns the pipeline in one thread. Thread-safe entry points: submit, switch, push_to_talk,
    stop_speaking, stop."""

    def __init__(self, settings: TuiSettings, notify: Notify) -> None:
        self.settings = settings
        self.notify = notify
        self.bus = EventBus()
        self.bus.subscribe(self._on_event)
        self.pipeline: Any = None
        self.profile: Any = None
        self.locale = settings.locale
        self.loaded: Loaded | None = None
        self._requests: queue.Queue[str | _Control] = queue.Queue()
        self._control: _Control | None = None
        self._stopping = threading.Event()
        self._mic: Any = None
        self._mic_failed_with: str | None = None
        self._mic_retry_at = 0.0
        self._in_speech = False
        self._scheduler: Any = None
        self._wakes: dict[str, tuple[Any, str | None]] = {}
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
            self._sink, self._sink_desc, problem = open_reply_sink(self.settings.output, self._output_device())
            if problem:
                self.notify("error", problem)
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
            self.notify("error", f"assistant stopped: {type(exc).__name__}: {exc}")
        finally:
            self._close()
            self.notify("stopped", None)

    def _output_device(self) -> str | int | None:
        from edge.profiles import ProfileError, load_profile

        if self.settings.output_device is not None:
            return self.settings.output_device
        try:
            return load_profile(self.settings.profile).audio.output_device
        except ProfileError:  # reported when the pipeline loads
            return None

    def _mic_wanted(self) -> bool:
        return self.settings.mic and self.loaded is not None and self.loaded.can_listen

    def _can_listen(self) -> bool:
        return self._mic_wanted() and (self._mic_failed_with is None or time.monotonic() >= self._mic_retry_at)

    def _load(self, profile_name: str | None, locale: str, first: bool = False) -> bool:
        from edge.pipeline.loader import PipelineError
        from edge.profiles import ProfileError, load_profile

        self.notify("loading", {"profile": profile_name or "desktop", "locale": locale})
        try:
            profile = load_profile(profile_name)
            wake = self._wake_for(profile)
            pipeline, loaded = build_pipeline(profile, locale, self.settings, self._sink, self._sink_desc, self.bus,
                                              wake)
        except (ProfileError, PipelineError) as exc:
            what = "cannot start" if first or self.pipeline is None else "kept the current setup"
            self.notify("load_failed", f"{what}: {exc}")
            return False
        old = self.pipeline
        self._stop_scheduler()
        if old is not None:
            old.close()
        self.pipeline, self.profile, self.locale, self.loaded = pipeline, profile, locale, loaded
        self._mic_failed_with = None
        self._start_scheduler()
        self.notify("loaded", loaded)
        if not self.settings.mic:
            self.notify("mic", MicState("off", "microphone off (--no-mic): type below"))
        elif not loaded.can_listen:
            self.notify("mic", MicState("unusable", f"no speech recognition for {locale}: type below"))
        return True

    def _wake_for(self, profile: Any) -> Any:
        """The wake detector --wake (or else the profile's ``[dialogue] wake_phrase``) asks for, loaded once."""
        spec = self.settings.wake
        if spec is None:
            spec = getattr(getattr(profile, "dialogue", None), "wake_phrase", None)
        if spec is None:
            return None
        if spec not in self._wakes:
            self._wakes[spec] = load_wake(spec, self.notify)
            if self._wakes[spec][1]:
                self.notify("error", self._wakes[spec][1])
        return self._wakes[spec][0]

    def _start_scheduler(self) -> None:
        from edge.commands.run import _start_scheduler

        try:
            self._scheduler = _start_scheduler(self.pipeline, self.locale)
        except Exception as exc:  # alarms then do not ring, the rest works
            self.notify("error", f"alarms and timers will not ring: {exc}")
            self._scheduler = None
        context = getattr(self.pipeline.router, "context", None)
        store = context(self.locale).services.get("store") if context is not None else None
        self.notify("store", store)

    def _stop_scheduler(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None

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
                self.notify("mic", MicState("opening", device=str(device or "default")))
            with MicrophoneSource(device, block_ms=self.profile.audio.block_ms) as mic:
                self._mic = mic
                if self._stopping.is_set() or self._control is not None:
                    return
                self.notify("mic", MicState("on", device=mic.device_name))
                self._mic_failed_with = None
                self.pipeline.run(self._metered(mic), live=True, source="microphone")
        except AudioDeviceError as exc:
            message = str(exc)
            if message != self._mic_failed_with:
                self.notify("mic", MicState("failed", f"{message} (retrying every {MIC_RETRY_S:.0f} s; "
                                                      "typing works)", device=str(device or "default")))
            self._mic_failed_with = message
            self._mic_retry_at = time.monotonic() + MIC_RETRY_S
        except Exception as exc:  # a failing stage must not take typing down with it: report, retry later
            message = f"listening failed ({type(exc).__name__}: {exc}); retrying every {MIC_RETRY_S:.0f} s"
            if message != self._mic_failed_with:
                self.notify("mic", MicState("failed", message, device=str(device or "default")))
            self._mic_failed_with = message
            self._mic_retry_at = time.monotonic() + MIC_RETRY_S
        finally:
            self._mic = None
            self._in_speech = False
            self.notify("level", None)

    def _metered(self, chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """The microphone's blocks with the level reported and typed turns answered between them; ends at a
        control request."""
        last = time.monotonic()
        peak = SILENCE_DB
        for block in chunks:
            peak = max(peak, db_level(block))
            now = time.monotonic()
            if now - last >= LEVEL_INTERVAL_S:
                self.notify("level", peak)
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
            self.notify("error", "no assistant loaded: switch to a working profile (/profile NAME)")
        else:
            self._typed_turn(item)

    def _typed_turn(self, text: str) -> None:
        p = self.pipeline
        try:
            p.typed_turn(text)
        except Exception as exc:  # one bad turn must not end the session
            p.bus.emit("error", message=f"turn failed: {type(exc).__name__}: {exc}")

    def _speak_announcements(self) -> None:
        if self.pipeline is not None and self.pipeline.announcements:
            self.pipeline.say_announcements()

    def _on_event(self, event: Event) -> None:
        if event.kind == "speech_start":
            self._in_speech = True
        elif event.kind in ("speech_end", "stopped"):
            self._in_speech = False
        self.notify("event", event)

    def _close(self) -> None:
        self._stop_scheduler()
        if self.pipeline is not None:
            self.pipeline.close()
        if self._sink is not None:
            self._sink.close()

