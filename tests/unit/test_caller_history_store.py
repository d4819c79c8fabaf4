"""The store's memory of a caller number (`ivr.storage.caller_history`) on a real store
(SQLite and PostgreSQL): which calls count, the last one's outcome and intents, open callback
requests, and that `ivr forget` leaves no history."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.privacy.retention import forget
from ivr.storage.call_store import CallStore, open_store
from ivr.storage.caller_history import CallerHistory, caller_history

ME = "13800138000"
DAY = 86400.0
WEEK = 7 * DAY


@pytest.fixture
def store(tmp_path: Path, db_url: str | None) -> Iterator[CallStore]:
    s = open_store(db_url, tmp_path / "ivr.sqlite")
    yield s
    s.close()


def _call(store: CallStore, cid: str, *intents: str, caller: str = ME, end: str = "completed",
          ended_days_ago: float | None = 0.0, dialplan: str = "hotline") -> None:
    """A call of `caller` whose turns matched `intents`, ended `ended_days_ago` (None: still
    in progress)."""
    store.call_started(cid, caller=caller, dialplan=dialplan, answered_at=time.time())
    for seq, intent in enumerate(intents, 1):
        store.add_turn(cid, seq, outcome="match", intent=intent, input_mode="dtmf")
    if ended_days_ago is not None:
        store.call_ended(cid, end)
        if ended_days_ago:
            when = time.time() - ended_days_ago * DAY
            store.update_call(cid, started_at=when - 60, ended_at=when)
    store.flush()


def _history(store: CallStore, number: str = ME, window_s: float = 30 * DAY,
             dialplan: str | None = "hotline") -> CallerHistory:
    return caller_history(store.db, number, time.time(), window_s, dialplan)


def test_a_number_that_never_called_has_no_history(store: CallStore) -> None:
    _call(store, "other", "bill_enquiry", caller="13900139000")
    assert _history(store) == CallerHistory()


def test_the_last_ended_call_its_outcome_and_intents(store: CallStore) -> None:
    _call(store, "old", "bill_enquiry", ended_days_ago=3)
    _call(store, "new", "broadband_fault", "affirm", ended_days_ago=1)
    found = _history(store)
    assert (found.calls, found.last_call_id, found.last_outcome) == (2, "new", "contained")
    assert [(t["intent"], t["outcome"]) for t in found.last_turns] == [
        ("broadband_fault", "match"), ("affirm", "match")]
    assert found.last_ended_at == pytest.approx(time.time() - DAY, abs=5)
    assert not found.open_callback


def test_only_ended_calls_of_the_window_and_the_dialplan_count(store: CallStore) -> None:
    _call(store, "live", "top_up", ended_days_ago=None)  # this call, or one on another line
    _call(store, "long_ago", "top_up", ended_days_ago=40)
    _call(store, "bank", "card_lost", dialplan="bank", ended_days_ago=1)
    assert _history(store).calls == 0
    assert _history(store, window_s=60 * DAY).last_call_id == "long_ago"
    assert _history(store, dialplan=None).last_call_id == "bank"  # any dialplan


def test_a_window_of_zero_or_an_empty_number_finds_nothing(store: CallStore) -> None:
    _call(store, "c1", "bill_enquiry")
    assert _history(store, window_s=0) == CallerHistory()
    assert _history(store, number="  ") == CallerHistory()
    assert _history(store, number=f" {ME} ").calls == 1  # the caller ID as SIP gave it


def test_an_open_callback_request_of_the_number(store: CallStore) -> None:
    _call(store, "c1", "agent")
    cb = store.add_callback("c1", caller=ME, number=ME, queue="general", kind="callback")
    assert _history(store).open_callback
    store.db["callbacks"].update(cb, {"status": "done"})
    assert not _history(store).open_callback
    # a request to be called back on another number is still this caller's
    store.add_callback("c1", caller=ME, number="13900139000", queue="general",
                       kind="callback")
    assert _history(store).open_callback
    # open even when the call is out of the window (still owed)
    assert _history(store, window_s=1).open_callback


def test_forget_leaves_no_history(store: CallStore, tmp_path: Path) -> None:
    _call(store, "c1", "broadband_fault", ended_days_ago=2)
    _call(store, "c2", "agent")
    store.add_callback("c2", caller=ME, number=ME, queue="general", kind="callback")
    _call(store, "else", "bill_enquiry", caller="13900139000")
    assert _history(store).calls == 2
    forget(store, ME, "admin", data_dir=tmp_path)
    assert _history(store) == CallerHistory()
    assert _history(store, "13900139000").calls == 1  # another caller keeps theirs
