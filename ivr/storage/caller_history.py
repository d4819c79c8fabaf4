"""What the store remembers of one caller number's earlier calls (issue 21, caller memory):
the dialplan's ``history.*`` variables are made from it (`ivr.call.caller_history`).

It reads the stored rows only, so retention is respected by construction: calls removed by
`ivr purge` (their retention period) or `ivr forget <number>` are no history, and a callback
request deleted with them is no longer open. Counters (`ivr.storage.counters`) are not read:
they keep no number.

Only ended calls count (a call of the same number still in progress, on another line or
worker, is not history yet). Written once for SQLite and PostgreSQL, with the ``?`` style of
`ivr.storage.db.Database`; the calls are found through the index on ``calls.caller``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CallerHistory", "caller_history"]


@dataclass(frozen=True)
class CallerHistory:
    """The earlier calls of one number within a window (see `caller_history`)."""

    calls: int = 0  # ended calls of the number within the window
    last_call_id: str | None = None
    last_ended_at: float | None = None  # UNIX seconds
    last_outcome: str | None = None  # `ivr.storage.outcomes.OUTCOMES`
    last_turns: tuple[dict[str, Any], ...] = field(default_factory=tuple)  # intent, outcome
    open_callback: bool = False  # a callback request or voicemail of the number still pending


def caller_history(db: Any, number: str, now: float, window_s: float,
                   dialplan: str | None = None) -> CallerHistory:
    """The ended calls of `number` (to the hotline named `dialplan`, when given: intent names
    belong to a dialplan) that ended in ``[now - window_s, now]``: how many, and the last
    one's end, outcome and the intent and outcome of its turns with an intent; and whether
    the agents still owe the number a call (a pending callback request or voicemail, however
    old: it is open until an agent closes it or retention removes it).
    `db`: an `ivr.storage.db.Database`."""
    number = number.strip()
    if not number or window_s <= 0:
        return CallerHistory()
    where = "caller = ? and status = 'ended' and ended_at >= ? and ended_at <= ?"
    args: list[Any] = [number, now - window_s, now]
    if dialplan:
        where += " and dialplan = ?"
        args.append(dialplan)
    count = db.execute(f"select count(*) from calls where {where}", args).fetchone()[0]
    pending = db.execute(
        "select count(*) from callbacks where (number = ? or caller = ?) and status = 'pending'",
        [number, number]).fetchone()[0]
    if not count:
        return CallerHistory(open_callback=bool(pending))
    last = next(iter(db.query(
        f"select id, ended_at, outcome from calls where {where} order by ended_at desc, id "
        "limit 1", args)))
    turns = tuple(db.query(
        "select intent, outcome from turns where call_id = ? and intent is not null "
        "and intent != '' order by seq", [last["id"]]))
    return CallerHistory(calls=int(count), last_call_id=last["id"],
                         last_ended_at=float(last["ended_at"]), last_outcome=last["outcome"],
                         last_turns=turns, open_callback=bool(pending))
