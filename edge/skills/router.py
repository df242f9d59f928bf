"""The skill router: every MASSIVE intent goes to a skill, with the dialogue around it.

``SkillRouter`` implements the ``Router`` protocol of :mod:`edge.skills.contract` (``handle``, ``preview``,
``common_phrases``, ``stop_playback``, ``drop_pending``).
Skills come from a registry: the built-ins, the time skills imported lazily by module path (an import
that fails leaves their intents with an honest "not available" answer), and plugins (entry points of
the group ``edge.skills``). A parse below ``threshold`` (or out of domain) gets a clarifying question;
missing slots, confirmations, cancel and carry-over are kept in a :class:`~edge.skills.dialogue.Session`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from edge.nlu.runtime import Parse, Slot
from edge.paths import data_dir
from edge.skills.base import Outcome, Skill, SkillContext
from edge.skills.complaints import complaint_rest
from edge.skills.contract import Reply, Router
from edge.skills.dialogue import Pending, Session, answer_kind, courtesy, merge_slots
from edge.skills.i18n import Templates
from edge.stop_phrases import is_stop

__all__ = ["BUILTIN_SKILLS", "INTENTS", "LAZY_SKILLS", "ContextFactory", "SkillRouter", "UnavailableSkill",
           "default_data_dir", "load_skill"]

log = logging.getLogger(__name__)

INTENTS: tuple[str, ...] = (
    "alarm_query", "alarm_remove", "alarm_set", "audio_volume_down", "audio_volume_mute", "audio_volume_other",
    "audio_volume_up", "calendar_query", "calendar_remove", "calendar_set", "cooking_query", "cooking_recipe",
    "datetime_convert", "datetime_query", "email_addcontact", "email_query", "email_querycontact",
    "email_sendemail", "general_greet", "general_joke", "general_quirky", "iot_cleaning", "iot_coffee",
    "iot_hue_lightchange", "iot_hue_lightdim", "iot_hue_lightoff", "iot_hue_lighton", "iot_hue_lightup",
    "iot_wemo_off", "iot_wemo_on", "lists_createoradd", "lists_query", "lists_remove", "music_dislikeness",
    "music_likeness", "music_query", "music_settings", "news_query", "play_audiobook", "play_game", "play_music",
    "play_podcasts", "play_radio", "qa_currency", "qa_definition", "qa_factoid", "qa_maths", "qa_stock",
    "recommendation_events", "recommendation_locations", "recommendation_movies", "social_post", "social_query",
    "takeaway_order", "takeaway_query", "transport_query", "transport_taxi", "transport_ticket",
    "transport_traffic", "weather_query",
)

BUILTIN_SKILLS: tuple[str, ...] = (
    "edge.skills.maths:MathsSkill",
    "edge.skills.lists:ListsSkill",
    "edge.skills.calendar:CalendarSkill",
    "edge.skills.audio_control:AudioControlSkill",
    "edge.skills.media:MediaSkill",
    "edge.skills.iot:IotSkill",
    "edge.skills.smalltalk:SmallTalkSkill",
)

# Skills another module provides; the intents they are expected to cover if their import fails.
LAZY_SKILLS: dict[str, tuple[str, ...]] = {
    "edge.skills.alarms:AlarmSkill": ("alarm_query", "alarm_remove", "alarm_set"),
    "edge.skills.timers:TimerSkill": (),
    "edge.skills.datetime_skill:DateTimeSkill": ("datetime_convert", "datetime_query"),
}

_DIALOGUE = "dialogue"
_PHRASE_KEYS = ("common.unsure", "common.silence", "common.cancelled", "common.confirm_yes_no", "common.offline",
                "dialogue.unavailable", "dialogue.rephrase", "dialogue.failed")


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/edge`` (default ``~/.local/share/edge``)."""
    return data_dir()


class ContextFactory:
    """Builds the :class:`SkillContext` of a turn: one data folder and one set of services for every locale.

    ``services`` may hold ``store`` (an ``edge.skills.store.Store``; opened in ``data_dir`` on first use if
    absent), ``sink`` (the audio sink), ``media_dir``, ``devices_file``, ``scheduler``...
    """

    def __init__(self, data_dir: Path | str | None = None, services: dict[str, Any] | None = None,
                 clock: Callable[[], dt.datetime] | None = None,
                 announce: Callable[[str], None] | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.services: dict[str, Any] = services if services is not None else {}
        self.clock = clock or (lambda: dt.datetime.now().astimezone())
        self.announce = announce or (lambda text: None)
        self._store_tried = False

    def _open_store(self) -> None:
        self._store_tried = True
        if "store" in self.services:
            return
        try:
            from edge.skills.store import store_for

            store_for(self.services, self.data_dir)
        except Exception as exc:  # lists and the calendar then say they cannot store anything
            log.warning("skills: no persistent store (%s: %s)", type(exc).__name__, exc)

    def __call__(self, locale: str) -> SkillContext:
        if not self._store_tried:
            self._open_store()
        return SkillContext(locale=locale, clock=self.clock, data_dir=self.data_dir, say=Templates(locale).say,
                            announce=self.announce, services=self.services)


class UnavailableSkill:
    """Stands in for a skill that could not be loaded: says so honestly, for each of its intents."""

    def __init__(self, name: str, intents: Iterable[str], reason: str) -> None:
        self.name = name
        self.intents = tuple(intents)
        self.honest = self.intents
        self.reason = reason

    def handle(self, parse: Parse, ctx: SkillContext) -> Outcome:
        what = ctx.say(f"dialogue.intent_{parse.intent}") if parse.intent else ctx.say("dialogue.intent_unknown")
        return Outcome(Reply(ctx.say("dialogue.unavailable", what=what), ctx.locale, self.name))

    def preview(self, parse: Parse, ctx: SkillContext) -> Outcome | None:
        return self.handle(parse, ctx)


def load_skill(spec: str) -> Any:
    """``"package.module:Class"`` -> an instance (the class called without arguments)."""
    module_name, _, attr = spec.partition(":")
    target = getattr(importlib.import_module(module_name), attr)
    return target() if callable(target) else target


def _load_all(specs: Iterable[str], lazy: dict[str, tuple[str, ...]]) -> list[Any]:
    skills: list[Any] = []
    for spec in specs:
        try:
            skills.append(load_skill(spec))
        except Exception as exc:
            log.warning("skills: cannot load %s (%s: %s)", spec, type(exc).__name__, exc)
            expected = lazy.get(spec, ())
            if expected:
                name = spec.partition(":")[0].rsplit(".", 1)[-1]
                skills.append(UnavailableSkill(name, expected, f"{type(exc).__name__}: {exc}"))
    return skills


class SkillRouter(Router):
    """Routes parses to skills and runs the dialogue. Implements ``edge.pipeline.replies.Router``.

    ``context``: builds a turn's :class:`SkillContext` from its locale (default: a :class:`ContextFactory`
    over ``$XDG_DATA_HOME/edge``). ``skills``: instances to use instead of the registry (built-ins + lazy
    time skills). ``plugins``: True loads the ``edge.skills`` entry points, False none, or a list of entry
    points to load. ``threshold``: below it a parse is clarified; ``new_command``: above it an answer to a
    question is taken as a new command instead.
    """

    def __init__(self, context: Callable[[str], SkillContext] | None = None, skills: Sequence[Any] | None = None,
                 *, plugins: bool | Sequence[Any] = True, threshold: float = 0.45, new_command: float = 0.8,
                 session: Session | None = None, lazy: dict[str, tuple[str, ...]] | None = None) -> None:
        self.context = context or ContextFactory()
        lazy = LAZY_SKILLS if lazy is None else lazy
        found = list(skills) if skills is not None else _load_all([*BUILTIN_SKILLS, *lazy], lazy)
        if plugins:
            from edge.skills.plugins import load_plugins

            found += load_plugins(None if plugins is True else list(plugins))
        self.skills: list[Any] = found
        self.threshold = threshold
        self.new_command = new_command
        self.session = session or Session()
        self._by_name: dict[str, Any] = {}
        self._by_intent: dict[str, Any] = {}
        for skill in found:
            self._by_name.setdefault(skill.name, skill)
            for intent in skill.intents:
                self._by_intent.setdefault(intent, skill)

    def stop_playback(self) -> bool:
        """Stop whatever a skill is playing (music, an audiobook): what "stop" alone means while it plays.
        True if a skill was playing something."""
        stopped = False
        for skill in self.skills:
            stop = getattr(skill, "stop_playback", None)
            if callable(stop):
                try:
                    stopped = bool(stop()) or stopped
                except Exception as exc:  # one skill's failure must not keep the others playing
                    log.warning("skills: %s could not stop its playback (%s)", getattr(skill, "name", skill), exc)
        return stopped

    def drop_pending(self) -> None:
        """Forget the question the last reply asked (the user said "stop" over it)."""
        self.session.pending = None

    # --- the Router protocol ----------------------------------------------------------------------

    def handle(self, parse: Parse, locale: str, session: Session | None = None) -> Reply:
        """Act on ``parse`` and reply; updates the session (pending question, last action, follow-up)."""
        session = session or self.session
        reply = self._turn(parse, locale, session, act=True)
        assert reply is not None
        session.asked(reply.expects_answer)
        return reply

    def preview(self, parse: Parse, locale: str, session: Session | None = None) -> Reply | None:
        """The reply ``handle`` would give, without acting or touching the session; None if unknown."""
        try:
            return self._turn(parse, locale, session or self.session, act=False)
        except Exception:
            return None

    def common_phrases(self, locale: str) -> list[str]:
        """Short openings of frequent replies, for the TTS to synthesise ahead of time."""
        templates = Templates(locale)
        out: set[str] = set()
        for key in _PHRASE_KEYS:
            if not templates.has(key):
                continue
            full = templates.say(key, what="", option="", error="")
            mark = "、" if "、" in full else ","
            head = full.split(mark)[0]
            if head != full and len(head.split()) <= 3:
                out.add(head + mark)
        return sorted(out)

    # --- registry ---------------------------------------------------------------------------------

    def skill_for(self, parse: Parse, locale: str | None = None) -> Any | None:
        """The skill for ``parse``: one whose ``handles(parse)`` claims it, else the one for its intent."""
        if parse.locale is None and locale:
            parse = replace(parse, locale=locale)
        for skill in self.skills:
            handles = getattr(skill, "handles", None)
            if handles is not None:
                try:
                    if handles(parse):
                        return skill
                except Exception as exc:
                    log.warning("skills: %s.handles failed: %s", skill.name, exc)
        return self._by_intent.get(parse.intent or "")

    def coverage(self) -> list[tuple[str, str, str]]:
        """(intent, skill, "action" | "honest") for each MASSIVE intent."""
        rows = []
        for intent in INTENTS:
            skill = self._by_intent.get(intent)
            if skill is None:
                rows.append((intent, "(none)", "honest"))
            else:
                rows.append((intent, skill.name, "honest" if intent in getattr(skill, "honest", ()) else "action"))
        return rows

    # --- one turn ---------------------------------------------------------------------------------

    def _ctx(self, locale: str, session: Session) -> SkillContext:
        ctx = self.context(locale)
        ctx.session = session.data
        return ctx

    def _say(self, ctx: SkillContext, key: str, *, ask: bool = False, **values: object) -> Reply:
        return Reply(ctx.say(key, **values), ctx.locale, _DIALOGUE, expects_answer=ask)

    def _clear_command(self, parse: Parse, other_than: str | None = None) -> bool:
        return (parse.intent is not None and not parse.out_of_domain and parse.confidence > self.new_command
                and parse.intent != other_than)

    def _turn(self, parse: Parse, locale: str, session: Session, act: bool) -> Reply | None:
        ctx = self._ctx(locale, session)
        text = parse.text.strip()
        if not text:
            return self._say(ctx, "common.silence")
        answer = answer_kind(text, locale)
        pending = session.pending
        if is_stop(text, locale):  # "stop", "never mind", "be quiet" alone: never a command (a bare "stop" is mute)
            if act:
                session.pending = None
                self.stop_playback()
            return self._say(ctx, "common.cancelled")
        # MASSIVE has no intent for "thanks" or "bye": the model read them as requests
        polite = courtesy(text, locale) if pending is None or answer is None else None
        if polite is not None:
            if act:
                session.pending = None
            return self._say(ctx, "smalltalk.welcome" if polite == "thanks" else "smalltalk.bye")
        rest = complaint_rest(text, locale)  # "no, that's not what I asked": unless it goes on with a request
        if rest is not None and len(rest.split()) < 3 and not self._clear_command(parse):
            if act:
                session.pending = None
            return self._say(ctx, "dialogue.rephrase", ask=True)
        if pending is not None:
            reply = self._answer_pending(pending, parse, answer, ctx, session, act)
            if reply is not None or not act:
                return reply
        elif answer == "cancel" and (parse.intent is None or parse.confidence < self.new_command) \
                and not self._claimed_by_text(parse, locale):  # "cancel the timer" is the timer's
            return self._say(ctx, "common.cancelled")
        return self._route(parse, ctx, session, act)

    def _claimed_by_text(self, parse: Parse, locale: str) -> bool:
        """Whether a skill claims ``parse`` by its words (a timer: "cancel the timer")."""
        skill = self.skill_for(parse, locale)
        handles = getattr(skill, "handles", None) if skill is not None else None
        try:
            return handles is not None and bool(handles(replace(parse, locale=parse.locale or locale)))
        except Exception:  # skill_for has logged it
            return False

    def _answer_pending(self, pending: Pending, parse: Parse, answer: str | None, ctx: SkillContext,
                        session: Session, act: bool) -> Reply | None:
        """The reply to a turn that answers a pending question; None: not an answer, route it as new."""
        skill = self._by_name.get(pending.skill)
        if answer == "cancel" and self._claimed_by_text(parse, ctx.locale):  # "cancel the timer": a request
            return self._drop_and_route(parse, ctx, session, act)
        if answer == "cancel":
            if act:
                session.pending = None
            return self._say(ctx, "common.cancelled")
        if pending.kind == "confirm":
            if answer == "yes":
                if not act or pending.confirm is None:
                    return None
                session.pending = None
                return self._finish(self._safe(lambda: pending.confirm(), ctx, pending.skill), pending.skill,
                                    pending.parse, session)
            if answer == "no":
                if act:
                    session.pending = None
                return self._say(ctx, "common.cancelled")
            if self._clear_command(parse):
                return self._drop_and_route(parse, ctx, session, act)
            return self._say(ctx, "common.confirm_yes_no", ask=True)
        if pending.kind == "clarify":
            if answer == "yes" and skill is not None:
                if act:
                    session.pending = None
                sure = replace(pending.parse, confidence=1.0, out_of_domain=False)
                return self._run(skill, sure, ctx, session, act)
            if answer == "no":
                if act:
                    session.pending = None
                return self._say(ctx, "dialogue.rephrase", ask=True)
            return self._drop_and_route(parse, ctx, session, act)
        # a missing slot: this turn's text (or its slot of that type) fills it
        if skill is None or self._clear_command(parse, other_than=pending.parse.intent):
            return self._drop_and_route(parse, ctx, session, act)
        answer = _detached(parse.slots)  # offsets into another text than the pending parse's
        if not any(s.type == pending.slot and s.value.strip() for s in answer):
            answer.append(Slot(pending.slot or "", parse.text.strip(), -1, -1))
        slots = merge_slots(pending.parse.slots, answer)
        filled = replace(pending.parse, slots=slots)
        if act:
            session.pending = None
        return self._run(skill, filled, ctx, session, act)

    def _drop_and_route(self, parse: Parse, ctx: SkillContext, session: Session, act: bool) -> Reply | None:
        if act:
            session.pending = None
        return self._route(parse, ctx, session, act)

    def _route(self, parse: Parse, ctx: SkillContext, session: Session, act: bool) -> Reply | None:
        unsure = parse.intent is None or parse.out_of_domain or parse.confidence < self.threshold
        skill = self.skill_for(parse, ctx.locale)
        handles = getattr(skill, "handles", None) if skill is not None else None
        if handles is not None and (parse.intent not in skill.intents  # claimed by text (plugin pseudo-intents)
                                    or (unsure and getattr(skill, "certain_by_text", False) and handles(parse))):
            return self._run(skill, parse, ctx, session, act)  # before carry-over: "set a timer for 5 minutes"
        if unsure and session.last is not None and parse.slots and session.last[1].locale in (None, ctx.locale):
            skill_name, last = session.last
            previous = self._by_name.get(skill_name)
            if previous is not None:  # carry-over: "and another one at six"
                again = replace(last, text=parse.text, confidence=1.0, out_of_domain=False,
                                slots=merge_slots(_detached(last.slots), parse.slots))
                return self._run(previous, again, ctx, session, act)
        if parse.intent is None or (unsure and not _has(ctx, f"dialogue.intent_{parse.intent}")):
            return self._say(ctx, "common.unsure", ask=True)
        if unsure:
            if act:
                session.pending = Pending("clarify", skill.name if skill else "", parse)
            what = ctx.say(f"dialogue.intent_{parse.intent}")
            return self._say(ctx, "dialogue.clarify", ask=True, what=what)
        if skill is None:
            key = f"dialogue.intent_{parse.intent}"
            what = ctx.say(key) if _has(ctx, key) else parse.intent.replace("_", " ")
            return self._say(ctx, "dialogue.unavailable", what=what)
        return self._run(skill, parse, ctx, session, act)

    def _safe(self, call: Callable[[], Outcome], ctx: SkillContext, name: str) -> Outcome:
        from edge.skills.store import StoreError

        try:
            return call()
        except StoreError as exc:  # nothing was saved: say why in one line, never confirm
            from edge.skills.helpers import store_problem

            log.debug("skills: %s could not use the store: %s", name, exc)
            return store_problem(ctx, name, exc)
        except Exception as exc:  # a broken skill answers honestly; the assistant stays up
            log.exception("skills: %s failed", name)
            text = ctx.say("dialogue.failed", error=type(exc).__name__)
            return Outcome(Reply(text, ctx.locale, name))

    def _run(self, skill: Skill, parse: Parse, ctx: SkillContext, session: Session, act: bool) -> Reply | None:
        if not act:
            preview = getattr(skill, "preview", None)
            outcome = preview(parse, ctx) if preview is not None else None
            if outcome is None:
                return None
            return self._finish(outcome, skill.name, parse, None)
        return self._finish(self._safe(lambda: skill.handle(parse, ctx), ctx, skill.name), skill.name, parse,
                            session)

    def _finish(self, outcome: Outcome, skill: str, parse: Parse, session: Session | None) -> Reply:
        """The reply of an outcome; with a session, records what the next turn must answer."""
        asks = outcome.need_slot is not None or outcome.confirm is not None
        if session is not None:
            if outcome.need_slot is not None:
                session.pending = Pending("slot", skill, parse, slot=outcome.need_slot)
            elif outcome.confirm is not None:
                session.pending = Pending("confirm", skill, parse, confirm=outcome.confirm)
            elif not outcome.reply.expects_answer:
                session.last = (skill, replace(parse, locale=outcome.reply.locale))  # carried in this language only
        data = {**outcome.reply.data, "intent": parse.intent, "state": dict(outcome.state)}
        return replace(outcome.reply, expects_answer=outcome.reply.expects_answer or asks, data=data)


def _detached(slots: list[Slot]) -> list[Slot]:
    """``slots`` without character offsets (-1): for slots moved onto another utterance's parse."""
    return [Slot(s.type, s.value, -1, -1) for s in slots]


def _has(ctx: SkillContext, key: str) -> bool:
    """Whether a reply template ``key`` exists in the context's language (or English)."""
    return Templates(ctx.locale).has(key)
