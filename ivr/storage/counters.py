"""Durable call counters: what the metrics count, added up when each call ends, so that the
numbers survive `ivr purge` and `ivr forget` (which delete call rows, never counters).

Table ``call_counters``: one row per (hour, name) with a value, the hour being the UTC hour
the call *started* in (UNIX seconds of its first second), so a period's metrics are the sum
of its hours. Names (see `ivr.web.metrics` for the definitions built on them):

- ``ended``: ended calls; ``outcome:<outcome>``: each outcome (`ivr.storage.outcomes`), which
  add up to ``ended``; ``end_reason:<reason>``; ``escalation:<reason>``;
- ``handle_s`` / ``handled``: seconds from answer to end, and the calls timed;
- ``queue_wait_s`` / ``answered_waits``: queue waits of the calls an agent answered;
- ``agent_s`` / ``agent_calls``: seconds from an agent's answer to the end of the call;
- ``repeat``: resolved calls (contained or answered by an agent) after which the same
  number called again within the FCR window (setting `metrics.fcr_window_h`, 24 h; the store
  is given it as `CallStore.fcr_window_s`), counted in the hour of the resolved call when
  the later call ends;
- ``survey:*`` and ``survey_by:*``: the satisfaction surveys of the call
  (`ivr.storage.surveys`).

`count_ended` runs in the transaction that ends the call (the store's writer), once per call
(the ``outcome`` column says it was counted). Written once for SQLite and PostgreSQL (an
``insert ... on conflict do update`` both understand).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from ivr.storage import surveys
from ivr.storage.outcomes import RESOLVED, derive

log = logging.getLogger("ivr.storage")

# First-contact resolution: a resolved call whose number calls again within this many
# seconds (from its end to the next call's start) was not resolved at the first contact:
# the default of the setting `metrics.fcr_window_h` (the service passes the setting).
DEFAULT_FCR_WINDOW_S = 24 * 3600.0
HOUR_S = 3600
ANONYMOUS = frozenset({"", "anonymous", "unknown", "restricted", "unavailable"})

_ADD = ("insert into call_counters (hour, name, value) values (?, ?, ?) on conflict "
        "(hour, name) do update set value = call_counters.value + excluded.value")


def create(db: Any) -> None:
    """The counters table and the calls' columns they are derived into (a migration)."""
    db["call_counters"].create({"id": int, "hour": int, "name": str, "value": float},
                               pk="id", not_null={"hour", "name", "value"})
    db["call_counters"].create_index(["hour", "name"], unique=True)
    db["calls"].add_column("outcome", str)  # `ivr.storage.outcomes.OUTCOMES`
    db["calls"].add_column("escalation_reason", str)  # by the path that led to the transfer
    db["calls"].add_column("called_again", int)  # 1: a resolved call followed by a repeat
    db["calls"].create_index(["outcome"])


def hour_of(ts: float) -> int:
    return int(ts // HOUR_S * HOUR_S)


def add(db: Any, hour: int, values: dict[str, float]) -> None:
    for name, value in values.items():
        if value:
            db.execute(_ADD, [hour, name, float(value)])


def count_ended(db: Any, call_id: str,
                window_s: float = DEFAULT_FCR_WINDOW_S) -> str | None:
    """Derive the ended call's outcome and escalation reason into its row and add it to the
    counters (once: a call already given an outcome is left alone); the outcome, None for
    an unknown or still active call."""
    rows = list(db.query("select * from calls where id = ?", [call_id]))
    if not rows or rows[0].get("status") != "ended" or rows[0].get("outcome"):
        return None
    call = rows[0]
    found = derive(db, call_id)
    assert found is not None
    db["calls"].update(call_id, {"outcome": found.outcome,
                                 "escalation_reason": found.escalation_reason})
    hour = hour_of(call["started_at"])
    add(db, hour, _values({**call, "outcome": found.outcome,
                           "escalation_reason": found.escalation_reason}))
    add(db, hour, surveys.record_ended(db, call, found.outcome, call.get("ended_at") or 0.0))
    _repeats(db, call, window_s)
    return found.outcome


def _values(call: dict[str, Any]) -> dict[str, float]:
    """The counters one ended call adds (its row with `outcome` and `escalation_reason`)."""
    v: dict[str, float] = defaultdict(float)
    v["ended"] = 1
    v[f"outcome:{call['outcome']}"] = 1
    v[f"end_reason:{call.get('end_reason') or 'unknown'}"] = 1
    if call.get("escalation_reason"):
        v[f"escalation:{call['escalation_reason']}"] = 1
    start, end = call.get("answered_at") or call.get("started_at"), call.get("ended_at")
    if start is not None and end is not None and end >= start:
        v["handle_s"], v["handled"] = end - start, 1
    wait = call.get("queue_wait_s")
    if call["outcome"] == "escalated_answered" and wait is not None:
        v["queue_wait_s"], v["answered_waits"] = float(wait), 1
        since = call.get("waiting_since")
        if since is not None and end is not None and end >= since + wait:
            v["agent_s"], v["agent_calls"] = end - (since + wait), 1
    return v


def _repeats(db: Any, call: dict[str, Any], window_s: float) -> None:
    """This call of a number is a repeat of that number's resolved calls that ended within
    the window before it started: each is counted once, in its own hour."""
    caller = (call.get("caller") or "").strip()
    if caller.lower() in ANONYMOUS:
        return
    marks = ",".join("?" * len(RESOLVED))
    earlier = list(db.query(
        f"select id, started_at from calls where caller = ? and id != ? and outcome in "
        f"({marks}) and coalesce(called_again, 0) = 0 and started_at < ? and ended_at >= ?",
        [caller, call["id"], *RESOLVED, call["started_at"], call["started_at"] - window_s]))
    for row in earlier:
        db["calls"].update(row["id"], {"called_again": 1})
        add(db, hour_of(row["started_at"]), {"repeat": 1})


def backfill(db: Any, window_s: float = DEFAULT_FCR_WINDOW_S) -> int:
    """Give every ended call still stored its outcome and count it (a migration: the calls
    purged before it are lost to the counters); the number of calls counted."""
    ids = [r["id"] for r in db.query(
        "select id from calls where status = 'ended' and outcome is null "
        "order by started_at")]
    for call_id in ids:
        count_ended(db, call_id, window_s)
    if ids:
        log.info("call outcomes: %d stored call(s) given an outcome and counted", len(ids))
    return len(ids)


def read(db: Any, since: float, until: float) -> dict[str, float]:
    """The counters of the calls started in ``[since, until)``, summed by name; the period
    is widened to whole UTC hours (every hour it overlaps)."""
    return {r["name"]: float(r["total"]) for r in db.query(
        "select name, sum(value) as total from call_counters where hour > ? and hour < ? "
        "group by name", [since - HOUR_S, until])}


def totals(db: Any) -> dict[str, float]:
    """All counters ever, by name (Prometheus)."""
    return {r["name"]: float(r["total"]) for r in db.query(
        "select name, sum(value) as total from call_counters group by name")}
