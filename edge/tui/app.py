"""The Textual app: what the assistant hears, understands and answers, live; typed input works as well as voice.

All pipeline work happens in :class:`~edge.tui.worker.AssistantWorker`'s thread; it reports through
thread-safe :class:`WorkerNote` messages, and the app only draws.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, RichLog, Static

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
    IntentParsed,
    LanguageHeard,
    LearnedApplied,
    Listening,
    OutputState,
    PartialTranscript,
    ReplyChosen,
    ReplyDone,
    Transcript,
    TurnSummary,
    WarningRaised,
)
from edge.tui.pending import pending_items
from edge.tui.widgets import LatencyPanel, LevelMeter, PendingPanel, StatusLine, TurnPanel
from edge.tui.worker import AssistantWorker, Loaded, MicState, TuiSettings, canonical_locale

__all__ = ["MIN_HEIGHT", "MIN_WIDTH", "EdgeApp", "WorkerNote"]

MIN_WIDTH, MIN_HEIGHT = 60, 16
HELP = ("type to talk to the assistant; /locale TAG, /profile NAME, /help, /clear; F5 push to talk, "
        "Esc stop speaking, F2 locale, F3 profile, Ctrl+Q quit")
# Events shown as the VAD/dialogue state (the last four come with the wake-word pipeline).
_STATES = {"listening": "silence", "speech_start": "speech", "speech_end": "thinking", "stopped": "off",
           "awaiting_wake": "waiting for wake word", "wake": "wake word heard", "follow_up": "listening (follow-up)",
           "barge_in": "barge-in"}


def _short(value: Any, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_CSS = """
#status { height: auto; max-height: 2; background: $boost; padding: 0 1; }
#meter { height: 1; padding: 0 1; }
#body { height: 1fr; }
#main { height: 1fr; }
#left { width: 2fr; }
#right { width: 1fr; min-width: 36; }
#turn { height: auto; border: round $primary; padding: 0 1; }
#log { height: 1fr; border: round $panel; }
#pending { height: 1fr; border: round $primary; padding: 0 1; }
#latency { height: auto; border: round $primary; padding: 0 1; }
#notice { height: auto; max-height: 3; padding: 0 1; }
#too-small { display: none; content-align: center middle; height: 1fr; }
Screen.too-small #body { display: none; }
Screen.too-small #too-small { display: block; }
"""


def vad_state(event: Event) -> str | None:
    """What the meter shows as the VAD/dialogue state after ``event`` (None: no change)."""
    if event.kind not in _STATES or (isinstance(event, Listening) and not event.live):
        return None
    return _STATES[event.kind]


def event_line(event: Event) -> str:
    """One line of the events log."""
    d = event.data
    if event.kind == "turn":  # the rest of a turn was logged as it happened: its latency only
        data = " ".join(f"{k}={v:.0f}ms" for k, v in d.get("latency_ms", {}).items())
        data += " (measured)" if d.get("measured") else " (estimated)"
    else:
        data = " ".join(f"{k}={_short(v)}" for k, v in d.items() if k != "slots" and v is not None)
        if d.get("slots"):
            data += " slots=" + ",".join(f"{s['type']}:{s['value']}" for s in d["slots"])
    return f"{event.t:8.2f} #{event.turn:<3} {event.kind:<12} {data}"


def status_text(loaded: Loaded, output_note: str, muted: bool) -> str:
    """The status line: what is loaded, and a persistent output state ("MUTED ...") while it holds."""
    wake = f"wake '{loaded.wake}'" if loaded.wake else "no wake word"
    output = f"  {output_note.upper() if muted else output_note}" if output_note else ""
    return (f"edge  profile {loaded.profile}  locale {loaded.locale}  asr {loaded.asr}  nlu {loaded.nlu}  "
            f"tts {loaded.tts}  {wake}  out {loaded.output}{output}")


def show_pending(panel: PendingPanel, store: Any, loading: bool) -> None:
    """The pending alarms, timers and reminders of ``store`` in ``panel`` (or why there are none to show)."""
    now = dt.datetime.now().astimezone()
    if store is None:
        panel.show(None, now, "loading..." if loading else "no alarm store")
        return
    try:
        panel.show(pending_items(store, now), now)
    except Exception as exc:  # a locked or vanished database must not break the screen
        panel.show(None, now, f"cannot read alarms: {exc}")


def layout() -> ComposeResult:
    """The screen: status, level meter, last turn and events log, pending items and latency, input."""
    with Vertical(id="body"):
        yield StatusLine("loading...", id="status")
        yield LevelMeter(id="meter")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                turn = TurnPanel(id="turn")
                turn.border_title = "last turn"
                yield turn
                log = RichLog(id="log", max_lines=500, wrap=True, markup=False)
                log.border_title = "events"
                yield log
            with Vertical(id="right"):
                pending = PendingPanel(id="pending")
                pending.border_title = "pending alarms, timers, reminders"
                yield pending
                latency = LatencyPanel("no turn yet", id="latency")
                latency.border_title = "latency, last turn"
                yield latency
        yield Static(id="notice")
        yield Input(placeholder="type to the assistant (or /help)", id="input")
        yield Footer()
    yield Static(f"terminal too small: make it at least {MIN_WIDTH}x{MIN_HEIGHT}", id="too-small")


class WorkerNote(Message):
    """An event from the assistant thread's bus (the pipeline's, or the worker's own ``App*`` events)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class Chooser(ModalScreen[str | None]):
    """Pick one of ``options`` (a locale or a profile); Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]
    DEFAULT_CSS = """
    Chooser { align: center middle; }
    Chooser > OptionList { width: 40; height: 70%; border: round $accent; }
    """

    def __init__(self, title: str, options: list[str], current: str) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.current = current

    def compose(self) -> ComposeResult:
        option_list = OptionList(*self.options)
        option_list.border_title = self.title_text
        if self.current in self.options:
            option_list.highlighted = self.options.index(self.current)
        yield option_list

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.options[event.option_index])


class EdgeApp(App[int]):
    """`edge tui`: the voice assistant in a terminal."""

    TITLE = "edge"
    CSS = _CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "push_to_talk", "Push to talk"),
        Binding("escape", "stop_speaking", "Stop speaking"),
        Binding("f2", "choose_locale", "Locale"),
        Binding("f3", "choose_profile", "Profile"),
        Binding("ctrl+l", "clear_log", "Clear log"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, settings: TuiSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or TuiSettings()
        self.worker = AssistantWorker(self.settings, self._from_worker)
        self.store: Any = None
        self.loaded: Loaded | None = None
        self.mic_state = MicState("opening")
        self.notices: list[Text] = []
        self.errors: list[str] = []  # every error and warning shown, for tests and the log
        self.replies = 0  # reply events seen (tests wait on it)
        self.output_muted = False  # the last OutputState: shown on the status line while it holds
        self.output_note = ""
        self.turns = 0
        self.transcripts: list[str] = []  # every final transcript, typed or heard

    # --- layout ---------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield from layout()

    def on_mount(self) -> None:
        # Looked up once: the level alone arrives ten times a second.
        self.meter = self.query_one(LevelMeter)
        self.turn_panel = self.query_one(TurnPanel)
        self.status = self.query_one(StatusLine)
        self.latency = self.query_one(LatencyPanel)
        self.pending = self.query_one(PendingPanel)
        self.log_view = self.query_one(RichLog)
        self.notice_view = self.query_one("#notice", Static)
        self._check_size(self.size.width, self.size.height)
        self.query_one("#input", Input).focus()
        self.set_interval(1.0, self.refresh_pending)
        self.worker.start()

    def on_unmount(self) -> None:
        self.worker.stop()

    def on_resize(self, event: Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        self.screen.set_class(width < MIN_WIDTH or height < MIN_HEIGHT, "too-small")

    # --- from the worker thread -----------------------------------------------------------------------

    def _from_worker(self, event: Event) -> None:
        try:
            self.post_message(WorkerNote(event))
        except RuntimeError:  # the app's loop is gone (quitting)
            pass

    def on_worker_note(self, note: WorkerNote) -> None:
        match note.event:
            case AppLevel(db=db):
                self.meter.set_level(db)
            case AppMic(state=state):
                self._on_mic(state)
            case AppLoading(profile=profile, locale=locale):
                self.status.update(f"loading models: profile {profile}, locale {locale}...")
            case AppLoaded(loaded=loaded):
                self._on_loaded(loaded)
            case AppLoadFailed(message=message):
                self.notice(message, error=True)
                if self.loaded is not None:
                    self._on_loaded(self.loaded, problems=False)
                else:
                    self.status.update("edge  no assistant loaded: /profile NAME (F3 lists them)")
            case AppStore(store=store):
                self.store = store
                self.refresh_pending()
            case AppError(message=message):
                self.notice(message, error=True)
            case AppNote(message=message):
                self.notice(message)
            case AppStopped():
                pass
            case event:
                self._on_event(event)

    def _on_loaded(self, loaded: Loaded, problems: bool = True) -> None:
        self.loaded = loaded
        self._show_status()
        if problems:
            for problem in loaded.problems:
                self.notice(problem, error=True)
            self.log_line(f"loaded profile {loaded.profile}, locale {loaded.locale}")

    def _show_status(self) -> None:
        if self.loaded is not None:
            self.status.update(status_text(self.loaded, self.output_note, self.output_muted))

    def _on_mic(self, state: MicState) -> None:
        self.mic_state = state
        meter = self.meter
        if state.state == "on":
            meter.set_mic(f"microphone: {state.device}")
            self.notice(f"listening on {state.device}")
        elif state.state == "opening":
            meter.set_mic("opening the microphone...")
        else:
            short = {"off": "no microphone: type below", "failed": "no microphone: type below",
                     "unusable": "no speech input: type below"}[state.state]
            meter.set_mic(short)
            meter.set_vad("off")
            self.notice(state.message or short, error=state.state == "failed")

    def _on_event(self, event: Event) -> None:
        self.log_line(event_line(event))
        state = vad_state(event)
        if state is not None:
            self.meter.set_vad(state)
        turn = self.turn_panel
        match event:
            case PartialTranscript(text=text):
                turn.partial(text)
            case Transcript(text=text, engine=engine):
                self.transcripts.append(text)
                turn.transcript(text, engine)
            case IntentParsed():
                turn.set_intent(event.data)
            case LanguageHeard():  # --locale auto: the language heard beside the transcript
                turn.transcript(turn.heard, f"{turn.engine}, {event.describe()}" if turn.engine else event.describe())
            case ReplyChosen(text=text):
                self.replies += 1
                speaking = self.loaded is not None and self.loaded.tts != "off"
                turn.set_reply(text, "speaking..." if speaking else "not spoken")
            case ReplyDone(audio_s=audio_s):
                turn.set_reply_state(f"spoken, {audio_s:.1f} s" if audio_s else "not spoken")
            case TurnSummary(latency_ms=latency_ms, measured=measured):
                self.turns += 1
                self.latency.show(latency_ms, measured)
                if self.mic_state.state == "on":
                    self.meter.set_vad("silence")
                self.refresh_pending()
            case WarningRaised(message=message) | ErrorRaised(message=message):
                self.notice(f"{event.kind}: {message}", error=event.kind == "error")
            case LearnedApplied():  # a learned correction changed what the user hears
                self.notice(event.describe())
            case OutputState(muted=muted):
                self.output_muted = muted
                self.output_note = event.describe() if muted or event.volume != 1.0 else ""
                self._show_status()  # stays on the status line while it holds, not only as a passing note
                self.notice(event.describe())

    # --- panels ---------------------------------------------------------------------------------------

    def log_line(self, line: str) -> None:
        self.log_view.write(Text(line))

    def notice(self, message: str, error: bool = False) -> None:
        """A message under the panels (the last three stay); errors in red."""
        if error:
            self.errors.append(message)
        self.notices = [*self.notices, Text(message, style="bold red" if error else "yellow")][-3:]
        self.notice_view.update(Text("\n").join(self.notices))
        self.log_line(("ERROR " if error else "note ") + message)

    def refresh_pending(self) -> None:
        show_pending(self.pending, self.store, loading=self.loaded is None)

    # --- input and commands ---------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        if not text:
            return
        if text.startswith("/"):
            self.command(text)
            return
        self.log_line(f"you> {text}")
        self.worker.submit(text)

    def command(self, text: str) -> None:
        """``/locale TAG``, ``/profile NAME``, ``/help``, ``/clear``; a bad one gets one line saying why."""
        name, _, arg = text[1:].partition(" ")
        arg = arg.strip()
        if name == "locale" and arg:
            self.switch_locale(arg)
        elif name == "profile" and arg:
            self.switch_profile(arg)
        elif name == "help":
            self.notice(HELP)
        elif name == "clear":
            self.action_clear_log()
        elif name in ("locale", "profile"):
            self.notice(f"/{name} needs a value, e.g. /{name} {'de-DE' if name == 'locale' else 'rpi5'}", error=True)
        else:
            self.notice(f"unknown command /{name}: try /help", error=True)

    def switch_locale(self, tag: str) -> None:
        locale = canonical_locale(tag)
        if locale is None:
            self.notice(f"unknown locale {tag!r}: use a MASSIVE locale such as en-US, de-DE or ko-KR (F2 lists them)",
                        error=True)
            return
        self.notice(f"switching to locale {locale}...")
        self.worker.switch(locale=locale)

    def switch_profile(self, name: str) -> None:
        self.notice(f"switching to profile {name}...")
        self.worker.switch(profile=name)

    def action_push_to_talk(self) -> None:
        if self.mic_state.state != "on":
            self.notice("push to talk needs a microphone: type below")
        elif self.worker.push_to_talk() is None:
            self.notice("this pipeline has no push to talk: the microphone always listens")
        else:
            self.notice("push to talk: speak now")

    def action_stop_speaking(self) -> None:
        stopped = self.worker.stop_speaking()
        if stopped is None:
            self.notice("this pipeline cannot cut a reply short")
        elif stopped:
            self.notice("stopped speaking")

    def action_clear_log(self) -> None:
        self.log_view.clear()

    def action_choose_locale(self) -> None:
        from edge.nlu.locales import MASSIVE_LOCALES

        current = self.loaded.locale if self.loaded else self.settings.locale
        self.push_screen(Chooser("locale", list(MASSIVE_LOCALES), current),
                         lambda choice: self.switch_locale(choice) if choice else None)

    def action_choose_profile(self) -> None:
        from edge.profiles import list_profiles

        current = self.loaded.profile if self.loaded else (self.settings.profile or "desktop")
        self.push_screen(Chooser("profile", list_profiles(), current),
                         lambda choice: self.switch_profile(choice) if choice else None)
