"""Satisfaction surveys in the store and the metrics (issue 21), on a known set of calls stored
through the service's own store API: the rows, the durable counters, the satisfaction rate
(4-5 among the answered) overall and per intent, agent and queue, the Prometheus lines, a
survey that does not change the call's outcome, and the FCR window setting."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ivr.config import Settings
from ivr.privacy.retention import purge
from ivr.storage.call_store import CallStore, open_store
from ivr.web.metrics import compute, prometheus_text

NOW = time.time()
BASE = NOW - 3 * 86400
H = 3600.0


def _call(store: CallStore, cid: str, start: float, end: str, *, intent: str,
          survey: list[dict[str, Any]] | None, survey_turns: list[str] = (),
          agent: bool = False, caller: str | None = None) -> None:
    """A call as a session stores it: a service turn, maybe an agent, then the survey's
    variables events (`survey`: each SetVariables the verb makes) and its turns."""
    store.call_started(cid, caller=caller or f"1{cid}", started_at=start, answered_at=start,
                       dialplan="hotline")
    store.add_turn(cid, 1, outcome="match", intent=intent, input_mode="dtmf")
    if agent:
        store.update_call(cid, escalated=1, transfer_target="queue:general",
                          agent_id="8001", queue_wait_s=12.0, waiting_since=start + 5)
        store.add_event(cid, "transfer", {"target": "queue:general", "reason": "caller_request"})
        store.add_event(cid, "agent_connected", {"agent_id": "8001", "wait_s": 12.0})
    time.sleep(0.002)
    for values in survey or []:
        store.add_event(cid, "variables", values)
        time.sleep(0.002)
    for i, outcome in enumerate(survey_turns, start=2):
        store.add_turn(cid, i, outcome=outcome, input_mode="dtmf")
    store.call_ended(cid, "agent_hangup" if agent else "caller_hangup", ended_at=start + 60)


OFFER = {"survey": "satisfaction", "survey_status": "offered", "survey_score": None}


def _answer(score: int, by: str = "dtmf") -> dict[str, Any]:
    return {"survey": "satisfaction", "survey_status": "answered", "survey_score": score,
            "survey_answered_by": by}


def seed(store: CallStore) -> None:
    """Six surveyed calls and one without: 4 answered (5, 4, 2, 5), 3 satisfied."""
    _call(store, "s1", BASE, "x", intent="bill_enquiry", survey=[OFFER, _answer(5)],
          survey_turns=["match"])
    _call(store, "s2", BASE + H, "x", intent="top_up",
          survey=[OFFER, _answer(4, "speech"), {"survey_comment": "很快，谢谢"}],
          survey_turns=["match", "match"])
    _call(store, "s3", BASE + 2 * H, "x", intent="bill_enquiry", survey=[OFFER, _answer(2)],
          survey_turns=["match"])
    _call(store, "s4", BASE + 3 * H, "x", intent="agent", survey=[OFFER, _answer(5)],
          survey_turns=["match"], agent=True)
    # asked twice without an answer, then the caller hung up: still a contained call
    _call(store, "s5", BASE + 4 * H, "x", intent="top_up",
          survey=[OFFER, {"survey_status": "no_answer"}], survey_turns=["no_input", "no_match"])
    _call(store, "s6", BASE + 5 * H, "x", intent="bill_enquiry", survey=[OFFER],
          survey_turns=["no_input"])
    _call(store, "n1", BASE + 6 * H, "x", intent="bill_enquiry", survey=None)


@pytest.fixture
def store(tmp_path: Path, db_url: str | None) -> Iterator[CallStore]:
    s = open_store(db_url, tmp_path / "ivr.sqlite")
    seed(s)
    yield s
    s.close()


def _check(sat: dict[str, Any]) -> None:
    assert (sat["offered"], sat["answered"], sat["satisfied"]) == (6, 4, 3)
    assert sat["satisfaction_rate"] == 0.75
    assert sat["response_rate"] == pytest.approx(0.667)
    assert sat["mean_score"] == 4.0
    assert sat["scores"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 2}
    assert sat["comments"] == 1
    assert sat["by_intent"] == [
        {"intent": "bill_enquiry", "answered": 2, "satisfied": 1, "satisfaction_rate": 0.5,
         "mean_score": 3.5},
        {"intent": "agent", "answered": 1, "satisfied": 1, "satisfaction_rate": 1.0,
         "mean_score": 5.0},
        {"intent": "top_up", "answered": 1, "satisfied": 1, "satisfaction_rate": 1.0,
         "mean_score": 4.0}]
    assert sat["by_agent"] == [{"agent": "8001", "answered": 1, "satisfied": 1,
                                "satisfaction_rate": 1.0, "mean_score": 5.0}]
    assert [(r["queue"], r["answered"]) for r in sat["by_queue"]] == [("general", 1)]


def test_satisfaction_of_a_known_set_of_calls(store: CallStore) -> None:
    m = compute(store, BASE - H, NOW)
    _check(m["satisfaction"])
    # the survey's own turns do not make a served call abandoned
    assert m["outcomes"]["contained"] == 6 and m["outcomes"]["escalated_answered"] == 1
    rows = {r["call_id"]: r for r in store.db.query("select * from surveys")}
    assert set(rows) == {"s1", "s2", "s3", "s4", "s5", "s6"}
    assert (rows["s2"]["score"], rows["s2"]["answered_by"], rows["s2"]["comment"],
            rows["s2"]["intent"]) == (4, "speech", "很快，谢谢", "top_up")
    assert (rows["s4"]["agent_id"], rows["s4"]["queue"], rows["s4"]["outcome"]) == (
        "8001", "general", "escalated_answered")
    assert (rows["s5"]["status"], rows["s5"]["score"]) == ("no_answer", None)
    assert (rows["s6"]["status"], rows["s6"]["outcome"]) == ("offered", "contained")


def test_the_survey_figures_survive_a_purge(store: CallStore) -> None:
    settings = Settings(data_dir=store.path.parent)
    settings.privacy.retention.calls_days = 1
    purge(store, settings)
    assert store.db.execute("select count(*) from surveys").fetchone()[0] == 0
    _check(compute(store, BASE - H, NOW)["satisfaction"])


def test_prometheus_survey_lines(store: CallStore) -> None:
    text = prometheus_text(store, active_calls=0)
    assert "ivr_surveys_offered_total 6" in text
    assert 'ivr_survey_answers_total{score="5"} 2' in text
    assert 'ivr_survey_answers_total{score="2"} 1' in text
    assert ('ivr_survey_results_total{by="intent",value="bill_enquiry",result="satisfied"} 1'
            in text)
    assert 'ivr_survey_results_total{by="agent",value="8001",result="answered"} 1' in text


def test_fcr_window_setting_decides_what_is_a_repeat(tmp_path: Path) -> None:
    assert Settings().metrics.fcr_window_h == 24
    with pytest.raises(ValidationError):
        Settings.model_validate({"metrics": {"fcr_window_h": 0}})
    for window_h, repeats in ((1.0, 0), (24.0, 1)):
        s = open_store(None, tmp_path / f"w{window_h}" / "ivr.sqlite")
        s.fcr_window_s = window_h * 3600
        for cid, start in (("first", BASE), ("again", BASE + 2 * H)):  # 2 h apart
            s.call_started(cid, caller="13800000001", started_at=start, answered_at=start)
            s.add_turn(cid, 1, outcome="match", intent="bill", input_mode="dtmf")
            s.call_ended(cid, "completed", ended_at=start + 60)
        m = compute(s, BASE - H, NOW)
        assert (m["fcr_repeat"], m["fcr_window_h"]) == (repeats, window_h)
        s.close()


def test_transcript_retention_clears_the_comments_only(store: CallStore) -> None:
    settings = Settings.model_validate({"privacy": {"retention": {"transcripts_days": 1}}})
    purge(store, settings)
    rows = {r["call_id"]: r for r in store.db.query("select * from surveys")}
    assert len(rows) == 6 and rows["s2"]["comment"] is None and rows["s2"]["score"] == 4
