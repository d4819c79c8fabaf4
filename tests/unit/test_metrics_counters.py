"""The contact-centre metrics on a known set of calls, stored through the service's own store
API: counts that add up, rates of one total, ASA, AHT and FCR, and numbers that survive
`ivr purge` (they come from the durable counters, not from the call rows)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.config import Settings
from ivr.privacy.retention import purge
from ivr.storage.call_store import CallStore, open_store
from ivr.web.metrics import compute, prometheus_text

NOW = time.time()
BASE = NOW - 3 * 86400
H = 3600.0


def _call(store: CallStore, cid: str, caller: str, start: float, seconds: float, end: str, *,
          intent: str | None = "bill", transfer: str | None = None, wait: float | None = None,
          callback: bool = False) -> None:
    """One call as a session stores it: started, a turn, maybe a transfer to the queue and an
    agent answering after `wait` s, maybe a callback booked, ended after `seconds`."""
    store.call_started(cid, caller=caller, started_at=start, answered_at=start)
    if intent:
        store.add_turn(cid, 1, outcome="match", intent=intent, input_mode="dtmf")
    if transfer:
        store.update_call(cid, escalated=1, transfer_target="queue:general",
                          waiting_queue="general", waiting_since=start + 10)
        store.add_event(cid, "transfer", {"target": "queue:general", "reason": transfer})
    if wait is not None:
        store.update_call(cid, agent_id="8001", queue_wait_s=wait, waiting_queue=None)
        store.add_event(cid, "agent_connected", {"agent_id": "8001", "wait_s": wait})
    if callback:
        store.add_callback(cid, kind="callback", caller=caller, number=caller,
                           queue="general", reason=transfer)
    store.call_ended(cid, end, ended_at=start + seconds)


def seed(store: CallStore) -> None:
    """Ten calls, three days ago: every outcome, two answered by an agent, one repeat."""
    _call(store, "a1", "100", BASE, 60, "completed")
    _call(store, "a2", "100", BASE + 2 * H, 30, "completed")  # a1's number again: a repeat
    _call(store, "b", "200", BASE + 3 * H, 120, "caller_hangup", intent="agent",
          transfer="caller_request", wait=20)
    _call(store, "c", "300", BASE + 4 * H, 200, "agent_hangup", intent="agent",
          transfer="caller_request", wait=40)
    _call(store, "d", "400", BASE + 5 * H, 50, "caller_hangup", intent="agent",
          transfer="caller_request")
    _call(store, "e", "500", BASE + 6 * H, 10, "caller_hangup", intent=None)
    _call(store, "f", "600", BASE + 7 * H, 90, "callback_requested", intent="agent",
          transfer="caller_request", callback=True)
    _call(store, "g", "700", BASE + 8 * H, 150, "no_agent", intent="fraud",
          transfer="fraud_report")
    _call(store, "h", "800", BASE + 9 * H, 40, "internal_error")
    _call(store, "i", "200", BASE + 3 * H + 30 * H, 20, "completed")  # b's number, 30 h on
    store.call_started("live", caller="900", started_at=NOW - 60)


@pytest.fixture
def store(tmp_path: Path, db_url: str | None) -> Iterator[CallStore]:
    s = open_store(db_url, tmp_path / "ivr.sqlite")
    seed(s)
    yield s
    s.close()


def _check(m: dict[str, Any]) -> None:
    assert m["ended"] == 10
    assert m["outcomes"] == {"contained": 3, "escalated_answered": 2, "escalated_unanswered": 1,
                             "abandoned_in_queue": 1, "abandoned_in_ivr": 1,
                             "callback_booked": 1, "failed": 1}
    assert sum(m["outcomes"].values()) == m["ended"]
    assert sum(m["outcome_rates"].values()) == pytest.approx(1.0)
    assert (m["contained"] + m["escalated"] + m["abandoned"] + m["callback_booked"]
            + m["failed"]) == m["ended"]
    assert (m["contained"], m["escalated"], m["abandoned"]) == (3, 3, 2)
    assert m["containment_rate"] == 0.3 and m["abandonment_rate"] == 0.2
    assert m["queue_abandonment_rate"] == 0.25  # 1 of the 4 calls that reached the queue
    assert m["escalation_rate"] == 0.5  # b c d f g handed over
    assert m["escalation_reasons"] == {"caller_request": 4, "fraud_report": 1}
    assert m["asa_s"] == 30.0  # (20 + 40) / 2: abandoned waits are not in it
    assert m["avg_handle_time_s"] == 77.0  # 770 s over 10 calls
    assert m["avg_agent_time_s"] == 120.0  # b: 120 - 30, c: 200 - 50
    # resolved: a1 a2 i (contained), b c (answered); a1's number called again within 24 h
    assert (m["fcr_resolved"], m["fcr_repeat"], m["fcr"]) == (5, 1, 0.8)


def test_metrics_of_a_known_set_of_calls(store: CallStore) -> None:
    m = compute(store, NOW - 4 * 86400, NOW + 1)
    _check(m)
    assert (m["calls"], m["active"]) == (11, 1)
    first_day = compute(store, BASE, BASE + 10 * H)  # whole hours: all but i
    assert first_day["ended"] == 9 and sum(first_day["outcomes"].values()) == 9


def test_the_metrics_survive_a_purge(store: CallStore) -> None:
    settings = Settings.model_validate({"privacy": {"retention": {
        "recordings_days": 0, "transcripts_days": 0, "summaries_days": 0,
        "callbacks_days": 0, "calls_days": 1}}})
    assert purge(store, settings, now=NOW)["calls"] == 10
    assert [c["id"] for c in store.list_calls()] == ["live"]
    m = compute(store, NOW - 4 * 86400, NOW + 1)
    _check(m)
    assert m["top_intents"] == []  # what the rows said is gone with them
    text = prometheus_text(store, active_calls=1)
    assert 'ivr_call_outcomes_total{outcome="contained"} 3' in text
    assert 'ivr_calls_total{end_reason="completed"} 3' in text
    assert 'ivr_escalations_total{reason="caller_request"} 4' in text
    assert "ivr_queue_wait_seconds_count 2" in text and "ivr_repeat_calls_total 1" in text
    # a later call of a purged number: nothing left to be a repeat of, nothing lost
    _call(store, "j", "100", NOW - 30, 10, "completed")
    assert compute(store, NOW - 4 * 86400, NOW + 1)["fcr_repeat"] == 1


def test_callback_figures_come_from_their_durable_counters(store: CallStore) -> None:
    from ivr.storage import counters

    hour = counters.hour_of(BASE + H)
    counters.add(store.db, hour, {"callback:attempts": 5.0, "callback:completed": 2.0,
                                  "callback:failed": 1.0})
    m = compute(store, NOW - 4 * 86400, NOW + 1)
    assert m["callbacks"] == {"attempts": 5, "completed": 2, "failed": 1,
                              "completion_rate": round(2 / 3, 3)}
    assert compute(store, NOW + 3600, NOW + 7200)["callbacks"]["completion_rate"] is None
    text = prometheus_text(store, active_calls=0)
    assert "ivr_callback_attempts_total 5" in text
    assert 'ivr_callbacks_total{result="completed"} 2' in text
    assert 'ivr_callbacks_total{result="failed"} 1' in text
