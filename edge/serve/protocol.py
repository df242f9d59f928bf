"""edge's own event types on top of Wyoming, shared by the server and the satellite.

- ``auth`` {"token"}: a client's shared token (before it, only ``describe`` and ``ping`` are answered);
- ``satellite`` {"name"}: a satellite names its room as it connects, so announcements can find it;
- ``announce`` {"text", "language"}: the server is about to speak an alarm, timer or reminder that came due;
  the ``audio-start`` / ``audio-chunk``... / ``audio-stop`` that follow are that announcement's speech.
"""

from __future__ import annotations

__all__ = ["ANNOUNCE_TYPE", "AUTH_TYPE", "SATELLITE_TYPE"]

AUTH_TYPE = "auth"
SATELLITE_TYPE = "satellite"
ANNOUNCE_TYPE = "announce"
