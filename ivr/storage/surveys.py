"""Satisfaction surveys (issue 21): one row per survey offered in a call, and the counters the
metrics page reads, derived when the call ends from what the call recorded.

The dialogue's `survey` verb (`ivr.dialplan.survey`) says what the caller answered as call
variables (`survey`, `survey_status`, `survey_score`, `survey_answered_by`,
`survey_comment`), which the call stores as its ``variables`` events; `record_ended` runs in
the transaction that ends the call (`ivr.storage.counters.count_ended`, once per call), reads
them back, and stores each survey with what it is about: the call's intent (its main service
intent, as the agent's summary names it), the agent who took the call and the queue it
reached, and the call's outcome. The rows go with the call (`ivr purge`, `ivr forget`); the
counters stay (durable, like every metric):

- ``survey:offered``, ``survey:answered`` (a score 1-5 given), ``survey:satisfied`` (4 or
  5), ``survey:score_sum``, ``survey:score:<n>``, ``survey:comments``;
- ``survey_by:<intent|agent|queue>:<answered|satisfied|score_sum>:<value>`` for the calls
  that have one.

Satisfaction rate = satisfied / answered (`ivr.web.metrics`); an offered survey without a
score counts in neither.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

__all__ = ["DIMENSIONS", "SATISFIED", "create", "record_ended", "survey_answers"]

SATISFIED = (4, 5)  # the scores that count as satisfied
DIMENSIONS = ("intent", "agent", "queue")
MAX_COMMENT = 1000


def create(db: Any) -> None:
    """The surveys table (a migration)."""
    db["surveys"].create(
        {"id": int, "call_id": str, "survey": str, "status": str, "score": int,
         "answered_by": str, "comment": str, "intent": str, "agent_id": str, "queue": str,
         "outcome": str, "dialplan": str, "call_started_at": float, "created_at": float},
        pk="id", foreign_keys=[("call_id", "calls", "id")])
    db["surveys"].create_index(["call_id"])
    db["surveys"].create_index(["call_started_at"])


def survey_answers(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each survey of a call (by name) from its ``variables`` events, in order: the values
    the survey verb set, the last one winning (offered, then answered, then the comment)."""
    found: dict[str, dict[str, Any]] = {}
    current: str | None = None
    for e in events:
        data = _data(e.get("data"))
        if "survey" in data and isinstance(data["survey"], str):
            current = data["survey"][:100]
        if current is None:
            continue
        values = {k: v for k, v in data.items() if k.startswith("survey_")}
        if values or "survey" in data:
            found.setdefault(current, {}).update(values)
    return found


def _data(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        data = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _score(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        score = int(value)
    except ValueError:
        return None
    return score if 1 <= score <= 5 else None


def _about(db: Any, call: dict[str, Any]) -> dict[str, str | None]:
    """What the call's surveys are about: its main intent, agent and queue."""
    from ivr.escalation.summary_facts import main_intent  # (imports the call's events)

    turns = list(db.query("select intent, outcome from turns where call_id = ? and intent is "
                          "not null and intent != '' order by seq", [call["id"]]))
    target = call.get("transfer_target") or ""
    return {"intent": main_intent(turns), "agent": call.get("agent_id") or None,
            "queue": target[6:] if target.startswith("queue:") else None}


def record_ended(db: Any, call: dict[str, Any], outcome: str | None,
                 now: float) -> dict[str, float]:
    """Store the surveys of an ended call (its row as a dict); the counters they add."""
    events = list(db.query("select data, ts from events where call_id = ? and type = "
                           "'variables' order by ts, id", [call["id"]]))
    answers = survey_answers(events)
    if not answers:
        return {}
    about = _about(db, call)
    v: dict[str, float] = defaultdict(float)
    for name, values in answers.items():
        score = _score(values.get("survey_score"))
        comment = str(values.get("survey_comment") or "")[:MAX_COMMENT]
        status = "answered" if score is not None else str(
            values.get("survey_status") or "offered")[:20]
        db["surveys"].insert({
            "call_id": call["id"], "survey": name, "status": status, "score": score,
            "answered_by": str(values.get("survey_answered_by") or "")[:10] or None,
            "comment": comment or None, "intent": about["intent"], "agent_id": about["agent"],
            "queue": about["queue"], "outcome": outcome, "dialplan": call.get("dialplan"),
            "call_started_at": call.get("started_at"), "created_at": now})
        v["survey:offered"] += 1
        if score is None:
            continue
        satisfied = score in SATISFIED
        v["survey:answered"] += 1
        v["survey:satisfied"] += satisfied
        v["survey:score_sum"] += score
        v[f"survey:score:{score}"] += 1
        v["survey:comments"] += bool(comment)
        for dim in DIMENSIONS:
            if value := about[dim]:
                v[f"survey_by:{dim}:answered:{value}"] += 1
                v[f"survey_by:{dim}:satisfied:{value}"] += satisfied
                v[f"survey_by:{dim}:score_sum:{value}"] += score
    return dict(v)
