"""The audit log, append-only and hash-chained: who listened, viewed, downloaded, exported or
deleted what, and when.

Each `audit_log` row carries `prev_hash` (the previous row's `hash`; 64 zeros for the first)
and `hash` = SHA-256 over ``prev_hash`` followed by the canonical JSON (sorted keys, no spaces,
UTF-8) of the row's fields `id, ts, user, role, action, call_id, detail, ip`. `append` reads
the head and inserts in one ``BEGIN IMMEDIATE`` transaction, so concurrent writers (the
service, a CLI) cannot fork the chain. Triggers refuse UPDATE and DELETE on the table; nothing
in the service purges it. `verify` recomputes the chain: an edited row, a removed row (a gap in
the ids or a broken link) and reordered rows are reported even when someone dropped the
triggers first. Removing the newest rows leaves a valid shorter chain: compare the head that
`ivr audit verify` prints with one kept elsewhere to catch that.

The same on PostgreSQL: the append holds a table lock instead of ``BEGIN IMMEDIATE``, and a
plpgsql trigger raises on UPDATE, DELETE and TRUNCATE.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from ivr.storage.db import Database, dialect, lock_table, write_transaction

GENESIS = "0" * 64
FIELDS = ("id", "ts", "user", "role", "action", "call_id", "detail", "ip")
_COLUMNS = ", ".join(f'"{f}"' for f in FIELDS)  # "user" is a reserved word in PostgreSQL
_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    ],
}


@dataclass(frozen=True)
class Problem:
    """One break in the chain, at row `id`."""

    id: int
    kind: str  # edited | missing | broken_link
    message: str


def entry_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """SHA-256 (hex) of `prev_hash` and the canonical JSON of the row's `FIELDS`."""
    body = json.dumps({k: row.get(k) for k in FIELDS}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def migrate(db: Database) -> None:
    """Migration 008: chain columns, the rows written so far chained in id order, then the
    append-only triggers."""
    table = db["audit_log"]
    table.add_column("prev_hash", str)  # type: ignore[union-attr]
    table.add_column("hash", str)  # type: ignore[union-attr]
    prev = GENESIS
    for row in list(db.query(f"select {_COLUMNS} from audit_log order by id")):
        digest = entry_hash(prev, row)
        db.execute("update audit_log set prev_hash = ?, hash = ? where id = ?",
                   [prev, digest, row["id"]])
        prev = digest
    for sql in _TRIGGERS[dialect(db)]:
        db.execute(sql)


def append(db: Database, action: str, *, user: str | None = None,
           role: str | None = None, call_id: str | None = None,
           detail: dict[str, Any] | None = None, ip: str | None = None,
           ts: float | None = None) -> dict[str, Any]:
    """Append one entry to the chain and return it (with `id` and `hash`)."""
    with write_transaction(db):
        lock_table(db, "audit_log")
        head = db.execute(
            "select id, hash from audit_log order by id desc limit 1").fetchone()
        row: dict[str, Any] = {
            "id": (head[0] + 1) if head else 1, "ts": time.time() if ts is None else ts,
            "user": user, "role": role, "action": action, "call_id": call_id,
            "detail": json.dumps(detail or {}, ensure_ascii=False, default=str,
                                 sort_keys=True),
            "ip": ip,
        }
        row["prev_hash"] = head[1] if head and head[1] else GENESIS
        row["hash"] = entry_hash(row["prev_hash"], row)
        db.execute(
            f"insert into audit_log ({_COLUMNS}, prev_hash, hash) "
            f"values ({', '.join('?' * len(row))})", list(row.values()))
    return row


def verify(db: Database) -> list[Problem]:
    """Every break in the chain, in id order (empty: intact)."""
    problems: list[Problem] = []
    prev_hash, prev_id = GENESIS, 0
    for row in db.query(f"select {_COLUMNS}, prev_hash, hash from audit_log "
                        "order by id"):
        rid = row["id"]
        if rid != prev_id + 1:
            problems.append(Problem(rid, "missing", f"entries {prev_id + 1}..{rid - 1} "
                                    f"are missing before id {rid}"))
        if row["prev_hash"] != prev_hash:
            problems.append(Problem(rid, "broken_link", f"id {rid} does not follow the entry "
                                    "before it (removed, reordered or rewritten)"))
        if row["hash"] != entry_hash(row["prev_hash"] or "", row):
            problems.append(Problem(rid, "edited", f"id {rid} was edited after it was "
                                    "written"))
        prev_hash, prev_id = row["hash"] or "", rid
    return problems


def head(db: Database) -> tuple[int, str]:
    """(number of entries, hash of the newest) to keep outside the database."""
    row = db.execute("select count(*), (select hash from audit_log order by id desc limit 1) "
                     "from audit_log").fetchone()
    return int(row[0]), row[1] or GENESIS
