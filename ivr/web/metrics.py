"""Contact-centre metrics from the call store, for the dashboard charts and for Prometheus.

Definitions (over the calls *started* in the chosen period):

- **ended**: calls whose status is ``ended``.
- **abandoned**: ended calls the caller left before the IVR handled anything: never answered,
  or no caller turn at all and not escalated.
- **escalated**: ``escalated`` set, a ``transfer_target`` or a ``transfer`` event.
- **containment rate** = ended calls neither escalated nor abandoned / (ended - abandoned):
  the share of handled calls the IVR finished on its own.
- **escalation rate** = escalated / (ended - abandoned); reasons are the ``transfer`` event
  reasons (``unknown`` when none was stored).
- **average handle time**: mean of ``ended_at - (answered_at or started_at)`` over ended calls.
- **answer to first prompt**: the ``first_audio`` event's ``answer_to_audio_ms``.
- **end of speech to reply**: ``reply_first_audio - speech_end`` of each turn.
- **recognition confidence**: ``asr_confidence`` of speech turns (mean and 10th percentile).
- **emotion trend**: mean and peak caller anger of the turns, per hour when the period is two
  days or shorter, per day otherwise (UTC buckets).
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ivr.call.events import FirstAudio, Transfer
from ivr.storage.call_store import CallStore

TOP_INTENTS = 10
HOURLY_UP_TO_S = 2 * 86400
LATENCY_BUCKETS_S = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _loads(text: Any) -> Any:
    if not isinstance(text, str) or not text:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


def _rows(store: CallStore, sql: str, args: Iterable[Any]) -> list[dict[str, Any]]:
    return list(store.db.query(sql, list(args)))


def _in(ids: Sequence[str]) -> str:
    return ",".join("?" * len(ids))


def _escalated(call: dict[str, Any], reasons: list[str]) -> bool:
    return bool(call.get("escalated") or call.get("transfer_target") or reasons)


def _abandoned(call: dict[str, Any], turns: int, escalated: bool) -> bool:
    return call.get("status") == "ended" and not escalated and (
        call.get("answered_at") is None or turns == 0)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _latency(values: list[float]) -> dict[str, Any]:
    return {"count": len(values), "p50_ms": _round(percentile(values, 50), 1),
            "p95_ms": _round(percentile(values, 95), 1)}


def _bucket(ts: float, hourly: bool) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:00Z" if hourly else "%Y-%m-%d")


def compute(store: CallStore, since: float, until: float) -> dict[str, Any]:
    """All dashboard metrics for calls started in ``[since, until)`` (UNIX seconds)."""
    calls = _rows(store, "select * from calls where started_at >= ? and started_at < ? "
                  "order by started_at", [since, until])
    ids = [c["id"] for c in calls]
    turns: dict[str, list[dict[str, Any]]] = defaultdict(list)
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for t in _rows(store, f"select * from turns where call_id in ({_in(chunk)}) "
                       "order by seq", chunk):
            turns[t["call_id"]].append(t)
        for e in _rows(store, f"select call_id, type, data from events where call_id in "
                       f"({_in(chunk)}) and type in (?, ?) order by ts",
                       [*chunk, Transfer.TYPE, FirstAudio.TYPE]):
            events[e["call_id"]].append(e)

    ended = abandoned = contained = escalated = 0
    reasons: Counter[str] = Counter()
    handle: list[float] = []
    first_prompt: list[float] = []
    for call in calls:
        cid = call["id"]
        why = [str((_loads(e["data"]) or {}).get("reason") or "unknown")
               for e in events[cid] if e["type"] == Transfer.TYPE]
        for e in events[cid]:
            ms = (_loads(e["data"]) or {}).get("answer_to_audio_ms")
            if e["type"] == FirstAudio.TYPE and isinstance(ms, (int, float)):
                first_prompt.append(float(ms))
        if call.get("status") != "ended":
            continue
        ended += 1
        esc = _escalated(call, why)
        if call.get("ended_at") is not None:
            handle.append(call["ended_at"] - (call.get("answered_at") or call["started_at"]))
        if _abandoned(call, len(turns[cid]), esc):
            abandoned += 1
        elif esc:
            escalated += 1
            reasons.update(why or ["unknown"])
        else:
            contained += 1
    handled = ended - abandoned

    all_turns = [t for cid in ids for t in turns[cid]]
    eos = [(t["reply_first_audio"] - t["speech_end"]) * 1000 for t in all_turns
           if t.get("reply_first_audio") is not None and t.get("speech_end") is not None]
    conf = [float(t["asr_confidence"]) for t in all_turns
            if t.get("input_mode") == "speech" and t.get("asr_confidence") is not None]
    intents = Counter(t["intent"] for t in all_turns if t.get("intent"))
    dialects = Counter(c.get("profile") or "unknown" for c in calls)

    hourly = until - since <= HOURLY_UP_TO_S
    started = {c["id"]: c["started_at"] for c in calls}
    anger: dict[str, list[float]] = defaultdict(list)
    for t in all_turns:
        emo = _loads(t.get("emotion"))
        if isinstance(emo, dict) and isinstance(emo.get("anger"), (int, float)):
            anger[_bucket(started[t["call_id"]], hourly)].append(float(emo["anger"]))
    trend = [{"bucket": b, "mean_anger": round(sum(v) / len(v), 3),
              "peak_anger": round(max(v), 3), "turns": len(v)}
             for b, v in sorted(anger.items())]

    return {
        "since": since, "until": until, "calls": len(calls), "ended": ended,
        "abandoned": abandoned, "contained": contained, "escalated": escalated,
        "containment_rate": _round(contained / handled if handled else None),
        "escalation_rate": _round(escalated / handled if handled else None),
        "escalation_reasons": dict(reasons.most_common()),
        "avg_handle_time_s": _round(sum(handle) / len(handle) if handle else None, 1),
        "answer_to_first_prompt": _latency(first_prompt),
        "eos_to_reply": _latency(eos),
        "top_intents": [{"intent": k, "count": n} for k, n in intents.most_common(TOP_INTENTS)],
        "dialect_mix": dict(dialects.most_common()),
        "emotion_trend": {"bucket": "hour" if hourly else "day", "points": trend},
        "recognition_confidence": {"count": len(conf),
                                   "mean": _round(sum(conf) / len(conf) if conf else None),
                                   "p10": _round(percentile(conf, 10))},
    }


# ------------------------------------------------------------------ Prometheus text format
def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _histogram(name: str, help_: str, values: list[float]) -> list[str]:
    lines = [f"# HELP {name} {help_}", f"# TYPE {name} histogram"]
    for bound in LATENCY_BUCKETS_S:
        lines.append(f'{name}_bucket{{le="{bound}"}} {sum(1 for v in values if v <= bound)}')
    lines += [f'{name}_bucket{{le="+Inf"}} {len(values)}', f"{name}_sum {sum(values):.6f}",
              f"{name}_count {len(values)}"]
    return lines


def prometheus_text(store: CallStore, active_calls: int | None = None) -> str:
    """Counters, gauges and latency histograms over all stored calls (text format 0.0.4)."""
    ends = _rows(store, "select coalesce(end_reason, 'unknown') as r, count(*) as n from calls "
                 "where status = 'ended' group by r order by r", [])
    esc = Counter(str((_loads(e["data"]) or {}).get("reason") or "unknown") for e in _rows(
        store, "select data from events where type = 'transfer'", []))
    if active_calls is None:
        active_calls = _rows(store, "select count(*) as n from calls where status = 'active'",
                             [])[0]["n"]
    eos = [r["s"] for r in _rows(
        store, "select reply_first_audio - speech_end as s from turns where "
        "reply_first_audio is not null and speech_end is not null", [])]
    first = [float(ms) / 1000 for e in _rows(
        store, "select data from events where type = 'first_audio'", [])
        if isinstance(ms := (_loads(e["data"]) or {}).get("answer_to_audio_ms"), (int, float))]
    lines = ["# HELP ivr_calls_total Ended calls by end reason.", "# TYPE ivr_calls_total counter"]
    lines += [f'ivr_calls_total{{end_reason="{_label(r["r"])}"}} {r["n"]}' for r in ends]
    lines += ["# HELP ivr_escalations_total Transfers to a person by reason.",
              "# TYPE ivr_escalations_total counter"]
    lines += [f'ivr_escalations_total{{reason="{_label(k)}"}} {n}' for k, n in sorted(esc.items())]
    lines += ["# HELP ivr_active_calls Calls in progress.", "# TYPE ivr_active_calls gauge",
              f"ivr_active_calls {active_calls}"]
    lines += _histogram("ivr_eos_to_reply_seconds",
                        "End of caller speech to the first reply audio.", eos)
    lines += _histogram("ivr_answer_to_first_prompt_seconds",
                        "Answer to the first prompt audio.", first)
    lines += ["# HELP ivr_metrics_generated_timestamp_seconds When this page was computed.",
              "# TYPE ivr_metrics_generated_timestamp_seconds gauge",
              f"ivr_metrics_generated_timestamp_seconds {time.time():.3f}"]
    return "\n".join(lines) + "\n"
