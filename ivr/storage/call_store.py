"""Call storage: one repository over SQLite (sqlite-utils, WAL) or PostgreSQL (psycopg),
with named migrations.

One `CallStore` per process, used from its event loop thread; transactions are short. The
call record's writes that return nothing (`call_started`, `add_event`, `update_call`,
`update_turn`, `call_ended`) leave the event loop: the store's one writer thread applies them
(`ivr.storage.writer`: a bounded queue, small batches, order kept, read-your-writes, drops
counted and logged, flushed by `close()`). `add_turn`, `add_callback` and `mark_interrupted`
return a value, so they stay synchronous, after the queued writes. The named migrations are in
`ivr.storage.migrations`.
Several worker processes may share one store (`open_store` with a `database_url`): SQLite in
WAL mode with a busy timeout on one machine, PostgreSQL across machines; each process has its
own writer. The migrations and the repositories are written once against the
`ivr.storage.db.Database` subset. Times are wall-clock UNIX seconds (float).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import time
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ivr.storage import connections, counters
from ivr.storage.db import PgDatabase, is_postgres_url, lock_table, write_transaction
from ivr.storage.migrations import MIGRATIONS
from ivr.storage.notify import CallChanges
from ivr.storage.writer import FULL_WAIT_S, QUEUE_SIZE, Write

MIGRATION_LOCK = 0x1F5_0009  # PostgreSQL advisory lock key held while migrating
_CHANGES: dict[str, CallChanges] = {}  # per database: the process's stores on it share one


class CallStore:
    """Repository of calls, turns and events."""

    worker: str | None = None  # this process's worker id, stamped on the calls it starts
    fcr_window_s: float = counters.DEFAULT_FCR_WINDOW_S  # setting metrics.fcr_window_h
    db: Any  # an `ivr.storage.db.Database`: sqlite_utils.Database or PgDatabase

    def __init__(self, path: Path | str, database_url: str | None = None, *,
                 queue_size: int = QUEUE_SIZE,
                 full_wait_s: float = FULL_WAIT_S) -> None:
        """SQLite at `path`, or the PostgreSQL database of `database_url` (`path` then only
        places files kept next to the database, such as the forget secret). `queue_size`
        and `full_wait_s`: the writer's queue (`ivr.storage.writer`), when this store is the
        first of its process on this database."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.url = database_url or f"sqlite://{self.path.resolve()}"
        self.writer = connections.acquire_writer(
            self.url, functools.partial(connections.connect, self.path, database_url),
            size=queue_size, full_wait_s=full_wait_s)  # the process's one, for this database
        self._stop_writer = weakref.finalize(  # also when the store is dropped, or at exit
            self, connections.release_writer, self.url, self.writer)
        self.db = connections.connect(self.path, database_url, main=True)
        self.db.flush_first = self.writer.flush
        self.changes = _CHANGES.setdefault(self.url, CallChanges())  # wakes events long polls
        self.migrate()

    @property
    def dialect(self) -> str:
        return "postgresql" if isinstance(self.db, PgDatabase) else "sqlite"

    # ------------------------------------------------------------ schema
    def migrate(self) -> list[str]:
        """Apply pending named migrations, each in its own transaction; returns the names
        applied. Processes starting together apply each migration once (SQLite: the write
        lock; PostgreSQL: an advisory lock)."""
        pg = isinstance(self.db, PgDatabase)
        if pg:
            self.db.execute("select pg_advisory_lock(?)", [MIGRATION_LOCK])
        try:
            with write_transaction(self.db):  # SQLite: waits for a migrating process
                self.db["_migrations"].create({"name": str, "applied_at": float},
                                              pk="name", if_not_exists=True)
            applied = []
            for name, fn in MIGRATIONS:
                with write_transaction(self.db):
                    lock_table(self.db, "_migrations")
                    if self.db["_migrations"].count_where("name = ?", [name]):
                        continue
                    fn(self.db)
                    self.db["_migrations"].insert({"name": name, "applied_at": time.time()})
                applied.append(name)
            return applied
        finally:
            if pg:
                self.db.execute("select pg_advisory_unlock(?)", [MIGRATION_LOCK])

    def flush(self) -> bool:
        """Wait until the writes queued so far are committed (reads do this themselves)."""
        return self.writer.flush()

    def close(self) -> None:
        """Commit every queued write (the last store of the process on this database also
        stops the writer thread), then close the connection."""
        self._stop_writer()
        self.db.close()

    # ------------------------------------------------------------ writes
    def _queue(self, call_id: str | None, what: str, apply: Callable[[Any], None],
               essential: bool = True) -> None:
        """Hand a write to the writer thread (a dropped one is counted and logged there),
        and wake the readers waiting for the call's next write (`ivr.storage.notify`)."""
        self.writer.submit(Write(call_id, what, apply, essential))
        self.changes.changed(call_id)

    def call_started(self, call_id: str, **fields: Any) -> None:
        """Queued: the call's row (replaced if it exists)."""
        row = {"id": call_id, "started_at": time.time(), "status": "active", **_own(fields)}
        if self.worker is not None:
            row.setdefault("worker", self.worker)
        self._queue(call_id, "call_started", lambda db: db["calls"].insert(row, replace=True))

    def update_call(self, call_id: str, **fields: Any) -> None:
        """Queued; an unknown `call_id` is logged by the writer, not raised."""
        fields = _own(fields)
        self._queue(call_id, f"update_call {','.join(fields)}",
                    lambda db: db["calls"].update(call_id, fields))

    def call_ended(self, call_id: str, reason: str, **fields: Any) -> None:
        """Queued: status, end time and reason, the count of the call's turns; then, in the
        same transaction, the call's outcome and escalation reason, added to the durable
        counters (`ivr.storage.counters`)."""
        fields = {"status": "ended", "ended_at": time.time(), "end_reason": reason,
                  **_own(fields)}

        def end(db: Any) -> None:
            turns = db.execute(
                "select count(*) from turns where call_id = ?", [call_id]).fetchone()[0]
            db["calls"].update(call_id, {**fields, "turn_count": turns})
            counters.count_ended(db, call_id, self.fcr_window_s)

        self._queue(call_id, "call_ended", end)

    def add_turn(self, call_id: str, seq: int, **fields: Any) -> int:
        """Synchronous (returns the turn's id), after the queued writes."""
        for key in ("slots", "emotion"):
            if isinstance(fields.get(key), dict):
                fields[key] = json.dumps(fields[key], ensure_ascii=False)
        row = {"call_id": call_id, "seq": seq, "created_at": time.time(), **fields}
        return self.db["turns"].insert(row).last_pk  # type: ignore[return-value]

    def update_turn(self, turn_id: int, **fields: Any) -> None:
        """Queued."""
        fields = _own(fields)
        self._queue(None, f"update_turn {turn_id} {','.join(fields)}",
                    lambda db: db["turns"].update(turn_id, fields))

    def add_event(self, call_id: str, type_: str, data: dict[str, Any] | None = None,
                  ts: float | None = None) -> None:
        """Queued (the hot path): the first write dropped when the queue is full."""
        row = {"call_id": call_id, "ts": ts or time.time(), "type": type_,
               "data": json.dumps(data or {}, ensure_ascii=False, default=str)}
        self._queue(call_id, f"event {type_}", lambda db: db["events"].insert(row),
                    essential=False)

    def add_callback(self, call_id: str, **fields: Any) -> int:
        """A callback request or a voicemail (`kind`) for the agents to work through;
        synchronous (returns its id), after the queued writes. A call back's window is
        `not_before`..`not_after` (`ivr.storage.callback_queue`: the dialler's queue)."""
        row = {"call_id": call_id, "created_at": time.time(), "status": "pending",
               "attempts": 0, **fields}
        return self.db["callbacks"].insert(row).last_pk  # type: ignore[return-value]

    def callbacks(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        sql, args = "select * from callbacks", []
        if status:
            sql += " where status = ?"
            args.append(status)
        return list(self.db.query(sql + " order by created_at desc limit ?", [*args, limit]))

    def mark_interrupted(self, worker: str | None = None) -> int:
        """Calls left `active` by a crashed process are closed as `service_restart` at
        start-up: with `worker`, only that worker's calls (and calls of no known worker), so
        a restarting worker never closes the live calls of the others sharing the store.
        Each is given its outcome and counted."""
        where, args = "status = 'active'", []
        if worker is not None:
            where += " and (worker = ? or worker is null)"
            args.append(worker)
        with write_transaction(self.db):
            ids = [r["id"] for r in self.db.query(f"select id from calls where {where}", args)]
            for call_id in ids:
                self.db["calls"].update(call_id, {"status": "ended", "ended_at": time.time(),
                                                  "end_reason": "service_restart"})
                counters.count_ended(self.db, call_id, self.fcr_window_s)
        return len(ids)

    def call_counters(self, since: float | None = None,
                      until: float | None = None) -> dict[str, float]:
        """The durable counters (`ivr.storage.counters`) of the calls started in
        ``[since, until)`` (whole hours), or of all calls, summed by name."""
        if since is None or until is None:
            return counters.totals(self.db)
        return counters.read(self.db, since, until)

    # ------------------------------------------------------------ reads
    def list_calls(self, limit: int = 50, offset: int = 0, status: str | None = None,
                   caller: str | None = None,
                   agent_id: str | None = None,
                   sip_call_id: str | None = None) -> list[dict[str, Any]]:
        """Calls, newest first; `agent_id` keeps only the calls that agent took."""
        where, args = [], []
        if sip_call_id:
            where.append("sip_call_id = ?")
            args.append(sip_call_id)
        if status:
            where.append("status = ?")
            args.append(status)
        if caller:
            where.append("caller = ?")
            args.append(caller)
        if agent_id is not None:
            where.append("agent_id = ?")
            args.append(agent_id)
        sql = "select * from calls"
        if where:
            sql += " where " + " and ".join(where)
        sql += " order by started_at desc limit ? offset ?"
        return list(self.db.query(sql, [*args, limit, offset]))

    def get_call(self, call_id: str) -> dict[str, Any] | None:
        rows = list(self.db.query("select * from calls where id = ?", [call_id]))
        if not rows:
            return None
        call = rows[0]
        call["turns"] = [_decode(_decode(t, "slots"), "emotion") for t in self.db.query(
            "select * from turns where call_id = ? order by seq", [call_id])]
        call["events"] = [_decode(e, "data") for e in self.db.query(
            "select * from events where call_id = ? order by ts, id", [call_id])]
        return call

    def call_events(self, call_id: str, after: int = 0,
                    limit: int = 500) -> tuple[str, list[dict[str, Any]]] | None:
        """The call's status and its events with id > `after` (at most `limit`, in the order
        of `get_call`), or None for no such call: two indexed reads, for callers that follow
        a live call (`GET /api/calls/{id}/events`) without reloading the whole record."""
        rows = list(self.db.query("select status from calls where id = ?", [call_id]))
        if not rows:
            return None
        events = [_decode(e, "data") for e in self.db.query(
            "select * from events where call_id = ? and id > ? order by ts, id limit ?",
            [call_id, after, limit])]
        return str(rows[0]["status"]), events

    def turns(self, call_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        if call_ids is None:
            return list(self.db.query("select * from turns order by created_at"))
        ids = list(call_ids)
        marks = ",".join("?" * len(ids))
        return list(self.db.query(
            f"select * from turns where call_id in ({marks}) order by call_id, seq", ids))


def open_store(url: str | None, default_path: Path) -> CallStore:
    """The store a database URL names: `sqlite:///ABS/PATH`, `postgresql://user@host:port/db`
    (files kept next to the database go beside `default_path`), or unset: SQLite at
    `default_path`."""
    if not url:
        return CallStore(default_path)
    if url.startswith("sqlite:///"):
        return CallStore(Path(url.removeprefix("sqlite://")))
    if is_postgres_url(url):
        return CallStore(default_path, database_url=url)
    raise ValueError(f"database_url {url!r}: expected sqlite:///ABS/PATH or "
                     "postgresql://user@host:port/db")


def _own(fields: dict[str, Any]) -> dict[str, Any]:
    """The values of a queued write, copied: the caller may change its dicts and lists."""
    return {k: copy.deepcopy(v) if isinstance(v, (dict, list)) else v
            for k, v in fields.items()}


def _decode(row: dict[str, Any], key: str) -> dict[str, Any]:
    if row.get(key):
        with contextlib.suppress(ValueError):
            row[key] = json.loads(row[key])
    return row
