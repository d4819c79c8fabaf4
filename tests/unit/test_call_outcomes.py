"""Call outcomes and escalation reasons, derived when a call ends, on a real store (SQLite and
PostgreSQL): one test per outcome path, the reason corrected by the path that reached the
transfer, and the migration's back-fill of old rows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.call.transfers import step_path, transfer_reason
from ivr.dialplan.actions import SetVariables, Transfer, Understanding
from ivr.dialplan.engine import Step
from ivr.dialplan.state import DialogState
from ivr.storage import call_store
from ivr.storage.call_store import CallStore, open_store
from ivr.storage.outcomes import escalation_reason


@pytest.fixture
def store(tmp_path: Path, db_url: str | None) -> Iterator[CallStore]:
    s = open_store(db_url, tmp_path / "ivr.sqlite")
    yield s
    s.close()


def _turn(store: CallStore, cid: str, seq: int, outcome: str, intent: str | None = None) -> None:
    store.add_turn(cid, seq, outcome=outcome, intent=intent, input_mode="dtmf")


def _transfer(store: CallStore, cid: str, reason: str = "caller_request") -> None:
    """What `ivr.call.transfers.transfer` and the hand-over store for a queue transfer."""
    store.update_call(cid, escalated=1, transfer_target="queue:general")
    store.add_event(cid, "transfer", {"target": "queue:general", "reason": reason})
    store.add_event(cid, "queued", {"queue": "general", "position": 1, "agents": 1})
    store.update_call(cid, waiting_queue="general", waiting_since=time.time())


def _answered(store: CallStore, cid: str) -> None:
    store.update_call(cid, agent_id="8001", queue_wait_s=12.5, waiting_queue=None)
    store.add_event(cid, "agent_connected", {"agent_id": "8001", "queue": "general",
                                             "wait_s": 12.5})


def _ended(store: CallStore, cid: str, reason: str) -> dict[str, Any]:
    store.call_ended(cid, reason)
    call = store.get_call(cid)
    assert call is not None
    return call


def _start(store: CallStore, cid: str, caller: str = "13800138000") -> None:
    store.call_started(cid, caller=caller, answered_at=time.time())


def test_contained_by_the_dialplan_and_after_being_served(store: CallStore) -> None:
    _start(store, "done")
    _turn(store, "done", 1, "match", "bill")
    assert _ended(store, "done", "completed")["outcome"] == "contained"
    _start(store, "heard")  # heard the bill, hung up at "anything else?"
    _turn(store, "heard", 1, "match", "bill")
    store.add_event("heard", "webhook", {"node": "bill", "ok": True, "status": 200})
    call = _ended(store, "heard", "caller_hangup")
    assert (call["outcome"], call["escalation_reason"]) == ("contained", None)


def test_abandoned_in_the_ivr(store: CallStore) -> None:
    _start(store, "greeting")  # hung up during the greeting
    assert _ended(store, "greeting", "caller_hangup")["outcome"] == "abandoned_in_ivr"
    _start(store, "gave_up")  # understood once, then hung up after a failed attempt
    _turn(store, "gave_up", 1, "match", "bill")
    _turn(store, "gave_up", 2, "no_match")
    assert _ended(store, "gave_up", "caller_hangup")["outcome"] == "abandoned_in_ivr"


def test_bridged_to_an_agent_is_answered_not_a_hangup(store: CallStore) -> None:
    for cid, end in (("caller_left", "caller_hangup"), ("agent_left", "agent_hangup")):
        _start(store, cid)
        _turn(store, cid, 1, "match", "agent")
        _transfer(store, cid)
        _answered(store, cid)
        call = _ended(store, cid, end)
        assert (call["outcome"], call["escalation_reason"], call["end_reason"]) == (
            "escalated_answered", "caller_request", end)
    _start(store, "refer")  # handed away by REFER: the far side owns it
    _transfer(store, "refer")
    assert _ended(store, "refer", "transferred:8001")["outcome"] == "escalated_answered"


def test_hung_up_waiting_for_an_agent(store: CallStore) -> None:
    _start(store, "q")
    _turn(store, "q", 1, "match", "agent")
    _transfer(store, "q")
    store.add_event("q", "hold_message", {"queue": "general", "position": 1})
    call = _ended(store, "q", "caller_hangup")
    assert (call["outcome"], call["escalation_reason"]) == ("abandoned_in_queue",
                                                            "caller_request")


def test_nobody_answered_and_the_ivr_closed(store: CallStore) -> None:
    _start(store, "closed")
    _turn(store, "closed", 1, "match", "agent")
    _transfer(store, "closed")
    store.add_event("closed", "queue_timeout", {"queue": "general", "waited_s": 120})
    assert _ended(store, "closed", "no_agent")["outcome"] == "escalated_unanswered"


def test_callback_booked_from_the_queue_and_from_the_dialplan(store: CallStore) -> None:
    _start(store, "cb")
    _turn(store, "cb", 1, "match", "agent")
    _transfer(store, "cb")
    store.add_callback("cb", kind="callback", caller="13800138000", number="13800138000",
                       queue="general", reason="caller_request")
    call = _ended(store, "cb", "callback_requested")
    assert (call["outcome"], call["escalation_reason"]) == ("callback_booked", "caller_request")
    _start(store, "after_hours")  # the dialplan's `callback` verb: no transfer
    _turn(store, "after_hours", 1, "match", "card_specialist")
    store.add_callback("after_hours", kind="callback", number="13800138000",
                       queue="card_specialists", reason="after_hours")
    call = _ended(store, "after_hours", "callback_requested")
    assert (call["outcome"], call["escalation_reason"]) == ("callback_booked", None)


def test_failed_calls(store: CallStore) -> None:
    _start(store, "crash")
    _turn(store, "crash", 1, "match", "bill")
    assert _ended(store, "crash", "internal_error")["outcome"] == "failed"
    _start(store, "no_on_failure")
    for seq in (1, 2, 3):
        _turn(store, "no_on_failure", seq, "no_input")
    assert _ended(store, "no_on_failure", "max_attempts")["outcome"] == "failed"
    _start(store, "restart")
    store.flush()
    assert store.mark_interrupted() == 1
    call = store.get_call("restart")
    assert call is not None and (call["end_reason"], call["outcome"]) == (
        "service_restart", "failed")
    assert store.call_counters()["outcome:failed"] == 3


def test_on_failure_reaching_the_caller_request_node_is_a_repeated_failure(
        store: CallStore) -> None:
    _start(store, "f")
    for seq in (1, 2, 3):  # `on_failure: agent`, the agent node says caller_request
        _turn(store, "f", seq, "no_match")
    _transfer(store, "f", reason="caller_request")
    _answered(store, "f")
    assert _ended(store, "f", "caller_hangup")["escalation_reason"] == "repeated_failure"
    _start(store, "hook")  # a webhook's `on_failure` to the same node
    _turn(store, "hook", 1, "match", "balance")
    store.add_event("hook", "webhook", {"node": "balance", "ok": False, "status": 503})
    _transfer(store, "hook", reason="caller_request")
    assert _ended(store, "hook", "caller_hangup")["escalation_reason"] == "service_unavailable"
    _start(store, "fraud")  # a dialplan's specific reason stands
    _turn(store, "fraud", 1, "no_match")
    _transfer(store, "fraud", reason="fraud_report")
    assert _ended(store, "fraud", "caller_hangup")["escalation_reason"] == "fraud_report"
    assert store.call_counters()["escalation:repeated_failure"] == 1


def test_a_call_is_counted_once(store: CallStore) -> None:
    _start(store, "twice")
    store.call_ended("twice", "caller_hangup")
    store.call_ended("twice", "session_start_failed")  # the watchdog, too late
    store.flush()
    assert store.call_counters()["ended"] == 1


# ------------------------------------------------------------------ the live reason
def _step(u: Understanding | None, actions: list[Any] | None = None,
          **variables: Any) -> Step:
    return Step(DialogState("agent", "zh-CN", variables=variables), actions or [], u)


def test_the_live_reason_follows_the_path() -> None:
    asked = Transfer("queue:general", "caller_request")
    assert transfer_reason(asked, _step(Understanding("match", "agent"))) == "caller_request"
    assert transfer_reason(asked, _step(Understanding("no_match"))) == "repeated_failure"
    assert transfer_reason(asked, _step(Understanding("no_input"))) == "repeated_failure"
    upset = _step(Understanding("match", "emotion_escalation"),
                  escalation_reason="dissatisfaction")
    assert transfer_reason(asked, upset) == "dissatisfaction"
    hook = _step(None, [SetVariables({"webhook_status": 503, "webhook_error": "HTTP 503"})])
    assert step_path(hook) == "webhook_failure"
    assert transfer_reason(asked, hook) == "service_unavailable"
    assert transfer_reason(asked, None) == "caller_request"  # unknown path: as declared
    failed = Transfer("queue:general", "repeated_failure")
    assert transfer_reason(failed, _step(Understanding("match", "agent"))) == "caller_request"
    assert escalation_reason("crisis", "failure") == "crisis"


# ------------------------------------------------------------------ the migration
def test_migration_back_fills_outcomes_and_counters(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    db_url: str | None) -> None:
    path = tmp_path / "ivr.sqlite"
    before = [m for m in call_store.MIGRATIONS if m[0] != "014_call_outcomes"]
    with monkeypatch.context() as m:
        m.setattr(call_store, "MIGRATIONS", before)
        old = open_store(db_url, path)
        now = time.time()
        rows = [  # as 013 stored them: no outcome
            {"id": "o1", "caller": "1", "started_at": now - 100, "answered_at": now - 99,
             "ended_at": now - 40, "status": "ended", "end_reason": "caller_hangup",
             "escalated": 1, "agent_id": "8001", "queue_wait_s": 5.0},
            {"id": "o2", "caller": "2", "started_at": now - 90, "answered_at": now - 89,
             "ended_at": now - 80, "status": "ended", "end_reason": "caller_hangup",
             "escalated": 0},
            {"id": "o3", "caller": "3", "started_at": now - 5, "status": "active"}]
        old.db["calls"].insert_all(rows)
        old.close()
    s = open_store(db_url, path)
    try:
        assert {c["id"]: c["outcome"] for c in s.list_calls()} == {
            "o1": "escalated_answered", "o2": "abandoned_in_ivr", "o3": None}
        assert s.get_call("o1")["escalation_reason"] == "unknown"  # no transfer event kept
        c = s.call_counters()
        assert (c["ended"], c["outcome:escalated_answered"], c["outcome:abandoned_in_ivr"],
                c["queue_wait_s"], c["handle_s"]) == (2, 1, 1, 5.0, pytest.approx(68.0))
    finally:
        s.close()
