"""A returning caller on the phone (`CallSession` on fakes, the real store, the hotline): the
second call from a number whose first call reported a broadband fault hears the hotline's
question about it; a SIP-name caller (what the integration tests' softphones are), a
forgotten number and a service with the lookup turned off hear the main menu."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ivr.privacy.retention import forget
from tests.unit import call_runner
from tests.unit.call_runner import MENU_ZH, Call, run_call

ME = "13800138000"
QUESTION_ZH = ("您上次来电是关于宽带故障，是同一个问题吗？是请说是或按1，不是请说不是或按2。")


async def _broadband_fault(c: Call) -> None:
    """The first call: key 2 (broadband), the account, then 2 (nothing else), 5 to the
    satisfaction survey: hung up."""
    await c.wait_event("listen", node="main_menu")
    c.dtmf("2")
    await c.wait_event("listen", node="broadband_account")
    c.dtmf("12345678#")
    await c.wait_event("listen", node="anything_else")
    c.dtmf("2")
    await c.wait_event("listen", node="satisfaction")
    c.dtmf("5")
    await c.wait_event("hangup_by_ivr")


def _first_call(tmp_path: Path, caller: str) -> Call:
    first = run_call(tmp_path, _broadband_fault, caller=caller)
    assert first.row()["outcome"] == "contained"
    return first


def _second_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caller: str,
                 node: str, keys: str = "", **dialog: Any) -> Call:
    """Another call (another call id) in the same store, until it waits at `node`; `keys`
    then answer, and the caller hangs up after the next question."""
    monkeypatch.setattr(call_runner, "CALL_ID", "call-2")

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node=node)
        if keys:
            c.dtmf(keys)
            await c.wait_event("listen", count=2)
        c.session.on_hangup("caller_hangup")

    return run_call(tmp_path, scenario, caller=caller, **dialog)


def test_the_second_call_of_a_number_hears_the_question_and_key_1_reports_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _first_call(tmp_path, ME)
    second = _second_call(tmp_path, monkeypatch, ME, "returning_broadband", keys="1")
    said = [text for text, _lang in second.prompts.requests]
    assert QUESTION_ZH in said and MENU_ZH not in said
    listens = [e["node"] for e in second.events("listen")]
    assert listens == ["returning_broadband", "broadband_account"]
    assert second.row()["caller"] == ME  # the row keeps the number; `history` holds none
    assert ME not in str(second.events("variables"))


def test_key_2_at_the_question_goes_to_the_main_menu(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _first_call(tmp_path, ME)
    second = _second_call(tmp_path, monkeypatch, ME, "returning_broadband", keys="2")
    assert [e["node"] for e in second.events("listen")] == ["returning_broadband", "main_menu"]


def test_a_sip_name_caller_is_never_a_returning_caller(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The integration tests' softphones call as `caller`: their calls keep the main menu."""
    _first_call(tmp_path, "caller")
    second = _second_call(tmp_path, monkeypatch, "caller", "main_menu")
    assert QUESTION_ZH not in [text for text, _lang in second.prompts.requests]


def test_a_forgotten_number_is_a_first_time_caller_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _first_call(tmp_path, ME)
    counts = forget(first.store, ME, "admin", data_dir=tmp_path)
    assert counts["calls"] == 1
    second = _second_call(tmp_path, monkeypatch, ME, "main_menu")
    assert QUESTION_ZH not in [text for text, _lang in second.prompts.requests]


def test_history_days_0_turns_the_lookup_off(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _first_call(tmp_path, ME)
    second = _second_call(tmp_path, monkeypatch, ME, "main_menu", history_days=0)
    assert QUESTION_ZH not in [text for text, _lang in second.prompts.requests]
