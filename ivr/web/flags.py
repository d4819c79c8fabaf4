"""Review flags of a call: why a supervisor should look at it.

`flags_for(call)` reads a call as `CallStore.get_call` returns it (the call row with "turns"
and "events") and returns the flags it raises, most severe first. The same codes are used by
the live board and the review list's flag filter (`FLAG_CODES`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ivr.call.events import EmotionEscalation, NoInput, Transfer

ANGER_PEAK = 0.6  # peak anger of the call (or any turn) at or above this
DISTRESS_PEAK = 0.5  # any turn's distress at or above this
FAILURE_RUN = 3  # consecutive no_match / no_input / unintelligible turns
LOW_CONFIDENCE_TURN = 0.4  # any speech turn recognised below this
LOW_CONFIDENCE_MEAN = 0.6  # or the mean over the call's speech turns below this
SILENCE_EVENTS = 2  # no_input events at or above this count as a long silence

FLAG_CODES = ("crisis", "distress", "anger", "escalation", "repeated_failure",
              "low_confidence", "long_silence")
_SEVERITY = {"crisis": "critical", "distress": "high", "anger": "high", "escalation": "medium",
             "repeated_failure": "medium", "low_confidence": "low", "long_silence": "low"}
_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_FAILED = {"no_match", "no_input", "unintelligible"}


@dataclass(frozen=True)
class Flag:
    """One reason to review a call: a stable code, a readable reason and a severity."""

    code: str
    reason: str
    severity: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _emotion(turn: dict[str, Any], key: str) -> float | None:
    emo = turn.get("emotion")
    return _num(emo.get(key)) if isinstance(emo, dict) else None


def _data(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


def transfer_reasons(call: dict[str, Any]) -> list[str]:
    """Reasons of the call's transfer events, in order."""
    return [str(_data(e).get("reason") or "unknown") for e in call.get("events") or []
            if e.get("type") == Transfer.TYPE]


def _anger(call: dict[str, Any], turns: list[dict[str, Any]],
           events: list[dict[str, Any]]) -> Flag | None:
    values = [_num(call.get("peak_anger")), *(_emotion(t, "anger") for t in turns)]
    peak = max((v for v in values if v is not None), default=None)
    if any(e.get("type") == EmotionEscalation.TYPE for e in events):
        return Flag("anger", "the caller's anger triggered an escalation", "high")
    if peak is not None and peak >= ANGER_PEAK:
        return Flag("anger", f"peak anger {peak:.2f}", "high")
    return None


def _failure_run(turns: list[dict[str, Any]]) -> int:
    run = best = 0
    for turn in turns:
        run = run + 1 if turn.get("outcome") in _FAILED else 0
        best = max(best, run)
    return best


def _confidence(turns: list[dict[str, Any]]) -> Flag | None:
    scores = [c for t in turns if t.get("input_mode") == "speech"
              and (c := _num(t.get("asr_confidence"))) is not None]
    if not scores:
        return None
    low, mean = min(scores), sum(scores) / len(scores)
    if low < LOW_CONFIDENCE_TURN or mean < LOW_CONFIDENCE_MEAN:
        return Flag("low_confidence", f"recognition confidence min {low:.2f}, mean {mean:.2f}",
                    "low")
    return None


def flags_for(call: dict[str, Any]) -> list[Flag]:
    """The flags a call raises, most severe first."""
    turns = list(call.get("turns") or [])
    events = list(call.get("events") or [])
    reasons = transfer_reasons(call)
    found: list[Flag] = []
    if "crisis" in reasons:
        found.append(Flag("crisis", "transferred for a crisis phrase", "critical"))
    distress = max((d for t in turns if (d := _emotion(t, "distress")) is not None),
                   default=None)
    if distress is not None and distress >= DISTRESS_PEAK:
        found.append(Flag("distress", f"peak distress {distress:.2f}", "high"))
    if (anger := _anger(call, turns, events)) is not None:
        found.append(anger)
    if call.get("escalated") or reasons:
        why = ", ".join(reasons) if reasons else "escalated"
        found.append(Flag("escalation", f"escalated ({why})", "medium"))
    run = _failure_run(turns)
    if run >= FAILURE_RUN or "repeated_failure" in reasons:
        found.append(Flag("repeated_failure",
                          f"{run} failed turns in a row" if run >= FAILURE_RUN
                          else "transferred after repeated failures", "medium"))
    if (conf := _confidence(turns)) is not None:
        found.append(conf)
    silences = sum(1 for e in events if e.get("type") == NoInput.TYPE)
    if silences >= SILENCE_EVENTS:
        found.append(Flag("long_silence", f"{silences} silences without input", "low"))
    return sorted(found, key=lambda f: _RANK[_SEVERITY.get(f.code, f.severity)])
