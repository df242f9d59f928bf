"""Where edge finds and keeps things: the repository (models, profiles, fixtures) and the XDG folders.

``data_dir()`` is what the user owns (alarms, lists, settings, wake models); ``cache_dir()`` is what edge can
rebuild (joined model files, digests). Both are read from the environment on each call, so a test or a
service may point ``XDG_DATA_HOME`` / ``XDG_CACHE_HOME`` elsewhere at any time.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["REPO_ROOT", "SHARED_ROOT", "cache_dir", "data_dir"]

REPO_ROOT = Path(__file__).resolve().parent.parent  # models/, device_profiles/, tests/ of a source checkout
SHARED_ROOT = REPO_ROOT.parent / "shared"  # the project's shared data folder beside the checkout


def data_dir() -> Path:
    """``$XDG_DATA_HOME/edge`` (default ``~/.local/share/edge``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "edge"


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/edge`` (default ``~/.cache/edge``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edge"
