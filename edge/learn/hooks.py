"""How the assistant consults the learner: two thin wrappers, put in place by :func:`attach`.

- :class:`LearningNlu` wraps the NLU engine: ``parse`` gives the model's parse passed through the learned
  layer (so typed and spoken turns, speculative or final, see the same learned items);
- :class:`LearningRouter` wraps the router: it answers custom intents itself (reply template, a skill's
  intent, a whitelisted command), hands everything else to the real router, and tells the learner about
  the turn afterwards; ``drop_pending`` (the user said "stop" over a reply) counts as an interruption.

Everything else is delegated to the wrapped objects, so the pipeline, the TUI and ``edge chat`` see the
same interfaces as before.
"""

from __future__ import annotations

import logging
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from edge.learn.learner import Learner, LearnSettings
from edge.nlu.runtime import Parse, Slot
from edge.skills.contract import Reply
from edge.skills.dialogue import answer_kind

__all__ = ["LearningNlu", "LearningRouter", "attach", "learner_for"]

log = logging.getLogger(__name__)


class LearningNlu:
    def __init__(self, nlu: Any, learner: Learner) -> None:
        self.inner = nlu
        self.learner = learner

    def parse(self, text: str, locale: str | None = None) -> Parse:
        return self.learner.apply(self.inner.parse(text, locale))

    def parse_batch(self, texts: Sequence[str], locale: str | None = None) -> list[Parse]:
        return [self.learner.apply(p) for p in self.inner.parse_batch(texts, locale)]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.inner.embed(texts))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _fill(template: str, slots: list[Slot]) -> str:
    values: dict[str, str] = defaultdict(str, {s.type: s.value for s in slots})
    return " ".join(template.format_map(values).split())


class LearningRouter:
    def __init__(self, router: Any, learner: Learner) -> None:
        self.inner = router
        self.learner = learner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _pending(self, session: Any) -> Any:
        session = session if session is not None else getattr(self.inner, "session", None)
        return getattr(session, "pending", None)

    def handle(self, parse: Parse, locale: str, session: Any = None) -> Reply:
        pending = self._pending(session)
        spec = self.learner.custom.get(parse.intent or "")
        if spec is not None and (pending is None or answer_kind(parse.text, locale) is None):
            if pending is not None:
                self.inner.drop_pending()
            reply = self._custom(spec, parse, locale, session)
        else:
            reply = self.inner.handle(parse, locale) if session is None else self.inner.handle(parse, locale, session)
        try:
            self.learner.observe(parse, locale, reply, pending)
        except Exception as exc:  # learning must never cost the user a reply
            log.warning("learn: turn not logged (%s: %s)", type(exc).__name__, exc)
        return reply

    def preview(self, parse: Parse, locale: str, session: Any = None) -> Reply | None:
        if parse.intent in self.learner.custom:
            return None
        found = self.inner.preview(parse, locale) if session is None else self.inner.preview(parse, locale, session)
        return found if isinstance(found, Reply) else None

    def drop_pending(self) -> None:
        self.inner.drop_pending()
        try:
            self.learner.interrupted()
        except Exception as exc:
            log.warning("learn: interruption not logged (%s)", exc)

    def _custom(self, spec: dict[str, Any], parse: Parse, locale: str, session: Any) -> Reply:
        name = spec["name"]
        if spec.get("skill"):
            mapping = spec.get("slot_map", {})
            slots = [replace(s, type=mapping.get(s.type, s.type)) for s in parse.slots]
            handed = replace(parse, intent=spec["skill"], scenario=spec["skill"].split("_", 1)[0], slots=slots)
            reply = self.inner.handle(handed, locale) if session is None else self.inner.handle(handed, locale,
                                                                                                   session)
            return replace(reply, data={**reply.data, "custom_intent": name}) if spec.get("reply") is None else \
                Reply(_fill(spec["reply"], parse.slots), locale, f"custom:{name}",
                      data={"intent": name, "custom_intent": name})
        text = _fill(spec["reply"], parse.slots) if spec.get("reply") else ""
        if spec.get("command"):
            args = [_fill(a, parse.slots) if i else a for i, a in enumerate(spec["command"])]
            try:
                done = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
                if not text:
                    text = (done.stdout.strip().splitlines() or ["Done."])[0][:200]
            except (OSError, subprocess.TimeoutExpired) as exc:
                text = f"I could not run {spec['command'][0]}: {exc}"[:200]
        return Reply(text or "Done.", locale, f"custom:{name}", data={"intent": name, "custom_intent": name})


def learner_for(data_dir: Path | None, embed: Any = None, settings: LearnSettings | None = None,
                model_dir: Path | None = None) -> Learner:
    """The learner over ``learn.db`` in ``data_dir`` (raises the store's one-line StoreError)."""
    from edge.learn.db import open_learn_store

    return Learner(open_learn_store(data_dir), embed, settings, model_dir=model_dir)


def attach(nlu: Any, router: Any, profile: Any = None, data_dir: Path | None = None) -> tuple[Any, Any]:
    """``(nlu, router)`` wrapped with the learner of ``data_dir``; unchanged (with a log line) if the
    learning database cannot be opened, so the assistant works without it."""
    settings = settings_from_profile(profile)
    embed = getattr(nlu, "embed", None)
    try:
        path = getattr(nlu, "model_path", None)
        learner = learner_for(data_dir, embed, settings, Path(path).parent if path is not None else None)
    except Exception as exc:  # learning is an extra: never stop the assistant
        log.warning("learn: off (%s)", exc)
        return nlu, router
    return LearningNlu(nlu, learner), LearningRouter(router, learner)


def settings_from_profile(profile: Any) -> LearnSettings:
    """The profile's optional ``[learn]`` section as the learner's settings (defaults without one)."""
    section = getattr(profile, "learn", None)
    if section is None:
        return LearnSettings()
    return LearnSettings(log_turns=section.turn_log != "off", sightings=int(section.sightings),
                         retention_days=float(section.retention_days))
