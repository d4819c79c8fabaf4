"""A satisfaction survey answered by key on a real call (issue 21): a baresip caller asks for
the bill by key, says it needs nothing else, hears the shipped hotline's survey question
before the goodbye, presses 5, hears the thanks and the goodbye; the answer is stored (table
`surveys`, with the call's intent), counted (durable counters) and on the metrics API, and
the call stays `contained`."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ivr.storage.call_store import open_store
from testkit.harness import IvrProcess, ScriptedCaller

pytestmark = pytest.mark.integration
QUESTION = "请您为本次服务打分"


@pytest.fixture(scope="module")
def surveyed(ivr: IvrProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    started = time.time()
    with ScriptedCaller(ivr, tmp_path_factory.mktemp("survey")) as c:
        c.dial()
        c.wait("listen", node="main_menu", timeout=40)
        c.press("1")  # the bill
        c.wait("listen", node="anything_else", timeout=30)
        c.press("2")  # nothing else
        c.wait("listen", node="satisfaction", timeout=30)  # (comes before its prompt)
        # a key before the question starts would cancel it unplayed (no prompt event)
        c.wait("prompt", node="satisfaction", timeout=30)
        c.press("5")  # over the question: keys barge in
        c.wait_closed(40)
    call = ivr.wait_call_ended(c.call_id, 30)
    store = open_store(None, ivr.data_dir / "ivr.sqlite")
    try:
        rows = list(store.db.query("select * from surveys where call_id = ?", [c.call_id]))
        outcome = store.get_call(c.call_id)["outcome"]
    finally:
        store.close()
    metrics = ivr.api(f"/dash/api/metrics?from={started - 3600:.0f}&to={time.time() + 60:.0f}")
    return {"call": call, "rows": rows, "outcome": outcome,
            "metrics": metrics}


def test_the_survey_is_asked_before_the_goodbye_and_answered_by_key(
        surveyed: dict[str, Any]) -> None:
    call = surveyed["call"]
    asked = [e["data"]["text"] for e in call["events"]
             if e["type"] == "prompt" and e["data"].get("node") == "satisfaction"]
    assert QUESTION in asked[0], asked
    keyed = [(t["node"], t["input_mode"], t["dtmf"], t["outcome"]) for t in call["turns"]]
    assert keyed == [("main_menu", "dtmf", "1", "match"), ("anything_else", "dtmf", "2", "match"),
                     ("satisfaction", "dtmf", "5", "match")], keyed
    said = [e["data"].get("text", "") for e in call["events"] if e["type"] == "prompt"]
    assert any("谢谢您的评价" in s for s in said) and "感谢您的来电" in said[-1], said
    assert call["end_reason"] == "completed"


def test_the_answer_is_stored_and_counted(surveyed: dict[str, Any]) -> None:
    rows = surveyed["rows"]
    assert [(r["survey"], r["status"], r["score"], r["answered_by"], r["intent"])
            for r in rows] == [("satisfaction", "answered", 5, "dtmf", "bill_enquiry")]
    assert surveyed["outcome"] == "contained" == rows[0]["outcome"]
    sat = surveyed["metrics"]["satisfaction"]
    assert sat["answered"] >= 1 and sat["scores"]["5"] >= 1
    assert any(r["intent"] == "bill_enquiry" and r["satisfied"] >= 1
               for r in sat["by_intent"]), sat
