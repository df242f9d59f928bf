"""edge on the network: a Wyoming server (``edge serve``) for Home Assistant, and satellites (``edge satellite``).

Modules, one job each. The server: :mod:`~edge.serve.limits` (what a client may send, the bounded event
reader), :mod:`~edge.serve.inventory` (what is installed), :mod:`~edge.serve.stages` (the glue to edge's
stages, shared under :mod:`~edge.serve.locks`), :mod:`~edge.serve.services` (the blocking work),
:mod:`~edge.serve.sessions` (dialogue state per client), :mod:`~edge.serve.language` (each turn's language
identified, per room, with ``--locale auto``), :mod:`~edge.serve.info` (``describe``),
:mod:`~edge.serve.connection` (one connection's life within the limits), :mod:`~edge.serve.handler` (what
each request does), :mod:`~edge.serve.audio_in` and :mod:`~edge.serve.speech_out` (a request's audio in and
speech out), :mod:`~edge.serve.announcer` (the scheduler: alarms and timers spoken in the room that set
them), :mod:`~edge.serve.seat` (a connection's place in its room), :mod:`~edge.serve.server` (listening,
the thread pool). Satellites: :mod:`~edge.serve.satellite`
(the connection and turns), :mod:`~edge.serve.replies` (a turn's answer, announcements),
:mod:`~edge.serve.room` (its microphone, VAD, wake gate and speaker). Both: :mod:`~edge.serve.protocol`
(edge's own event types), :mod:`~edge.serve.audio` (PCM).
Needs the ``serve`` extra (``wyoming``, ``zeroconf``).
"""
