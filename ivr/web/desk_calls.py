"""Which calls are an agent's on the desk (issue 21): the calls they may open, and record or
change the outcome of, from "My calls".

A call is the agent's when the IVR stored them as the agent who took it (`calls.agent_id`,
set when the bridge is made or the REFER sent), while it is their current call (the agent
row's `current_call`), or when its hand-over events say they picked it up
(``agent_answered`` / ``agent_connected`` naming them). The last rule is the fix for
"after signing in again, a call's pending outcome can no longer be recorded": a call the agent
answered but that was never bridged (the caller hung up during the whisper) has no
`agent_id`; the only link was the agent row's `current_call`, released when the call ended,
so once the desk lost the card (a sign-out, a reload) the outcome was refused (403) and the
call was missing from My calls. Recording an outcome makes the call theirs for good (the
desk sets `agent_id` when it is empty, as before).
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from ivr.escalation.events import AgentAnswered, AgentConnected
from ivr.storage.call_store import CallStore

__all__ = ["ANSWERED", "PICKED_UP_DAYS", "answered_by", "intent_labels", "my_calls"]

ANSWERED = (AgentAnswered.TYPE, AgentConnected.TYPE)  # the agent picked the call up
PICKED_UP_DAYS = 14  # how far back My calls looks for calls picked up but never bridged
_FIELDS = ("id, caller, started_at, ended_at, status, end_reason, language, queue_wait_s, "
           "peak_anger, agent_outcome, agent_note")


def _agent_of(data: Any) -> str | None:
    with contextlib.suppress(TypeError, ValueError):
        parsed = json.loads(data) if isinstance(data, str) else data
        if isinstance(parsed, dict) and isinstance(parsed.get("agent_id"), str):
            return parsed["agent_id"]
    return None


def answered_by(store: CallStore, call_id: str, agent_id: str) -> bool:
    """Did `agent_id` pick up `call_id` (its hand-over events)?"""
    marks = ",".join("?" * len(ANSWERED))
    return any(_agent_of(r["data"]) == agent_id for r in store.db.query(
        f"select data from events where call_id = ? and type in ({marks})",
        [call_id, *ANSWERED]))


def my_calls(store: CallStore, agent_id: str, limit: int,
             now: float | None = None) -> list[dict[str, Any]]:
    """The agent's calls, newest first: the ones stored as theirs, and the escalated calls of
    the last `PICKED_UP_DAYS` days they picked up without a bridge (no `agent_id`)."""
    own = list(store.db.query(
        f"select {_FIELDS} from calls where agent_id = ? order by started_at desc limit ?",
        [agent_id, limit]))
    since = (now if now is not None else time.time()) - PICKED_UP_DAYS * 86400
    marks = ",".join("?" * len(ANSWERED))
    picked = [r for r in store.db.query(
        f"select distinct c.id as id, e.data as data from calls c join events e on "
        f"e.call_id = c.id where c.agent_id is null and c.escalated = 1 and "
        f"c.started_at >= ? and e.type in ({marks})", [since, *ANSWERED])
        if _agent_of(r["data"]) == agent_id]
    ids = list(dict.fromkeys(r["id"] for r in picked))
    if ids:
        own += store.db.query(f"select {_FIELDS} from calls where id in "
                              f"({','.join('?' * len(ids))})", ids)
    return sorted(own, key=lambda c: -(c.get("started_at") or 0))[:limit]


def intent_labels(store: CallStore, call_ids: list[str]) -> dict[str, str]:
    """The intent label of each call's escalation summary (for My calls)."""
    if not call_ids:
        return {}
    marks = ",".join("?" * len(call_ids))
    out: dict[str, str] = {}
    for row in store.db.query(
            f"select call_id, data from events where type = 'escalation_summary' "
            f"and call_id in ({marks}) order by ts, id", call_ids):
        with contextlib.suppress(ValueError, TypeError):
            label = json.loads(row["data"]).get("intent_label")
            if label:
                out[row["call_id"]] = str(label)
    return out
