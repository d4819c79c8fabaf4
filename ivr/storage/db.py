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

The PostgreSQL connection runs in autocommit mode guarded by a lock, so a store can be used
from the event loop thread and executor threads alike; a broken connection (a restarted
server) is reopened and the statement retried once, outside a transaction.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("ivr.db")

Dialect = Literal["sqlite", "postgresql"]
_PG_TYPES = {str: "text", float: "double precision", int: "bigint", bytes: "bytea",
             bool: "bigint"}


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
        db.execute(f"lock table {_ident(table)} in share row exclusive mode")


def like(db: Any) -> str:
    """The case-insensitive LIKE operator (SQLite's LIKE is; PostgreSQL's is ILIKE)."""
    return "ilike" if isinstance(db, PgDatabase) else "like"


# ------------------------------------------------------------------ PostgreSQL
def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if isinstance(value, (bool, int, float)):
        return repr(int(value) if isinstance(value, bool) else value)
    return "'" + str(value).replace("'", "''") + "'"


@functools.lru_cache(maxsize=2048)
def to_pg(sql: str) -> str:
    """``?`` placeholders (outside quoted text) → ``%s``; a literal ``%`` → ``%%``."""
    out, quote = [], ""
    for ch in sql:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            out.append("%s")
            continue
        out.append("%%" if ch == "%" else ch)
    return "".join(out)


def _value(v: Any) -> Any:
    """Python values as sqlite-utils stores them: bools as 0/1, containers as JSON text."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, default=repr, ensure_ascii=False)
    return v


def _params(params: Sequence[Any] | dict[str, Any] | None) -> list[Any] | None:
    if isinstance(params, dict):
        raise TypeError("use ? placeholders with a list of parameters")
    return None if params is None else [_value(p) for p in params]


class NotFoundError(KeyError):
    """`PgTable.get` of a missing primary key (as sqlite-utils' NotFoundError)."""


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
        args = _params(parameters)
        return self._run(to_pg(sql) if args is not None else sql, args)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Iterator[dict[str, Any]]:
        with self._lock:
            return iter(self._run(to_pg(sql), _params(params or []), dicts=True).fetchall())

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
                "where i.indrelid = ?::regclass and i.indisprimary", [_ident(table)]))
            if not rows:
                return None  # not created yet: do not cache
            self._pks[table] = (rows[0]["attname"], bool(rows[0]["int"]))
        return self._pks[table]


class PgTable:
    """`db["name"]`: the sqlite-utils table operations the repositories use."""

    def __init__(self, db: PgDatabase, name: str) -> None:
        self.db, self.name, self.q = db, name, _ident(name)
        self.last_pk: Any = None

    # ------------------------------------------------------------ schema
    def create(self, columns: dict[str, type], pk: str | None = None,
               foreign_keys: Iterable[tuple[str, str, str]] = (),
               not_null: Iterable[str] = (), defaults: dict[str, Any] | None = None,
               if_not_exists: bool = False) -> PgTable:
        fks = {c: (t, o) for c, t, o in foreign_keys}
        not_null, defaults = set(not_null), defaults or {}
        parts = []
        for col, typ in columns.items():
            sql = f"{_ident(col)} {_PG_TYPES[typ]}"
            if col == pk:
                sql += " generated by default as identity" if typ is int else ""
                sql += " primary key"
            if col in not_null:
                sql += " not null"
            if col in defaults:
                sql += f" default {_literal(defaults[col])}"
            if col in fks:
                sql += f" references {_ident(fks[col][0])} ({_ident(fks[col][1])})"
            parts.append(sql)
        exists = "if not exists " if if_not_exists else ""
        self.db.execute(f"create table {exists}{self.q} ({', '.join(parts)})")
        self.db._columns.pop(self.name, None)
        return self

    def create_index(self, columns: Sequence[str], unique: bool = False,
                     if_not_exists: bool = False) -> PgTable:
        name = _ident(f"idx_{self.name}_{'_'.join(columns)}")
        self.db.execute(f"create {'unique ' if unique else ''}index "
                        f"{'if not exists ' if if_not_exists else ''}{name} on {self.q} "
                        f"({', '.join(_ident(c) for c in columns)})")
        return self

    def add_column(self, name: str, col_type: type = str,
                   not_null_default: Any = None) -> PgTable:
        sql = f"alter table {self.q} add column {_ident(name)} {_PG_TYPES[col_type]}"
        if not_null_default is not None:
            sql += f" not null default {_literal(not_null_default)}"
        self.db.execute(sql)
        self.db._columns.pop(self.name, None)
        return self

    def exists(self) -> bool:
        return bool(list(self.db.query("select to_regclass(?) as t", [self.q]))[0]["t"])

    @property
    def columns_dict(self) -> dict[str, type]:
        types = {"text": str, "double precision": float, "bigint": int, "bytea": bytes}
        return {r["column_name"]: types.get(r["data_type"], str) for r in self.db.query(
            "select column_name, data_type from information_schema.columns where "
            "table_schema = current_schema() and table_name = ? order by ordinal_position",
            [self.name])}

    @property
    def pk(self) -> str:
        pk = self.db.primary_key(self.name)
        if pk is None:
            raise ValueError(f"table {self.name} has no primary key")
        return pk[0]

    # ------------------------------------------------------------ rows
    def insert(self, row: dict[str, Any], replace: bool = False,
               pk: str | None = None) -> PgTable:
        key = pk or self.pk
        cols = list(row)
        sql = (f"insert into {self.q} ({', '.join(_ident(c) for c in cols)}) "
               f"values ({', '.join('?' * len(cols))})")
        if replace:  # as SQLite's INSERT OR REPLACE: the columns not given get defaults
            sets = ", ".join([f"{_ident(c)} = excluded.{_ident(c)}" for c in cols if c != key]
                             + [f"{_ident(c)} = default" for c in self.db.columns(self.name)
                                if c not in row and c != key])
            sql += f" on conflict ({_ident(key)}) do " + (f"update set {sets}" if sets
                                                          else "nothing")
        sql += f" returning {_ident(key)}"
        found = self.db.execute(sql, list(row.values())).fetchone()
        self.last_pk = found[0] if found else row.get(key)
        return self

    def insert_all(self, rows: Iterable[dict[str, Any]], replace: bool = False,
                   pk: str | None = None) -> PgTable:
        with self.db.conn:
            for row in rows:
                self.insert(row, replace=replace, pk=pk)
        return self

    def update(self, pk_value: Any, updates: dict[str, Any] | None = None) -> PgTable:
        if updates:
            sets = ", ".join(f"{_ident(c)} = ?" for c in updates)
            self.db.execute(f"update {self.q} set {sets} where {_ident(self.pk)} = ?",
                            [*updates.values(), pk_value])
        self.last_pk = pk_value
        return self

    def delete(self, pk_value: Any) -> PgTable:
        self.db.execute(f"delete from {self.q} where {_ident(self.pk)} = ?", [pk_value])
        return self

    def get(self, pk_value: Any) -> dict[str, Any]:
        rows = list(self.db.query(f"select * from {self.q} where {_ident(self.pk)} = ?",
                                  [pk_value]))
        if not rows:
            raise NotFoundError(pk_value)
        return rows[0]

    @property
    def rows(self) -> Iterator[dict[str, Any]]:
        """All rows: by an integer key (SQLite's rowid order), else as stored."""
        pk = self.db.primary_key(self.name)
        return self.db.query(f"select * from {self.q}"
                             + (f" order by {_ident(pk[0])}" if pk and pk[1] else ""))

    @property
    def count(self) -> int:
        return self.count_where()

    def count_where(self, where: str | None = None, where_args: Sequence[Any] = ()) -> int:
        sql = f"select count(*) from {self.q}" + (f" where {where}" if where else "")
        return int(self.db.execute(sql, list(where_args)).fetchone()[0])


_SCHEME = re.compile(r"^(postgres|postgresql)://")


def is_postgres_url(url: str) -> bool:
    return bool(_SCHEME.match(url))
