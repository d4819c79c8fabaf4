"""A returning caller is greeted with context (issue 21): a real baresip caller with a phone
number as its caller ID reports a broadband fault, hangs up, and calls again; the shipped
hotline asks whether it is the same problem ("您上次来电是关于宽带故障，是同一个问题吗？"),
and key 1 goes straight to the broadband account question. Another caller ID is not asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.harness import IvrProcess, ScriptedCaller

pytestmark = pytest.mark.integration
NUMBER = "13800138000"  # a number of its own: no other test calls from it
QUESTION = "您上次来电是关于宽带故障，是同一个问题吗"


def report_a_fault(ivr: IvrProcess, work: Path) -> str:
    """The first call: broadband fault by key, the account keyed, "nothing else"."""
    with ScriptedCaller(ivr, work, user=NUMBER) as c:
        c.dial()
        c.wait("listen", node="main_menu", timeout=30)
        c.press("2")  # broadband fault
        c.wait("listen", node="broadband_account", timeout=20)
        c.press("55203318")
        c.wait("listen", node="anything_else", timeout=30)
        c.press("2")  # nothing else: the satisfaction survey, then goodbye
        c.wait("listen", node="satisfaction", timeout=30)
        c.press("5")
        c.wait_closed(40)
    ivr.wait_call_ended(c.call_id, 30)
    return c.call_id


def test_a_returning_caller_is_asked_about_the_same_problem(ivr: IvrProcess,
                                                           tmp_path: Path) -> None:
    first = report_a_fault(ivr, tmp_path / "first")
    with ScriptedCaller(ivr, tmp_path / "second", user=NUMBER) as c:
        c.dial()
        asked = c.wait("prompt", node="returning_broadband", timeout=40)
        assert QUESTION in asked["data"]["text"], asked
        c.wait("prompt_end", node="returning_broadband", timeout=30)
        c.press("1")  # the same problem
        c.wait("listen", node="broadband_account", timeout=20)
        c.hangup()
        c.wait_closed(20)
    call = ivr.wait_call_ended(c.call_id, 30)
    keyed = [t for t in call["turns"] if t["node"] == "returning_broadband"]
    summary = [(t["input_mode"], t["dtmf"], t["outcome"]) for t in keyed]
    assert summary == [("dtmf", "1", "match")], summary
    assert c.call_id != first


def test_another_caller_id_is_not_asked(ivr: IvrProcess, tmp_path: Path) -> None:
    with ScriptedCaller(ivr, tmp_path, user="13900139000") as c:
        c.dial()
        c.wait("listen", node="main_menu", timeout=40)
        c.hangup()
        c.wait_closed(20)
    call = ivr.wait_call_ended(c.call_id, 30)
    assert not [e for e in call["events"] if e["type"] == "prompt"
                and e["data"].get("node", "").startswith("returning_")], call["events"]
