"""The one base of every error edge shows a person: a one-line message and, where it helps, what to do.

The CLI catches :class:`EdgeError` once (``edge.cli.main``) and prints ``edge <command>: error: <message>``;
``edge`` never prints a traceback for one.
"""

from __future__ import annotations

__all__ = ["EdgeError"]


class EdgeError(Exception):
    """``message``: what went wrong, one line. ``hint``: what to do about it (optional, printed after it)."""

    def __init__(self, message: str = "", hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message
