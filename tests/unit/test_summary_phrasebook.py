"""The escalation summary's phrasebook lives in the dialplans (`summary` section), not in code:
the shipped dialplans' summaries are rendered exactly as before the move (golden texts made
by the code that held the phrases), a new dialplan gets its own words without code changes,
and naming an intent for the summary never changes what callers hear."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from ivr.dialplan.loader import DialplanError, load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.escalation.summary import render_text, summarise
from ivr.escalation.summary_phrasebook import GENERIC, phrasebook_for, shipped_phrasebook

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN = json.loads((FIXTURES / "summaries" / "golden" / "rendered.json").read_text("utf-8"))
SHIPPED = ("hotline", "bank", "clinic")


@cache
def shipped(name: str) -> Dialplan:
    return load_dialplan(ROOT / "dialplans" / f"{name}.yaml").plan


def plan_named(name: str) -> Dialplan:
    return next(shipped(n) for n in SHIPPED if shipped(n).name == name)


def fixture(key: str) -> tuple[dict, list[dict]]:
    data = json.loads((FIXTURES / f"{key}.json").read_text("utf-8"))
    return data["call"], data["history"]


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_shipped_dialplans_render_exactly_as_before(key: str) -> None:
    call, history = fixture(key)
    s = summarise(call, history, plan_named(call["dialplan"]))
    want = GOLDEN[key]
    assert s.next_action == want["next_action"]
    for lang in ("zh-CN", "en-US"):
        assert render_text(s, lang) == want[lang]
        assert render_text(s, lang, whisper=True) == want[f"{lang} whisper"]


def test_no_phrase_of_a_shipped_dialplan_is_left_in_code() -> None:
    code = "".join(p.read_text("utf-8") for p in (ROOT / "ivr").glob("summary*.py"))
    for name in SHIPPED:
        phrases = shipped(name).summary
        texts = [t for p in phrases.intents.values()
                 for field in (p.label, p.next_action, p.next_action_missing,
                               p.next_action_unverified, p.next_action_done)
                 if isinstance(field, dict) for t in field.values()]
        texts += [t for f in (*phrases.slots.values(), *phrases.transfer_reasons.values())
                  if isinstance(f, dict) for t in f.values()]
        assert texts
        # single English words (amount, date) may well be in code; phrases may not
        assert [t for t in texts if t in code and not (t.isascii() and t.isalpha())] == [], name


def test_intents_named_for_the_summary_are_not_asked_about() -> None:
    """A `label` makes the engine ask "您是要{label}吗？": the bank's and the clinic's
    intents are named in `summary` only, so their callers hear what they heard before;
    only those that must always be confirmed (`confirm: always`: blocking a card,
    cancelling) have a label to ask with."""
    for name in ("bank", "clinic"):
        plan = shipped(name)
        named = [i for i, p in plan.summary.intents.items() if p.label is not None]
        assert named and all(plan.intents[i].label is None or plan.intents[i].confirm
                             == "always" for i in named), name
        assert any(plan.intents[i].label is None for i in named), name


# ------------------------------------------------------------------ a new dialplan's own words
PLAN = """\
name: water-utility
languages: [zh-CN, en-US]
default_language: zh-CN
start: menu
intents:
  leak:
    keywords: {zh-CN: [漏水], en-US: [leak]}
  flood:
    keywords: {zh-CN: [淹水], en-US: [flood]}
  agent:
    keywords: {zh-CN: [人工], en-US: [agent]}
global_choices:
  - {intent: flood, goto: urgent}
  - {dtmf: "0", intent: agent, goto: people}
nodes:
  menu:
    menu:
      prompt: {zh-CN: 请说出您的问题。, en-US: "What is the problem?"}
      choices:
        - {dtmf: "1", intent: leak, goto: meter}
  meter:
    gather:
      prompt: {zh-CN: 请输入水表号。, en-US: Key in your meter number.}
      slot: {name: meter, type: digits, min_length: 6, max_length: 8}
      next: lookup
  lookup:
    transfer: {target: "queue:repairs", reason: meter_system_down}
  urgent:
    transfer: {target: "queue:urgent", reason: crisis}
  people:
    transfer: {target: "queue:general", reason: caller_request}
summary:
  intents:
    leak:
      label: {zh-CN: 报修漏水, en-US: report a leak}
      needs: [meter]
      next_action: {zh-CN: "派人检修水表{meter}", en-US: "Send a plumber to meter {meter}"}
      next_action_missing: {zh-CN: 先问水表号, en-US: Take the meter number first}
    flood:
      label: {zh-CN: 房屋进水, en-US: flooding}
      crisis: true
      next_action: {zh-CN: 立即派出抢修队, en-US: Send the emergency crew now}
  slots:
    meter: {zh-CN: 水表号, en-US: meter number}
  transfer_reasons:
    meter_system_down: {zh-CN: 水表系统不可用, en-US: meter system down}
"""


@pytest.fixture
def water(tmp_path: Path) -> Dialplan:
    path = tmp_path / "water.yaml"
    path.write_text(PLAN, encoding="utf-8")
    return load_dialplan(path).plan


def call(*turns: dict, reason: str = "meter_system_down", language: str = "zh-CN") -> dict:
    rows = [{"seq": i + 1, "outcome": "match", "input_mode": "speech", **t}
            for i, t in enumerate(turns)]
    return {"id": "w1", "caller": "13900000000", "dialplan": "water-utility",
            "language": language, "turns": rows,
            "events": [{"id": 1, "type": "transfer",
                        "data": {"target": "queue:repairs", "reason": reason}}]}


def test_a_new_dialplan_is_summarised_in_its_own_words(water: Dialplan) -> None:
    leak = {"node": "menu", "caller_text": "家里漏水了", "intent": "leak"}
    keyed = {"node": "meter", "input_mode": "dtmf", "dtmf": "1234567",
             "slots": {"meter": "1234567"}}
    s = summarise(call(leak, keyed), [], water)
    assert s.intent_label == "报修漏水"
    assert s.intent_labels == {"zh": "报修漏水", "en": "report a leak"}
    assert s.escalation_text == "流程转接：水表系统不可用"
    assert s.next_action == "派人检修水表1234567"
    zh, en = render_text(s, "zh-CN"), render_text(s, "en-US")
    assert "已收集：水表号1234567（已核实）" in zh and "建议：派人检修水表1234567" in zh
    assert "Collected: meter number 1234567 (verified)" in en
    assert "Next: Send a plumber to meter 1234567" in en
    assert render_text(s, "en-US", whisper=True) == "Report a leak, meter system down."
    # the meter number not yet taken
    assert summarise(call(leak), [], water).next_action == "先问水表号"


def test_a_crisis_intent_of_a_new_dialplan_is_urgent(water: Dialplan) -> None:
    flood = {"node": "menu", "caller_text": "房子淹水了", "intent": "flood",
             "emotion": {"anger": 0.7, "distress": 0.9, "label": "fearful"}}
    agent = {"node": "menu", "caller_text": "转人工", "intent": "agent"}
    s = summarise(call(flood, agent, reason="crisis"), [], water)
    assert s.intent == "flood" and s.escalation_reason == "crisis"
    assert s.next_action == "立即派出抢修队"  # angry, but no apology in an emergency
    assert render_text(s, "en-US", whisper=True).startswith("URGENT, flooding")


def test_what_a_dialplan_does_not_name_falls_back_to_words(water: Dialplan) -> None:
    agent = {"node": "menu", "caller_text": "转人工", "intent": "agent"}
    s = summarise(call(agent, reason="caller_request"), [], water)
    assert s.intent_labels == {"zh": "转人工服务", "en": "speak to an agent"}
    assert s.next_action == "问候来电者并询问需要什么帮助"
    other = {"node": "menu", "caller_text": "水质", "intent": "water_quality"}
    s = summarise(call(other, reason="lab_closed"), [], water)
    assert s.intent_label == "water quality" and s.escalation_text == "流程转接：lab closed"


def test_summary_of_an_unknown_intent_is_a_load_error(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(PLAN.replace("    flood:\n      label", "    flod:\n      label"), "utf-8")
    with pytest.raises(DialplanError) as e:
        load_dialplan(path)
    issue = e.value.issues[0]
    assert issue.code == "undefined" and "summary.intents.flod: unknown intent 'flod'" in str(issue)


def test_needs_names_slots(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(PLAN.replace("needs: [meter]", "needs: [meter number]"), "utf-8")
    with pytest.raises(DialplanError, match="invalid slot name"):
        load_dialplan(path)


# ------------------------------------------------------------------ summarised without the plan
def test_without_the_plan_the_shipped_dialplan_of_the_call_names_things() -> None:
    """The API and the agent desk summarise stored calls without the served plan."""
    call_, history = fixture("summaries/zh_bank_verified")
    s = summarise(call_, history, None)
    assert s.intent_labels == {"zh": "挂失银行卡", "en": "report a lost card"}
    assert s.escalation_text == "流程转接：冻结系统不可用"
    assert "卡号后四位6789" in render_text(s, "zh-CN")
    assert shipped_phrasebook("hotline") is shipped_phrasebook("xinghe-telecom-hotline")
    assert phrasebook_for(None, "no-such-dialplan") is GENERIC
    call_["dialplan"] = "someone-elses-bank"
    s = summarise(call_, history, None)
    assert s.intent_label == "lost card" and s.escalation_text == "流程转接：freeze unavailable"


def test_the_phrasebook_is_not_part_of_the_facts() -> None:
    call_, history = fixture("summaries/zh_clinic_crisis")
    facts = summarise(call_, history, plan_named(call_["dialplan"])).as_dict()
    assert "phrasebook" not in facts
    assert list(facts)[-3:] == ["key_utterances", "dissatisfied_turns", "completed"]
    json.dumps(facts, ensure_ascii=False)
