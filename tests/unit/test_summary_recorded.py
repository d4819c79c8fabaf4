"""Escalation summaries of *recorded* calls: real SIP calls (baresip) to the real `ivr serve`
with the shipped hotline, the caller speaking real human speech (AISHELL-1 Mandarin,
LJSpeech, Asterisk's Allison, EmoDB) or pressing keys. Each fixture is the call record the
IVR stored (`GET /api/calls/{id}`: call row, turns, events) and the caller's earlier calls,
made by `scripts/record_transcripts.py` (absolute paths stripped, timing events left out).

Caller texts are what the IVR's Whisper heard, misrecognitions included ("赔了两千元一要飞"
for 赔了两千元医药费): the summary must quote them verbatim, not correct them.
"""

from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.escalation.summary import CallSummary, render_text, summarise

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "transcripts"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))


@cache
def hotline() -> Dialplan:
    return load_dialplan(ROOT / "dialplans" / "hotline.yaml").plan


@cache
def _raw(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text(encoding="utf-8")


def recorded(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = json.loads(_raw(name))  # a fresh copy for every test
    return data["call"], data["history"]


def summary_of(name: str) -> CallSummary:
    call, history = recorded(name)
    return summarise(call, history, hotline())


def caller_texts(name: str) -> list[str]:
    return [t["caller_text"] for t in recorded(name)[0]["turns"] if t["caller_text"]]


def slots(s: CallSummary) -> dict[str, tuple[object, bool]]:
    return {x.name: (x.value, x.verified) for x in s.slots}


def has_all(text: str, *parts: str) -> None:
    missing = [p for p in parts if p not in text]
    assert not missing, f"{missing} not in {text!r}"


# ------------------------------------------------------------------ the fixtures themselves
def test_fixtures_are_small_real_call_records() -> None:
    assert set(NAMES) >= {"zh_topup_then_agent", "zh_bill_not_understood_agent",
                          "en_not_understood", "en_detected_agent", "en_dissatisfied_voice"}
    for name in NAMES:
        raw = _raw(name)
        assert len(raw.encode()) < 40_000, name
        assert '"/' not in raw, f"{name}: an absolute path is left"
        call, history = recorded(name)
        assert call["status"] == "ended" and call["dialplan"] == "xinghe-telecom-hotline"
        assert call["escalated"] == 1 and call["transfer_target"] == "queue:general"
        types = [e["type"] for e in call["events"]]
        assert types[0] == "call_answered" and types[-1] == "call_ended"
        assert "transfer" in types
        speech = [t for t in call["turns"] if t["input_mode"] == "speech"]
        assert speech and all(t["asr_seconds"] and t["timings"]["speech_ms"] > 500
                              for t in speech), name  # heard by the real ASR
        assert all(h["started_at"] < call["started_at"] for h in history)


# ------------------------------------------------------------------ Mandarin top-up, then 人工
def test_mandarin_top_up_already_done_then_asked_for_a_person() -> None:
    s = summary_of("zh_topup_then_agent")
    assert (s.language, s.profile, s.dialect) == ("zh-CN", "zh-CN", None)
    assert s.caller == "13800138000" and s.earlier_calls.count == 0
    assert s.intent == "top_up" and s.intent_label == "充值话费"
    # spoken, read back ("您要充值2000元，确认…") and confirmed with key 1
    assert slots(s) == {"amount": (2000, True)}
    assert s.path == ["main_menu", "topup_amount", "topup_confirm", "anything_else", "agent"]
    assert s.answers == ["充值成功，2000元已到账。"]  # the read-back question is not an answer
    assert s.completed is True
    assert s.escalation_reason == "caller_request" and s.failures == 0
    assert s.escalation_text == "来电者要求转人工"
    assert s.key_utterances == ["赔了两千元一要飞。"] == caller_texts("zh_topup_then_agent")
    assert s.peak_anger == 0.02
    # the emotion model took this calm read speech for fear: the summary reports what the
    # call measured (and the IVR did apologise: soothing mode)
    assert s.peak_distress == 0.727 and [p.label for p in s.emotion] == ["fearful"]
    assert s.next_action == "系统已充值2000元，请勿重复充值；询问来电者还需要什么帮助"

    zh = render_text(s, "zh-CN")
    has_all(zh, "来电13800138000，首次来电", "语言：普通话", "诉求：充值话费",
            "已收集：金额2000（已核实）", "系统已答复：充值成功，2000元已到账",
            "转人工原因：来电者要求转人工", "请勿重复充值", "原话：“赔了两千元一要飞。”")
    assert "确认请说是" not in zh
    en = render_text(s, "en-US")
    has_all(en, "Caller 13800138000, first call", "Language: Mandarin",
            "Wants: top up your phone", "Collected: amount 2000 (verified)",
            "Escalated: caller asked for a person",
            "Next: The IVR already topped up 2000 yuan: do not repeat it")
    assert render_text(s, "zh-CN", whisper=True) == "充值话费，要求人工"
    assert render_text(s, "en-US", whisper=True) == "Top up your phone, asked for a person."


def test_top_up_cancelled_at_the_read_back_is_neither_verified_nor_done() -> None:
    call, history = recorded("zh_topup_then_agent")
    confirm = call["turns"][2]  # key 1 at topup_confirm, as if key 2 (no) had been pressed
    confirm.update(dtmf="2", intent="deny",
                   prompt="请问还有其他可以帮您的吗？有请说是或按1，没有请说没有或按2。")
    s = summarise(call, history, hotline())
    assert s.slots == [] and not s.completed and s.answers == []
    assert s.next_action == "询问金额并完成充值"


def test_yes_to_a_question_that_does_not_read_the_slot_back_verifies_nothing() -> None:
    call, history = recorded("zh_topup_then_agent")
    call["turns"][2]["node"] = "anything_else"  # "anything else?" does not name the amount
    s = summarise(call, history, hotline())
    assert slots(s) == {"amount": (2000, False)} and not s.completed
    assert s.next_action == "为来电者完成2000元充值"


# ------------------------------------------------------------------ Mandarin bill, not understood
def test_mandarin_caller_calling_again_not_understood_twice_then_asked_for_a_person() -> None:
    s = summary_of("zh_bill_not_understood_agent")
    assert s.language == "zh-CN" and s.intent == "bill_enquiry" and s.slots == []
    # the same number's top-up call just before: handed over, hung up while waiting
    e = s.earlier_calls
    assert (e.count, e.last_date, e.last_end_reason) == (1, "2026-11-21", "hangup_before_agent")
    assert s.escalation_reason == "caller_request" and s.failures == 2
    assert s.escalation_text == "来电者要求转人工（此前2次未能识别）"
    assert [st.outcome for st in s.steps] == ["match", "no_match", "no_match", "match"]
    assert s.steps[0].caller == "[keys 1]" and s.steps[-1].caller == "[keys 0]"
    # what the IVR could not understand is quoted for the agent, verbatim
    assert s.key_utterances == ["张女士给武龙上砍,正派出所民警打区电话。",
                                "很多人不满到这期的组委会就应该彻底解散。"]
    assert s.key_utterances == caller_texts("zh_bill_not_understood_agent")
    assert s.dissatisfied_turns == 0  # "不满到这期的组委会" is news, not a complaint
    assert s.answers == ["您本月的账单为九十八元，当前余额为五十八元二角。"]
    assert s.peak_anger == 0.028
    assert s.next_action == "告知余额并核对账单"

    zh = render_text(s, "zh-CN")
    has_all(zh, "此前来电1次（最近2026-11-21，未接通人工即挂断）", "诉求：查询话费",
            "系统已答复：您本月的账单为九十八元", "来电者要求转人工（此前2次未能识别）",
            "建议：告知余额并核对账单", "“张女士给武龙上砍,正派出所民警打区电话。”")
    en = render_text(s, "en-US")
    has_all(en, "1 earlier call (last 2026-11-21, hung up before reaching an agent)",
            "Wants: check your bill", "asked for a person after 2 failed attempts",
            "Next: Read out the balance and check the bill")
    assert render_text(s, "zh-CN", whisper=True) == "查询话费，2次未识别后要求人工，第2次来电"
    assert render_text(s, "en-US", whisper=True) == (
        "Check your bill, asked for a person after 2 failures, called 1 time before.")


# ------------------------------------------------------------------ English, never understood
def test_english_caller_not_understood_three_times() -> None:
    s = summary_of("en_not_understood")
    assert (s.language, s.profile) == ("en-US", "en-US")
    assert s.intent is None and s.intent_label is None and s.intent_labels == {}
    assert s.escalation_reason == "repeated_failure" and s.failures == 3
    assert s.escalation_text == "repeated failures: the IVR could not understand the caller"
    assert s.path == ["main_menu", "escalate"]
    assert s.key_utterances == ["in being comparatively modern.", "has never been surpassed.",
                                "Then in the same operations with ugly ones."]
    assert s.key_utterances == caller_texts("en_not_understood")
    assert s.peak_anger == 0.376 and s.dissatisfied_turns == 0
    assert s.answers == [] and s.slots == []
    assert s.next_action == "Greet the caller and ask how you can help"

    en = render_text(s, "en-US")
    has_all(en, "Caller 447700900123, first call", "Language: English",
            "Wants: not recognised", "Mood: a little annoyed (peak anger 0.38)",
            "Escalated: repeated failures", 'Said: "in being comparatively modern."')
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en)
    zh = render_text(s, "zh-CN")
    has_all(zh, "语言：英语", "诉求：未识别", "转人工原因：多次未能识别来电者的需求",
            "建议：问候来电者并询问需要什么帮助", "原话：“in being comparatively modern.”")
    assert render_text(s, "en-US", whisper=True) == "Unclear request, not understood."
    assert render_text(s, "zh-CN", whisper=True) == "需求未明，多次未识别"


# ------------------------------------------------------------------ English detected, 人工
def test_english_caller_detected_on_the_mandarin_menu_asks_for_a_person() -> None:
    call, _ = recorded("en_detected_agent")
    detected = [e["data"] for e in call["events"] if e["type"] == "language_detected"]
    assert detected and detected[0]["language"] == "en"
    s = summary_of("en_detected_agent")
    assert (s.language, s.profile, s.dialect) == ("en-US", "en-US", None)
    assert s.intent == "agent" and s.intent_labels == {"zh": "转人工服务",
                                                       "en": "speak to an agent"}
    assert s.escalation_reason == "caller_request" and s.failures == 0
    assert s.key_utterances == ["Waiting to speak with a representative."]
    assert s.peak_anger == 0.012
    assert s.next_action == "Greet the caller and ask how you can help"
    en = render_text(s, "en-US")
    has_all(en, "Language: English", "Wants: speak to an agent", "Mood: calm",
            "Escalated: caller asked for a person",
            'Said: "Waiting to speak with a representative."')
    zh = render_text(s, "zh-CN")
    has_all(zh, "语言：英语", "诉求：转人工服务", "情绪平稳", "转人工原因：来电者要求转人工")
    assert render_text(s, "zh-CN", whisper=True) == "转人工服务，要求人工"


# ------------------------------------------------------------------ dissatisfied, by voice
def test_three_angry_turns_never_in_a_row_hand_over_as_dissatisfaction() -> None:
    call, _ = recorded("en_dissatisfied_voice")
    marked = [t["seq"] for t in call["turns"] if (t["emotion"] or {}).get("dissatisfied")]
    assert marked == [3, 6, 9]  # the angry clips; calm ones and keys between them
    assert [e["data"] for e in call["events"] if e["type"] == "variables"] == [
        {"escalation_reason": "dissatisfaction"}]
    transfer = next(e["data"] for e in call["events"] if e["type"] == "transfer")
    assert transfer == {"target": "queue:general", "reason": "caller_upset"}  # the node's

    s = summary_of("en_dissatisfied_voice")
    assert s.escalation_reason == "dissatisfaction" and s.dissatisfied_turns == 3
    assert s.escalation_text == "caller dissatisfied 3 times"
    assert s.intent == "bill_enquiry"  # key 1 on the way
    assert s.path == ["main_menu", "anything_else", "main_menu", "upset_caller"]
    assert s.peak_anger == 0.745
    assert [p.label for p in s.emotion] == ["neutral", "angry"] * 3
    assert s.key_utterances == caller_texts("en_dissatisfied_voice")[1:]  # all but the calm first
    assert s.next_action == "Apologise first, then read out the balance and check the bill"

    en = render_text(s, "en-US")
    has_all(en, "Wants: check your bill", "Mood: angry (peak anger 0.74)",
            "Escalated: caller dissatisfied 3 times", "Next: Apologise first",
            'Said: "The weapon is on the ice cream!"')
    zh = render_text(s, "zh-CN")
    has_all(zh, "诉求：查询话费", "情绪激动（愤怒峰值0.74）",
            "转人工原因：来电者多次表示不满（3次）", "建议：先向来电者道歉")
    assert render_text(s, "zh-CN", whisper=True) == "查询话费，多次表示不满，情绪激动"
    assert render_text(s, "en-US", whisper=True) == (
        "Check your bill, dissatisfied caller, caller angry.")


# ------------------------------------------------------------------ all of them
@pytest.mark.parametrize("name", NAMES)
def test_summary_is_json_and_deterministic(name: str) -> None:
    a, b = summary_of(name), summary_of(name)
    assert json.dumps(a.as_dict(), sort_keys=True, ensure_ascii=False) == json.dumps(
        b.as_dict(), sort_keys=True, ensure_ascii=False)
    zh, en = render_text(a, "zh-CN", whisper=True), render_text(a, "en-US", whisper=True)
    assert len(zh) <= 60 and len(en.split()) <= 25


def test_recorded_calls_are_summarised_in_well_under_a_second() -> None:
    hotline()  # the dialplan is loaded once per service, not per call
    per_call: dict[str, float] = {}
    first: dict[str, float] = {}
    for name in NAMES:
        call, history = recorded(name)
        runs = 20
        for i in range(runs + 1):
            started = time.perf_counter()
            s = summarise(call, history, hotline())
            for language in ("zh-CN", "en-US"):
                render_text(s, language)
                render_text(s, language, whisper=True)
            took = time.perf_counter() - started
            if i == 0:
                first[name] = took
            else:
                per_call[name] = per_call.get(name, 0.0) + took / runs
    print("\nsummary + 4 renderings per recorded call (mean of 20; first run): " + ", ".join(
        f"{n} {per_call[n] * 1000:.2f} ms ({first[n] * 1000:.2f} ms)" for n in NAMES))
    assert max(first.values()) < 0.5 and max(per_call.values()) < 0.5  # the machine is noisy
