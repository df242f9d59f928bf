"""The terminal app (`edge` or `edge tui`): a Textual front end on the voice pipeline."""

from __future__ import annotations

__all__ = ["EdgeApp", "TuiSettings"]


def __getattr__(name: str) -> object:
    # Textual is imported only when the app is wanted, so `import edge.tui.worker` stays light.
    if name == "EdgeApp":
        from edge.tui.app import EdgeApp

        return EdgeApp
    if name == "TuiSettings":
        from edge.tui.worker import TuiSettings

        return TuiSettings
    raise AttributeError(name)
