"""Escalation summaries (`ivr.escalation.summary`) of recorded calls in both languages, and the
optional LLM summariser (`ivr.escalation.summary_llm`) against a real local aiohttp server."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.escalation.summary import CallSummary, render_text, summarise
from ivr.escalation.summary_llm import summarise_llm

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "summaries"
PLANS = {"xinghe-telecom-hotline": "hotline", "xinghai-bank-cards": "bank",
         "renhe-clinic-appointments": "clinic"}


@cache
def plan(name: str) -> Dialplan:
    return load_dialplan(ROOT / "dialplans" / f"{PLANS[name]}.yaml").plan


def fixture(name: str) -> tuple[dict, list[dict]]:
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data["call"], data["history"]


def summary_of(name: str) -> CallSummary:
    call, history = fixture(name)
    return summarise(call, history, plan(call["dialplan"]))


def slots(s: CallSummary) -> dict[str, tuple[object, bool]]:
    return {x.name: (x.value, x.verified) for x in s.slots}


# ------------------------------------------------------------------ Mandarin bill -> 人工
def test_mandarin_bill_enquiry_that_failed_twice_then_asked_for_a_person():
    s = summary_of("zh_bill_agent")
    assert s.call_id == "c-zh-bill" and s.caller == "13800138000"
    assert (s.language, s.profile, s.dialect) == ("zh-CN", "zh-CN", None)
    assert s.intent == "bill_enquiry"
    assert s.intent_label == "查询话费"  # the dialplan's label in the call's language
    assert s.intent_labels == {"zh": "查询话费", "en": "check your bill"}
    assert s.escalation_reason == "caller_request"
    assert s.escalation_text == "来电者要求转人工（此前2次未能识别）"
    assert s.failures == 2
    assert s.transfer_target == "queue:general"
    assert s.slots == []
    assert s.peak_anger == 0.35
    assert [p.anger for p in s.emotion] == [0.05, 0.2, 0.35, 0.3]
    # this call and the bank call of the same number are not earlier calls of this hotline
    assert s.earlier_calls.count == 2
    assert s.earlier_calls.last_date == "2026-01-02"  # Asia/Shanghai
    assert s.earlier_calls.last_end_reason == "transfer:queue:general"
    assert s.earlier_calls.last_intent == "bill_enquiry"
    # what the IVR could not understand is what the agent must: kept verbatim
    assert s.key_utterances == ["我想查一下话费", "为什么这个月多扣了四十块钱",
                                "我说的是多出来的钱怎么回事", "转人工"]
    assert s.path == ["main_menu", "anything_else", "agent"]
    assert s.answers == ["您本月的账单为九十八元，当前余额为五十八元二角。"]
    assert s.next_action == "告知余额并核对账单"
    assert [st.outcome for st in s.steps] == ["match", "no_match", "no_match", "match"]
    assert s.steps[1].said == "抱歉，我没有听懂。"

    text = render_text(s, "zh-CN")
    for part in ("13800138000", "此前来电2次", "查询话费", "来电者要求转人工", "此前2次未能识别",
                 "告知余额并核对账单", "“我想查一下话费”", "九十八元"):
        assert part in text, part
    whisper = render_text(s, "zh-CN", whisper=True)
    assert whisper == "查询话费，2次未识别后要求人工，第3次来电"
    assert len(whisper) <= 60
    # the same call rendered for an English-speaking agent
    en = render_text(s, "en-US")
    assert "check your bill" in en and "asked for a person after 2 failed attempts" in en
    assert "Read out the balance and check the bill" in en


# ------------------------------------------------------------------ English angry caller
def test_english_angry_caller_escalated_by_emotion():
    s = summary_of("en_angry_emotion")
    assert (s.language, s.profile) == ("en-US", "en-US")
    assert s.intent == "broadband_fault"
    assert s.intent_label == "report a broadband fault"
    assert s.escalation_reason == "caller_upset"
    assert s.escalation_text == "caller upset (peak anger 0.81)"
    assert slots(s) == {"account": ("20461337", True)}  # keyed
    assert s.peak_anger == 0.81
    assert [(p.seq, p.anger) for p in s.emotion] == [(2, 0.3), (4, 0.72), (5, 0.81)]
    assert s.earlier_calls.count == 0 and s.earlier_calls.last_date is None
    assert s.key_utterances == [
        "my internet is not working again",
        "This is ridiculous, it's the third time this month and it's still not fixed",
        "I'm fed up, your service is useless",
    ]
    assert s.next_action == ("Apologise first, then check the line for account 20461337 "
                             "and book an engineer")
    assert s.path[-1] == "upset_caller"

    text = render_text(s, "en-US")
    for part in ("+447700900123", "first call", "report a broadband fault",
                 "broadband account 20461337 (verified)", "angry", "caller upset",
                 "Apologise first", '"I\'m fed up, your service is useless"'):
        assert part in text, part
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text)
    whisper = render_text(s, "en-US", whisper=True)
    assert whisper == "Report a broadband fault, upset caller."
    assert len(whisper.split()) <= 25
    zh = render_text(s, "zh-CN")
    assert "报修宽带故障" in zh and "来电者情绪激动" in zh and "先向来电者道歉" in zh


def dissatisfied_call(why: str = "dissatisfaction") -> tuple[dict, list[dict]]:
    """The English broadband call, as if the caller had calmly said three times that the
    hotline was not helping (the engine records why it handed over as a variable)."""
    call, history = fixture("en_angry_emotion")
    call = copy.deepcopy(call)
    said = {2: "my internet is still not working", 4: "that's not what I asked",
            5: "this is a waste of time"}
    for t in call["turns"]:
        if t["seq"] in said:
            t["caller_text"] = said[t["seq"]]
            t["emotion"] = {**t["emotion"], "anger": 0.1, "prosody_anger": 0.1, "label": "neutral",
                            "dissatisfied": True}
    call["peak_anger"] = 0.1
    call["events"] = [e for e in call["events"] if e["type"] != "soothing"] + [
        {"id": 99, "type": "variables", "data": {"escalation_reason": why}}]
    return call, history


def test_dissatisfied_caller_is_handed_over_for_dissatisfaction():
    call, history = dissatisfied_call()
    s = summarise(call, history, plan(call["dialplan"]))
    assert s.escalation_reason == "dissatisfaction" and s.dissatisfied_turns == 3
    assert s.escalation_text == "caller dissatisfied 3 times"
    assert s.peak_anger == 0.1
    assert s.next_action.startswith("Apologise first, then check the line")
    text = render_text(s, "en-US")
    for part in ("Mood: dissatisfied", "Escalated: caller dissatisfied 3 times",
                 '"that\'s not what I asked"'):
        assert part in text, part
    assert render_text(s, "en-US", whisper=True) == (
        "Report a broadband fault, dissatisfied caller.")
    zh = render_text(s, "zh-CN")
    assert "转人工原因：来电者多次表示不满（3次）" in zh and "多次表示不满（愤怒峰值0.10）" in zh
    assert "先向来电者道歉" in zh
    assert render_text(s, "zh-CN", whisper=True) == "报修宽带故障，多次表示不满"


def test_anger_escalation_stays_caller_upset_when_the_variable_says_emotion():
    call, history = dissatisfied_call(why="emotion")
    s = summarise(call, history, plan(call["dialplan"]))
    assert s.escalation_reason == "caller_upset"


# ------------------------------------------------------------------ clinic crisis
def test_clinic_crisis_goes_to_the_urgent_queue():
    s = summary_of("zh_clinic_crisis")
    assert s.intent == "chest_pain"
    assert s.intent_label == "胸痛"  # no `label` (never asked about): its `summary` name
    assert s.escalation_reason == "crisis"
    assert s.escalation_text == "紧急情况，需要立即处理"
    assert s.transfer_target == "queue:urgent"
    assert s.peak_anger == 0.05 and s.peak_distress == 0.62
    assert s.earlier_calls.count == 1 and s.earlier_calls.last_date == "2026-01-04"
    assert s.key_utterances == ["我想挂个号", "我胸口疼，很难受"]
    assert s.next_action == "紧急医疗情况：请来电者立即拨打120，并保持通话"
    assert s.answers == []  # a menu and the hand-over announcement are not answers

    text = render_text(s, "zh-CN")
    for part in ("胸痛", "紧急情况", "120", "“我胸口疼，很难受”", "情绪紧张不安"):
        assert part in text, part
    assert render_text(s, "zh-CN", whisper=True).startswith("紧急，胸痛")
    assert render_text(s, "en-US", whisper=True).startswith("URGENT, chest pain")


# ------------------------------------------------------------------ bank: verified, then transfer
def test_bank_caller_with_verified_identity_then_transfer():
    s = summary_of("zh_bank_verified")
    assert s.intent == "lost_card" and s.intent_label == "挂失银行卡"
    assert slots(s) == {"id_number": ("11010519491231002X", True),  # keyed
                        "card_last4": ("6789", True)}  # read back, caller said 对的
    assert s.identity_verified is True
    assert s.escalation_reason == "dialplan"
    assert s.escalation_detail == "freeze_unavailable"
    assert s.escalation_text == "流程转接：冻结系统不可用"
    assert s.peak_anger == 0.1
    assert s.earlier_calls.count == 1  # the telecom hotline call does not count
    assert s.earlier_calls.last_intent == "balance"
    assert s.key_utterances == ["我的银行卡丢了"]
    assert s.next_action == "身份已核实，立即冻结银行卡"
    assert s.answers[-1] == "王芳，您好，身份核实成功。"

    text = render_text(s, "zh-CN")
    for part in ("挂失银行卡", "身份证号11010519491231002X（已核实）", "卡号后四位6789（已核实）",
                 "身份已核实", "冻结系统不可用", "立即冻结银行卡"):
        assert part in text, part
    en = render_text(s, "en-US")
    assert "report a lost card" in en and "Identity verified" in en
    assert "card last 4 digits 6789 (verified)" in en


def test_unconfirmed_read_back_is_not_verified_and_identity_comes_first():
    call, history = fixture("zh_bank_verified")
    call["turns"] = call["turns"][:3]  # the read-back was never answered
    call["events"] = [e for e in call["events"]
                      if not (e["type"] == "variables" and "verified" in e["data"])]
    s = summarise(call, history, plan(call["dialplan"]))
    assert slots(s)["card_last4"] == ("6789", False)
    assert s.identity_verified is None
    assert s.next_action == "先核实身份，再冻结银行卡"
    assert render_text(s, "en-US").count("Confirm identity then freeze the card") == 1


def test_generic_fallback_without_plan_or_intent():
    call, _ = fixture("zh_bill_agent")
    call = copy.deepcopy(call)
    for t in call["turns"]:
        t["intent"] = None if t["intent"] == "bill_enquiry" else t["intent"]
    s = summarise(call, [], None)
    assert s.intent == "agent" and s.intent_label == "转人工服务"
    assert s.next_action == "问候来电者并询问需要什么帮助"
    json.dumps(s.as_dict(), ensure_ascii=False)  # JSON-serialisable


def test_summary_is_json_serialisable_and_deterministic():
    a, b = summary_of("en_angry_emotion"), summary_of("en_angry_emotion")
    assert json.dumps(a.as_dict(), sort_keys=True) == json.dumps(b.as_dict(), sort_keys=True)
    assert json.loads(json.dumps(a.as_dict()))["slots"][0]["verified"] is True


def test_thirty_turn_call_is_summarised_quickly():
    call, history = fixture("en_angry_emotion")
    base = call["turns"][1:]
    turns = []
    for i in range(30):
        t = copy.deepcopy(base[i % len(base)])
        t["seq"] = i + 1
        turns.append(t)
    call = {**call, "turns": turns, "events": call["events"] * 6}
    p = plan(call["dialplan"])
    started = time.perf_counter()
    for _ in range(10):
        s = summarise(call, history * 10, p)
        render_text(s, "en-US")
        render_text(s, "zh-CN", whisper=True)
    elapsed = (time.perf_counter() - started) / 10
    print(f"\nsummary of a 30-turn call: {elapsed * 1000:.2f} ms")
    assert elapsed < 0.1  # well under a second
    assert len(s.steps) == 30 and len(s.key_utterances) <= 5


# ------------------------------------------------------------------ LLM summariser
class FakeLLM:
    def __init__(self, status: int = 200, delay_s: float = 0.0,
                 content: str = "Caller wants the bill. IVR read it. Caller asked for a person."
                 ) -> None:
        self.status, self.delay_s, self.content = status, delay_s, content
        self.requests: list[dict] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append({"path": request.path, "headers": dict(request.headers),
                              "body": await request.json()})
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.status != 200:
            return web.json_response({"error": {"message": "boom"}}, status=self.status)
        return web.json_response({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "local",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"  {self.content}\n"}}],
        })


def run_llm(llm: FakeLLM, summary: CallSummary, timeout: float = 2.0, transcript=None):
    async def main():
        app = web.Application()
        app.router.add_post("/v1/chat/completions", llm.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        config = SimpleNamespace(base_url=f"http://127.0.0.1:{server.port}/v1",
                                 api_key="sk-test", model="local-model", timeout=timeout)
        try:
            async with aiohttp.ClientSession() as client:
                started = time.monotonic()
                text = await summarise_llm(summary, transcript or [], config, client)
                return text, time.monotonic() - started
        finally:
            await server.close()

    return asyncio.run(main())


def test_llm_success_sends_summary_and_transcript_in_the_call_language():
    call, _ = fixture("zh_bill_agent")
    s = summary_of("zh_bill_agent")
    llm = FakeLLM(content="来电者查询话费。系统已播报账单。两次未识别后要求人工。")
    text, _ = run_llm(llm, s, transcript=call["turns"])
    assert text == "来电者查询话费。系统已播报账单。两次未识别后要求人工。"
    req = llm.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    assert req["body"]["model"] == "local-model"
    system, user = req["body"]["messages"]
    assert "简体中文" in system["content"] and "三句话" in system["content"]
    assert "Caller: 为什么这个月多扣了四十块钱" in user["content"]
    assert "bill_enquiry" in user["content"]


def test_llm_http_500_falls_back_to_none():
    text, _ = run_llm(FakeLLM(status=500), summary_of("en_angry_emotion"))
    assert text is None


def test_llm_hang_returns_none_within_the_timeout():
    llm = FakeLLM(delay_s=5.0)
    text, elapsed = run_llm(llm, summary_of("en_angry_emotion"), timeout=0.5)
    assert text is None
    assert elapsed < 1.5
    assert len(llm.requests) == 1


@pytest.mark.parametrize("config", [None, {}, {"base_url": "", "model": "m"},
                                    {"base_url": "http://127.0.0.1:9/v1", "model": ""}])
def test_llm_not_configured_sends_nothing(config):
    async def main():
        async with aiohttp.ClientSession() as client:
            return await summarise_llm(summary_of("zh_clinic_crisis"), [], config, client)

    assert asyncio.run(main()) is None


def test_llm_unreachable_endpoint_returns_none():
    async def main():
        config = {"base_url": "http://127.0.0.1:9/v1", "model": "m", "timeout": 1.0}
        async with aiohttp.ClientSession() as client:
            return await summarise_llm(summary_of("en_angry_emotion"), [], config, client)

    assert asyncio.run(main()) is None


def test_a_value_chosen_in_a_menu_is_not_reported_missing():
    """The clinic's department is set by a menu choice, not gathered: once chosen, the
    agent's next action does not ask for it again."""
    call = {"id": "c1", "caller": "13800138000", "dialplan": "renhe-clinic-appointments",
            "language": "zh-CN", "end_reason": "transferred", "escalated": 1,
            "turns": [{"seq": 1, "node": "main_menu", "intent": "book", "outcome": "match",
                       "input_mode": "speech", "caller_text": "我想挂号"},
                      {"seq": 2, "node": "book_department", "intent": None, "outcome": "match",
                       "input_mode": "dtmf", "dtmf": "2"},
                      {"seq": 3, "node": "book_date", "intent": "agent", "outcome": "match",
                       "input_mode": "speech", "caller_text": "转人工"}],
            "events": [{"type": "variables", "data": {"department": "paediatrics"}}]}
    s = summarise(call, [], plan("renhe-clinic-appointments"))
    assert slots(s)["department"] == ("paediatrics", True)
    assert "科室" not in s.next_action

