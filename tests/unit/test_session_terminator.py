"""A '#' pressed after a digit answer already complete at its maximum length ends nothing: a
real call drops it without interrupting the read-back, as `ivr test` does (issue 16: the phone
and the test runner agree)."""

from __future__ import annotations

from pathlib import Path

from tests.unit.call_runner import Call, run_call


def test_a_trailing_hash_neither_interrupts_the_read_back_nor_answers_it(
        tmp_path: Path) -> None:
    async def scenario(c: Call) -> None:
        await c.wait_event("prompt_end", node="main_menu")
        c.dtmf("3")
        await c.wait_event("prompt_end", node="topup_amount")
        c.dtmf("1000#")
        await c.wait_event("listen", node="topup_confirm")
        await c.wait_event("prompt_end", node="topup_confirm")
        c.dtmf("1")
        await c.wait_event("listen", node="anything_else")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario)
    assert c.events("dtmf_ignored") == [{"digit": "#", "why": "ends_a_complete_answer"}]
    assert not any(pb.interrupted for pb in c.media.playbacks)  # the read-back played whole
    assert not c.events("barge_in")
    turns = c.row()["turns"]
    assert [t["dtmf"] for t in turns][:3] == ["3", "1000", "1"]
    assert [t["outcome"] for t in turns][:3] == ["match", "match", "match"]
