"""`edge serve`: edge's stages as a Wyoming server (the wyoming package's asyncio TCP and Unix servers).

Binds to localhost unless told otherwise; caps the connections served at once; runs ASR, NLU, skills and
TTS in a small thread pool so that one slow client never holds up the event loop or the others.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from wyoming.server import AsyncServer, AsyncTcpServer, AsyncUnixServer

from edge.errors import EdgeError
from edge.serve.announcer import Announcer
from edge.serve.handler import Connection
from edge.serve.info import build_info
from edge.serve.limits import Limits
from edge.serve.sessions import SessionStore
from edge.serve.stages import StageError, Stages

__all__ = ["EdgeServer", "UriError", "is_loopback", "parse_uri"]

log = logging.getLogger("edge.serve")


class UriError(EdgeError):
    """A server URI that cannot be used; the message says what to write instead."""


def parse_uri(uri: str) -> tuple[str, str, int]:
    """("tcp", host, port) or ("unix", path, 0)."""
    parsed = urlparse(uri)
    if parsed.scheme == "unix":
        if not parsed.path:
            raise UriError(f"{uri}: give a socket path, e.g. unix:///tmp/edge.sock")
        return "unix", parsed.path, 0
    if parsed.scheme == "tcp":
        try:
            port = parsed.port
        except ValueError:
            port = None
        if not parsed.hostname or port is None:
            raise UriError(f"{uri}: give a host and a port, e.g. tcp://127.0.0.1:10700")
        return "tcp", parsed.hostname, port
    raise UriError(f"{uri}: use tcp://HOST:PORT or unix:///PATH")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _TcpServer(AsyncTcpServer):
    """wyoming's TCP server, with the stream reader's line limit set to the header limit."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        super().__init__(host, port)
        self.limit = limit

    async def start(self, handler_factory: Callable[..., Any]) -> None:
        callback = partial(self._handler_callback, handler_factory)
        self._server = await asyncio.start_server(callback, host=self.host, port=self.port, limit=self.limit)
        await self._server.start_serving()


class _UnixServer(AsyncUnixServer):
    def __init__(self, path: str, limit: int) -> None:
        super().__init__(path)
        self.limit = limit

    async def start(self, handler_factory: Callable[..., Any]) -> None:
        self.socket_path.unlink(missing_ok=True)
        callback = partial(self._handler_callback, handler_factory)
        self._server = await asyncio.start_unix_server(callback, path=self.socket_path, limit=self.limit)
        self.socket_path.chmod(0o600)  # only this user's clients
        await self._server.start_serving()


class EdgeServer:
    """Serves :class:`Stages` over Wyoming. ``await start(uri)``, then ``await stop()``.

    With ``schedule`` (the default), the skills' scheduler runs while the server does: alarms, timers and
    reminders set through it are spoken to the satellite that set them (:mod:`edge.serve.announcer`)."""

    def __init__(self, stages: Stages, limits: Limits | None = None, token: str | None = None,
                 workers: int | None = None, session_ttl_s: float = 600.0, schedule: bool = True) -> None:
        self.stages = stages
        self.limits = limits or Limits()
        self.token = token or None
        self.info_event = build_info(stages.inventory).event()
        self.sessions = SessionStore(stages.new_session, ttl_s=session_ttl_s)
        self.announcer = Announcer(stages)
        self.schedule = schedule
        # one worker per client served at once: a client's work never queues behind another's (the engines'
        # own locks decide who computes when)
        workers = workers or self.limits.max_sessions
        self.executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="edge-serve")
        self.active: set[Connection] = set()
        self.refused = 0
        self._server: AsyncServer | None = None
        self.address: str = ""

    # --- connections ------------------------------------------------------------------------------------

    def admit(self, conn: Connection) -> bool:
        if len(self.active) >= self.limits.max_sessions:
            self.refused += 1
            return False
        self.active.add(conn)
        return True

    def release(self, conn: Connection) -> None:
        self.active.discard(conn)

    def _factory(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Connection:
        return Connection(reader, writer, self)

    # --- work off the event loop ------------------------------------------------------------------------

    def submit(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def work(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker thread, within ``limits.work_timeout_s``."""
        timeout = self.limits.work_timeout_s
        try:
            async with asyncio.timeout(timeout if timeout > 0 else None):
                return await self.submit(fn, *args)
        except TimeoutError:
            raise StageError(f"the server took longer than {timeout:g} s; try again, or a smaller request") from None

    # --- life -------------------------------------------------------------------------------------------

    async def start(self, uri: str) -> str:
        """Listen on ``uri``; returns the address bound (a tcp:// URI with the real port for port 0)."""
        scheme, where, port = parse_uri(uri)
        limit = self.limits.max_header_bytes
        if scheme == "unix":
            server: AsyncServer = _UnixServer(where, limit)
            self.address = f"unix://{where}"
        else:
            server = _TcpServer(where, port, limit)
        try:
            await server.start(self._factory)
        except OSError as exc:
            raise UriError(f"cannot listen on {uri}: {exc.strerror or exc} (is another server on it? "
                           f"pick another port)") from None
        if scheme == "tcp":
            sock = server._server.sockets[0]  # type: ignore[union-attr]
            host, bound = sock.getsockname()[:2]
            self.address = f"tcp://{where}:{bound}"
        self._server = server
        if self.schedule:
            self.announcer.bind(asyncio.get_running_loop())
            await self.submit(self.announcer.start)
        return self.address

    async def stop(self) -> None:
        self.announcer.stop()
        if self._server is not None:
            await self._server.stop()
            self._server = None
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def serve_forever(self) -> None:
        """Serve until SIGTERM or SIGINT (or :meth:`stop`)."""
        import signal

        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, done.set)
            except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
                pass
        while self._server is not None and not done.is_set():
            try:
                await asyncio.wait_for(done.wait(), 1.0)
            except TimeoutError:
                pass


async def announce_zeroconf(port: int, name: str | None = None) -> Any:
    """Announce the server to Home Assistant by mDNS (``_wyoming._tcp``); None with a warning if it cannot."""
    try:
        from wyoming.zeroconf import HomeAssistantZeroconf

        zc = HomeAssistantZeroconf(port=port, name=name)
        await zc.register_server()
        return zc
    except Exception as exc:  # no zeroconf package, no network: serving goes on without discovery
        log.warning("no zeroconf announcement (%s); add the server in Home Assistant by host and port", exc)
        return None


def unix_path(address: str) -> Path | None:
    return Path(address[len("unix://"):]) if address.startswith("unix://") else None
