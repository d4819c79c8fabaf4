"""The knowledge base: its files (validation, clear errors) and retrieval with the real e5
model and jieba on the shipped hotline's entries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.nodes import Answer
from ivr.understanding.knowledge import (
    SURE_CENTRE,
    SURE_WEIGHT,
    Entry,
    KnowledgeError,
    KnowledgeIndex,
    load_knowledge,
    tokens,
)

HOTLINE_KB = REPO_ROOT / "dialplans" / "knowledge" / "hotline"


def test_the_shipped_knowledge_base_loads_with_the_same_entries_in_each_language() -> None:
    kb = load_knowledge(HOTLINE_KB)
    assert set(kb) == {"zh-CN", "en-US"}
    ids = {lang: [e.id for e in entries] for lang, entries in kb.items()}
    assert ids["zh-CN"] == ids["en-US"] and len(ids["zh-CN"]) >= 25


@pytest.mark.parametrize(("language", "question", "entry"), [
    ("zh-CN", "出国了怎么把漫游关掉", "roaming_turn_off"),
    ("en-US", "how do I get my PUK code", "puk_code"),
])
def test_a_question_finds_its_entry(language: str, question: str, entry: str) -> None:
    index = KnowledgeIndex(load_knowledge(HOTLINE_KB)[language], language)
    hits = index.search(question)
    assert hits[0].entry.id == entry
    assert hits[0].score >= hits[1].score and 0 <= hits[0].words <= 1


def test_the_entry_s_probability_is_part_of_its_score() -> None:
    """The regression over the entries' texts gives every entry a probability (summing to 1);
    the fused score is meaning and words plus SURE_WEIGHT x (probability - SURE_CENTRE)."""
    index = KnowledgeIndex(load_knowledge(HOTLINE_KB)["en-US"], "en-US")
    question = "the phone wants an eight digit unlock code for the SIM"
    sure = index.sure(index.meaning(question))
    assert sure.shape == (len(index.entries),) and abs(float(sure.sum()) - 1.0) < 1e-4
    hits = index.search(question)
    assert hits[0].entry.id == "puk_code"
    assert hits[0].sure == pytest.approx(float(sure.max()), abs=1e-6)
    for h in hits:
        assert h.score == pytest.approx(0.95 * h.meaning + 0.05 * h.words
                                        + SURE_WEIGHT * (h.sure - SURE_CENTRE), abs=1e-6)


def test_one_entry_needs_no_regression() -> None:
    entry = Entry(id="a", title="Roaming off", questions=("how do I stop roaming",),
                  answer="Text QXMY to 10099.")
    index = KnowledgeIndex([entry], "en-US")
    hit = index.search("stop roaming")[0]
    assert hit.entry.id == "a" and hit.sure == 0.0


@pytest.mark.parametrize(("language", "question"), [
    ("en-US", "what's the weather going to be like at the weekend"),
    ("en-US", "can you book me a table for dinner"),
    ("en-US", "who won the football last night"),
    ("zh-CN", "这周末天气怎么样"),
    ("zh-CN", "帮我订个餐厅"),
])
def test_questions_no_entry_answers_stay_below_min_score(language: str, question: str) -> None:
    """Off-topic questions fall back: the best entry stays under the `answer` verb's default
    min_score, with the entry's probability added."""
    index = KnowledgeIndex(load_knowledge(HOTLINE_KB)[language], language)
    top = index.search(question)[0]
    assert top.score < Answer(prompt="", knowledge="k", next="x").threshold(language)


def test_chinese_is_cut_into_words_and_particles_dropped() -> None:
    assert "漫游" in tokens("我想关闭漫游吗", "zh-CN") and "吗" not in tokens("漫游吗", "zh-CN")
    assert tokens("How do I turn OFF roaming?", "en-US")[-2:] == ["off", "roam"]  # stemmed


@pytest.mark.parametrize(("name", "text", "error"), [
    ("zh-CN.yaml", "language: zh-CN\nentries: []\n", "at least 1"),
    ("zh-CN.yaml", "language: en-US\nentries: [{id: a, title: t, questions: [q], answer: x}]\n",
     "differs from the file name"),
    ("zh-CN.yaml", "language: zh-CN\nentries:\n - {id: a, title: t, questions: [q], answer: x}\n"
     " - {id: a, title: u, questions: [r], answer: y}\n", "used twice: a"),
    ("zh-CN.yaml", "language: zh-CN\nentries: [{id: a, title: t, answer: x}]\n", "questions"),
    ("zh-CN.yaml", "a: &x [1]\nb: *x\n", "aliases"),
])
def test_bad_files_are_refused_naming_the_file(tmp_path: Path, name: str, text: str,
                                               error: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError, match=error) as e:
        load_knowledge(tmp_path)
    assert name in str(e.value)


def test_a_missing_or_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="no such knowledge folder"):
        load_knowledge(tmp_path / "nope")
    with pytest.raises(KnowledgeError, match="no <language>.yaml"):
        load_knowledge(tmp_path)


class Counting:
    """An encoder that records what it embeds (no model id: its vectors stay in memory)."""

    model_id = None

    def __init__(self) -> None:
        self.asked: list[str] = []

    def query(self, texts: list[str]) -> np.ndarray:
        self.asked += texts
        rows = np.array([[len(t), sum(map(ord, t)) % 97, 1.0] for t in texts], np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_an_edited_entry_embeds_only_its_changed_text() -> None:
    """Hot reload: the title, questions and the answer's first sentence are vectors cached per
    text, so a reload after one question changed embeds that question only."""
    entry = Entry(id="a", title="Roaming off", questions=("how do I stop roaming",),
                  answer="Text QXMY to 10099. It stops at once.")
    enc = Counting()
    KnowledgeIndex([entry], "en-US", enc)  # type: ignore[arg-type]
    assert enc.asked == ["Roaming off", "how do I stop roaming", "Text QXMY to 10099."]
    edited = entry.model_copy(update={"questions": ("how do I turn roaming off",)})
    KnowledgeIndex([edited], "en-US", enc)  # type: ignore[arg-type]
    assert enc.asked[3:] == ["how do I turn roaming off"]
