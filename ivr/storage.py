"""Call storage: one repository over SQLite (sqlite-utils, WAL) or PostgreSQL (psycopg),
with named migrations.

One connection per process: the service uses a single `CallStore` from its event loop thread;
transactions are short (one row or a few). Several worker processes may share one store
(`open_store` with a `database_url`): SQLite in WAL mode with a busy timeout on one machine,
PostgreSQL across machines. The migrations and the repositories are written once against the
`ivr.db.Database` subset. Times are wall-clock UNIX seconds (float).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import sqlite_utils

from ivr.db import PgDatabase, is_postgres_url, lock_table, write_transaction

Migration = Callable[[Any], None]  # takes an `ivr.db.Database`


def _m001_initial(db: Any) -> None:
    db["calls"].create(
        {
            "id": str, "sip_call_id": str, "caller": str, "callee": str, "remote_uri": str,
            "started_at": float, "answered_at": float, "ended_at": float,
            "status": str, "end_reason": str, "language": str,
            "dialplan": str, "dialplan_version": str, "recording_path": str,
            "turn_count": int, "escalated": int, "transfer_target": str,
        },
        pk="id",
        not_null={"started_at", "status"},
        defaults={"status": "active", "turn_count": 0, "escalated": 0},
    )
    db["calls"].create_index(["started_at"])
    db["calls"].create_index(["caller"])
    db["turns"].create(
        {
            "id": int, "call_id": str, "seq": int, "node": str, "language": str,
            "prompt": str, "input_mode": str, "caller_text": str, "asr_confidence": float,
            "no_speech_prob": float, "dtmf": str, "outcome": str, "intent": str,
            "intent_score": float, "slots": str, "speech_start": float, "speech_end": float,
            "asr_done": float, "asr_seconds": float, "reply_first_audio": float,
            "created_at": float,
        },
        pk="id",
        foreign_keys=[("call_id", "calls", "id")],
    )
    db["turns"].create_index(["call_id", "seq"], unique=True)
    db["events"].create(
        {"id": int, "call_id": str, "ts": float, "type": str, "data": str},
        pk="id",
        foreign_keys=[("call_id", "calls", "id")],
    )
    db["events"].create_index(["call_id", "ts"])


def _m002_profile(db: Any) -> None:
    db["calls"].add_column("profile", str)


def _m003_emotion(db: Any) -> None:
    db["turns"].add_column("emotion", str)  # JSON: anger, distress, arousal, label, cues
    db["calls"].add_column("peak_anger", float)


def _m004_agents(db: Any) -> None:
    db["agents"].create(
        {"id": str, "name": str, "uri": str, "queues": str, "languages": str, "topics": str,
         "status": str, "current_call": str, "since": float},
        pk="id", defaults={"status": "available"},
    )
    db["calls"].add_column("waiting_queue", str)  # set while the caller waits for an agent
    db["calls"].add_column("waiting_since", float)
    db["callbacks"].create(
        {"id": int, "call_id": str, "caller": str, "number": str, "language": str,
         "intent": str, "queue": str, "created_at": float, "status": str},
        pk="id", defaults={"status": "pending"},
    )


def _m005_handover(db: Any) -> None:
    db["calls"].add_column("agent_id", str)  # the agent who took the call
    db["calls"].add_column("queue_wait_s", float)  # time from queueing to an agent answering
    db["calls"].add_column("agent_outcome", str)  # marked by the agent on the desktop
    db["calls"].add_column("agent_note", str)
    db["callbacks"].add_column("kind", str, not_null_default="callback")  # or voicemail
    db["callbacks"].add_column("recording_path", str)  # voicemail audio
    db["callbacks"].add_column("reason", str)  # the escalation reason
    db["callbacks"].add_column("transcript", str)  # a voicemail's words, as recognised


def _m006_users(db: Any) -> None:
    db["users"].create(
        {"id": int, "username": str, "role": str, "password_hash": str, "agent_id": str,
         "created_at": float, "disabled": int},
        pk="id", not_null={"username", "role", "password_hash"}, defaults={"disabled": 0},
    )
    db["users"].create_index(["username"], unique=True)
    db["api_tokens"].create(
        {"id": int, "name": str, "role": str, "token_hash": str, "agent_id": str,
         "created_at": float, "last_used_at": float},
        pk="id", not_null={"name", "role", "token_hash"},
    )
    db["api_tokens"].create_index(["token_hash"], unique=True)
    db["api_tokens"].create_index(["name"], unique=True)
    db["audit_log"].create(
        {"id": int, "ts": float, "user": str, "role": str, "action": str, "call_id": str,
         "detail": str, "ip": str},
        pk="id", not_null={"ts", "action"},
    )
    db["audit_log"].create_index(["ts"])
    db["audit_log"].create_index(["call_id"])


def _m007_reviews(db: Any) -> None:
    db["reviews"].create(  # one review per call (the dashboard), tags as a JSON list
        {"call_id": str, "reviewed": int, "reviewed_by": str, "reviewed_at": float,
         "note": str, "tags": str},
        pk="call_id", defaults={"reviewed": 0},
    )


def _m008_audit_chain(db: Any) -> None:
    from ivr.privacy.audit import migrate  # hash chain + append-only triggers (issue 8)

    migrate(db)


def _m009_call_worker(db: Any) -> None:
    db["calls"].add_column("worker", str)  # the SIP worker (host:port) that holds the call


def _m010_workers(db: Any) -> None:
    from ivr.workers import migrate  # the service's worker processes and their APIs (issue 9)

    migrate(db)


def _m011_revoked_sessions(db: Any) -> None:
    from ivr.web.sessions import migrate  # signed-out session cookies (issue 15)

    migrate(db)


def _m012_signin_failures(db: Any) -> None:
    from ivr.web.throttle import migrate  # failed sign-ins shared by the workers (issue 15)

    migrate(db)


BUSY_TIMEOUT_S = 10.0  # SQLite: how long a writer waits for another process's write lock
MIGRATION_LOCK = 0x1F5_0009  # PostgreSQL advisory lock key held while migrating

MIGRATIONS: list[tuple[str, Migration]] = [("001_initial", _m001_initial),
                                           ("002_call_profile", _m002_profile),
                                           ("003_emotion", _m003_emotion),
                                           ("004_agents", _m004_agents),
                                           ("005_handover", _m005_handover),
                                           ("006_users", _m006_users),
                                           ("007_reviews", _m007_reviews),
                                           ("008_audit_chain", _m008_audit_chain),
                                           ("009_call_worker", _m009_call_worker),
                                           ("010_workers", _m010_workers),
                                           ("011_revoked_sessions", _m011_revoked_sessions),
                                           ("012_signin_failures", _m012_signin_failures)]


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


class CallStore:
    """Repository of calls, turns and events."""

    worker: str | None = None  # this process's worker id, stamped on the calls it starts
    db: Any  # an `ivr.db.Database`: sqlite_utils.Database or PgDatabase

    def __init__(self, path: Path | str, database_url: str | None = None) -> None:
        """SQLite at `path`, or the PostgreSQL database of `database_url` (`path` then only
        places files kept next to the database, such as the forget secret)."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.url = database_url or f"sqlite://{self.path.resolve()}"
        if database_url is not None:
            self.db = PgDatabase(database_url)
        else:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S,
                                   isolation_level=None)
            self.db = sqlite_utils.Database(conn)
            _wal(conn)
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
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

    def close(self) -> None:
        self.db.conn.close()

    # ------------------------------------------------------------ writes
    def call_started(self, call_id: str, **fields: Any) -> None:
        row = {"id": call_id, "started_at": time.time(), "status": "active", **fields}
        if self.worker is not None:
            row.setdefault("worker", self.worker)
        self.db["calls"].insert(row, replace=True)

    def update_call(self, call_id: str, **fields: Any) -> None:
        self.db["calls"].update(call_id, fields)

    def call_ended(self, call_id: str, reason: str, **fields: Any) -> None:
        turns = self.db.execute(
            "select count(*) from turns where call_id = ?", [call_id]).fetchone()[0]
        self.update_call(call_id, status="ended", ended_at=time.time(), end_reason=reason,
                         turn_count=turns, **fields)

    def add_turn(self, call_id: str, seq: int, **fields: Any) -> int:
        for key in ("slots", "emotion"):
            if isinstance(fields.get(key), dict):
                fields[key] = json.dumps(fields[key], ensure_ascii=False)
        row = {"call_id": call_id, "seq": seq, "created_at": time.time(), **fields}
        return self.db["turns"].insert(row).last_pk  # type: ignore[return-value]

    def update_turn(self, turn_id: int, **fields: Any) -> None:
        self.db["turns"].update(turn_id, fields)

    def add_event(self, call_id: str, type_: str, data: dict[str, Any] | None = None,
                  ts: float | None = None) -> None:
        self.db["events"].insert({
            "call_id": call_id, "ts": ts or time.time(), "type": type_,
            "data": json.dumps(data or {}, ensure_ascii=False, default=str),
        })

    def add_callback(self, call_id: str, **fields: Any) -> int:
        """A callback request or a voicemail (`kind`) for the agents to work through."""
        row = {"call_id": call_id, "created_at": time.time(), "status": "pending", **fields}
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
        a restarting worker never closes the live calls of the others sharing the store."""
        sql = ("update calls set status = 'ended', end_reason = 'service_restart', "
               "ended_at = ? where status = 'active'")
        args: list[Any] = [time.time()]
        if worker is not None:
            sql += " and (worker = ? or worker is null)"
            args.append(worker)
        return self.db.execute(sql, args).rowcount

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


def _decode(row: dict[str, Any], key: str) -> dict[str, Any]:
    if row.get(key):
        with contextlib.suppress(ValueError):
            row[key] = json.loads(row[key])
    return row
