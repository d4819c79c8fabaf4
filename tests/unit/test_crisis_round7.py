"""Crisis wording of issue 17 round 7 (H3): a packet of pills taken, a tight chest with
breathlessness (a heart's warning, chest pain before breathing), and the English degree
figure of an everyday cause ("I laughed so hard I couldn't breathe"), which is no crisis
while crying so hard is one."""

from __future__ import annotations

import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.understanding.intents import match_intents, normalise, score_intent
from ivr.understanding.negation import negated_at, starts

CRISIS = ("self_harm", "chest_pain", "breathing")


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan


def language_of(text: str) -> str:
    return "zh-CN" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en-US"


def crisis_score(plan: Dialplan, text: str) -> float:
    return max(score_intent(text, plan.intents[i], language_of(text))[0] for i in CRISIS)


@pytest.mark.parametrize(("text", "intent"), [
    ("I took a whole packet of tablets an hour ago", "self_harm"),
    ("she's taken a box of sleeping pills", "self_harm"),
    ("I've taken all my heart pills at once", "self_harm"),
    ("胸口闷得慌喘不上气", "chest_pain"),  # in one clause (across a comma: breathing)
    ("我爸心口疼得喘不过气来", "chest_pain"),
    ("胸闷喘不过气", "chest_pain"),
    ("我喘不上气", "breathing"),  # breathlessness alone stays breathing
])
def test_round_7_crisis_wording_reaches_its_intent_first(plan: Dialplan, text: str,
                                                         intent: str) -> None:
    language = language_of(text)
    best = match_intents(text, plan.intents, language)[0]
    assert best.intent == intent and best.score >= 0.85


@pytest.mark.parametrize("text", [
    "I laughed so hard I couldn't breathe", "we were laughing till we could hardly breathe",
    "I ran so fast I couldn't breathe, anyway what's my balance",
    "I bought a packet of crisps with my last credit",
])
def test_an_everyday_cause_s_degree_is_no_crisis(plan: Dialplan, text: str) -> None:
    assert crisis_score(plan, text) < plan.defaults.confirm_threshold  # type: ignore[operator]


@pytest.mark.parametrize("text", [
    "I cried so hard I couldn't breathe", "I'm panicking so much I can't breathe",
    "I can't breathe", "my chest hurts so much I can't breathe",
])
def test_distress_is_no_figure_of_speech(plan: Dialplan, text: str) -> None:
    assert crisis_score(plan, text) >= 0.85


def test_the_english_figure_looks_only_right_before_the_phrase() -> None:
    text = normalise("I laughed so hard I couldn't breathe", "en-US")
    at = starts(text, "couldn t breathe", False)[0]
    assert negated_at(text, at, False)
    text = normalise("I laughed so hard, then later I couldn't breathe at all", "en-US")
    at = starts(text, "couldn t breathe", False)[0]
    assert not negated_at(text, at, False)  # "later" stands between: not the same figure
