"""Vectors of the dialplans' texts are computed once per text: in memory, then on disk."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ivr.understanding import text_vectors
from ivr.understanding.text_vectors import embed_texts, use_disk_cache


class Counting:
    """An encoder that records what it was asked to embed."""

    model_id = "counting-test-encoder"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def query(self, texts: list[str]) -> np.ndarray:
        self.asked += texts
        rows = np.array([[len(t), sum(map(ord, t)) % 97, 1.0] for t in texts], np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """An empty cache for the test; the session's (the hotline's vectors, the disk file) is
    put back afterwards, so later tests do not embed the hotline again."""
    memory, disk = text_vectors._memory.copy(), text_vectors._disk
    text_vectors._memory.clear()
    use_disk_cache(None)
    yield
    text_vectors._memory.clear()
    text_vectors._memory.update(memory)
    use_disk_cache(disk)


def test_each_text_is_embedded_once_and_rows_keep_the_order() -> None:
    enc = Counting()
    first = embed_texts(enc, ["查话费", "roaming", "查话费"])
    assert enc.asked == ["查话费", "roaming"]
    again = embed_texts(enc, ["roaming", "查话费"])
    assert enc.asked == ["查话费", "roaming"]
    assert np.allclose(again, first[[1, 0]]) and np.allclose(first[0], first[2])


def test_an_edit_embeds_only_the_changed_text() -> None:
    enc = Counting()
    embed_texts(enc, ["怎么关闭国际漫游", "PUK码在哪里"])
    embed_texts(enc, ["怎么关掉国际漫游", "PUK码在哪里"])
    assert enc.asked == ["怎么关闭国际漫游", "PUK码在哪里", "怎么关掉国际漫游"]


def test_the_disk_cache_serves_another_process(tmp_path: Path) -> None:
    use_disk_cache(tmp_path / "meaning.sqlite")
    before = embed_texts(Counting(), ["a question", "another"])
    text_vectors._memory.clear()  # as a new worker process starts
    enc = Counting()
    after = embed_texts(enc, ["another", "a question"])
    assert enc.asked == [] and np.allclose(after, before[[1, 0]])


def test_encoders_without_a_stable_name_stay_in_memory(tmp_path: Path) -> None:
    class Anonymous(Counting):
        model_id = None  # type: ignore[assignment]

    use_disk_cache(tmp_path / "meaning.sqlite")
    embed_texts(Anonymous(), ["x"])
    assert not (tmp_path / "meaning.sqlite").exists()
    other = Anonymous()
    embed_texts(other, ["x"])
    assert other.asked == ["x"]  # another encoder object, another model maybe


def test_an_unusable_disk_cache_is_logged_and_vectors_still_come(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "meaning.sqlite").mkdir()  # a directory where the file should be
    use_disk_cache(tmp_path / "meaning.sqlite")
    with caplog.at_level(logging.WARNING):
        rows = embed_texts(Counting(), ["still works"])
    assert rows.shape == (1, 3) and "meaning cache" in caplog.text
