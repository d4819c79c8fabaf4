"""The menu's two-way question "<service>, or <entry>?" (ivr.dialplan.service_or_answer): asked
with the intent's label and the entry's title, answered by key, ordinal, naming either, no,
silence or a new request. The dialplan is real (inline); the knowledge base is scripted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ivr.dialplan.actions import CallerInput, NoInput, Say, SetVariables, Understanding
from ivr.dialplan.answering import ANSWER, Answering
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.service_or_answer import OFFER, ServiceOrAnswer, spoken_title
from ivr.dialplan.state import DialogState, Step
from ivr.dialplan.verbs import NodeWalker
from ivr.understanding.knowledge import Entry, Hit
from ivr.understanding.profiles import resolve_profiles
from tests.unit.inline_plans import DEFAULTS_HEAD, QUESTIONS_NODES, questions_plan

HEAD = DEFAULTS_HEAD + """
intents:
  bill:
    label: {zh-CN: 查询话费, en-US: check your bill}
    keywords: {zh-CN: [话费, 账单], en-US: [bill, balance]}
  question:
    keywords: {zh-CN: [咨询], en-US: [question]}
  agent:
    keywords: {zh-CN: [转人工], en-US: [agent]}
global_choices:
  - {dtmf: "0", intent: agent, goto: agent}
"""
ENTRIES = {"roaming_prices": {"en-US": "International roaming prices", "zh-CN": "国际漫游资费"},
           "hours": {"en-US": "Service hall opening hours", "zh-CN": "营业厅营业时间"}}
# what the scripted base finds for a reply: (id, fused score), best first
FOUND = {"the cost of calls abroad": [("roaming_prices", 0.97)],
         "when do you open": [("hours", 0.97), ("roaming_prices", 0.5)]}
QUESTION = "how much does roaming cost"


class FakeIndex:
    def search(self, question: str, meaning: Any = None, k: int = 3) -> list[Hit]:
        return [Hit(Entry(id=i, title=i, questions=(i,), answer=i), s, s, 0.0)
                for i, s in FOUND.get(question, [])][:k]


class FakeLibrary:
    def index(self, folder: str, language: str) -> FakeIndex:
        return FakeIndex()

    def entry(self, folder: str, language: str, entry_id: str) -> Entry | None:
        title = ENTRIES[entry_id][language]
        return Entry(id=entry_id, title=title, questions=(title,), answer=f"{title}: ...")


@pytest.fixture
def offer(tmp_path: Path) -> ServiceOrAnswer:
    plan = load_dialplan(questions_plan(tmp_path, QUESTIONS_NODES.format(extra=""), HEAD)).plan
    walker = NodeWalker(plan, resolve_profiles())
    library = FakeLibrary()
    return ServiceOrAnswer(walker, Answering(walker, library), library)  # type: ignore[arg-type]


def asked(offer: ServiceOrAnswer, language: str = "en-US") -> Step:
    u = Understanding("no_match", "bill", 0.8, answer="roaming_prices")
    return offer.ask(DialogState("s", language), offer.plan.nodes["s"], u, QUESTION)


def reply(offer: ServiceOrAnswer, step: Step, event: Any) -> Step | None:
    return offer.answered(step.state, offer.plan.nodes["s"], event, {})


def test_the_question_names_the_service_and_the_entry_and_listens_for_1_or_2(
        offer: ServiceOrAnswer) -> None:
    step = asked(offer)
    said = [a.text for a in step.actions if isinstance(a, Say)]
    assert said == ["Did you want to check your bill, or is it about: international roaming "
                    "prices? Press 1 to check your bill, or 2 for international roaming prices."]
    assert step.state.confirming == (OFFER, ("bill", "roaming_prices", 0, QUESTION))
    assert SetVariables({"offered": "bill|roaming_prices"}) in step.actions
    assert step.actions[-1].dtmf_choices == ("1", "2")  # type: ignore[attr-defined]
    assert step.understanding is not None and step.understanding.outcome == "no_match"
    zh = [a.text for a in asked(offer, "zh-CN").actions if isinstance(a, Say)]
    assert zh == ["请问您是要查询话费，还是想了解「国际漫游资费」？"
                  "查询话费请按1，了解国际漫游资费请按2。"]


@pytest.mark.parametrize("event", [CallerInput("dtmf", "1"), CallerInput("speech", "the first"),
                                   CallerInput("speech", "my bill please")])
def test_the_service_chosen(offer: ServiceOrAnswer, event: CallerInput) -> None:
    step = reply(offer, asked(offer), event)
    assert step is not None and step.state.node == "bill"
    assert step.understanding is not None and step.understanding.intent == "bill"
    assert step.state.variables["offer_taken"] == "bill"


@pytest.mark.parametrize("event", [CallerInput("dtmf", "2"), CallerInput("speech", "the second"),
                                   CallerInput("speech", "the roaming one"),
                                   CallerInput("speech", "the cost of calls abroad")])
def test_the_entry_chosen_is_answered_at_the_answer_node(offer: ServiceOrAnswer,
                                                         event: CallerInput) -> None:
    step = reply(offer, asked(offer), event)
    assert step is not None and step.state.node == "ask"
    assert step.state.confirming == (ANSWER, "roaming_prices")  # "did that answer it?"
    u = step.understanding
    assert u is not None and (u.outcome, u.intent, u.answer) == ("match", "question",
                                                                  "roaming_prices")
    assert step.state.variables["question"] == QUESTION


def test_chinese_naming_either(offer: ServiceOrAnswer) -> None:
    ask = asked(offer, "zh-CN")
    step = reply(offer, ask, CallerInput("speech", "漫游那个"))
    assert step is not None and step.state.node == "ask"
    step = reply(offer, ask, CallerInput("speech", "第一个"))
    assert step is not None and step.state.node == "bill"


def test_neither_is_a_failed_attempt_and_a_new_request_is_heard_as_such(
        offer: ServiceOrAnswer) -> None:
    step = reply(offer, asked(offer), CallerInput("speech", "neither"))
    assert step is not None and step.state.node == "s" and step.state.no_match == 1
    assert reply(offer, asked(offer), CallerInput("speech", "get me an agent")) is None
    assert reply(offer, asked(offer), CallerInput("dtmf", "0")) is None
    assert reply(offer, asked(offer), CallerInput("speech", "when do you open")) is None


def test_silence_asks_once_more_then_takes_the_service(offer: ServiceOrAnswer) -> None:
    again = reply(offer, asked(offer), NoInput())
    assert again is not None and again.state.confirming is not None
    assert again.state.confirming[0] == OFFER and again.state.confirming[1][2] == 1
    then = reply(offer, again, NoInput())
    assert then is not None and then.state.node == "bill"
    unclear = reply(offer, asked(offer), CallerInput("speech", "yes"))
    assert unclear is not None and unclear.state.confirming is not None  # asked again


def test_titles_in_an_english_sentence() -> None:
    assert spoken_title("International roaming prices", "en-US") == "international roaming prices"
    for kept in ("5G", "eSIM", "APN settings", "Wi-Fi password", "PUK code and locked SIM"):
        assert spoken_title(kept, "en-US") == kept
    assert spoken_title("国际漫游资费", "zh-CN") == "国际漫游资费"
