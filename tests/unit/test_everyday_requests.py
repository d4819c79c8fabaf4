"""Everyday requests as the off-topic class of a dialplan without one (issue 17, round 8):
added only below TOP_UP_TO requests of the dialplan's own, dropped when near one of its
examples, relabelled as the off-topic class, and the shipped hotline left as it was."""

from __future__ import annotations

from typing import Any

import numpy as np

from ivr.config import REPO_ROOT
from ivr.dialplan.in_passing import OFF_TOPIC
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.recognition import semantic_examples
from ivr.understanding.everyday_requests import (
    EVERYDAY,
    REQUESTS,
    TOP_UP_TO,
    everyday_for,
)
from ivr.understanding.semantic import SemanticIndex


def test_a_dialplan_with_its_own_list_gets_none() -> None:
    assert everyday_for("zh-CN", TOP_UP_TO) == []
    assert everyday_for("en-US", 0) == list(REQUESTS["en"])
    assert everyday_for("yue", 3) == list(REQUESTS["zh"])
    assert everyday_for("fr-FR", 0) == []


def test_the_shipped_hotline_is_left_as_it_was() -> None:
    plan = load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan
    for rows in semantic_examples(plan).values():
        assert not any(owner.startswith(EVERYDAY) for owner, _ in rows)


def test_a_dialplan_without_a_list_gets_them_as_everyday_rows() -> None:
    plan = load_dialplan(REPO_ROOT / "benchmarks" / "dialplans" / "utility.yaml").plan
    rows = semantic_examples(plan)["zh-CN"]
    assert (EVERYDAY + OFF_TOPIC, REQUESTS["zh"][0]) in rows
    assert not any(owner == OFF_TOPIC for owner, _ in rows)


def test_only_the_guard_learns_them_and_one_near_an_example_is_left_out() -> None:
    class Fixed:
        def query(self, texts: list[str]) -> Any:
            table = {"call me a taxi": [1.0, 0.0, 0.0], "get me a cab": [0.99, 0.141, 0.0],
                     "weather": [0.0, 1.0, 0.0], "book a ride": [0.95, 0.312, 0.0],
                     "my bill": [0.0, 0.0, 1.0]}
            return np.array([table[t] for t in texts], dtype=np.float32)

    index = SemanticIndex.build({"en-US": [
        ("taxi", "call me a taxi"), ("taxi", "book a ride"), ("bill", "my bill"),
        (EVERYDAY + OFF_TOPIC, "get me a cab"), (EVERYDAY + OFF_TOPIC, "weather")]},
        Fixed(), classify=True)
    assert index.owners["en-US"] == ["taxi", "taxi", "bill"]  # the intents' rows only
    assert set(index.classifiers["en-US"].classes) == {"taxi", "bill"}
    assert set(index.guard["en-US"].classes) == {"taxi", "bill", OFF_TOPIC}
    assert index.elsewhere(np.array([0.0, 1.0, 0.0]), "en-US", OFF_TOPIC) > 0.5
    assert index.elsewhere(np.array([1.0, 0.0, 0.0]), "en-US", OFF_TOPIC) < 0.2
    assert index.elsewhere(np.array([1.0, 0.0, 0.0]), "zh-CN", OFF_TOPIC) == 0.0
