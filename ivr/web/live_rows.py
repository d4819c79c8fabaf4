"""What the supervisor live board shows of each active call (`ivr.web.live`): one row per
call, read from the shared database, so a call held by any worker is on every board.

A row is built from the call's stored events alone: the last lines of the transcript (prompts,
the caller's words, runs of keypresses), where the dialplan is, the current and peak anger and
distress, and the review flags (`ivr.web.flags.flags_for`); `holder_url` names the worker to
relay live listen to. Flagged calls come first (most severe, then longest).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ivr import workers
from ivr.call.events import Dtmf, Emotion, Listen, Prompt, Turn, Utterance
from ivr.escalation.events import Queued
from ivr.storage.call_store import CallStore
from ivr.web.flags import flags_for

__all__ = ["holder_url", "live_call", "snapshot"]

TRANSCRIPT_LINES = 8
MAX_CALLS = 500
_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _data(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


def _transcript(events: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The last `limit` lines: IVR prompts, the caller's recognised words and keypresses."""
    lines: list[dict[str, Any]] = []
    for e in events:
        data, kind = _data(e), e.get("type")
        if kind == Prompt.TYPE and data.get("text"):
            lines.append({"who": "ivr", "text": str(data["text"]), "ts": e.get("ts")})
        elif kind == Utterance.TYPE and str(data.get("text") or "").strip():
            lines.append({"who": "caller", "text": str(data["text"]).strip(), "ts": e.get("ts"),
                          "confidence": data.get("confidence")})
        elif kind == Dtmf.TYPE and data.get("digit"):
            last = lines[-1] if lines else None
            if last and last["who"] == "caller" and last.get("dtmf"):
                last["text"] += str(data["digit"])  # one line per run of keypresses
            else:
                lines.append({"who": "caller", "text": str(data["digit"]), "dtmf": True,
                              "ts": e.get("ts")})
    return lines[-limit:]


def _node(call: dict[str, Any], events: list[dict[str, Any]]) -> str | None:
    """Where the dialplan is: the last turn's next node, or the node listened in."""
    for e in reversed(events):
        data = _data(e)
        if e.get("type") == Turn.TYPE and data.get("next"):
            return str(data["next"])
        if e.get("type") == Listen.TYPE and data.get("node"):
            return str(data["node"])
        if e.get("type") == Queued.TYPE:
            return f"queue:{data.get('queue')}"
    return call.get("waiting_queue") and f"queue:{call['waiting_queue']}"


def _emotion(events: list[dict[str, Any]], peak_anger: float | None) -> dict[str, Any]:
    """Current (the latest estimate) and peak anger and distress of the call."""
    seen = [_data(e) for e in events if e.get("type") == Emotion.TYPE]
    last = seen[-1] if seen else {}

    def peak(key: str, start: float | None = None) -> float | None:
        values = [float(d[key]) for d in seen if isinstance(d.get(key), int | float)]
        if start is not None:
            values.append(float(start))
        return round(max(values), 3) if values else None

    return {"anger": last.get("anger"), "distress": last.get("distress"),
            "label": last.get("label"), "peak_anger": peak("anger", peak_anger),
            "peak_distress": peak("distress"), "turns": len(seen)}


def live_call(call: dict[str, Any], now: float, listenable: bool) -> dict[str, Any]:
    """One board row from a call as `CallStore.get_call` returns it."""
    events = list(call.get("events") or [])
    started = call.get("answered_at") or call.get("started_at") or now
    flags = [f.as_dict() for f in flags_for(call)]
    return {
        "id": call["id"], "caller": call.get("caller"), "callee": call.get("callee"),
        "language": call.get("language"), "profile": call.get("profile"),
        "dialplan": call.get("dialplan"), "node": _node(call, events),
        "started_at": started, "duration_s": round(max(0.0, now - started), 1),
        "transcript": _transcript(events, TRANSCRIPT_LINES),
        "emotion": _emotion(events, call.get("peak_anger")),
        "flags": flags, "agent_id": call.get("agent_id"),
        "waiting_queue": call.get("waiting_queue"), "listenable": listenable,
    }


def _order(row: dict[str, Any]) -> tuple[int, int, float]:
    flags = row["flags"]
    top = min((_RANK.get(f["severity"], 9) for f in flags), default=9)
    return (0 if flags else 1, top, -row["duration_s"])


def snapshot(store: CallStore, sessions: Mapping[str, Any] | None,
             now: float | None = None) -> dict[str, Any]:
    """Every active call in the database, flagged first (most severe, then longest)."""
    now = time.time() if now is None else now
    rows = []
    for brief in store.list_calls(MAX_CALLS, status="active"):
        call = store.get_call(brief["id"])
        if call is not None and call.get("status") == "active":
            here = sessions is not None and call["id"] in sessions
            rows.append(live_call(call, now, here or holder_url(store, call) is not None))
    rows.sort(key=_order)
    return {"now": now, "calls": rows}


def holder_url(store: CallStore, call: Mapping[str, Any]) -> str | None:
    """The HTTP API of the other live worker holding `call` (None: this one, or unknown)."""
    worker = call.get("worker")
    if not worker or worker == store.worker:
        return None
    return workers.http_url_of(store, worker)
