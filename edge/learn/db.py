"""The learning database: ``learn.db`` beside the skills' ``edge.db``, opened the same crash-safe way.

It reuses :class:`edge.skills.store.Store` (WAL, ``synchronous=FULL``, busy timeout, damaged files set
aside, one-line :class:`~edge.skills.store.StoreError`) with its own migrations, applied in one
``BEGIN IMMEDIATE`` transaction exactly as the store applies its own. A separate file keeps what the user
said apart from alarms and lists, so ``edge learn forget`` can erase it without touching them, and
``secure_delete`` is on so that erased rows are overwritten, not only unlinked.

Schema (learn version 2)::

    turns(id PK, at REAL (unix s), text, locale, intent, slots JSON, confidence, source 'model'|'learned',
          skill, reply, outcome 'pending'|'success'|'failed', signals JSON list)
    candidates(id PK, text, norm UNIQUE with intent, locale, intent, slots JSON, sightings, confirmed 0|1,
               first_at, last_at, applied_id NULL|memory id)
    memory(id PK, kind 'rephrase'|'custom', text, norm, locale, intent, slots JSON, created REAL,
           active 0|1, origin TEXT, model TEXT, embedding BLOB float16,
           confused TEXT NULL  -- v2: the model's intent for the phrasing when it was learned)
    custom_intents(name PK, spec JSON, source TEXT, loaded REAL)
    meta(key PK, value TEXT)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge.skills.store import BUSY_TIMEOUT_S, Store, StoreError, _statements, _store_error

__all__ = ["LEARN_MIGRATIONS", "LearnStore", "learn_db_path", "open_learn_store"]

LEARN_MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY, at REAL NOT NULL, text TEXT NOT NULL, locale TEXT, intent TEXT, slots TEXT NOT NULL,
    confidence REAL NOT NULL, source TEXT NOT NULL DEFAULT 'model', skill TEXT, reply TEXT,
    outcome TEXT NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'success', 'failed')),
    signals TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS turns_at ON turns (at);
CREATE TABLE IF NOT EXISTS candidates (
    id INTEGER PRIMARY KEY, text TEXT NOT NULL, norm TEXT NOT NULL, locale TEXT, intent TEXT NOT NULL,
    slots TEXT NOT NULL, sightings INTEGER NOT NULL DEFAULT 0, confirmed INTEGER NOT NULL DEFAULT 0,
    first_at REAL NOT NULL, last_at REAL NOT NULL, applied_id INTEGER, UNIQUE (norm, intent)
);
CREATE TABLE IF NOT EXISTS memory (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('rephrase', 'custom')), text TEXT NOT NULL,
    norm TEXT NOT NULL, locale TEXT, intent TEXT NOT NULL, slots TEXT NOT NULL, created REAL NOT NULL,
    active INTEGER NOT NULL DEFAULT 1, origin TEXT, model TEXT, embedding BLOB
);
CREATE INDEX IF NOT EXISTS memory_norm ON memory (norm);
CREATE TABLE IF NOT EXISTS custom_intents (name TEXT PRIMARY KEY, spec TEXT NOT NULL, source TEXT, loaded REAL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""),
    (2, """
ALTER TABLE memory ADD COLUMN confused TEXT;
"""),
]


def learn_db_path(data_dir: Path | None) -> Path:
    from edge.paths import data_dir as default_data_dir

    return (Path(data_dir) if data_dir is not None else default_data_dir()) / "learn.db"


class LearnStore(Store):
    """:class:`Store` over ``learn.db`` with :data:`LEARN_MIGRATIONS` instead of the skills' schema."""

    def __init__(self, path: Path | None = None, *, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        super().__init__(path, busy_timeout=busy_timeout)
        if self._conn is not None:
            self._conn.execute("PRAGMA secure_delete = ON")

    @classmethod
    def memory(cls, notice: str | None = None) -> LearnStore:
        store = cls(Path(":memory:"))
        store.notice = notice
        return store

    def _migrate(self) -> None:
        """:meth:`Store._migrate` with this file's migrations (same single-transaction approach)."""
        latest = max(number for number, _ in LEARN_MIGRATIONS)
        with self._lock:
            try:
                if self._user_version() >= latest:
                    return
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    version = self._user_version()
                    for number, sql in LEARN_MIGRATIONS:
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

    def vacuum(self) -> None:
        """Rewrite the file without free pages (after ``forget``), then truncate the WAL."""
        self._check(write=True)
        with self._lock:
            try:
                self._conn.execute("VACUUM")
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError as exc:
                raise _store_error(self.path, exc, self.busy_timeout) from None

    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?",
                     (key, value, value))


def open_learn_store(data_dir: Path | None) -> LearnStore:
    """``learn.db`` under ``data_dir`` ($XDG_DATA_HOME/edge by default); raises the one-line StoreError."""
    path = learn_db_path(data_dir)
    try:
        return LearnStore(path)
    except StoreError:
        raise
    except sqlite3.DatabaseError as exc:
        raise _store_error(path, exc) from None
