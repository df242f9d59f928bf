"""The error every command raises for a user-facing failure."""

from edge.errors import EdgeError

__all__ = ["CliError"]


class CliError(EdgeError):
    """A user-facing failure: printed as one line, exit status 2."""
