"""The handover to live agents, on the real session, engine, store and agent directory; the
agents' phones are scripted in `FakeControl` (answer, fail, ring out)."""

from __future__ import annotations

import time
import wave

from ivr.call.protocols import DialFailed
from ivr.dialplan.actions import CallerInput, NoInput
from ivr.escalation.agents import AgentConfig, AgentDirectory, RouteRequest
from ivr.escalation.handover_words import offer_choice, prompt, spoken_number
from tests.unit.call_runner import CALL_ID, Call, run_call, speech_clip
from tests.unit.fakes import FakeControl, FakeLeg, transcript

LI = AgentConfig(id="8001", name="Li", uri="sip:8001@127.0.0.1:5071",
                 queues=["general", "urgent"], languages=["zh-CN"])
WANG = AgentConfig(id="8002", name="Wang", uri="sip:8002@127.0.0.1:5072",
                   queues=["general"], languages=["zh-CN", "en-US"])
FAST = {"ring_timeout_s": 0.3, "max_wait_s": 0.6, "hold_message_every_s": 0.2}
CONNECTING_ZH = "正在为您接通人工客服，请稍候。"


def answering(*agents: AgentConfig) -> tuple[FakeControl, dict[str, FakeLeg]]:
    control = FakeControl()
    legs = {a.id: FakeLeg(f"leg-{a.id}") for a in agents}
    control.answers = {a.uri: legs[a.id] for a in agents}
    return control, legs


def agent_status(c: Call, agent_id: str) -> tuple[str, str | None]:
    a = AgentDirectory(c.store).get(agent_id)
    assert a is not None
    return a.status, a.current_call


# ---------------------------------------------------------------- bridged
def test_agent_gets_context_headers_whisper_then_bridge(tmp_path):
    control, legs = answering(LI)

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("0")
        await c.wait_event("agent_connected")
        assert agent_status(c, "8001") == ("busy", CALL_ID)
        legs["8001"].hang_up()  # the agent ends the call: the caller stays for the survey
        await c.wait_event("listen", node="satisfaction")
        c.dtmf("4")

    c = run_call(tmp_path, scenario, agents=[LI, WANG], escalation=FAST, control=control)
    (uri, headers), = control.dialled
    assert uri == LI.uri  # speaks zh-CN, serves general; Wang too but Li has idled longer
    assert headers["X-IVR-Call-ID"] == CALL_ID
    assert headers["X-IVR-Summary-URL"] == f"http://127.0.0.1:8080/api/calls/{CALL_ID}/summary"
    assert (headers["X-IVR-Queue"], headers["X-IVR-Reason"]) == ("general", "caller_request")
    # the whisper went to the agent's leg only, before the bridge
    whisper = c.events("escalation_summary")[0]["whisper"]
    assert "转人工" in whisper or "人工" in whisper
    leg_media = legs["8001"].media
    assert [pb.audio for pb in leg_media.playbacks] == [c.prompts.rendered[(whisper, "zh-CN")]]
    assert all(pb.audio is not c.prompts.rendered[(whisper, "zh-CN")]
               for pb in c.media.playbacks)
    assert c.prompts.rendered[(CONNECTING_ZH, "zh-CN")] in [pb.audio for pb in c.media.playbacks]
    assert control.bridges == [(CALL_ID, "leg-8001")]
    types = c.event_types()
    assert types.index("whisper") < types.index("agent_connected")
    row = c.row()
    # the hotline's `after_agent: satisfaction`: the survey, then the dialplan's goodbye
    assert (row["agent_id"], row["end_reason"], row["escalated"]) == ("8001", "completed", 1)
    assert row["queue_wait_s"] is not None and row["queue_wait_s"] < 5
    assert row["waiting_queue"] is None
    assert agent_status(c, "8001") == ("available", None)  # released at the end
    assert "leg-8001" in control.released_legs
    assert c.events("agent_disconnected") == [{"agent_id": "8001", "by": "agent"}]


def test_agent_who_does_not_answer_is_skipped_and_set_offline(tmp_path):
    control, legs = answering(WANG)  # Li's phone rings out

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("0")
        await c.wait_event("agent_connected")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, agents=[LI, WANG], escalation=FAST, control=control)
    assert [u for u, _ in control.dialled] == [LI.uri, WANG.uri]
    (failed,) = c.events("agent_failed")
    assert (failed["agent_id"], failed["code"], failed["set_offline"]) == ("8001", 408, True)
    assert agent_status(c, "8001") == ("offline", None)  # redirect on no answer
    assert agent_status(c, "8002") == ("available", None)
    assert c.row()["agent_id"] == "8002"
    assert c.events("agent_disconnected") == [{"agent_id": "8002", "by": "caller"}]


def test_busy_agent_is_skipped_but_stays_available(tmp_path):
    control, _ = answering(WANG)
    control.answers[LI.uri] = DialFailed(486, "Busy Here")

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("0")
        await c.wait_event("agent_connected")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, agents=[LI, WANG], escalation=FAST, control=control)
    assert agent_status(c, "8001") == ("available", None)
    assert c.events("agent_failed")[0]["set_offline"] is False


def test_caller_hanging_up_while_the_agent_rings_releases_the_agent(tmp_path):
    control = FakeControl()  # nobody answers: the phone rings for ring_timeout_s

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("0")
        await c.wait_event("agent_ringing")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, agents=[LI], escalation={**FAST, "ring_timeout_s": 5},
                 control=control)
    assert c.events("agent_abandoned") == [{"agent_id": "8001"}]
    assert agent_status(c, "8001") == ("available", None)
    assert c.row()["end_reason"] == "caller_hangup"


def test_refer_mode_hands_the_call_to_the_agent_with_headers(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("0")
        await c.wait_event("agent_refer")
        c.session.on_hangup("ivr_hangup")  # the endpoint hangs up after a successful REFER

    c = run_call(tmp_path, scenario, agents=[LI], escalation={**FAST, "mode": "refer"})
    assert c.control.transfers == [(CALL_ID, LI.uri)]
    assert c.control.transfer_headers["X-IVR-Call-ID"] == CALL_ID
    assert c.row()["end_reason"] == "transferred:8001"
    assert agent_status(c, "8001") == ("available", None)


# ---------------------------------------------------------------- waiting
def _busy(c: Call, *agent_ids: str) -> None:
    directory = AgentDirectory(c.store)
    for a in agent_ids:
        directory.claim(RouteRequest("general", exclude=frozenset(
            x.id for x in directory.all() if x.id != a)), f"other-call-{a}")


def test_no_agent_free_hold_messages_then_callback_on_the_callers_number(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        _busy(c, "8001")
        c.dtmf("0")
        await c.wait_event("hold_message")
        await c.wait_event("listen", node="handover")
        c.dtmf("1")  # a callback
        await c.wait_event("listen", node="handover", count=2)
        c.dtmf("1")  # the number read back is right

    c = run_call(tmp_path, scenario, agents=[LI], escalation=FAST, caller="13800138000")
    hold = c.events("hold_message")[0]
    assert (hold["queue"], hold["position"]) == ("general", 1)
    assert ("您是下一位，请稍候，马上为您接通。", "zh-CN") in c.prompts.requests
    assert c.events("queue_timeout")
    read_back = prompt("confirm_number", "zh-CN", number=spoken_number("13800138000"))
    assert (read_back, "zh-CN") in c.prompts.requests
    (cb,) = c.store.callbacks()
    assert (cb["kind"], cb["number"], cb["caller"], cb["queue"], cb["status"]) == (
        "callback", "13800138000", "13800138000", "general", "pending")
    assert (cb["reason"], cb["intent"], cb["call_id"]) == ("caller_request", "agent", CALL_ID)
    assert c.row()["end_reason"] == "callback_requested"
    assert c.control.dialled == []  # the only agent was busy all along


def test_callback_to_another_number_keyed_in(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("0")
        await c.wait_event("listen", node="handover")
        c.dtmf("1")
        await c.wait_event("listen", node="handover", count=2)
        c.dtmf("13912345678#")
        await c.wait_event("listen", node="handover", count=3)
        c.dtmf("1")

    c = run_call(tmp_path, scenario, agents=[], escalation=FAST)
    # no agent serves the queue: no hold music, the offer comes at once
    assert c.events("queue_unavailable")[0]["queue"] == "general"
    assert not c.events("hold_message")
    (cb,) = c.store.callbacks()
    assert cb["number"] == "13912345678"
    read_back = prompt("confirm_number", "zh-CN", number=spoken_number("13912345678"))
    assert (read_back, "zh-CN") in c.prompts.requests


def test_voicemail_is_recorded_with_its_words(tmp_path):
    said = "Please call me about my broadband."

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("0")
        await c.wait_event("listen", node="handover")
        c.dtmf("3")
        await c.wait_event("voicemail_recording")  # after the prompt and the beep
        c.say(speech_clip())
        await c.wait_event("utterance")
        c.dtmf("#")

    c = run_call(tmp_path, scenario, agents=[], escalation=FAST,
                 asr_script=[transcript(said, "zh", 0.9, 0.02)])
    (vm,) = c.store.callbacks()
    assert (vm["kind"], vm["transcript"]) == ("voicemail", said)
    with wave.open(vm["recording_path"]) as w:
        assert w.getnchannels() == 1 and w.getframerate() == 16000
        assert w.getnframes() / 16000 > speech_clip().duration
    assert c.row()["end_reason"] == "voicemail"
    assert c.events("voicemail_saved")[0]["text"] == said


def test_no_answer_at_the_offer_ends_politely(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("0")

    c = run_call(tmp_path, scenario, agents=[], escalation=FAST)
    assert c.row()["end_reason"] == "no_agent"
    assert (prompt("closed", "zh-CN"), "zh-CN") in c.prompts.requests
    assert c.store.callbacks() == []


# ---------------------------------------------------------------- pure helpers
def test_offer_choice_from_keys_and_words():
    assert offer_choice(CallerInput("dtmf", "1")) == "1"
    assert offer_choice(CallerInput("dtmf", "7")) is None
    assert offer_choice(CallerInput("speech", "请给我回电")) == "1"
    assert offer_choice(CallerInput("speech", "I'll leave a message")) == "3"
    assert offer_choice(CallerInput("speech", "我再等等")) == "2"
    assert offer_choice(NoInput()) is None


def test_prompts_in_both_languages():
    assert prompt("hold", "zh-CN", position=3).startswith("目前坐席都在忙，您排在第3位")
    assert "number 3 in the queue" in prompt("hold", "en-US", position=3)
    assert prompt("connecting", "yue").startswith("正在")
    assert spoken_number("+86 138") == "8 6 1 3 8"


def test_urgent_callers_go_first_for_agents_serving_both_queues(tmp_path):
    from ivr.storage.call_store import CallStore

    store = CallStore(tmp_path / "db.sqlite")
    directory = AgentDirectory(store)
    directory.sync([LI, WANG])
    now = time.time()
    store.call_started("urgent-1", caller="1", waiting_queue="urgent", waiting_since=now)
    assert directory.waiting("urgent") == 1
    able = [a.id for a in directory.candidates(RouteRequest("general"))
            if "urgent" not in a.queues]
    assert able == ["8002"]  # what Handover._claim keeps for a general caller now
    store.close()
