"""Hot reload with real calls: an edit is live for new calls, a call in progress finishes on
its version, and an invalid edit is rejected with located errors while the last good
version stays live."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from testkit.harness import REPO, IvrProcess, ScriptedCaller

pytestmark = pytest.mark.integration


def _bill_prompt(ivr: IvrProcess, call_id: str) -> str:
    call = ivr.wait_call_ended(call_id, 60)
    turn = next(t for t in call["turns"] if t["intent"] == "bill_enquiry")
    return turn["prompt"]


def _wait_log(ivr: IvrProcess, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in ivr.log():
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{ivr.log()[-2000:]}"
        time.sleep(0.2)


def test_edit_applies_to_new_calls_only_and_bad_edit_is_rejected(tmp_path: Path) -> None:
    plan = tmp_path / "plan" / "hotline.yaml"
    plan.parent.mkdir()
    shutil.copy(REPO / "dialplans" / "hotline.yaml", plan)
    (plan.parent / "knowledge").symlink_to(REPO / "dialplans" / "knowledge")
    ivr = IvrProcess(tmp_path / "data", "--dialplan", str(plan),
                     env={"IVR_DIALPLAN_RELOAD_S": "0.5"}).start()
    try:
        with ScriptedCaller(ivr, tmp_path / "old") as old:
            old.dial()
            old.wait("listen", node="main_menu")
            v1 = ivr.call(old.call_id)["dialplan_version"]

            text = plan.read_text(encoding="utf-8")
            plan.write_text(text.replace("九十八元", "九十九元").replace("98 yuan", "99 yuan"),
                            encoding="utf-8")
            _wait_log(ivr, "dialplan reloaded")

            with ScriptedCaller(ivr, tmp_path / "new") as new:
                new.dial()
                new.wait("listen", node="main_menu")
                new.press("9")
                new.wait("language", language="en-US")
                new.press("1")
                new.wait("turn", intent="bill_enquiry")
                new.hangup()
                new.wait_closed(20)
            # the call that started before the edit still runs the old version
            old.press("9")
            old.wait("language", language="en-US")
            old.press("1")
            old.wait("turn", intent="bill_enquiry")
            old.hangup()
            old.wait_closed(20)
        assert "98 yuan" in _bill_prompt(ivr, old.call_id)
        assert "99 yuan" in _bill_prompt(ivr, new.call_id)
        v2 = ivr.call(new.call_id)["dialplan_version"]
        assert v1 != v2

        # an invalid edit: a dangling goto
        plan.write_text(plan.read_text(encoding="utf-8").replace(
            "goto: bill_info}", "goto: bill_infoo}", 1), encoding="utf-8")
        _wait_log(ivr, "dialplan edit rejected")
        log = ivr.log()
        assert f"{plan}:" in log and "unknown node 'bill_infoo'" in log
        with ScriptedCaller(ivr, tmp_path / "third") as third:
            third.dial()
            third.wait("listen", node="main_menu")
            third.hangup()
            third.wait_closed(20)
        assert ivr.wait_call_ended(third.call_id)["dialplan_version"] == v2
    finally:
        assert ivr.stop() == 0, ivr.log()[-3000:]
