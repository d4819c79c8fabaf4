"""A question a service intent heard at a menu with `questions` goes to the answer node when
the knowledge base answers it better (ivr.dialplan.question_service). The dialplan is real;
the knowledge base and the intents' meaning are scripted."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ivr.dialplan.actions import CallerInput, Understanding
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.dialplan.question_service import (
    LEAD,
    OFFER_BAND,
    STATEMENT_LEAD,
    UNSURE_BAND,
    offer_over_unsure,
    over_service,
)
from ivr.understanding.knowledge import Entry, Hit
from tests.unit.inline_plans import DEFAULTS_HEAD, QUESTIONS_NODES, questions_plan

HEAD = DEFAULTS_HEAD + """
intents:
  bill:
    keywords: {zh-CN: [话费], en-US: [bill, cost]}
  question:
    keywords: {zh-CN: [咨询], en-US: [question]}
  english:
    keywords: {zh-CN: [英语], en-US: [english]}
  agent:
    keywords: {zh-CN: [转人工], en-US: [agent]}
  crisis:
    semantic: false
    keywords: {zh-CN: [不想活], en-US: [end my life]}
global_choices:
  - {dtmf: "0", intent: agent, goto: agent}
"""
NODES = QUESTIONS_NODES.format(extra="""\
      - {dtmf: "9", intent: english, language: en-US, goto: s}
      - {dtmf: "7", intent: crisis, goto: agent}
""")
# the entries the scripted base finds, (id, fused score, meaning), best first
FOUND = {
    "how much does roaming cost": [("roaming_prices", 0.96, 0.93), ("roaming_data", 0.90, 0.88)],
    "how much is my bill": [("payment_methods", 0.92, 0.85), ("auto_pay", 0.85, 0.84)],
    "what does roaming cost": [("roaming_prices", 0.96, 0.88), ("roaming_data", 0.90, 0.86)],
    "what's the weather like": [("hours", 0.70, 0.70)],
    "I forgot my wifi password and the bill": [("wifi", 0.97, 0.96), ("router", 0.9, 0.86)],
    "my bill please": [("payment_methods", 0.93, 0.90), ("auto_pay", 0.85, 0.84)],
}
SERVICE = 0.88  # the bill's nearest example, for every utterance


class FakeIndex:
    def __init__(self) -> None:
        self.searched: list[str] = []

    def search(self, question: str, meaning: Any = None, k: int = 3) -> list[Hit]:
        self.searched.append(question)
        return [Hit(Entry(id=i, title=i, questions=(i,), answer=i), s, m, 0.0)
                for i, s, m in FOUND.get(question, [])][:k]


class FakeLibrary:
    def __init__(self) -> None:
        self.ix = FakeIndex()

    def index(self, folder: str, language: str) -> FakeIndex:
        return self.ix


class FakeMeaning:
    """The intents' examples: the service is SERVICE near whatever is said."""

    def scores(self, meaning: Any, language: str, candidates: Sequence[str]
               ) -> list[tuple[str, float]]:
        return [(c, SERVICE) for c in candidates]


@pytest.fixture
def plan(tmp_path: Path) -> Dialplan:
    return load_dialplan(questions_plan(tmp_path, NODES, HEAD)).plan


@pytest.fixture
def library() -> FakeLibrary:
    return FakeLibrary()


def heard(plan: Dialplan, library: FakeLibrary | None, text: str, intent: str = "bill",
          taken: bool = True, node: str = "s") -> Any:
    n = plan.nodes[node]
    assert n.menu is not None
    choice = next((c for c in [*n.menu.choices, *plan.global_choices] if c.intent == intent),
                  None) if taken else None
    u = (Understanding("match", intent, 0.89, choice=choice.goto) if choice is not None
         else Understanding("no_match", intent, 0.5))
    return over_service(plan, n, CallerInput("speech", text), "en-US", [1.0], FakeMeaning(),  # type: ignore[arg-type]
                        library, choice, u)  # type: ignore[arg-type]


def test_a_question_nearer_an_entry_takes_the_route_to_the_answer_node(
        plan: Dialplan, library: FakeLibrary) -> None:
    routed = heard(plan, library, "how much does roaming cost")
    assert routed is not None
    choice, u = routed
    assert (choice.intent, choice.goto) == ("question", "ask")
    assert (u.outcome, u.intent, u.choice) == ("match", "question", "ask")
    # a "did you mean <bill>?" the menu is about to ask is not second-guessed
    assert heard(plan, library, "how much does roaming cost", taken=False) is None


def test_a_question_nearer_the_service_stays_with_it(plan: Dialplan,
                                                     library: FakeLibrary) -> None:
    assert LEAD["en"] - OFFER_BAND["en"] > 0.85 - SERVICE  # not even close to the entry
    assert heard(plan, library, "how much is my bill") is None


def test_a_question_the_base_cannot_answer_stays_with_the_service(
        plan: Dialplan, library: FakeLibrary) -> None:
    assert heard(plan, library, "what's the weather like") is None


def test_a_request_needs_a_much_larger_lead_than_a_question(
        plan: Dialplan, library: FakeLibrary) -> None:
    assert LEAD["en"] <= 0.90 - SERVICE < STATEMENT_LEAD["en"]
    assert heard(plan, library, "my bill please") is None  # a request: the small lead is not enough
    assert STATEMENT_LEAD["en"] <= 0.96 - SERVICE
    assert heard(plan, library, "I forgot my wifi password and the bill") is not None


def test_global_crisis_and_language_choices_are_never_second_guessed(
        plan: Dialplan, library: FakeLibrary) -> None:
    text = "how much does roaming cost"
    assert heard(plan, library, text, intent="agent") is None  # a global choice
    assert heard(plan, library, text, intent="crisis") is None  # never matched by meaning
    assert heard(plan, library, text, intent="english") is None  # a language switch
    assert heard(plan, library, text, intent="question") is None  # already the route
    assert library.ix.searched == []


def test_nothing_without_meaning_a_knowledge_base_or_questions(
        plan: Dialplan, library: FakeLibrary) -> None:
    node = plan.nodes["s"]
    bill = node.menu.choices[0]  # type: ignore[union-attr]
    u = Understanding("match", "bill", 0.89, choice="bill")
    event = CallerInput("speech", "how much does roaming cost")
    assert over_service(plan, node, event, "en-US", None, FakeMeaning(), library, bill, u) is None  # type: ignore[arg-type]
    assert over_service(plan, node, event, "en-US", [1.0], None, library, bill, u) is None
    assert over_service(plan, node, CallerInput("dtmf", "1"), "en-US", [1.0],
                        FakeMeaning(), library, bill, u) is None  # type: ignore[arg-type]
    menu = node.menu.model_copy(update={"questions": None})  # type: ignore[union-attr]
    without = node.model_copy(update={"menu": menu})
    assert over_service(plan, without, event, "en-US", [1.0], FakeMeaning(),  # type: ignore[arg-type]
                        library, bill, u) is None
    assert heard(plan, None, "how much does roaming cost") is None  # no knowledge base



def test_a_close_question_is_offered_both_ways(plan: Dialplan, library: FakeLibrary,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Just short of LEAD (within OFFER_BAND), with a confident answer: "<bill>, or
    <roaming prices>?" (service_or_answer), a no-match naming the service and the entry.
    The band is off in the shipped code (it asked requests taken before): the service."""
    assert OFFER_BAND["en"] == 0.0
    assert heard(plan, library, "what does roaming cost") is None
    monkeypatch.setitem(OFFER_BAND, "en", 0.02)
    assert LEAD["en"] - OFFER_BAND["en"] <= 0.88 - SERVICE < LEAD["en"]
    offered = heard(plan, library, "what does roaming cost")
    assert offered is not None
    choice, u = offered
    assert choice is None
    assert (u.outcome, u.intent, u.answer) == ("no_match", "bill", "roaming_prices")


def test_an_unsure_service_is_offered_beside_a_confident_entry(
        plan: Dialplan, library: FakeLibrary) -> None:
    node = plan.nodes["s"]
    event = CallerInput("speech", "how much is my bill")
    assert UNSURE_BAND["en"] >= LEAD["en"] - (0.85 - SERVICE)
    u = offer_over_unsure(plan, node, event, "en-US", [1.0], FakeMeaning(), library,  # type: ignore[arg-type]
                          "bill", 0.6)
    assert u is not None and (u.outcome, u.intent, u.answer) == ("no_match", "bill",
                                                                  "payment_methods")
    event = CallerInput("speech", "what's the weather like")  # the base is not confident
    assert offer_over_unsure(plan, node, event, "en-US", [1.0], FakeMeaning(), library,  # type: ignore[arg-type]
                             "bill", 0.6) is None
