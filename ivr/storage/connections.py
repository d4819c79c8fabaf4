"""A process's connections to the store: one writer per database, reads that see its writes.

- The writer: every `CallStore` of a process on one database shares one `StoreWriter` (its
  thread and its connection), created by the first store and closed when the last one
  closes. Worker processes each have their own (they share the database, never a writer).
  So a process writes its call records from one thread, and a second store on the same
  database in the same process (the retention pass, a CLI command, a test's "other worker")
  reads what the first has queued.
- The main connection of a store (`ReadYourWritesSqlite`, `ReadYourWritesPg`: the same
  `ivr.storage.db.Database` subset, so every repository works unchanged) runs the reads and the
  synchronous writes: each statement outside a transaction first waits for the writes
  queued so far (`StoreWriter.flush`). Inside a transaction it does not wait: the writer may
  need the lock that transaction holds.
"""

from __future__ import annotations

import abc
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from ivr.storage.db import PgDatabase
from ivr.storage.writer import StoreWriter

BUSY_TIMEOUT_S = 10.0  # SQLite: how long a writer waits for another process's write lock


def connect(path: Path, database_url: str | None, main: bool = False) -> Any:
    """A connection to the store: a store's main one (reads and synchronous writes, after
    the queued writes), or the writer thread's own."""
    if database_url is not None:
        return ReadYourWritesPg(database_url) if main else PgDatabase(database_url)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    db = ReadYourWritesSqlite(conn) if main else sqlite_utils.Database(conn)
    if main:
        _wal(conn)
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


def _wal(conn: sqlite3.Connection) -> None:
    """Switch a SQLite database to WAL. Changing the journal mode takes the lock without
    waiting on the busy timeout, so workers opening a new database together could fail with
    "database is locked" (seen in CI): retry until `BUSY_TIMEOUT_S`."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.01
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


# ------------------------------------------------------------------ the process's writers
_writers: dict[tuple[int, str], tuple[StoreWriter, int]] = {}  # (pid, url): writer, stores
_writers_lock = threading.Lock()


def acquire_writer(url: str, connect_writer: Callable[[], Any], **options: Any) -> StoreWriter:
    """This process's writer of the database `url`, for one more store (the first store's
    `options` size its queue)."""
    key = (os.getpid(), url)  # a forked child never shares its parent's thread
    with _writers_lock:
        writer, stores = _writers.get(key, (None, 0))
        if writer is None:
            writer, stores = StoreWriter(connect_writer, **options), 0
        _writers[key] = (writer, stores + 1)
        return writer


def release_writer(url: str, writer: StoreWriter) -> None:
    """One store is done with `writer`: its writes are flushed; the last store closes it."""
    key = (os.getpid(), url)
    with _writers_lock:
        found, stores = _writers.get(key, (None, 0))
        last = found is not writer or stores <= 1
        if found is writer:
            if last:
                del _writers[key]
            else:
                _writers[key] = (writer, stores - 1)
    if last:
        writer.close()
    else:
        writer.flush()


# ------------------------------------------------------------------ read-your-writes
class _FlushFirst(abc.ABC):
    """A `Database` whose statements outside a transaction first wait for the queued writes."""

    flush_first: Callable[[], object] = staticmethod(lambda: True)

    @abc.abstractmethod
    def _in_transaction(self) -> bool:
        """Whether this connection is inside a transaction (then it must not wait: the writer
        may need the lock that transaction holds)."""

    def _before(self) -> None:
        if not self._in_transaction():
            self.flush_first()

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self._before()
        return super().execute(*args, **kwargs)  # type: ignore[misc]

    def query(self, *args: Any, **kwargs: Any) -> Any:
        self._before()
        return super().query(*args, **kwargs)  # type: ignore[misc]

    def executescript(self, *args: Any, **kwargs: Any) -> Any:
        self._before()
        return super().executescript(*args, **kwargs)  # type: ignore[misc]


class ReadYourWritesSqlite(_FlushFirst, sqlite_utils.Database):
    def _in_transaction(self) -> bool:
        return bool(self.conn.in_transaction)

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Any]:
        self._before()
        with super().atomic() as db:
            yield db


class ReadYourWritesPg(_FlushFirst, PgDatabase):
    def _in_transaction(self) -> bool:
        return self._depth > 0

    @property
    def conn(self) -> Any:
        self._before()
        return super().conn

    def transaction(self, rollback: bool = False) -> Any:
        self._before()
        return super().transaction(rollback)
