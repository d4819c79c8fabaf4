"""The callback requests as a work queue shared by every worker (issue 21).

A request (`CallStore.add_callback`, kind ``callback``) is ``pending`` until a worker's
dialler (`ivr.escalation.callback_dialler`) claims it with one conditional UPDATE
(``... where status = 'pending'``): of two workers sharing the database exactly one wins,
so a customer is never called twice for one request. The winner holds it ``dialling`` while
it calls; the attempt's result then makes it ``done``, ``failed``, or ``pending`` again with
the time of the next attempt. A worker that died while dialling gives its requests back
when it starts again (`release_stuck`).

Each request that ends adds ``callback:completed`` or ``callback:failed``, and each attempt
``callback:attempts``, to the durable counters (`ivr.storage.counters`), in the hour the
request was booked, so they survive purges like the call outcomes do. Written once for SQLite
and PostgreSQL, on the store's own connection (short synchronous transactions, like the
agents' table: the claim must know at once whether it won).
"""

from __future__ import annotations

import time
from typing import Any

from ivr.storage import counters
from ivr.storage.db import write_transaction

__all__ = ["claim", "due", "expire", "get", "record_attempt", "release_stuck", "unclaim"]

_DUE = ("select * from callbacks where kind = 'callback' and status = 'pending' "
        "and coalesce(next_attempt_at, 0) <= ? and coalesce(not_before, 0) <= ? "
        "and (not_after is null or not_after > ?) "
        "order by coalesce(next_attempt_at, created_at), created_at, id limit ?")


def get(db: Any, callback_id: int) -> dict[str, Any] | None:
    rows = list(db.query("select * from callbacks where id = ?", [callback_id]))
    return rows[0] if rows else None


def due(db: Any, now: float, limit: int = 20) -> list[dict[str, Any]]:
    """Pending call backs whose window is open and whose next attempt is due, oldest first."""
    return list(db.query(_DUE, [now, now, now, limit]))


def claim(db: Any, callback_id: int, worker: str, now: float | None = None) -> bool:
    """Take the request for this worker's dialler; False when another worker (or a desk
    action) got it first."""
    with write_transaction(db):
        cur = db.execute(
            "update callbacks set status = 'dialling', claimed_by = ?, claimed_at = ? "
            "where id = ? and status = 'pending'", [worker, now or time.time(), callback_id])
        return int(cur.rowcount) == 1


def unclaim(db: Any, callback_id: int) -> None:
    """Nothing was dialled (no agent could be reserved after all): pending again, as is."""
    with write_transaction(db):
        db.execute("update callbacks set status = 'pending', claimed_by = null, "
                   "claimed_at = null where id = ? and status = 'dialling'", [callback_id])


def record_attempt(db: Any, callback_id: int, result: str, *, retry_at: float | None,
                   agent_id: str | None = None, now: float | None = None) -> str:
    """The customer was dialled: count the attempt and store its `result`; the request is
    then ``done`` (result ``completed``), ``pending`` until `retry_at`, or ``failed``.
    Returns the new status."""
    now = now or time.time()
    status = "done" if result == "completed" else "pending" if retry_at is not None else "failed"
    with write_transaction(db):
        row = get(db, callback_id)
        if row is None:  # forgotten (retention, `ivr forget`) while it was dialled
            return "gone"
        fields: dict[str, Any] = {
            "status": status, "attempts": int(row.get("attempts") or 0) + 1,
            "last_result": result, "last_attempt_at": now, "next_attempt_at": retry_at,
            "claimed_by": None, "claimed_at": None}
        if agent_id:
            fields["agent_id"] = agent_id
        if status != "pending":
            fields["completed_at"] = now
        _update(db, callback_id, fields)
        counts = {"callback:attempts": 1.0}
        if status != "pending":
            counts[f"callback:{'completed' if status == 'done' else 'failed'}"] = 1.0
        counters.add(db, counters.hour_of(float(row.get("created_at") or now)), counts)
    return status


def expire(db: Any, now: float) -> int:
    """Pending call backs whose window has closed fail (``window_passed``); how many. (A
    read first: the write lock is only taken when there is something to expire, since every
    worker runs this on every poll.)"""
    sql = ("select id, created_at from callbacks where kind = 'callback' and "
           "status = 'pending' and not_after is not null and not_after <= ?")
    if not list(db.query(sql, [now])):
        return 0
    with write_transaction(db):
        rows = list(db.query(sql, [now]))
        for row in rows:
            _update(db, row["id"], {"status": "failed", "last_result": "window_passed",
                                    "completed_at": now, "next_attempt_at": None})
            counters.add(db, counters.hour_of(float(row["created_at"] or now)),
                         {"callback:failed": 1.0})
    return len(rows)


def release_stuck(db: Any, worker: str) -> int:
    """Requests this worker held ``dialling`` when it stopped (a crash): pending again."""
    with write_transaction(db):
        cur = db.execute("update callbacks set status = 'pending', claimed_by = null, "
                         "claimed_at = null where status = 'dialling' and claimed_by = ?",
                         [worker])
        return int(cur.rowcount)


def _update(db: Any, callback_id: int, fields: dict[str, Any]) -> None:
    """Plain SQL inside the caller's transaction (the column names are this module's own)."""
    sets = ", ".join(f"{name} = ?" for name in fields)
    db.execute(f"update callbacks set {sets} where id = ?", [*fields.values(), callback_id])
