"""What became of a call: one outcome per ended call, and the escalation reason of its path,
both derived from facts the call already recorded (issue 21).

The outcome answers the contact centre's question "was the caller served, and by whom?",
which the end reason (who hung up: `caller_hangup`, `agent_hangup`, a dialplan `hangup`
reason) does not: a caller who talked to an agent and then hung up ends `caller_hangup` just
like one who gave up in the queue. The outcomes, tried in this order:

- ``callback_booked``: the call left a row in the agents' callback list (a callback request
  or a voicemail, from the hand-over or the dialplan's `callback`/`voicemail` verbs).
- ``escalated_answered``: an agent answered (an ``agent_connected`` event, or the call's
  ``queue_wait_s``, set when the bridge is made), or the call was handed away by REFER or
  a blind transfer (end reason ``transferred:...``: from there the far side owns it).
- ``abandoned_in_queue``: handed over (``escalated`` / a ``transfer`` event), nobody
  answered, and the caller hung up (while waiting, or during the callback offer).
- ``escalated_unanswered``: handed over, nobody answered, and the IVR ended the call
  (no agent in time and nothing booked: ``no_agent``, ``callback_not_confirmed``, no agent
  directory).
- ``failed``: the IVR ended the call without serving it: a fault (``internal_error``,
  ``service_restart``, ``session_start_failed``, ``max_duration``) or the dialplan gave up
  (``max_attempts`` with no ``on_failure``, ``dialplan_loop``, ``return_outside_flow``).
- ``contained``: the IVR finished the call itself: its dialplan hung up (``completed``,
  ``after_hours``...), or the caller hung up after being served: an understood turn (or a
  successful webhook, or a knowledge answer) and the last turn not a failed attempt.
- ``abandoned_in_ivr``: the caller hung up in the IVR before being served (during the
  greeting or the first menu, or right after a failed attempt), or refused the recording.

The turns of a satisfaction survey (from the ``variables`` event that offered it, `ivr.dialplan
.survey`) are not the service: a caller who hangs up during the survey, or fails to answer
it, was served all the same.

The escalation reason: a dialplan's `transfer` names a reason (``caller_request``...), but a
node can be reached several ways: `on_failure: agent` reaches the ``caller_request`` node
after three failures. `escalation_reason` corrects the generic reasons by the path that led
to the transfer (`Path`); the dialplan's own specific reasons (``fraud_report``...) stand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ABANDONED", "FAILED_TURNS", "OUTCOMES", "RESOLVED", "CallOutcome", "Facts", "Path",
           "derive", "escalation_reason", "outcome_of"]

OUTCOMES = ("contained", "escalated_answered", "escalated_unanswered", "abandoned_in_queue",
            "abandoned_in_ivr", "callback_booked", "failed")
RESOLVED = ("contained", "escalated_answered")  # the calls first-contact resolution counts
ABANDONED = ("abandoned_in_queue", "abandoned_in_ivr")
FAULTS = frozenset({"internal_error", "service_restart", "session_start_failed",
                    "max_duration", "max_attempts", "dialplan_loop", "return_outside_flow",
                    "unknown"})
CALLER_LEFT = frozenset({"caller_hangup", "consent_declined"})
FAILED_TURNS = frozenset({"no_match", "no_input", "unintelligible"})
GENERIC_REASONS = frozenset({"caller_request", "repeated_failure", "dialplan"})

# How the dialogue reached the transfer: a caller's understood request, exhausted attempts
# (`on_failure`), the emotion policy, a failed webhook (its `on_failure`), or not known.
Path = Literal["request", "failure", "emotion", "webhook_failure"] | None


def escalation_reason(declared: str, path: Path, why: str | None = None) -> str:
    """The reason to store for a transfer the dialplan declared with `declared`, reached by
    `path` (`why`: the emotion policy's ``escalation_reason`` variable). Only the generic
    reasons are corrected; a dialplan's specific reason is its own word."""
    if declared not in GENERIC_REASONS or path is None:
        return declared
    if path == "failure":
        return "repeated_failure"
    if path == "emotion":
        return "dissatisfaction" if why == "dissatisfaction" else "caller_upset"
    if path == "webhook_failure":
        return "service_unavailable"
    return "caller_request" if declared == "repeated_failure" else declared


@dataclass(frozen=True)
class Facts:
    """What the store knows of one ended call, for `outcome_of`."""

    end_reason: str | None
    escalated: bool  # a transfer was made (the row's flag or a `transfer` event)
    answered: bool  # an agent answered (event or `queue_wait_s`)
    booked: bool  # a callback or voicemail row
    served: bool  # an understood turn, a successful webhook or a knowledge answer
    last_turn_failed: bool  # the call's last turn was a failed attempt


def outcome_of(f: Facts) -> str:
    """The call's outcome (see the module docstring for the order and the meaning)."""
    end = f.end_reason or "unknown"
    if f.booked:
        return "callback_booked"
    if f.answered or end.startswith("transferred:") or end == "agent_hangup":
        return "escalated_answered"
    if f.escalated:
        return "abandoned_in_queue" if end in CALLER_LEFT else (
            "failed" if end in FAULTS else "escalated_unanswered")
    if end in FAULTS:
        return "failed"
    if end == "consent_declined":
        return "abandoned_in_ivr"
    if end != "caller_hangup":
        return "contained"  # the dialplan's own hangup
    return "contained" if f.served and not f.last_turn_failed else "abandoned_in_ivr"


@dataclass(frozen=True)
class CallOutcome:
    outcome: str
    escalation_reason: str | None  # None: not handed over


def _data(row: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(row.get("data") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _path(turns: list[dict[str, Any]], events: list[dict[str, Any]], at: float) -> Path:
    """How the dialogue reached the transfer at `at`: the last turn or webhook before it."""
    last_turn = next((t for t in reversed(turns) if (t.get("created_at") or 0) <= at), None)
    hooks = [e for e in events if e["type"] == "webhook" and (e.get("ts") or 0) <= at]
    if hooks and (last_turn is None or hooks[-1]["ts"] >= (last_turn.get("created_at") or 0)):
        return None if _data(hooks[-1]).get("ok") else "webhook_failure"
    if last_turn is None:
        return None
    if last_turn.get("intent") == "emotion_escalation":
        return "emotion"
    if last_turn.get("outcome") in FAILED_TURNS:
        return "failure"
    return "request" if last_turn.get("outcome") == "match" else None


def derive(db: Any, call_id: str) -> CallOutcome | None:
    """The outcome and escalation reason of an ended call from its stored rows (None: no
    such call). `db`: an `ivr.storage.db.Database`, inside the writer's transaction."""
    rows = list(db.query("select * from calls where id = ?", [call_id]))
    if not rows:
        return None
    call = rows[0]
    turns = list(db.query("select outcome, intent, answer, created_at from turns "
                          "where call_id = ? order by seq", [call_id]))
    variables = [_data(e) | {"ts": e["ts"]} for e in db.query(
        "select data, ts from events where call_id = ? and type = 'variables' "
        "order by ts, id", [call_id])]
    surveyed = next((v["ts"] for v in variables if v.get("survey_status") == "offered"), None)
    if surveyed is not None:  # the survey's answers are not the service (nor its failures)
        turns = [t for t in turns if (t.get("created_at") or 0) < surveyed]
    events = list(db.query(
        "select type, data, ts from events where call_id = ? and type in "
        "('transfer', 'agent_connected', 'webhook') order by ts, id", [call_id]))
    booked = db.execute("select count(*) from callbacks where call_id = ?",
                        [call_id]).fetchone()[0]
    transfers = [e for e in events if e["type"] == "transfer"]
    reason = None
    if transfers:
        declared = str(_data(transfers[0]).get("reason") or "dialplan")
        why = None
        for v in variables:
            why = v.get("escalation_reason") or why
        reason = escalation_reason(declared, _path(turns, events, transfers[0]["ts"]), why)
    elif call.get("escalated") or call.get("transfer_target"):
        reason = "unknown"  # the transfer event was not stored
    facts = Facts(
        end_reason=call.get("end_reason"),
        escalated=bool(reason),
        answered=any(e["type"] == "agent_connected" for e in events)
        or call.get("queue_wait_s") is not None,
        booked=bool(booked),
        served=any(t.get("outcome") == "match" or t.get("intent") or t.get("answer")
                   for t in turns)
        or any(e["type"] == "webhook" and _data(e).get("ok") for e in events),
        last_turn_failed=bool(turns) and turns[-1].get("outcome") in FAILED_TURNS)
    return CallOutcome(outcome_of(facts), reason)
