"""Crisis phrases, round 2: the WAYS callers say a crisis that round 1 under-covered, one
family at a time (tests/fixtures/crisis/round_2/), and the near-crisis idioms each new rule
is checked against. Same pass rule as round 1 (tests/unit/test_crisis_phrases.py; both in
tests/unit/crisis_cases.py): a crisis wording reaches its intent at >= 0.85 and ranks first
at every menu of both plans (stroke: clinic only); an everyday wording stays below the
threshold on every crisis intent. Development set, written for these tests (the held-out
benchmark wordings were not looked at).

Decisions (also in the dialplans' comments):
- Someone collapsed, unconscious or not responding (晕倒了叫不醒, 没反应了, "collapsed",
  "won't wake up") is `breathing` (check the airway first); when the caller also names
  the chest (捂着胸口晕倒, "collapsed clutching his chest") it is `chest_pain`.
- Anger felt in the chest said of a complaint (气得我胸口疼, 气得我心口痛, 看到账单我心口一紧)
  is a complaint, like round 1's 这个价格让我心脏病都要犯了; a symptom named besides it
  (出冷汗, 喘不上气, 左臂发麻) still fires.
- Exertion and laughter (累得/忙得/跑得/笑得喘不过气, 跑得上气不接下气, "out of breath from
  running") are not `breathing`; 憋死我了 alone (North-Eastern: fed up, or bursting for the
  loo) is not a crisis, 憋得喘不上气 is.
- Hyperbole about bills and the network stays excluded (round 1): 贵得我想跳楼, 网慢得我想死,
  "this bill gave me a heart attack", "I'm drowning in bills".
- No sound-alike spellings are added for Chinese (the crisis intents stay `fuzzy: false`);
  ASR forms covered are missing punctuation and English without apostrophes.
"""

from __future__ import annotations

import pytest

from tests.unit.crisis_cases import (
    assert_reaches_its_intent,
    assert_reaches_no_crisis_intent,
    calm_cases,
    calm_wordings,
    crisis_cases,
    crisis_wordings,
)

FAMILIES = ("bystanders", "chest_symptoms", "breath_symptoms", "self_harm_indirect", "dialect",
            "asr_forms")
ROUND_2 = [w for family in FAMILIES for w in crisis_wordings(f"round_2/{family}.yaml")]
CALM_2 = calm_wordings("round_2/idioms_zh.yaml") + calm_wordings("round_2/idioms_en.yaml")


@pytest.mark.parametrize(("name", "text", "intent", "profile"), crisis_cases(ROUND_2))
def test_round_2_wording_reaches_its_intent_at_every_menu(name, text, intent, profile):
    assert_reaches_its_intent(name, text, intent, profile)


@pytest.mark.parametrize(("name", "text", "profile"), calm_cases(CALM_2))
def test_round_2_idioms_reach_no_crisis_intent(name, text, profile):
    assert_reaches_no_crisis_intent(name, text, profile)


def test_every_family_is_big_enough():
    for family in FAMILIES:
        assert len(crisis_wordings(f"round_2/{family}.yaml")) >= 15, family
    assert len(CALM_2) >= 40
