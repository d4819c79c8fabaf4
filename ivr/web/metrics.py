"""Contact-centre metrics for the dashboard and for Prometheus, with their definitions.

Counts and rates come from the durable counters (`ivr.storage.counters`), added when each
call ends, so `ivr purge` and `ivr forget` (which delete call rows) never lower them. A
period means the calls *started* in it, widened to whole UTC hours. Every ended call has one
outcome (`ivr.storage.outcomes`: how each is derived):

- **outcomes**: ``contained`` + ``escalated_answered`` + ``escalated_unanswered`` +
  ``abandoned_in_queue`` + ``abandoned_in_ivr`` + ``callback_booked`` + ``failed`` =
  **ended** calls; every rate below is of that same total, so the outcome rates add up to 1.
  Grouped for the page: **contained**; **escalated** = escalated_answered +
  escalated_unanswered; **abandoned** = abandoned_in_queue + abandoned_in_ivr;
  **callback_booked**; **failed** (these five add up to ended too).
- **containment rate** = contained / ended: the calls the IVR finished on its own.
- **abandonment rate** = (abandoned_in_queue + abandoned_in_ivr) / ended: the callers who
  hung up before being served (``queue_abandonment_rate``: abandoned_in_queue / the calls
  that reached the queue, i.e. escalated_answered + escalated_unanswered +
  abandoned_in_queue).
- **escalation rate** = calls handed over to a person (a ``transfer``, whatever became of it)
  / ended; by reason: the escalation reason of each (corrected by the path that led there).
- **ASA**, average speed of answer = mean of ``queue_wait_s`` (queueing to an agent
  answering) over the escalated_answered calls that waited in a queue (REFER and blind
  transfers have no measured wait); abandoned calls are not in it.
- **AHT**, average handle time = mean of ``ended_at - answered_at`` (the whole call: IVR and
  agent) over ended calls; **average agent time** = mean time from an agent's answer to the
  end, over the calls an agent answered in a queue.
- **FCR**, first-contact resolution = (resolved - repeat) / resolved, where resolved =
  contained + escalated_answered and repeat = the resolved calls whose number (not
  anonymous) called again within the FCR window (setting `metrics.fcr_window_h`, 24 h) of
  their end. Provisional for the calls of the last window, which may still be repeated; a
  repeat is only seen while the earlier call's row is kept (retention of a day or more).
- **satisfaction rate** = satisfied / answered surveys, where answered = the surveys
  (`survey` verb) given a score 1-5 and satisfied = those scored 4 or 5; offered surveys
  without a score count in neither (``survey_response_rate`` = answered / offered). Also
  the mean score, the count of each score, and the same per intent (the call's main service
  intent), per agent and per queue (`ivr.storage.surveys`).
- **callbacks** (`ivr.escalation.callback_dialler`): ``attempts`` (customer dialled),
  ``completed`` (customer and agent connected), ``failed`` (attempts used up or the window
  passed), counted in the hour the request was booked (a period's figures are those of the
  callbacks booked in it); **callback completion rate** = completed / (completed + failed).

From the call rows still stored (descriptive: they thin out as calls are purged):
- **answer to first prompt**: the ``first_audio`` event's ``answer_to_audio_ms``.
- **end of speech to reply**: ``reply_first_audio - speech_end`` of each turn.
- **recognition confidence**: ``asr_confidence`` of speech turns (mean and 10th percentile).
- **top intents**, **dialect mix**, **emotion trend**: mean and peak caller anger of the
  turns, per hour when the period is two days or shorter, per day otherwise (UTC buckets).
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ivr.call.events import FirstAudio
from ivr.storage.call_store import CallStore
from ivr.storage.counters import DEFAULT_FCR_WINDOW_S
from ivr.storage.outcomes import ABANDONED, OUTCOMES, RESOLVED
from ivr.storage.surveys import DIMENSIONS

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


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _latency(values: list[float]) -> dict[str, Any]:
    return {"count": len(values), "p50_ms": _round(percentile(values, 50), 1),
            "p95_ms": _round(percentile(values, 95), 1)}


def _bucket(ts: float, hourly: bool) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:00Z" if hourly else "%Y-%m-%d")


def _ratio(num: float, den: float, digits: int = 3) -> float | None:
    return round(num / den, digits) if den else None


def satisfaction(c: dict[str, float]) -> dict[str, Any]:
    """The surveys' figures from summed counters (see the module docstring)."""
    answered, satisfied = int(c.get("survey:answered", 0)), int(c.get("survey:satisfied", 0))
    offered = int(c.get("survey:offered", 0))
    by: dict[str, dict[str, dict[str, float]]] = {d: defaultdict(dict) for d in DIMENSIONS}
    for key, value in c.items():
        parts = key.split(":", 3)
        if parts[0] == "survey_by" and len(parts) == 4 and parts[1] in by:
            by[parts[1]][parts[3]][parts[2]] = value
    return {
        "offered": offered, "answered": answered, "satisfied": satisfied,
        "satisfaction_rate": _ratio(satisfied, answered),
        "response_rate": _ratio(answered, offered),
        "mean_score": _ratio(c.get("survey:score_sum", 0.0), answered, 2),
        "scores": {str(n): int(c.get(f"survey:score:{n}", 0)) for n in range(1, 6)},
        "comments": int(c.get("survey:comments", 0)),
        **{f"by_{dim}": sorted(({
            dim: name, "answered": int(v.get("answered", 0)),
            "satisfied": int(v.get("satisfied", 0)),
            "satisfaction_rate": _ratio(v.get("satisfied", 0), v.get("answered", 0)),
            "mean_score": _ratio(v.get("score_sum", 0), v.get("answered", 0), 2)}
            for name, v in rows.items()), key=lambda r: (-r["answered"], r[dim]))
           for dim, rows in by.items()},
    }


def outcome_metrics(c: dict[str, float],
                    fcr_window_s: float = DEFAULT_FCR_WINDOW_S) -> dict[str, Any]:
    """Counts and rates from summed counters (`CallStore.call_counters`): see the module
    docstring for the definitions; `fcr_window_s`: the window repeats were counted with."""
    ended = int(c.get("ended", 0))
    outcomes = {o: int(c.get(f"outcome:{o}", 0)) for o in OUTCOMES}
    abandoned = sum(outcomes[o] for o in ABANDONED)
    escalated = outcomes["escalated_answered"] + outcomes["escalated_unanswered"]
    queued = escalated + outcomes["abandoned_in_queue"]
    reasons = {k.split(":", 1)[1]: int(v) for k, v in c.items() if k.startswith("escalation:")}
    resolved = sum(outcomes[o] for o in RESOLVED)
    repeat = int(c.get("repeat", 0))
    return {
        "ended": ended, "outcomes": outcomes,
        "outcome_rates": {o: _ratio(n, ended) for o, n in outcomes.items()},
        "contained": outcomes["contained"], "escalated": escalated, "abandoned": abandoned,
        "callback_booked": outcomes["callback_booked"], "failed": outcomes["failed"],
        "containment_rate": _ratio(outcomes["contained"], ended),
        "abandonment_rate": _ratio(abandoned, ended),
        "queue_abandonment_rate": _ratio(outcomes["abandoned_in_queue"], queued),
        "escalation_rate": _ratio(sum(reasons.values()), ended),
        "escalation_reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "asa_s": _ratio(c.get("queue_wait_s", 0.0), c.get("answered_waits", 0.0), 1),
        "avg_handle_time_s": _ratio(c.get("handle_s", 0.0), c.get("handled", 0.0), 1),
        "avg_agent_time_s": _ratio(c.get("agent_s", 0.0), c.get("agent_calls", 0.0), 1),
        "fcr": _ratio(resolved - repeat, resolved), "fcr_resolved": resolved,
        "fcr_repeat": repeat, "fcr_window_h": round(fcr_window_s / 3600, 3),
        "satisfaction": satisfaction(c),
        "callbacks": callback_metrics(c),
    }


def callback_metrics(c: dict[str, float]) -> dict[str, Any]:
    """The automatic callbacks' figures from summed counters (see the module docstring)."""
    done = {k: int(c.get(f"callback:{k}", 0)) for k in ("attempts", "completed", "failed")}
    return {**done, "completion_rate": _ratio(done["completed"],
                                              done["completed"] + done["failed"])}


def compute(store: CallStore, since: float, until: float) -> dict[str, Any]:
    """All dashboard metrics for calls started in ``[since, until)`` (UNIX seconds)."""
    counts = outcome_metrics(store.call_counters(since, until), store.fcr_window_s)
    calls = _rows(store, "select id, started_at, profile, status from calls where "
                  "started_at >= ? and started_at < ? order by started_at", [since, until])
    ids = [c["id"] for c in calls]
    turns: dict[str, list[dict[str, Any]]] = defaultdict(list)
    first_prompt: list[float] = []
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for t in _rows(store, f"select * from turns where call_id in ({_in(chunk)}) "
                       "order by seq", chunk):
            turns[t["call_id"]].append(t)
        for e in _rows(store, f"select data from events where call_id in ({_in(chunk)}) "
                       "and type = ? order by ts", [*chunk, FirstAudio.TYPE]):
            ms = (_loads(e["data"]) or {}).get("answer_to_audio_ms")
            if isinstance(ms, (int, float)):
                first_prompt.append(float(ms))
    active = sum(1 for c in calls if c.get("status") == "active")

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
        "since": since, "until": until, "calls": counts["ended"] + active, "active": active,
        **counts,
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


def _counter(name: str, help_: str, label: str, values: dict[str, float]) -> list[str]:
    lines = [f"# HELP {name} {help_}", f"# TYPE {name} counter"]
    return lines + [f'{name}{{{label}="{_label(k)}"}} {_num(v)}'
                    for k, v in sorted(values.items())]


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.3f}"


def _by(c: dict[str, float], prefix: str) -> dict[str, float]:
    return {k[len(prefix):]: v for k, v in c.items() if k.startswith(prefix)}


def _survey_lines(c: dict[str, float]) -> list[str]:
    """Satisfaction surveys: offered, the answers by score, and by intent, agent and queue."""
    lines = ["# HELP ivr_surveys_offered_total Satisfaction surveys offered.",
             "# TYPE ivr_surveys_offered_total counter",
             f"ivr_surveys_offered_total {_num(c.get('survey:offered', 0.0))}"]
    lines += _counter("ivr_survey_answers_total", "Satisfaction surveys answered, by score "
                      "(1-5; 4 and 5 are satisfied).", "score",
                      {str(n): c.get(f"survey:score:{n}", 0.0) for n in range(1, 6)})
    name = "ivr_survey_results_total"
    lines += [f"# HELP {name} Surveys answered and satisfied (4-5) by the call's intent, "
              "agent or queue.", f"# TYPE {name} counter"]
    for key, value in sorted(c.items()):
        parts = key.split(":", 3)
        if parts[0] == "survey_by" and len(parts) == 4 and parts[2] in ("answered",
                                                                        "satisfied"):
            lines.append(f'{name}{{by="{_label(parts[1])}",value="{_label(parts[3])}",'
                         f'result="{parts[2]}"}} {_num(value)}')
    return lines


def prometheus_text(store: CallStore, active_calls: int | None = None) -> str:
    """Counters (durable: they survive purges), gauges and latency histograms (over the
    stored rows) of all calls (text format 0.0.4)."""
    c = store.call_counters()
    if active_calls is None:
        active_calls = _rows(store, "select count(*) as n from calls where status = 'active'",
                             [])[0]["n"]
    eos = [r["s"] for r in _rows(
        store, "select reply_first_audio - speech_end as s from turns where "
        "reply_first_audio is not null and speech_end is not null", [])]
    first = [float(ms) / 1000 for e in _rows(
        store, "select data from events where type = 'first_audio'", [])
        if isinstance(ms := (_loads(e["data"]) or {}).get("answer_to_audio_ms"), (int, float))]
    lines = _counter("ivr_calls_total", "Ended calls by end reason.", "end_reason",
                     _by(c, "end_reason:"))
    lines += _counter("ivr_call_outcomes_total", "Ended calls by outcome.", "outcome",
                      {o: c.get(f"outcome:{o}", 0.0) for o in OUTCOMES})
    lines += _counter("ivr_escalations_total", "Transfers to a person by reason.", "reason",
                      _by(c, "escalation:"))
    for name, key, help_ in (
            ("ivr_queue_wait_seconds", "queue_wait_s", "Queue wait of calls an agent answered."),
            ("ivr_handle_seconds", "handle_s", "Answer to end of ended calls."),
            ("ivr_agent_talk_seconds", "agent_s", "Agent answer to end of the call.")):
        count = {"queue_wait_s": "answered_waits", "handle_s": "handled",
                 "agent_s": "agent_calls"}[key]
        lines += [f"# HELP {name} {help_}", f"# TYPE {name} summary",
                  f"{name}_sum {c.get(key, 0.0):.3f}", f"{name}_count {_num(c.get(count, 0.0))}"]
    lines += ["# HELP ivr_repeat_calls_total Resolved calls followed by a call of the same "
              "number within the FCR window.", "# TYPE ivr_repeat_calls_total counter",
              f"ivr_repeat_calls_total {_num(c.get('repeat', 0.0))}"]
    lines += _survey_lines(c)
    lines += ["# HELP ivr_callback_attempts_total Customers dialled by the callback dialler.",
              "# TYPE ivr_callback_attempts_total counter",
              f"ivr_callback_attempts_total {_num(c.get('callback:attempts', 0.0))}"]
    lines += _counter("ivr_callbacks_total", "Callback requests ended, by result.", "result",
                      {r: c.get(f"callback:{r}", 0.0) for r in ("completed", "failed")})
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
