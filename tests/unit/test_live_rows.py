"""`ivr.web.live_rows`: a live board row from a call's stored events alone (transcript lines,
where the dialplan is, anger and distress), flagged calls first."""

from __future__ import annotations

from typing import Any

from ivr.web.live_rows import _order, live_call


def _ev(kind: str, **data: Any) -> dict[str, Any]:
    return {"type": kind, "data": data, "ts": 1.0}


def test_row_from_events() -> None:
    call = {"id": "c1", "answered_at": 100.0, "peak_anger": 0.4, "events": [
        _ev("prompt", text="Welcome."), _ev("listen", node="main"),
        _ev("utterance", text=" my bill ", confidence=0.8),
        _ev("dtmf", digit="1"), _ev("dtmf", digit="2"),
        _ev("emotion", anger=0.7, distress=0.1, label="angry"),
        _ev("emotion", anger=0.2, distress=0.3, label="calm"),
        _ev("turn", next="billing")]}
    row = live_call(call, 130.0, listenable=True)
    assert row["node"] == "billing" and row["duration_s"] == 30.0 and row["listenable"]
    assert [(line["who"], line["text"]) for line in row["transcript"]] == [
        ("ivr", "Welcome."), ("caller", "my bill"), ("caller", "12")]
    assert row["emotion"] == {"anger": 0.2, "distress": 0.3, "label": "calm",
                              "peak_anger": 0.7, "peak_distress": 0.3, "turns": 2}


def test_waiting_call_is_in_its_queue_and_flagged_rows_come_first() -> None:
    row = live_call({"id": "c2", "started_at": 0.0, "waiting_queue": "sales", "events": []},
                    10.0, listenable=False)
    assert row["node"] == "queue:sales"
    flagged = dict(row, flags=[{"severity": "high"}], duration_s=1.0)
    critical = dict(row, flags=[{"severity": "critical"}], duration_s=1.0)
    rows = sorted([row, flagged, critical], key=_order)
    assert rows == [critical, flagged, row]
