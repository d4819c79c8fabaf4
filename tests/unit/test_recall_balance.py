"""Class balance in training (`intent_classifier.train(balance=...)`), which the crisis recall
classifier can use (`semantic.RECALL_BALANCE`, measured and left off in issue 17, round 10, H2):
a small class keeps its share against a big one."""

from __future__ import annotations

import numpy as np

from ivr.understanding import intent_classifier, semantic


def _two_classes(big: int, small: int) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(7)
    centre_a, centre_b = np.zeros(8), np.zeros(8)
    centre_a[0], centre_b[1] = 1.0, 1.0
    rows = [centre_a + 0.3 * rng.standard_normal(8) for _ in range(big)]
    rows += [centre_b + 0.3 * rng.standard_normal(8) for _ in range(small)]
    return np.array(rows), ["service"] * big + ["@phrase:crisis"] * small


def test_balance_gives_a_small_class_its_share_halfway() -> None:
    x, labels = _two_classes(60, 6)
    halfway = np.zeros(8)
    halfway[0] = halfway[1] = 0.5
    plain = intent_classifier.train(x, labels, balance=0.0).probabilities(halfway)
    even = intent_classifier.train(x, labels, balance=1.0).probabilities(halfway)
    assert even["@phrase:crisis"] > plain["@phrase:crisis"]
    assert abs(sum(even.values()) - 1.0) < 1e-6


def test_balance_is_part_of_the_cache_key() -> None:
    x, labels = _two_classes(20, 4)
    assert intent_classifier.train(x, labels, balance=0.0) is not intent_classifier.train(
        x, labels, balance=1.0)
    assert intent_classifier.train(x, labels, balance=1.0) is intent_classifier.train(
        x, labels, balance=1.0)


def test_both_classifiers_are_trained_as_before_by_default() -> None:
    assert semantic.RECALL_BALANCE == 0.0
    assert intent_classifier.BALANCE == 0.0
