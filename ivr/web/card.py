"""The call card an agent sees when their phone rings, read from shared storage only.

`call_card(store, call_id, agent_id)` gathers: the call row, the escalation summary the IVR
stored (`escalation_summary` event; computed now when missing) with its agent-screen text and
the optional LLM version, the transcript line by line, the emotion timeline, the caller's
earlier calls, the escalation reason, the queue wait and the hand-over phase. `call_state`
is the small part that changes during the hand-over, cheap enough to poll.
"""

from __future__ import annotations

import json
from typing import Any

from ivr.call.events import EscalationSummary, EscalationSummaryLlm
from ivr.escalation.events import (
    AgentAbandoned,
    AgentAnswered,
    AgentConnected,
    AgentDisconnected,
    AgentFailed,
    AgentRefer,
    AgentRinging,
)
from ivr.escalation.summary import render_text, summarise
from ivr.storage.call_store import CallStore

# What the agent desktop may show of a call row (not recording paths or SIP internals).
CALL_FIELDS = ("id", "caller", "callee", "started_at", "answered_at", "ended_at", "status",
               "end_reason", "language", "profile", "dialplan", "escalated", "transfer_target",
               "peak_anger", "waiting_queue", "waiting_since", "agent_id", "queue_wait_s",
               "agent_outcome", "agent_note", "turn_count")
# Hand-over events the IVR stores (ivr/escalation/handover.py) and the phase each one starts.
_PHASES = {AgentRefer.TYPE: "ringing", AgentRinging.TYPE: "ringing",
           AgentAnswered.TYPE: "answered", AgentConnected.TYPE: "connected",
           AgentFailed.TYPE: "failed", AgentAbandoned.TYPE: "abandoned",
           AgentDisconnected.TYPE: "ended"}
HANDOVER_EVENTS = tuple(_PHASES)
_SUMMARIES = (EscalationSummary.TYPE, EscalationSummaryLlm.TYPE)  # newest id: summary_version
EARLIER_CALLS = 10


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in CALL_FIELDS}


def _data(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            data = None
    return data if isinstance(data, dict) else {}


def phase_of(status: str | None, events: list[dict[str, Any]], agent_id: str) -> str:
    """Where the hand-over to `agent_id` stands: assigned (claimed, not dialled yet),
    ringing, answered (hearing the whisper), connected, failed (not answered), abandoned (the
    caller hung up while it rang) or ended (the call or the agent's leg is over)."""
    phase = "assigned"
    for e in events:
        if e.get("type") in _PHASES and _data(e).get("agent_id") in (None, agent_id):
            phase = _PHASES[e["type"]]
    return "ended" if status == "ended" and phase not in ("failed", "abandoned") else phase


def transcript(store: CallStore, call: dict[str, Any]) -> list[dict[str, Any]]:
    """The call's complete transcript in time order (`ivr.storage.transcript`: every prompt
    played, the caller's turns, the agent leg once transcribed), a caller's line with its
    turn's emotion label."""
    from ivr.storage import transcript as complete

    labels = {t.get("seq"): (t.get("emotion") or {}).get("label")
              for t in call.get("turns") or [] if isinstance(t.get("emotion"), dict)}
    lines = complete.build(call, complete.agent_leg_lines(store.db, str(call.get("id"))))
    return [{**line.as_dict(), "emotion": labels.get(line.seq) if line.kind == "turn" else None}
            for line in lines]


def emotion_timeline(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anger and distress (0..1) per caller turn that has an emotion estimate."""
    points = []
    for t in sorted(turns, key=lambda t: t.get("seq") or 0):
        e = t.get("emotion")
        if isinstance(e, dict):
            points.append({"seq": t.get("seq"), "anger": float(e.get("anger") or 0.0),
                           "distress": float(e.get("distress") or 0.0),
                           "label": str(e.get("label") or "")})
    return points


def earlier_calls(store: CallStore, call: dict[str, Any]) -> list[dict[str, Any]]:
    """The same number's calls before this one, newest first (at most `EARLIER_CALLS`)."""
    if not call.get("caller"):
        return []
    started = call.get("started_at") or float("inf")
    rows = store.list_calls(limit=50, caller=call["caller"])
    return [{k: r.get(k) for k in ("id", "started_at", "ended_at", "end_reason", "escalated",
                                   "agent_id", "agent_outcome", "agent_note", "turn_count")}
            for r in rows if r["id"] != call["id"] and (r.get("started_at") or 0) < started
            ][:EARLIER_CALLS]


def _summary(store: CallStore, call: dict[str, Any]) -> tuple[dict[str, Any], str]:
    stored = [e for e in call["events"] if e.get("type") == EscalationSummary.TYPE]
    if stored:
        return dict(_data(stored[-1])), "ivr"
    history = store.list_calls(limit=50, caller=call.get("caller")) if call.get("caller") else []
    summary = summarise(call, history, None)
    return {**summary.as_dict(), "text": render_text(summary, summary.language),
            "whisper": render_text(summary, summary.language, whisper=True)}, "computed"


def call_card(store: CallStore, call_id: str, agent_id: str) -> dict[str, Any] | None:
    """Everything the agent desktop shows about one call, or None for an unknown call."""
    call = store.get_call(call_id)
    if call is None:
        return None
    summary, source = _summary(store, call)
    text = summary.pop("text", None)
    whisper = summary.pop("whisper", None)
    llm = [e for e in call["events"] if e.get("type") == EscalationSummaryLlm.TYPE]
    earlier = earlier_calls(store, call)
    return {
        "call": _public(call),
        "summary": summary,
        "summary_source": source,
        "text": text,
        "whisper": whisper,
        "llm_text": _data(llm[-1]).get("text") if llm else None,
        "transcript": transcript(store, call),
        "emotion": emotion_timeline(call["turns"]),
        "earlier_calls": earlier,
        "earlier_count": max(len(earlier), int(
            (summary.get("earlier_calls") or {}).get("count") or 0)),
        "escalation": {"reason": summary.get("escalation_reason"),
                       "detail": summary.get("escalation_detail"),
                       "text": summary.get("escalation_text")},
        "queue_wait_s": call.get("queue_wait_s"),
        "phase": phase_of(call.get("status"), call["events"], agent_id),
    }


def call_state(store: CallStore, call_id: str, agent_id: str) -> dict[str, Any] | None:
    """The parts of a call that change while an agent takes it (two small queries), or None
    when the call is gone. `summary_version` changes when a (new or LLM) summary is stored."""
    rows = list(store.db.query(
        "select status, end_reason, agent_id, queue_wait_s, agent_outcome, agent_note "
        "from calls where id = ?", [call_id]))
    if not rows:
        return None
    marks = ",".join("?" * (len(HANDOVER_EVENTS) + len(_SUMMARIES)))
    events = list(store.db.query(
        f"select id, type, data from events where call_id = ? and type in ({marks}) "
        "order by ts, id",
        [call_id, *HANDOVER_EVENTS, *_SUMMARIES]))
    row = rows[0]
    summaries = [e["id"] for e in events if e["type"] in _SUMMARIES]
    return {"call_id": call_id, **row, "phase": phase_of(row["status"], events, agent_id),
            "summary_version": max(summaries, default=0)}
