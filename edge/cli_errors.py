"""The error every command raises for a user-facing failure, and warnings as one line each."""

import warnings
from typing import TextIO

from edge.errors import EdgeError

__all__ = ["CliError", "one_line_warnings"]


class CliError(EdgeError):
    """A user-facing failure: printed as one line, exit status 2."""


def one_line_warnings(command: str) -> None:
    """Print every warning as one line, ``edge <command>: warning: <message>``: no file name, no source line."""

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
        import sys

        out = file if file is not None else sys.stderr
        text = " ".join(str(message).split())
        try:
            out.write(f"edge {command}: warning: {text}\n")
        except (OSError, ValueError):  # stderr closed or gone: a warning is not worth a crash
            pass

    warnings.showwarning = show
