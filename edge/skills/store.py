"""Persistence for skills: one SQLite file, ``$XDG_DATA_HOME/edge/edge.db`` (``~/.local/share/edge/edge.db``).

WAL journal, ``synchronous=FULL`` (a committed row survives power loss or SIGKILL), foreign keys on.
The schema is built by :data:`MIGRATIONS`, applied in order, each in its own transaction, the version
kept in ``PRAGMA user_version``. Times are ISO 8601 text in UTC (``2026-11-25T13:00:00+00:00``), so
comparing strings compares times.

Schema (version 1)::

    alarms(id INTEGER PK, at TEXT, label TEXT, recurrence TEXT NULL|'daily'|'weekdays'|'weekends'|'mon'..'sun',
           created TEXT, active INTEGER 1|0)
    timers(id INTEGER PK, kind TEXT 'timer'|'reminder', due TEXT, text TEXT, created TEXT,
           state TEXT 'pending'|'fired'|'cancelled', fired_at TEXT)
    calendar_events(id INTEGER PK, title TEXT, start TEXT, "end" TEXT, created TEXT)   -- quote "end" in SQL
    lists(id INTEGER PK, name TEXT UNIQUE COLLATE NOCASE, created TEXT)
    list_items(id INTEGER PK, list_id INTEGER REFERENCES lists ON DELETE CASCADE, text TEXT, created TEXT,
               done INTEGER 0|1)
    settings(key TEXT PK, value TEXT)

Bad input: a file that is not SQLite or fails ``PRAGMA integrity_check`` is renamed to
``edge.db.corrupt-<timestamp>`` and a fresh database started, with :attr:`Store.notice` saying so. A data
folder that cannot be written (read-only, full) raises :class:`StoreError` with a one-line message;
:meth:`Store.memory` is the fallback that keeps the assistant going without saving.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["MIGRATIONS", "Store", "StoreError", "default_path", "store_for", "utc_iso"]

log = logging.getLogger(__name__)

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE alarms (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, label TEXT, recurrence TEXT,
    created TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX alarms_due ON alarms (active, at);
CREATE TABLE timers (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('timer', 'reminder')), due TEXT NOT NULL,
    text TEXT, created TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'fired', 'cancelled')), fired_at TEXT
);
CREATE INDEX timers_due ON timers (state, due);
CREATE TABLE calendar_events (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT, created TEXT NOT NULL
);
CREATE INDEX calendar_events_start ON calendar_events (start);
CREATE TABLE lists (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, created TEXT NOT NULL);
CREATE TABLE list_items (
    id INTEGER PRIMARY KEY, list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    text TEXT NOT NULL, created TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX list_items_list ON list_items (list_id);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);
"""),
]

MEMORY_NOTICE = "I can't save anything right now, so alarms, timers and lists will last only until I restart."


class StoreError(OSError):
    """The data folder cannot be used; the message (one line) says what to do."""


def default_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "edge" / "edge.db"


def utc_iso(when: dt.datetime) -> str:
    """An aware datetime as the ISO text the store keeps (UTC, seconds)."""
    return when.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def _unwritable(path: Path, exc: BaseException) -> StoreError:
    why = "the disk is full" if "full" in str(exc).lower() or getattr(exc, "errno", None) == 28 else \
        "it is read-only or not a writable folder"
    return StoreError(f"cannot save data in {path.parent}: {why} ({exc}); free space or make it writable "
                      "(or set XDG_DATA_HOME to another folder) - running without saving until then")


class Store:
    """The assistant's SQLite database. Thread-safe: one connection behind a lock."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.notice: str | None = None
        self._lock = threading.RLock()
        if str(self.path) == ":memory:":
            self._conn = self._connect(":memory:")
        else:
            self._conn = self._open_file()
        self._migrate()

    @classmethod
    def memory(cls, notice: str | None = MEMORY_NOTICE) -> Store:
        """A store in memory only (the fallback when the data folder is unusable)."""
        store = cls(Path(":memory:"))
        store.notice = notice
        return store

    @property
    def persistent(self) -> bool:
        return str(self.path) != ":memory:"

    # --- opening ---------------------------------------------------------------------------------------
    @staticmethod
    def _connect(target: str) -> sqlite3.Connection:
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=10)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _open_file(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unwritable(self.path, exc) from None
        if self.path.exists() and not os.access(self.path.parent, os.W_OK):
            raise _unwritable(self.path, PermissionError("no write permission"))
        try:
            conn = self._connect(str(self.path))
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError as exc:
            if not self.path.exists() or _is_io_problem(exc):
                raise _unwritable(self.path, exc) from None
            ok, conn = False, None
        if not ok:
            if conn is not None:
                conn.close()
            conn = self._set_aside()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.OperationalError as exc:
            conn.close()
            raise _unwritable(self.path, exc) from None
        return conn

    def _set_aside(self) -> sqlite3.Connection:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            self.path.rename(aside)
            for suffix in ("-wal", "-shm"):
                extra = self.path.with_name(self.path.name + suffix)
                if extra.exists():
                    extra.rename(aside.with_name(aside.name + suffix))
        except OSError as exc:
            raise _unwritable(self.path, exc) from None
        log.warning("store: %s was damaged; kept as %s, started a new one", self.path, aside)
        self.notice = f"My saved data was damaged, so I started afresh (the old file is kept as {aside.name})."
        try:
            return self._connect(str(self.path))
        except sqlite3.DatabaseError as exc:
            raise _unwritable(self.path, exc) from None

    def _migrate(self) -> None:
        with self._lock:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            for number, sql in MIGRATIONS:
                if number <= version:
                    continue
                try:
                    self._conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {int(number)};\nCOMMIT;")
                except sqlite3.DatabaseError as exc:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    if _is_io_problem(exc):
                        raise _unwritable(self.path, exc) from None
                    raise

    # --- use ------------------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        return int(self.query("PRAGMA user_version")[0][0])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``with store.transaction() as db: db.execute(...)``: committed (durably) when the block ends."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _unwritable(self.path, exc) from None
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise _unwritable(self.path, exc) from None

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """One statement in its own transaction; returns the last row id."""
        with self.transaction() as db:
            return int(db.execute(sql, params).lastrowid or 0)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _is_io_problem(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(w in text for w in ("readonly", "read-only", "disk is full", "unable to open", "disk i/o"))


def store_for(services: dict[str, Any], data_dir: Path | None) -> Store:
    """``services["store"]``, opened on first use under ``data_dir`` (or memory, with a notice, if that fails)."""
    found = services.get("store")
    if isinstance(found, Store):
        return found
    try:
        found = Store(data_dir / "edge.db" if data_dir is not None else None)
    except StoreError as exc:
        log.warning("store: %s", exc)
        found = Store.memory()
    services["store"] = found
    return found
