"""Crisis phrases heard with a pronoun, a particle or a hesitation slipped in (issue 17,
round 8: `crisis_thinned`), and harm verbs done to a thing as figures of speech
(`negation`). The intent classifier is a fake that is sure of nothing crisis-like, so
only the phrase rules decide."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.actions import CallerInput
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.dialplan.recognition import OFF_TOPIC, understand
from ivr.understanding.crisis_thinned import crisis_thinned, thinned
from ivr.understanding.negation import negated_at
from ivr.understanding.semantic import SemanticIndex

NOW = dt.datetime(2026, 12, 7, 18, 0)
CRISIS = ["self_harm", "chest_pain", "breathing"]


@dataclass(frozen=True)
class Fixed:
    probs: dict[str, float]

    def probabilities(self, meaning: Any) -> dict[str, float]:
        return self.probs


def unsure(language: str) -> SemanticIndex:
    """Both classifiers lean off-topic: no crisis by meaning, no service by meaning."""
    fixed = Fixed({OFF_TOPIC: 0.55, "bill_enquiry": 0.45})
    return SemanticIndex({}, {}, {language: fixed}, {language: fixed})  # type: ignore[dict-item]


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan


def heard(plan: Dialplan, text: str, language: str) -> str | None:
    choice, _ = understand(plan, plan.nodes["main_menu"], CallerInput("speech", text, 1.0),
                           language, None, NOW, np.zeros(384, np.float32), unsure(language))
    return choice.intent if choice else None


def test_thinning_takes_out_only_the_words_slipped_in() -> None:
    assert thinned("我奶奶倒在地上叫她也不答应啊", True) == "我奶奶倒在地上叫也不答应"
    assert thinned("my mum's chest is, er, sort of squeezing", False) == (
        "my mum's chest is squeezing")
    assert thinned("我不想活了", True) == "我不想活了"  # 我, 不, 了 carry the meaning


@pytest.mark.parametrize(("text", "language", "intent"), [
    ("我奶奶突然倒在地上叫她也不答应", "zh-CN", "breathing"),
    ("my mum's chest is, er, sort of squeezing and she feels sick", "en-US", "chest_pain"),
])
def test_a_crisis_phrase_with_a_word_slipped_in_is_heard(plan: Dialplan, text: str,
                                                         language: str, intent: str) -> None:
    assert crisis_thinned(plan, language, None, text, CRISIS) is not None
    assert heard(plan, text, language) == intent


@pytest.mark.parametrize(("text", "language"), [
    ("我叫他们退钱他们也不答应", "zh-CN"),  # a refused refund, not someone unresponsive
    ("I laughed so, um, hard I couldn't breathe", "en-US"),  # laughter, said otherwise
    ("it's, like, killing me how slow this is", "en-US"),
])
def test_thinning_makes_no_crisis_of_a_complaint(plan: Dialplan, text: str,
                                                 language: str) -> None:
    assert heard(plan, text, language) not in CRISIS


@pytest.mark.parametrize(("text", "verb", "figure"), [
    ("honestly the wifi is suffocating my work", "suffocating", True),
    ("these charges are strangling the business", "strangling", True),
    ("the kids are killing our data allowance", "killing", True),
    ("he is choking my son", "choking", False),
    ("it is crushing my chest", "crushing", False),
    ("someone is strangling her right now", "strangling", False),
])
def test_harm_done_to_a_thing_is_a_figure_of_speech(text: str, verb: str,
                                                    figure: bool) -> None:
    assert negated_at(text, text.split().index(verb), False) is figure


def test_suffocating_work_is_not_a_breathing_crisis(plan: Dialplan) -> None:
    assert heard(plan, "honestly the wifi is suffocating my work", "en-US") != "breathing"
    assert heard(plan, "help, my son is suffocating", "en-US") == "breathing"
