"""The survey after the agent (issue 21): a transfer with `after_agent` keeps the caller on the
line when the agent hangs up first, and the dialplan goes on there (the hotline's
satisfaction survey). On the real session, engine, store and agent directory; the agent's
phone is a `FakeLeg` of `FakeControl`. And the engine's side: `AgentLeft` routes only a
transfer that has `after_agent`."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from ivr.dialplan.actions import AgentLeft, CallerInput, Transfer
from ivr.escalation.agents import AgentConfig, AgentDirectory
from tests.unit.call_runner import CALL_ID, Call, run_call
from tests.unit.fakes import FakeControl, FakeLeg
from tests.unit.inline_plans import FACTS, engine, says

LI = AgentConfig(id="8001", name="Li", uri="sip:8001@127.0.0.1:5071", queues=["general"],
                 languages=["zh-CN"])
FAST = {"ring_timeout_s": 0.3, "max_wait_s": 0.6, "hold_message_every_s": 0.2}


def _answering() -> tuple[FakeControl, FakeLeg]:
    control, leg = FakeControl(), FakeLeg("leg-8001")
    control.answers = {LI.uri: leg}
    return control, leg


def test_the_agent_hangs_up_first_and_the_caller_answers_the_survey(tmp_path) -> None:
    control, leg = _answering()

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("0")
        await c.wait_event("agent_connected")
        c.dtmf("2")  # a key pressed while talking to the agent: not an answer to the survey
        await asyncio.sleep(0.05)
        leg.hang_up()
        await c.wait_event("listen", node="satisfaction")
        c.dtmf("5")

    c = run_call(tmp_path, scenario, agents=[LI], escalation=FAST, control=control)
    assert control.hangup_together is False  # the endpoint must not hang the caller up
    assert c.events("agent_disconnected") == [{"agent_id": "8001", "by": "agent"}]
    turns = [(t["node"], t["dtmf"], t["outcome"]) for t in c.row()["turns"]]
    assert turns[-1] == ("satisfaction", "5", "match") and len(
        [t for t in turns if t[0] == "satisfaction"]) == 1, turns
    row = c.row()
    assert (row["end_reason"], row["outcome"]) == ("completed", "escalated_answered")
    said = [e["text"] for e in c.events("prompt")]
    assert any("请您为本次服务打分" in s for s in said) and "感谢您的来电" in said[-1], said
    survey = list(c.store.db.query("select * from surveys where call_id = ?", [CALL_ID]))
    assert [(s["score"], s["agent_id"], s["queue"], s["outcome"]) for s in survey] == [
        (5, "8001", "general", "escalated_answered")]
    agent = AgentDirectory(c.store).get("8001")
    assert agent is not None and (agent.status, agent.current_call) == ("available", None)
    assert "leg-8001" in control.released_legs


def test_the_caller_hanging_up_first_ends_the_call_and_the_agent_leg(tmp_path) -> None:
    control, _leg = _answering()

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("0")
        await c.wait_event("agent_connected")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, agents=[LI], escalation=FAST, control=control)
    assert c.row()["end_reason"] == "caller_hangup"
    assert c.events("agent_disconnected") == [{"agent_id": "8001", "by": "caller"}]
    assert "leg-8001" in control.released_legs  # hung up by the session, not the endpoint
    assert not [e for e in c.events("prompt") if e.get("node") == "satisfaction"]


NODES = """\
s:
  transfer: {target: "queue:general", after_agent: rate}
rate:
  survey:
    question: {zh-CN: 请打分，一到五分, en-US: Rate us from one to five}
  next: bye
plain:
  transfer: {target: "queue:general"}
bye:
  hangup: {say: 再见}
"""


def test_agent_left_goes_to_after_agent_only(tmp_path) -> None:
    eng = engine(tmp_path, NODES)
    first = eng.start(facts=FACTS)
    assert first.actions[-1] == Transfer("queue:general", "dialplan", False, True)
    assert not first.state.ended
    back = eng.step(first.state, AgentLeft(), FACTS)
    assert back.state.node == "rate" and back.state.variables["agent_left"] is True
    assert says(back.actions) == ["请打分，一到五分"]
    done = eng.step(back.state, CallerInput("dtmf", "4"), FACTS)
    assert done.state.variables["survey_score"] == 4 and done.state.ended
    at_plain = replace(first.state, node="plain")
    assert eng.step(at_plain, AgentLeft(), FACTS).actions == []  # nothing waits for it
