"""Crisis phrases of the shipped dialplans (hotline.yaml, clinic.yaml), round 1: every way
of saying it in tests/fixtures/crisis/round_1/ reaches the right crisis intent, and no
everyday idiom or ordinary request there reaches any crisis intent. Development set,
written for these tests (the held-out wordings the benchmarks use are kept apart).

A crisis wording must win at a menu like a caller would meet it: scored at least
`intent_threshold` and at least `GLOBAL_WINS` (so it also beats a slot value), and ranked
first among the menu's and the global choices. A wording flavoured by a dialect is checked
both with that dialect's profile and without one (the profile may not be known yet). The
wordings, the loader and both rules are in tests/unit/crisis_cases.py.
"""

from __future__ import annotations

import pytest

from ivr.understanding.intents import score_intent
from tests.unit.crisis_cases import (
    CRISIS,
    PLANS,
    assert_reaches_its_intent,
    assert_reaches_no_crisis_intent,
    calm_cases,
    calm_wordings,
    crisis_cases,
    crisis_wordings,
    language,
    plan,
)

CRISIS_WORDINGS = [w for file in ("crisis_zh", "crisis_en", "stroke")
                   for w in crisis_wordings(f"round_1/{file}.yaml")]
CALM_ZH = calm_wordings("round_1/idioms_zh.yaml")
CALM_EN = calm_wordings("round_1/idioms_en.yaml")
CALM_CLINIC = calm_wordings("round_1/idioms_clinic.yaml")  # clinic callers: the clinic only


def test_the_development_set_is_big_enough():
    assert len(crisis_wordings("round_1/crisis_zh.yaml", "first")) >= 40
    assert len(crisis_wordings("round_1/crisis_en.yaml", "first")) >= 40
    assert len(CALM_ZH) + len(calm_wordings("round_1/idioms_clinic.yaml", "zh")) >= 40
    assert len(CALM_EN) >= 40


@pytest.mark.parametrize(("name", "text", "intent", "profile"), crisis_cases(CRISIS_WORDINGS))
def test_crisis_wording_reaches_its_intent_at_every_menu(name, text, intent, profile):
    assert_reaches_its_intent(name, text, intent, profile)


@pytest.mark.parametrize("name", PLANS)
def test_the_dialplans_own_examples_reach_no_crisis_intent(name):
    """Every example of every other intent of both plans: ordinary requests, by the plans'
    own authors."""
    p = plan(name)
    for other, it in p.intents.items():
        if other in CRISIS:
            continue
        examples = it.examples if isinstance(it.examples, dict) else {"": it.examples}
        for text in (t for texts in examples.values() for t in texts):
            for intent in CRISIS & set(p.intents):
                score, why = score_intent(text, p.intents[intent], language(text))
                assert score < 0.4, (other, text, intent, why)


@pytest.mark.parametrize(("name", "text", "profile"),
                         calm_cases(CALM_ZH + CALM_EN) + calm_cases(CALM_CLINIC, ("clinic",)))
def test_everyday_speech_reaches_no_crisis_intent(name, text, profile):
    assert_reaches_no_crisis_intent(name, text, profile)
