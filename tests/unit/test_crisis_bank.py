"""The built-in crisis bank (issue 17 round 10): its wordings join the recall classifier's
rows of the crisis intent of each kind, the kind read from the dialplan's own phrase rules
(never its intent names); its figures of speech are a class that is never a crisis."""

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
from ivr.dialplan.recognition import OFF_TOPIC, semantic_examples, understand
from ivr.understanding.crisis_bank import FIGURATIVE, bank, bank_rows, kinds_of
from ivr.understanding.semantic import PHRASE_CLASS, SemanticIndex

NOW = dt.datetime(2026, 12, 7, 10, 0)


def _plan(name: str) -> Dialplan:
    return load_dialplan(REPO_ROOT / "dialplans" / name).plan


@pytest.fixture(scope="module")
def hotline() -> Dialplan:
    return _plan("hotline.yaml")


def test_every_kind_has_both_languages_and_no_duplicates() -> None:
    kinds, figurative = bank()
    assert {"self_harm", "heart", "breathing"} <= set(kinds)
    for per in [*kinds.values(), figurative]:
        assert set(per) == {"zh", "en"}
        for rows in per.values():
            assert len(rows) == len(set(rows)) >= 8


def test_kinds_are_read_from_the_rules_not_the_names(hotline: Dialplan) -> None:
    assert kinds_of(hotline) == {"self_harm": "self_harm", "heart": "chest_pain",
                                 "breathing": "breathing"}
    renamed = hotline.model_copy(deep=True)
    renamed.intents = {("urgent_a" if k == "chest_pain" else k): v
                       for k, v in renamed.intents.items()}
    renamed.global_choices = [c.model_copy(update={"intent": "urgent_a"})
                              if c.intent == "chest_pain" else c
                              for c in renamed.global_choices]
    assert kinds_of(renamed)["heart"] == "urgent_a"


def test_clinic_takes_the_stroke_rows_the_hotline_has_no_intent_for(hotline: Dialplan) -> None:
    assert kinds_of(_plan("clinic.yaml"))["stroke"] == "stroke"
    assert "stroke" not in kinds_of(hotline)


def test_a_dialplan_without_crisis_intents_gets_no_rows() -> None:
    assert bank_rows(_plan("bank.yaml"), "zh-CN") == []


def test_a_dialplan_with_a_short_off_topic_list_gets_no_rows() -> None:
    clinic = _plan("clinic.yaml")  # crisis intents of every kind, no off-topic list
    assert kinds_of(clinic) and bank_rows(clinic, "en-US") == []


def test_rows_join_the_recall_classes_only(hotline: Dialplan) -> None:
    rows = semantic_examples(hotline)["en-US"]
    crisis = [t for o, t in rows if o == PHRASE_CLASS + "chest_pain"]
    assert "crushing chest pain" in crisis
    assert any(o == PHRASE_CLASS + FIGURATIVE for o, _ in rows)
    assert not any(t == "crushing chest pain" for o, t in rows
                   if not o.startswith(PHRASE_CLASS))
    assert all(o != PHRASE_CLASS + FIGURATIVE for o, _ in bank_rows(hotline, "fr-FR"))


@dataclass(frozen=True)
class Fixed:
    probs: dict[str, float]

    def probabilities(self, meaning: Any) -> dict[str, float]:
        return self.probs


def _heard(plan: Dialplan, text: str, recall: dict[str, float]) -> str | None:
    main = Fixed({OFF_TOPIC: 0.6, "bill_enquiry": 0.4})
    ix = SemanticIndex({}, {}, {"en-US": main}, {"en-US": Fixed(recall)})  # type: ignore[dict-item]
    choice, _ = understand(plan, plan.nodes["main_menu"], CallerInput("speech", text, 1.0),
                           "en-US", None, NOW, np.zeros(384, np.float32), ix)
    return choice.intent if choice else None


def test_the_figurative_class_is_never_a_crisis(hotline: Dialplan) -> None:
    text = "the whole business with the neighbours is unbearable to me"
    assert _heard(hotline, text, {PHRASE_CLASS + FIGURATIVE: 0.9, OFF_TOPIC: 0.1}) is None
    # nor does it count towards the crisis classes' sum or lead
    assert _heard(hotline, text, {PHRASE_CLASS + FIGURATIVE: 0.45,
                                  PHRASE_CLASS + "self_harm": 0.5, OFF_TOPIC: 0.05}) is None
    assert _heard(hotline, text, {PHRASE_CLASS + "self_harm": 0.9, OFF_TOPIC: 0.1}) == "self_harm"
