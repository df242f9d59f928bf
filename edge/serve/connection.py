"""The life of one client connection, whatever it asks: admitted or refused, events read within the limits,
answers written within the write timeout, and any broken limit answered with one ``error`` before closing.
:class:`~edge.serve.handler.Connection` adds what each request does."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import TYPE_CHECKING

from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.server import AsyncEventHandler

from edge.serve.limits import ProtocolError, read_event

if TYPE_CHECKING:
    from edge.serve.server import EdgeServer

__all__ = ["BoundedConnection"]

log = logging.getLogger("edge.serve")
_ids = itertools.count(1)


class BoundedConnection(AsyncEventHandler):
    """A Wyoming event handler bound to an :class:`EdgeServer` and its limits; subclasses answer the events
    (:meth:`handle_event`) and may say how long the next event may take (:meth:`_read_timeout`)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: EdgeServer) -> None:
        super().__init__(reader, writer)
        self.server = server
        self.limits = server.limits
        self.id = next(_ids)
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "local"
        self._closed = False

    def _on_close(self) -> None:
        """Called once as the connection ends (before the server forgets it)."""

    def _read_timeout(self) -> float:
        return self.limits.idle_timeout_s

    # --- the read loop --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Read and answer events until the client leaves, breaks a limit, or the server stops."""
        if not self.server.admit(self):
            await self._refuse()
            return
        log.info("connection %d from %s", self.id, self.peer)
        reason = "closed by client"
        try:
            timeout = self.limits.session_timeout_s
            async with asyncio.timeout(timeout if timeout > 0 else None):
                while not self._closed:
                    event = await read_event(self.reader, self.limits, self._read_timeout())
                    if event is None:
                        break
                    if not await self.handle_event(event):
                        break
        except ProtocolError as exc:
            reason = f"{exc.code}: {exc.text}"
            await self._send_error(exc.text, exc.code)
            await self._linger()
        except TimeoutError:
            reason = "session time limit"
            await self._send_error(f"connection open longer than {self.limits.session_timeout_s:g} s; reconnect",
                                   "session_timeout")
            await self._linger()
        except (ConnectionError, OSError) as exc:
            reason = f"connection lost ({type(exc).__name__})"
        except Exception as exc:  # a bug or an engine failure: this client gets one line, the others go on
            log.exception("connection %d: internal error", self.id)
            reason = f"internal error ({type(exc).__name__})"
            await self._send_error(f"internal server error ({type(exc).__name__}); see the server's log",
                                   "internal")
        finally:
            self._closed = True
            self._on_close()
            self.server.release(self)
            self.writer.close()
            log.info("connection %d closed: %s", self.id, reason)

    async def _refuse(self) -> None:
        n = self.limits.max_sessions
        log.warning("refused %s: %d sessions already", self.peer, n)
        await self._send_error(f"server busy: {n} clients connected already; try again shortly", "busy")
        self.writer.close()

    async def send(self, event: Event) -> None:
        timeout = self.limits.write_timeout_s
        try:
            async with asyncio.timeout(timeout if timeout > 0 else None):
                await async_write_event(event, self.writer)
        except TimeoutError:
            self._closed = True
            raise ConnectionError("client stopped reading") from None

    async def _send_error(self, text: str, code: str) -> None:
        try:
            async with asyncio.timeout(1.0):
                await async_write_event(Error(text=text, code=code).event(), self.writer)
        except (TimeoutError, ConnectionError, OSError):
            pass

    async def _linger(self, seconds: float = 0.25, most: int = 1 << 20) -> None:
        """Half-close and discard what the client is still sending, briefly: closing with unread data would
        reset the connection, and the client would lose the error event sent just before."""
        try:
            if self.writer.can_write_eof():
                self.writer.write_eof()
            async with asyncio.timeout(seconds):
                while most > 0:
                    data = await self.reader.read(min(most, 65536))
                    if not data:
                        break
                    most -= len(data)
        except (TimeoutError, ConnectionError, OSError, ValueError):
            pass

    async def disconnect(self) -> None:
        self._closed = True
