"""What the pipeline needs from an NLU engine: text and a locale in, a :class:`~edge.nlu.runtime.Parse` out.

:class:`~edge.nlu.runtime.NluModel` is the one shipped; a test double or another model only has to match
this protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from edge.nlu.runtime import Parse

__all__ = ["NluEngine"]


class NluEngine(Protocol):
    def parse(self, text: str, locale: str | None = None) -> Parse: ...
