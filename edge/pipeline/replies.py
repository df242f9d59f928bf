"""Moved: :class:`Reply` and :class:`Router` live in :mod:`edge.skills.contract`, the basic router in
:mod:`edge.skills.basic`. Kept so that older imports still work."""

from edge.skills.basic import BasicRouter
from edge.skills.contract import Reply, Router

__all__ = ["BasicRouter", "Reply", "Router"]
