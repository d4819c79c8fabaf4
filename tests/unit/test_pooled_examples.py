"""A small dialplan's classifier learns its other languages' rows too (`pooled_examples`); a
dialplan with `SMALL` rows per intent or more (the hotline) trains on its own rows only."""

from __future__ import annotations

import hashlib

import numpy as np

from ivr.understanding.pooled_examples import SMALL, pooled_rows
from ivr.understanding.semantic import SemanticIndex


def _rows(n: int, seed: int, dim: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def test_a_small_language_learns_the_other_languages_rows_of_its_classes() -> None:
    vectors = {"zh-CN": _rows(4, 1), "en-US": _rows(5, 2)}
    labels = {"zh-CN": ["a", "a", "b", "b"], "en-US": ["a", "b", "b", "c", "a"]}
    rows, names, weights = pooled_rows(vectors, labels, "zh-CN")
    assert names == ["a", "a", "b", "b", "a", "b", "b", "a"]  # class c is not zh-CN's
    assert rows.shape == (8, 8)
    np.testing.assert_array_equal(rows[:4], vectors["zh-CN"])
    np.testing.assert_array_equal(rows[4:], vectors["en-US"][[0, 1, 2, 4]])
    assert weights is not None and len(weights) == 8


def test_a_language_with_enough_rows_per_intent_keeps_its_own() -> None:
    own = ["a"] * SMALL + ["b"] * SMALL
    vectors = {"zh-CN": _rows(len(own), 3), "en-US": _rows(4, 4)}
    labels = {"zh-CN": own, "en-US": ["a", "a", "b", "b"]}
    rows, names, weights = pooled_rows(vectors, labels, "zh-CN")
    assert rows is vectors["zh-CN"] and names == own and weights is None


def test_a_single_language_dialplan_is_unchanged() -> None:
    vectors = {"en-US": _rows(4, 5)}
    labels = {"en-US": ["a", "a", "b", "b"]}
    rows, names, weights = pooled_rows(vectors, labels, "en-US")
    assert rows is vectors["en-US"] and names == labels["en-US"] and weights is None


class _Encoder:
    """Texts as fixed pseudo-random unit vectors (no model needed)."""

    def query(self, texts: list[str]) -> np.ndarray:
        out = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little")
            v = np.random.default_rng(seed).normal(size=16)
            out.append(v / np.linalg.norm(v))
        return np.asarray(out, dtype=np.float32)


def test_the_index_trains_a_small_languages_classifier_on_both_languages() -> None:
    examples = {
        "zh-CN": [("bill", "查话费"), ("bill", "账单"), ("top_up", "充值"), ("top_up", "交钱")],
        "en-US": [("bill", "my bill"), ("bill", "statement"), ("top_up", "top up"),
                  ("top_up", "add credit")],
    }
    index = SemanticIndex.build(examples, _Encoder(), classify=True)
    assert set(index.classifiers) == {"zh-CN", "en-US"}
    # the English sentence the zh-CN classifier learnt is recognised by it
    meaning = _Encoder().query(["add credit"])[0]
    best = index.probabilities(meaning, "zh-CN")[0]
    assert best[0] == "top_up"
    # the vectors kept for nearest-example scores stay each language's own
    assert index.owners["zh-CN"] == ["bill", "bill", "top_up", "top_up"]
