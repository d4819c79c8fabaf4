"""Caller memory (`ivr.call.caller_history`): who can have a history, the `history` variable
made of what the store found, a store that cannot answer, no number in the logs, the
variables reaching a dialplan condition, and `caller_history` in `ivr test` files."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ivr.call.caller_history import EMPTY, has_history, history_for, look_up, of
from ivr.config import REPO_ROOT, Settings
from ivr.dialplan.case_spec import CallerHistorySpec, MalformedTestFile, load_test_file
from ivr.dialplan.conversation import Conversation
from ivr.dialplan.expr import compile_expr
from ivr.dialplan.rendering import NodeRenderer
from ivr.dialplan.state import DialogState
from ivr.storage.call_store import CallStore
from ivr.storage.caller_history import CallerHistory

HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"
ME = "13800138000"
DAY = 86400.0


@pytest.mark.parametrize("caller", [ME, "+8613800138000", "+86-138-0013-8000", "1000",
                                    " 13800138000 "])
def test_phone_numbers_can_have_a_history(caller: str) -> None:
    assert has_history(caller)


@pytest.mark.parametrize("caller", ["", "  ", "anonymous", "Anonymous", "unknown", "restricted",
                                    "caller", "agent", "alice", "c0", "12", "+", None])
def test_anonymous_withheld_and_sip_names_cannot(caller: str | None) -> None:
    assert not has_history(caller)


def test_the_history_variable_names_the_last_service_intent() -> None:
    now = time.time()
    found = CallerHistory(calls=2, last_call_id="c", last_ended_at=now - 2.5 * DAY,
                          last_outcome="contained", last_turns=(
                              {"intent": "english", "outcome": "match"},
                              {"intent": "broadband_fault", "outcome": "match"},
                              {"intent": "deny", "outcome": "match"}))
    assert history_for(found, now) == {
        "calls": 2, "last_intent": "broadband_fault", "last_outcome": "contained",
        "last_call_days": 2, "open_callback": False}
    only_agent = CallerHistory(calls=1, last_ended_at=now - 60, last_turns=(
        {"intent": "agent", "outcome": "match"}, {"intent": "top_up", "outcome": "no_match"}))
    assert history_for(only_agent, now)["last_intent"] == "agent"
    assert history_for(only_agent, now)["last_call_days"] == 0
    assert history_for(CallerHistory(open_callback=True), now) == {**EMPTY,
                                                                  "open_callback": True}


def test_the_test_file_field_has_the_same_keys_as_the_variable() -> None:
    assert set(CallerHistorySpec.model_fields) == set(EMPTY)


def _store(tmp_path: Path, caller: str = ME, intent: str = "broadband_fault") -> CallStore:
    store = CallStore(tmp_path / "ivr.sqlite")
    store.call_started("c1", caller=caller, dialplan="xinghe-telecom-hotline")
    store.add_turn("c1", 1, outcome="match", intent=intent, input_mode="dtmf")
    store.call_ended("c1", "completed")
    store.flush()
    return store


def _starting(store: Any, caller: str, **dialog: Any) -> SimpleNamespace:
    """What `of` reads of a `CallSession` being set up."""
    plan = SimpleNamespace(name="xinghe-telecom-hotline")
    deps = SimpleNamespace(store=store, settings=Settings(dialog=dialog),
                           dialplan=SimpleNamespace(plan=plan))
    return SimpleNamespace(caller=caller, deps=deps)


def test_a_returning_caller_starts_with_history_a_first_time_caller_without(
        tmp_path: Path) -> None:
    store = _store(tmp_path)
    try:
        returning = of(_starting(store, ME))
        assert returning["caller"] == ME
        assert returning["history"]["last_intent"] == "broadband_fault"
        assert returning["history"]["calls"] == 1
        assert of(_starting(store, "13900139000")) == {"caller": "13900139000"}
        assert of(_starting(store, ME, history_days=0)) == {"caller": ME}  # turned off
    finally:
        store.close()


def test_anonymous_callers_get_no_history_even_with_stored_calls(tmp_path: Path) -> None:
    store = _store(tmp_path, caller="anonymous")
    try:
        assert look_up(store, "anonymous", 30) == EMPTY
        assert of(_starting(store, "anonymous")) == {"caller": "anonymous"}
    finally:
        store.close()


class _BrokenDb:
    def execute(self, *_: Any) -> Any:
        raise ConnectionError("database went away")

    query = execute


def test_a_store_that_cannot_answer_starts_the_call_without_history(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "ivr.call"):
        assert look_up(SimpleNamespace(db=_BrokenDb()), ME, 30) == EMPTY
    assert "caller history not available: ConnectionError" in caplog.text
    assert look_up(object(), ME, 30) == EMPTY  # a store without a database (a fake)


def test_the_number_is_never_logged_nor_put_in_history(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = _store(tmp_path)
    try:
        with caplog.at_level(logging.DEBUG):
            history = look_up(store, ME, 30, "xinghe-telecom-hotline")
    finally:
        store.close()
    assert history["calls"] == 1 and "caller history: 1 earlier call(s)" in caplog.text
    assert ME not in caplog.text
    assert ME not in repr(history)


def test_history_reaches_conditions_and_templates() -> None:
    history = {**EMPTY, "calls": 3, "last_intent": "broadband_fault", "last_call_days": 2}
    with Conversation(HOTLINE, variables={"history": history}, caller=ME) as conv:
        renderer = NodeRenderer(conv.plan)
        env = renderer.env(DialogState("welcome", "zh-CN", {"history": history}), {})
        assert compile_expr('history.last_intent == "broadband_fault" and '
                            'history.last_call_days <= 7').truthy(env)
        assert compile_expr("history.calls")(env) == 3
        turn = conv.start()
        assert turn.node_after == "returning_broadband"
        assert any("您上次来电是关于宽带故障" in s for s in turn.said)


def test_a_first_time_caller_of_the_hotline_hears_the_main_menu() -> None:
    with Conversation(HOTLINE, caller=ME) as conv:
        assert conv.start().node_after == "main_menu"
    old = {**EMPTY, "calls": 1, "last_intent": "broadband_fault", "last_call_days": 8}
    with Conversation(HOTLINE, variables={"history": old}, caller=ME) as conv:
        assert conv.start().node_after == "main_menu"


def test_a_test_file_names_an_intent_of_the_dialplan(tmp_path: Path) -> None:
    (tmp_path / "plan.test.yaml").write_text(
        f"dialplan: {HOTLINE}\n"
        "tests:\n"
        "  - name: returning\n"
        "    caller_history: {last_intent: broadband_falt, last_call_days: 2}\n"
        "    steps:\n"
        "      - expect: {node: returning_broadband}\n", encoding="utf-8")
    with pytest.raises(MalformedTestFile, match="'broadband_falt' is not an intent"):
        load_test_file(tmp_path / "plan.test.yaml")
    (tmp_path / "bad.test.yaml").write_text(
        f"dialplan: {HOTLINE}\n"
        "tests:\n"
        "  - name: returning\n"
        "    caller_history: {last_call_days: -1, phone: '13800138000'}\n"
        "    steps:\n"
        "      - expect: {node: main_menu}\n", encoding="utf-8")
    with pytest.raises(MalformedTestFile) as e:
        load_test_file(tmp_path / "bad.test.yaml")
    assert "unknown key 'phone'" in str(e.value) and "last_call_days" in str(e.value)
