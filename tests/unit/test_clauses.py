"""A long, rambling request cut into clauses (`ivr.understanding.clauses`) and decided by its
request rather than its story (`ivr.dialplan.clause_choice`, issue 17 round 10)."""

from __future__ import annotations

import numpy as np
import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.actions import Understanding
from ivr.dialplan.clause_choice import by_clauses
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.nodes import Choice
from ivr.understanding.clauses import (
    Meaning,
    clauses,
    dismissed,
    meaning_of,
    parts_heard,
    parts_of,
    request,
)


def test_cut_at_punctuation_discourse_words_and_requests() -> None:
    # a lone discourse word opens the next clause
    assert clauses("my phone died on the train, anyway the thing is I need more credit") == [
        "my phone died on the train", "anyway the thing is I need more credit"]
    assert clauses("my phone died on the train and I need more credit") == [
        "my phone died on the train and", "I need more credit"]
    assert clauses("我昨天去了趟超市结果手机没电了我想问问怎么充话费")[-1].startswith("我想")


@pytest.mark.parametrize("clause", [
    "the broadband is absolutely fine", "my phone bill's all sorted", "no complaints there",
    "it's nothing like that", "宽带倒是挺好的", "话费上礼拜就交过了", "不是账单的事"])
def test_dismissed(clause: str) -> None:
    assert dismissed(clause)


@pytest.mark.parametrize("clause", [
    "the broadband keeps dropping", "my bill went up", "宽带又断了", "账单多了二十块"])
def test_not_dismissed(clause: str) -> None:
    assert not dismissed(clause)


@pytest.mark.parametrize("clause", [
    "so could you add some credit", "I'd like a person please", "帮我看看账单", "我想充五十"])
def test_request(clause: str) -> None:
    assert request(clause)


def test_parts_of_a_long_request() -> None:
    kept, asks = parts_of("the bill side is all fine thank you, but my granddaughter's phone "
                          "is empty so I'd like to put twenty pounds on her number")
    assert kept is not None and "bill" not in kept
    assert asks == ["so I'd like to put twenty pounds on her number"]
    kept, asks = parts_of("宽带那边倒是挺好的没毛病就是我这个手机快没钱了我想充一百")
    assert kept is not None and "宽带" not in kept
    assert asks[-1] == "我想充一百"


def test_short_utterances_are_not_cut() -> None:
    assert parts_of("I need more credit please") == (None, [])
    assert parts_of("我想充话费") == (None, [])


class _Encoder:
    calls = 0

    def query(self, texts: list[str]) -> np.ndarray:
        _Encoder.calls += 1
        return np.eye(len(texts), 8, dtype=np.float32)


def test_meaning_of_embeds_the_parts_in_one_call() -> None:
    enc = _Encoder()
    _Encoder.calls = 0
    said = "the internet is fine now but I wanted to ask how roaming works when I go abroad"
    meaning = meaning_of(enc, said)
    assert _Encoder.calls == 1
    assert isinstance(meaning, Meaning) and meaning.shape == (8,)
    assert list(parts_heard(meaning)) == ["but I wanted to ask how roaming works when I go abroad"]
    assert parts_heard(meaning @ np.eye(8, dtype=np.float32)) == {}  # derived: no parts
    assert parts_heard(meaning_of(enc, "top up please")) == {}


PLAN = load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan


def _heard(intent: str | None, score: float = 0.9) -> tuple[Choice | None, Understanding]:
    if intent is None:
        return None, Understanding("no_match")
    return Choice(intent=intent, goto="x"), Understanding("match", intent, score, choice="x")


def _meaning(said: str) -> Meaning:
    kept, asks = parts_of(said)
    m = np.zeros(4, dtype=np.float32).view(Meaning)
    m.parts = {t: np.zeros(4, dtype=np.float32) for t in [*([kept] if kept else []), *asks]}
    return m


SAID = "the broadband is absolutely fine, no complaints, but can you top my phone up with ten"


def test_the_request_clause_wins_over_the_story() -> None:
    got = by_clauses(PLAN, _heard("broadband_fault"), SAID, _meaning(SAID),
                     lambda text, _v: _heard("top_up" if "top" in text else None))
    assert got[1].intent == "top_up"


def test_a_dismissed_story_leaves_nothing() -> None:
    said = "the broadband is absolutely fine, no complaints, I was after a taxi to the airport"
    got = by_clauses(PLAN, _heard("broadband_fault"), said, _meaning(said),
                     lambda _t, _v: _heard(None))
    assert got[0] is None


def test_crisis_is_never_made_or_unmade_by_a_clause() -> None:
    crisis = _heard("self_harm", 0.99)
    assert by_clauses(PLAN, crisis, SAID, _meaning(SAID), lambda *_: _heard("top_up")) == crisis
    whole = _heard("broadband_fault")
    assert by_clauses(PLAN, whole, SAID, _meaning(SAID),
                      lambda *_: _heard("self_harm", 0.99)) == whole


def test_a_plain_vector_decides_as_before() -> None:
    whole = _heard("broadband_fault")
    assert by_clauses(PLAN, whole, SAID, np.zeros(4), lambda *_: _heard("top_up")) == whole


def test_a_request_pointing_back_keeps_the_clause_before() -> None:
    _kept, asks = parts_of("my gran's bus pass ran out this morning, where do I top it up then")
    assert asks == ["my gran's bus pass ran out this morning where do I top it up then"]
