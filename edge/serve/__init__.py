"""edge on the network: a Wyoming server (``edge serve``) for Home Assistant, and satellites (``edge satellite``).

Modules, one job each: :mod:`~edge.serve.limits` (what a client may send, the bounded event reader),
:mod:`~edge.serve.stages` (the glue to edge's stages), :mod:`~edge.serve.services` (the blocking work),
:mod:`~edge.serve.sessions` (dialogue state per client), :mod:`~edge.serve.info` (``describe``),
:mod:`~edge.serve.handler` (one connection), :mod:`~edge.serve.server` (listening, the thread pool),
:mod:`~edge.serve.satellite` (a satellite's connection and turns), :mod:`~edge.serve.room` (its microphone,
VAD, wake gate and speaker).
Needs the ``serve`` extra (``wyoming``, ``zeroconf``).
"""
