"""The intent classifier on e5 vectors (`semantic.method: classifier`): deterministic, cached and
fast training, probabilities, the decision at a node, weak words overruled by a clear meaning
(never a crisis intent's words), and `nearest` still available."""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.conversation import Conversation
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.dialplan.recognition import (
    OFF_TOPIC,
    by_meaning,
    choices_at,
    meant,
    overruled_by_meaning,
)
from ivr.understanding import intent_classifier
from ivr.understanding.intents import IntentMatch
from ivr.understanding.semantic import SemanticIndex

HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"


def hotline(**semantic: object) -> Dialplan:
    plan = load_dialplan(HOTLINE).plan.model_copy(deep=True)
    plan.semantic.enabled = True
    for key, value in semantic.items():
        setattr(plan.semantic, key, value)
    return plan


@functools.cache
def engine_for(method: str) -> DialogEngine:
    """The hotline's engine matching by meaning with `method` (built once per module)."""
    return DialogEngine(hotline(method=method))


def clusters(n: int = 200, dim: int = 384, k: int = 10, seed: int = 7
             ) -> tuple[np.ndarray, list[str]]:
    """`n` unit vectors around `k` random centres (the hotline's size per language), and their
    labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    labels = [f"c{i % k}" for i in range(n)]
    x = centres[[i % k for i in range(n)]] + 2.0 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


def test_training_is_fast_deterministic_and_cached() -> None:
    x, labels = clusters()
    started = time.perf_counter()
    first = intent_classifier.train(x, labels)
    assert time.perf_counter() - started < 1.0  # ~0.1 s on one core
    with intent_classifier._one_thread():
        again = intent_classifier._fit(x.astype(np.float64), labels)
    assert np.array_equal(first.weights, again.weights)
    assert intent_classifier.train(x.copy(), labels) is first
    assert intent_classifier.train(x, labels[::-1]) is not first


def test_probabilities_sum_to_one_and_name_the_training_class() -> None:
    x, labels = clusters()
    model = intent_classifier.train(x[:-8], labels[:-8])
    for row, label in zip(x[-8:], labels[-8:], strict=True):  # unseen rows
        probs = model.probabilities(row)
        assert set(probs) == set(labels)
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
        assert max(probs, key=probs.__getitem__) == label


def test_the_hotline_trains_one_classifier_per_language_without_crisis_intents() -> None:
    index = engine_for("classifier").semantic
    assert index is not None and set(index.classifiers) == {"zh-CN", "en-US"}
    for model in index.classifiers.values():
        assert OFF_TOPIC in model.classes
        assert not {"self_harm", "chest_pain", "breathing"} & set(model.classes)
    nearest = engine_for("nearest").semantic
    assert nearest is not None and nearest.classifiers == {}


@pytest.mark.parametrize(("method", "language", "text", "intent"), [
    ("classifier", "zh-CN", "路由器一直闪红灯", "broadband_fault"),
    ("classifier", "en-US", "can I pay for more minutes", "top_up"),
    ("classifier", "zh-CN", "今天北京天气怎么样", None),
    ("classifier", "en-US", "recommend a good restaurant for tonight", None),
    ("nearest", "zh-CN", "路由器一直闪红灯", "broadband_fault"),
    ("nearest", "zh-CN", "今天北京天气怎么样", None),
])
def test_meaning_at_the_main_menu(method: str, language: str, text: str,
                                  intent: str | None) -> None:
    engine = engine_for(method)
    plan = engine.plan
    assert engine.semantic is not None
    state = engine.start(language=language).state
    meant = by_meaning(plan, engine.semantic, engine.meaning(text, state), language,
                       choices_at(plan, plan.nodes["main_menu"]))
    assert (meant[1].intent if meant else None) == intent
    if meant:
        assert plan.defaults.intent_threshold <= meant[1].score < 1.0


def test_weak_words_give_way_to_a_clear_meaning() -> None:
    text = "手机没钱了，整点话费"  # the bill's keyword 话费 (0.89), but a top-up is meant
    with Conversation(hotline()) as conv:
        conv.start()
        turn = conv.say_text(text)
        assert (turn.outcome, turn.intent) == ("match", "top_up")
    with Conversation(hotline(overrule_words_below=None)) as conv:
        conv.start()
        assert conv.say_text(text).intent == "bill_enquiry"


def test_crisis_words_are_never_overruled() -> None:
    engine = engine_for("classifier")
    plan = engine.plan
    assert engine.semantic is not None
    state = engine.start().state
    choices = choices_at(plan, plan.nodes["main_menu"])
    meaning = engine.meaning("手机没钱了，整点话费", state)
    crisis = IntentMatch("chest_pain", 0.6, "胸口疼")
    assert overruled_by_meaning(plan, engine.semantic, meaning, "zh-CN", choices, crisis) is None
    weak = IntentMatch("bill_enquiry", 0.6, "话费")
    over = overruled_by_meaning(plan, engine.semantic, meaning, "zh-CN", choices, weak)
    assert over is not None and over[1].intent == "top_up"
    strong = IntentMatch("bill_enquiry", 0.95, "查话费")
    assert overruled_by_meaning(plan, engine.semantic, meaning, "zh-CN", choices, strong) is None


def test_a_language_with_a_single_intent_is_decided_by_its_nearest_example() -> None:
    plan = engine_for("classifier").plan
    rows = np.eye(3, dtype=np.float32)[:2]
    index = SemanticIndex({"en-US": rows}, {"en-US": ["top_up", "top_up"]})  # no classifier
    choices = choices_at(plan, plan.nodes["main_menu"])
    decision = meant(plan, index, rows[1], "en-US", choices)
    assert decision is not None and decision.intent == "top_up"
