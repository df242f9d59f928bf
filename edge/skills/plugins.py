"""Third-party skills: Python entry points of the group ``edge.skills``.

A plugin package declares, in its pyproject.toml::

    [project.entry-points."edge.skills"]
    hello = "edge_skill_hello:HelloSkill"

Each entry point loads a Skill class or a factory (called without arguments) or a ready instance. A
plugin that fails to load, or that does not look like a skill, is skipped with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

__all__ = ["GROUP", "load_plugins"]

GROUP = "edge.skills"
log = logging.getLogger(__name__)


def _is_skill(obj: Any) -> bool:
    return isinstance(getattr(obj, "name", None), str) and isinstance(getattr(obj, "intents", None), tuple | list) \
        and callable(getattr(obj, "handle", None))


def load_plugins(points: Iterable[EntryPoint] | None = None) -> list[Any]:
    """Skill instances from ``points`` (default: the installed ``edge.skills`` entry points)."""
    if points is None:
        points = entry_points(group=GROUP)
    skills: list[Any] = []
    for point in points:
        try:
            target = point.load()
            skill = target() if isinstance(target, type) or (callable(target) and not _is_skill(target)) else target
            if not _is_skill(skill):
                raise TypeError("not a skill (needs name, intents and handle())")
            skill.intents = tuple(skill.intents)
        except Exception as exc:
            log.warning("skills: plugin %s (%s) skipped: %s: %s", point.name, point.value, type(exc).__name__, exc)
            continue
        skills.append(skill)
        log.info("skills: plugin %s loaded (%s)", point.name, skill.name)
    return skills
