"""One database interface over SQLite (sqlite-utils) and PostgreSQL (psycopg 3).

The repositories (calls, agents, users, the audit chain, retention) use a small subset of
`sqlite_utils.Database`; `PgDatabase` gives the same subset over one PostgreSQL connection:

- ``db.query(sql, params)`` → iterator of dicts; ``db.execute(sql, params)`` → a cursor
  (``rowcount``, ``fetchone()``, ``fetchall()``);
- ``with db.conn:`` → one transaction (nested blocks join the outer one);
- ``db["t"]``: ``create``, ``create_index``, ``add_column``, ``insert(row, replace=, pk=)``
  → ``.last_pk``, ``insert_all``, ``update(pk, fields)``, ``delete(pk)``, ``get(pk)``,
  ``rows``, ``count``, ``count_where``, ``exists()``, ``columns_dict``; ``db.table_names()``.

SQL is written once, with ``?`` placeholders and portable syntax; `PgDatabase` turns ``?``
into ``%s``. Dialect differences that SQL text cannot hide live in the few helpers here:
`dialect`, `write_transaction` (SQLite: ``BEGIN IMMEDIATE``), `lock_table` (PostgreSQL: a
table lock to serialise appends), `like` (case-insensitive on both).

The PostgreSQL SQL text (``?`` -> ``%s``, quoted names) and `PgTable` are in
`ivr.storage.pg_table`; this module has the connection. It runs in autocommit mode guarded by
a lock, so a store can be used from the event loop thread and executor threads alike; a broken
connection (a restarted server) is reopened and the statement retried once, outside a
transaction.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ivr.storage.pg_table import PgTable, ident, sql_params, to_pg

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("ivr.db")

Dialect = Literal["sqlite", "postgresql"]


class Database(Protocol):
    """What the repositories may use (satisfied by `sqlite_utils.Database` and `PgDatabase`)."""

    conn: Any

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Iterator[dict[str, Any]]:
        ...

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Any: ...

    def __getitem__(self, table_name: str) -> Any: ...


def dialect(db: Any) -> Dialect:
    return "postgresql" if isinstance(db, PgDatabase) else "sqlite"


@contextlib.contextmanager
def write_transaction(db: Any, rollback: bool = False) -> Iterator[None]:
    """One write transaction, rolled back on an error (or always, with `rollback`: a dry
    run). SQLite takes the write lock at once (``BEGIN IMMEDIATE``, through ``db.execute``: a
    store's `db` first waits for its queued writes); inside an open transaction it joins it."""
    if isinstance(db, PgDatabase):
        with db.transaction(rollback=rollback):
            yield
        return
    conn = db.conn
    own = not conn.in_transaction
    if own:
        db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if own and conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if own:
        conn.execute("ROLLBACK" if rollback else "COMMIT")


def lock_table(db: Any, table: str) -> None:
    """Inside a write transaction: no other writer of `table` until it ends (SQLite's
    ``BEGIN IMMEDIATE`` already locks the whole database)."""
    if isinstance(db, PgDatabase):
        db.execute(f"lock table {ident(table)} in share row exclusive mode")


def like(db: Any) -> str:
    """The case-insensitive LIKE operator (SQLite's LIKE is; PostgreSQL's is ILIKE)."""
    return "ilike" if isinstance(db, PgDatabase) else "like"


# ------------------------------------------------------------------ PostgreSQL
class PgTransaction:
    """``with db.conn:`` → one transaction; nested blocks join the outer one."""

    def __init__(self, db: PgDatabase, rollback: bool = False) -> None:
        self.db, self.rollback = db, rollback

    def __enter__(self) -> PgTransaction:
        self.db._lock.acquire()
        try:
            if self.db._depth == 0:
                self.db._raw().execute("begin")
            self.db._depth += 1
        except BaseException:
            self.db._lock.release()
            raise
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        db = self.db
        try:
            db._depth -= 1
            if db._depth == 0:
                db._raw().execute("rollback" if exc_type or self.rollback else "commit")
        finally:
            db._lock.release()

    @property
    def in_transaction(self) -> bool:
        return self.db._depth > 0

    def close(self) -> None:
        self.db.close()


class PgDatabase:
    """The `Database` subset over one PostgreSQL connection (autocommit, locked)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock, self._depth = threading.RLock(), 0
        self._conn: psycopg.Connection[Any] | None = None
        self._pks: dict[str, tuple[str, bool]] = {}  # table: (primary key, is an integer)
        self._columns: dict[str, list[str]] = {}
        self._raw()

    def _raw(self) -> psycopg.Connection[Any]:
        import psycopg

        if self._conn is None or (self._conn.broken and self._depth == 0):
            if self._conn is not None:
                self._conn.close()
            self._conn = psycopg.connect(self.url, autocommit=True,
                                         application_name="ivr")
        return self._conn

    @property
    def conn(self) -> PgTransaction:
        return PgTransaction(self)

    def transaction(self, rollback: bool = False) -> PgTransaction:
        return PgTransaction(self, rollback)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()

    # ------------------------------------------------------------ statements
    def _run(self, sql: str, args: list[Any] | None, dicts: bool = False) -> psycopg.Cursor[Any]:
        """Run one statement; outside a transaction, once more on a new connection when the
        old one was found broken (the server restarted or ended the session while idle)."""
        import psycopg
        from psycopg.rows import dict_row

        with self._lock:
            for attempt in (1, 2):
                conn = self._raw()
                cur = conn.cursor(row_factory=dict_row) if dicts else conn.cursor()
                try:
                    return cur.execute(sql, args)
                except psycopg.OperationalError:
                    if attempt == 2 or self._depth or not conn.broken:
                        raise
                    log.warning("PostgreSQL connection lost: reconnecting to retry")
            raise AssertionError("unreachable")

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> psycopg.Cursor[Any]:
        args = sql_params(parameters)
        return self._run(to_pg(sql) if args is not None else sql, args)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Iterator[dict[str, Any]]:
        with self._lock:
            return iter(self._run(to_pg(sql), sql_params(params or []), dicts=True).fetchall())

    def executescript(self, sql: str) -> None:
        with self._lock:
            self._raw().execute(sql)

    def __getitem__(self, name: str) -> PgTable:
        return PgTable(self, name)

    def table_names(self) -> list[str]:
        return [r["table_name"] for r in self.query(
            "select table_name from information_schema.tables where table_schema = "
            "current_schema() order by table_name")]

    def columns(self, table: str) -> list[str]:
        """The column names of `table` (cached; this process's schema changes clear it)."""
        if table not in self._columns:
            self._columns[table] = list(self[table].columns_dict)
        return self._columns[table]

    def primary_key(self, table: str) -> tuple[str, bool] | None:
        """(the primary key column, whether it is an integer), None: no such key (yet)."""
        if table not in self._pks:
            rows = list(self.query(
                "select a.attname, a.atttypid = 'bigint'::regtype as int from pg_index i "
                "join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey) "
                "where i.indrelid = ?::regclass and i.indisprimary", [ident(table)]))
            if not rows:
                return None  # not created yet: do not cache
            self._pks[table] = (rows[0]["attname"], bool(rows[0]["int"]))
        return self._pks[table]


_SCHEME = re.compile(r"^(postgres|postgresql)://")


def is_postgres_url(url: str) -> bool:
    return bool(_SCHEME.match(url))
