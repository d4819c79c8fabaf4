"""Crisis recall by meaning (issue 17): crisis wording no phrase rule lists reaches the crisis
intent when the recall classifier is sure of it, never a figure of speech, laughter or a
denial; the classifier that decides between the service intents is trained without the
crisis rows. The recall classifier is a fake with fixed probabilities on the shipped hotline."""

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
from ivr.dialplan.recognition import CRISIS_RECALL, OFF_TOPIC, semantic_examples, understand
from ivr.understanding.crisis_recall import (
    CRISIS_ASK,
    CRISIS_ASK_LEAD,
    CRISIS_RECALL_LEAD,
    CRISIS_RECALL_LEADING,
    CRISIS_RECALL_MIN_ASR,
)
from ivr.understanding.semantic import PHRASE_CLASS, SemanticIndex

NOW = dt.datetime(2026, 12, 7, 10, 0)


@dataclass(frozen=True)
class Fixed:
    probs: dict[str, float]

    def probabilities(self, meaning: Any) -> dict[str, float]:
        return self.probs


def recalls(language: str, **probs: float) -> SemanticIndex:
    """An index whose intent classifier is unsure (off-topic) and whose recall classifier
    gives `probs` (crisis intents by name)."""
    phrase = {(PHRASE_CLASS + k if k in ("self_harm", "chest_pain", "breathing") else
               OFF_TOPIC if k == "off_topic" else k): v for k, v in probs.items()}
    main = Fixed({OFF_TOPIC: 0.6, "bill_enquiry": 0.4})
    return SemanticIndex({}, {}, {language: main}, {language: Fixed(phrase)})  # type: ignore[dict-item]


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan


def heard(plan: Dialplan, text: str, language: str, ix: SemanticIndex,
          confidence: float = 1.0) -> tuple[str | None, Any]:
    choice, u = understand(plan, plan.nodes["main_menu"],
                           CallerInput("speech", text, confidence), language,
                           None, NOW, np.zeros(384, np.float32), ix)
    return (choice.intent if choice else None), u


@pytest.mark.parametrize(("text", "language", "intent"), [
    ("我活着就是给家里添麻烦", "zh-CN", "self_harm"),
    ("my nan's on the floor and she isn't answering me", "en-US", "breathing"),
    ("my grandad is gripping his chest", "en-US", "chest_pain"),
])
def test_crisis_wording_without_a_phrase_rule_is_recalled(plan: Dialplan, text: str,
                                                          language: str, intent: str) -> None:
    alone, _ = heard(plan, text, language, recalls(language, off_topic=0.9, **{intent: 0.1}))
    assert alone != intent  # the words alone miss it
    got, u = heard(plan, text, language, recalls(language, off_topic=0.15, **{intent: 0.85}))
    assert (got, u.outcome) == (intent, "match")


def test_no_crisis_by_meaning_from_a_doubtful_transcript(plan: Dialplan) -> None:
    """Misheard speech (an angry caller in another language, ASR confidence 0.43) can lean
    towards a crisis class: only a transcript heard clearly is recalled by meaning."""
    text = "The Latin League of them I shrunk!"
    sure = recalls("en-US", self_harm=0.85, off_topic=0.15)
    assert heard(plan, text, "en-US", sure, confidence=CRISIS_RECALL_MIN_ASR)[0] == "self_harm"
    got, _ = heard(plan, text, "en-US", sure, confidence=0.43)
    assert got != "self_harm"


def test_the_crisis_classes_are_added_up_but_must_lead(plan: Dialplan) -> None:
    text = "my grandad is gripping his chest"
    got, _ = heard(plan, text, "en-US", recalls("en-US", chest_pain=0.45, breathing=0.35,
                                                 off_topic=0.2))
    assert got == "chest_pain"  # 0.8 together, chest pain the most probable class
    got, _ = heard(plan, text, "en-US", recalls("en-US", chest_pain=0.3, breathing=0.3,
                                                 off_topic=0.4))
    assert got != "chest_pain"  # the off-topic class leads
    low = CRISIS_RECALL - 0.05
    got, _ = heard(plan, text, "en-US", recalls("en-US", chest_pain=low, off_topic=1 - low))
    assert got is None or got != "chest_pain"


@pytest.mark.parametrize(("text", "language"), [
    ("等了半天急死我了", "zh-CN"),  # an excluded phrase (急死): a figure of speech
    ("I'm bored to death waiting here", "en-US"),
    ("我妈笑得都快不行了", "zh-CN"),  # laughing
    ("I nearly died laughing at your music", "en-US"),
    ("我不是想自杀，我是想问话费", "zh-CN"),  # a crisis keyword heard only negated
    ("I'm not suicidal, I'm just asking about my bill", "en-US"),
])
def test_figures_of_speech_and_denials_are_not_recalled(plan: Dialplan, text: str,
                                                        language: str) -> None:
    got, _ = heard(plan, text, language, recalls(language, self_harm=0.9, off_topic=0.1))
    assert got not in ("self_harm", "chest_pain", "breathing")


def test_crisis_rows_train_the_recall_classifier_only(plan: Dialplan) -> None:
    examples = semantic_examples(plan)
    assert any(o == PHRASE_CLASS + "self_harm" for o, _ in examples["zh-CN"])

    class Hashed:
        def query(self, texts: list[str]) -> Any:
            rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=16) for t in texts]
            return np.array([r / np.linalg.norm(r) for r in rows], dtype=np.float32)

    small = {"en-US": [("bill", "my bill"), ("bill", "the bill"), (OFF_TOPIC, "the weather"),
                       (PHRASE_CLASS + "self_harm", "kill myself")]}
    index = SemanticIndex.build(small, Hashed(), classify=True)
    assert set(index.classifiers["en-US"].classes) == {"bill", OFF_TOPIC}
    assert PHRASE_CLASS + "self_harm" in index.recall["en-US"].classes
    assert index.recall_probabilities(np.zeros(16, np.float32), "zh-CN") == []


def test_a_heard_service_keyword_raises_the_bar(plan: Dialplan) -> None:
    text = "I ran out of airtime"  # the top-up's keyword
    got, _ = heard(plan, text, "en-US", recalls("en-US", self_harm=0.75, off_topic=0.25))
    assert got != "self_harm"
    got, _ = heard(plan, text, "en-US", recalls("en-US", self_harm=0.9, off_topic=0.1))
    assert got == "self_harm"


def test_a_clear_lead_is_as_sure_as_the_bar(plan: Dialplan) -> None:
    """The crisis classes' share falls as the other classes get examples: a crisis at
    CRISIS_RECALL_LEADING that leads every other class by CRISIS_RECALL_LEAD is taken."""
    text = "my nan is on the kitchen floor and won't answer me"
    lead = recalls("en-US", breathing=CRISIS_RECALL_LEADING, agent=0.1, off_topic=0.1)
    got, u = heard(plan, text, "en-US", lead)
    assert (got, u.outcome) == ("breathing", "match")
    close = recalls("en-US", breathing=CRISIS_RECALL_LEADING,
                    off_topic=CRISIS_RECALL_LEADING - CRISIS_RECALL_LEAD + 0.05)
    assert heard(plan, text, "en-US", close)[0] != "breathing"


def test_a_crisis_the_meaning_leans_to_is_asked_about_not_dropped(plan: Dialplan) -> None:
    """Recall first: below the bar but leaning to a crisis (CRISIS_ASK, leading by
    CRISIS_ASK_LEAD), the answer is a no-match naming the crisis intent at a score the
    confirmation asks about ("Did you mean risk of self-harm?")."""
    text = "I emptied the whole medicine drawer into my mouth"
    ix = recalls("en-US", self_harm=CRISIS_ASK + 0.05, off_topic=CRISIS_ASK - CRISIS_ASK_LEAD)
    got, u = heard(plan, text, "en-US", ix)
    assert got is None and (u.outcome, u.intent) == ("no_match", "self_harm")
    confirm = plan.defaults.confirm_threshold
    assert confirm is not None and confirm <= u.score < plan.defaults.intent_threshold
    flat = recalls("en-US", self_harm=CRISIS_ASK + 0.05, off_topic=CRISIS_ASK)
    assert heard(plan, text, "en-US", flat)[1].intent != "self_harm"  # no clear lead
    figure = recalls("zh-CN", self_harm=CRISIS_ASK + 0.1, off_topic=0.1)
    assert heard(plan, "气得我快背过气去了", "zh-CN", figure)[1].intent != "self_harm"


def test_no_crisis_question_over_a_heard_service_keyword(plan: Dialplan) -> None:
    got, u = heard(plan, "I ran out of airtime", "en-US",
                   recalls("en-US", self_harm=0.6, off_topic=0.1))
    assert u.intent != "self_harm"


@pytest.mark.parametrize(("text", "language"), [("9", "zh-CN"), ("嗯嗯", "zh-CN"),
                                                ("hello there", "en-US")])
def test_too_short_an_utterance_is_not_asked_about_a_crisis(plan: Dialplan, text: str,
                                                            language: str) -> None:
    """A digit said at a Mandarin menu leans to the crisis classes together (0.34 self-harm
    and more): only the bar itself takes a crisis from so little."""
    ix = recalls(language, self_harm=CRISIS_RECALL_LEADING + 0.05, off_topic=0.05)
    got, u = heard(plan, text, language, ix)
    assert got is None and u.score < plan.defaults.confirm_threshold  # type: ignore[operator]
    longer = "我刚才做了件傻事" if language == "zh-CN" else "I did something stupid tonight"
    assert heard(plan, longer, language, ix)[0] == "self_harm"  # said enough: it leads
