"""Persistence for skills: one SQLite file, ``$XDG_DATA_HOME/edge/edge.db`` (``~/.local/share/edge/edge.db``).

WAL journal, ``synchronous=FULL`` (a committed row survives power loss or SIGKILL), foreign keys on.
The schema is built by :data:`MIGRATIONS`, applied in order in one ``BEGIN IMMEDIATE`` transaction that
reads ``PRAGMA user_version`` again inside it, so a second process starting at the same time waits for the
first and then finds nothing left to do. Times are ISO 8601 text in UTC (``2026-11-25T13:00:00+00:00``), so
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
``edge.db.corrupt-<timestamp>`` and a fresh database started, with :attr:`Store.notice` saying so. Nothing
else counts as damage: a database another program keeps locked is waited for (:data:`BUSY_TIMEOUT_S`), then
reported as locked, untouched. A data folder that cannot be written (read-only, full) or a database still
locked raises :class:`StoreError` (``kind`` "read_only", "full", "locked" or "unavailable") with a one-line
message; :func:`store_for` then gives a store that raises that error on every write (:meth:`Store.read_only`,
which still reads a database in a read-only folder) or on every use (:meth:`Store.unavailable`), so no skill
confirms what it could not save (the router turns the error into a one-line reply).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["MIGRATIONS", "Store", "StoreError", "default_path", "store_for", "utc_iso"]

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 10.0  # how long to wait for another program's lock before saying the database is locked

# Each migration is idempotent (IF NOT EXISTS) as well as versioned, in case a database was built half-way by hand.
MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, label TEXT, recurrence TEXT,
    created TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS alarms_due ON alarms (active, at);
CREATE TABLE IF NOT EXISTS timers (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('timer', 'reminder')), due TEXT NOT NULL,
    text TEXT, created TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'fired', 'cancelled')), fired_at TEXT
);
CREATE INDEX IF NOT EXISTS timers_due ON timers (state, due);
CREATE TABLE IF NOT EXISTS calendar_events (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT, created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calendar_events_start ON calendar_events (start);
CREATE TABLE IF NOT EXISTS lists (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS list_items (
    id INTEGER PRIMARY KEY, list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    text TEXT NOT NULL, created TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS list_items_list ON list_items (list_id);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);
"""),
]

MEMORY_NOTICE = "I can't save anything right now, so alarms, timers and lists will last only until I restart."

# SQLite's primary result codes (the low byte of an extended code) and what they mean for the user.
_LOCKED_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED: another connection holds a lock
_DAMAGED_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB: the file itself is bad
_READ_ONLY_CODES = {3, 8, 14}  # SQLITE_PERM, SQLITE_READONLY, SQLITE_CANTOPEN
_FULL_CODE = 13  # SQLITE_FULL


class StoreError(OSError):
    """The data folder cannot be used; the message (one line) says what to do.

    ``kind``: "read_only", "full", "locked" or "unavailable"; ``folder``: the data folder concerned.
    """

    def __init__(self, message: str, kind: str = "unavailable", folder: Path | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.folder = folder


def default_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "edge" / "edge.db"


def utc_iso(when: dt.datetime) -> str:
    """An aware datetime as the ISO text the store keeps (UTC, seconds)."""
    return when.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def _problem(exc: BaseException) -> str:
    """What a SQLite or OS error means here: "locked", "damaged", "full", "read_only" or "unavailable"."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        primary = code & 0xFF
        if primary in _LOCKED_CODES:
            return "locked"
        if primary in _DAMAGED_CODES:
            return "damaged"
        if primary == _FULL_CODE:
            return "full"
        if primary in _READ_ONLY_CODES:
            return "read_only"
        if primary == 10:  # SQLITE_IOERR
            return "full" if "full" in str(exc).lower() else "read_only"
    if getattr(exc, "errno", None) == 28 or "disk is full" in str(exc).lower():
        return "full"
    if isinstance(exc, OSError):
        return "read_only"
    return "unavailable"


def _store_error(path: Path, exc: BaseException, timeout: float = BUSY_TIMEOUT_S) -> StoreError:
    """The one-line :class:`StoreError` for ``exc`` (never "damaged": damage is handled by setting aside)."""
    kind = _problem(exc)
    folder = path.parent
    if kind == "locked":
        return StoreError(f"{path} is locked by another program (waited {timeout:g} s); close the program using "
                          "it and start edge again - nothing was changed", "locked", folder)
    if kind == "full":
        return StoreError(f"cannot save data in {folder}: the disk is full ({exc}); free some space "
                          "(or set XDG_DATA_HOME to another folder)", "full", folder)
    if kind == "read_only":
        return StoreError(f"cannot save data in {folder}: it is read-only or not a writable folder ({exc}); make "
                          "it writable or use another one (--data-dir or XDG_DATA_HOME)", "read_only", folder)
    return StoreError(f"cannot use the database {path}: {exc}; move it aside and start edge again", kind, folder)


def _unwritable(path: Path, exc: BaseException) -> StoreError:
    """A :class:`StoreError` for a folder that cannot be written (kept for callers of the old name)."""
    return _store_error(path, exc)


def _statements(script: str) -> list[str]:
    """The SQL statements of ``script``, split where SQLite says a statement is complete."""
    out: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out


class Store:
    """The assistant's SQLite database. Thread-safe: one connection behind a lock."""

    def __init__(self, path: Path | None = None, *, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.notice: str | None = None
        self.busy_timeout = busy_timeout
        self.error: StoreError | None = None
        self._lock = threading.RLock()
        if str(self.path) == ":memory:":
            self._conn = self._connect(":memory:")
            self._migrate()
            return
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                self._conn = self._open_file()
                try:
                    self._migrate()
                except BaseException:
                    self._conn.close()
                    raise
                return
            except StoreError as exc:
                # SQLite answers "locked" at once, without its busy wait, in a few steps of opening (a journal-mode
                # switch racing another process opening the same new file): try again until the busy timeout.
                if exc.kind != "locked" or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    @classmethod
    def memory(cls, notice: str | None = MEMORY_NOTICE) -> Store:
        """A store in memory only (tests; nothing in it outlives the process)."""
        store = cls(Path(":memory:"))
        store.notice = notice
        return store

    @classmethod
    def unavailable(cls, error: StoreError) -> Store:
        """A store that cannot be used: every query and transaction raises ``error`` (its notice says why).

        What :func:`store_for` gives when the data folder is unusable, so that nothing is confirmed that was
        only kept in memory, and no empty list is read out in place of the real one."""
        store = cls.__new__(cls)
        store.path = Path(":unavailable:")
        store.notice = str(error)
        store.busy_timeout = 0.0
        store.error = error
        store._lock = threading.RLock()
        store._conn = None  # type: ignore[assignment]
        return store

    @classmethod
    def read_only(cls, path: Path, error: StoreError) -> Store:
        """The database at ``path`` opened for reading only (a read-only data folder): queries work, every
        transaction raises ``error``. Raises :class:`StoreError` if it cannot even be read."""
        store = cls.unavailable(error)
        store.path = Path(path)
        uri = "file:" + quote(str(store.path.resolve())) + "?immutable=1"  # nobody can write a read-only folder
        try:
            store._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            store._conn.row_factory = sqlite3.Row
            if store._conn.execute("PRAGMA user_version").fetchone()[0] < max(n for n, _ in MIGRATIONS):
                raise StoreError(str(error), error.kind, error.folder)  # too old to read, and cannot be upgraded
        except sqlite3.DatabaseError as exc:
            store.close()
            raise _store_error(store.path, exc) from None
        except StoreError:
            store.close()
            raise
        return store

    @property
    def persistent(self) -> bool:
        return self.error is None and str(self.path) != ":memory:"

    @property
    def available(self) -> bool:
        """False for a store that cannot save (:meth:`unavailable`, :meth:`read_only`)."""
        return self.error is None

    def _check(self, write: bool) -> None:
        if self.error is not None and (write or self._conn is None):
            raise StoreError(str(self.error), self.error.kind, self.error.folder)  # fresh: no growing traceback

    # --- opening ---------------------------------------------------------------------------------------
    def _connect(self, target: str) -> sqlite3.Connection:
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=self.busy_timeout)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _open_file(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _store_error(self.path, exc) from None
        if self.path.exists() and not os.access(self.path.parent, os.W_OK):
            raise _store_error(self.path, PermissionError("no write permission"))
        conn: sqlite3.Connection | None = None
        try:
            conn = self._connect(str(self.path))
            damaged = conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok"
        except sqlite3.DatabaseError as exc:
            if _problem(exc) != "damaged" or not self.path.exists():
                if conn is not None:
                    conn.close()
                raise _store_error(self.path, exc, self.busy_timeout) from None
            damaged = True
        if damaged:
            if conn is not None:
                conn.close()
            conn = self._set_aside()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _store_error(self.path, exc, self.busy_timeout) from None
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
            raise _store_error(self.path, exc) from None
        log.warning("store: %s was damaged; kept as %s, started a new one", self.path, aside)
        self.notice = f"My saved data was damaged, so I started afresh (the old file is kept as {aside.name})."
        try:
            return self._connect(str(self.path))
        except sqlite3.DatabaseError as exc:
            raise _store_error(self.path, exc) from None

    def _user_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Bring the schema up to date in one transaction; a process starting beside this one waits for it."""
        latest = max(number for number, _ in MIGRATIONS)
        with self._lock:
            try:
                if self._user_version() >= latest:
                    return
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    version = self._user_version()  # again, under the write lock: another process may have won
                    for number, sql in MIGRATIONS:
                        if number > version:
                            for statement in _statements(sql):
                                self._conn.execute(statement)
                            self._conn.execute(f"PRAGMA user_version = {int(number)}")
                    self._conn.execute("COMMIT")
                finally:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
            except sqlite3.DatabaseError as exc:
                raise _store_error(self.path, exc, self.busy_timeout) from None

    # --- use ------------------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        return int(self.query("PRAGMA user_version")[0][0])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``with store.transaction() as db: db.execute(...)``: committed (durably) when the block ends."""
        self._check(write=True)
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _store_error(self.path, exc, self.busy_timeout) from None
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
                raise _store_error(self.path, exc, self.busy_timeout) from None

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        self._check(write=False)
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """One statement in its own transaction; returns the last row id."""
        with self.transaction() as db:
            return int(db.execute(sql, params).lastrowid or 0)

    def close(self) -> None:
        if self._conn is None:
            return
        with self._lock:
            self._conn.close()
            self._conn = None  # type: ignore[assignment]


def _is_io_problem(exc: BaseException) -> bool:
    return _problem(exc) in ("full", "read_only")


def _fallback(path: Path, error: StoreError) -> Store:
    """What to use when the store cannot be opened for writing: the database read-only if the folder is
    read-only and it can be read, else a store that says why on every use."""
    if error.kind == "read_only" and path.is_file():
        try:
            return Store.read_only(path, error)
        except StoreError as exc:
            log.debug("store: cannot read %s either: %s", path, exc)
    return Store.unavailable(error)


def store_for(services: dict[str, Any], data_dir: Path | None) -> Store:
    """``services["store"]``, opened on first use under ``data_dir``; if it cannot be used, an
    :meth:`Store.unavailable` store whose every use raises the one-line :class:`StoreError` saying why."""
    found = services.get("store")
    if isinstance(found, Store):
        return found
    path = data_dir / "edge.db" if data_dir is not None else default_path()
    try:
        found = Store(path)
    except StoreError as exc:
        log.warning("store: %s", exc)
        found = _fallback(path, exc)
    services["store"] = found
    return found
