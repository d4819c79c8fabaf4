"""English wording for example likeness: politeness, contractions and inflections drop out on
both sides alike (ivr/understanding/english_wording.py, used by intents.similarity)."""

from __future__ import annotations

import pytest

from ivr.dialplan.models import Intent
from ivr.understanding.english_wording import content_words, word_key
from ivr.understanding.intents import normalise, score_intent, similarity


def words(text: str) -> set[str]:
    return content_words(normalise(text, "en-US"))


@pytest.mark.parametrize(("a", "b"), [
    ("dropping", "drops"), ("dropped", "drop"), ("charges", "charged"), ("charging", "charge"),
    ("batteries", "battery"), ("buffering", "buffers"), ("switches", "switch"),
])
def test_inflections_share_a_key(a: str, b: str) -> None:
    assert words(a) == words(b)


@pytest.mark.parametrize("word", ["bus", "is", "red", "gas", "sing", "miss", "status"])
def test_short_and_irregular_words_keep_their_letters(word: str) -> None:
    assert word_key(word) == word


def test_contraction_pieces_are_no_words() -> None:
    assert words("I've had no internet since yesterday") == {"no", "internet", "yesterday"}
    assert words("what's the balance, we'll pay") == {"balanc", "pay"}


def test_every_negation_is_one_word() -> None:
    assert words("it isn't working") == words("it is not working") == {"not", "work"}
    assert words("I can't connect") == words("I cannot connect") == {"not", "connect"}
    assert words("the router won't restart") == {"not", "router", "restart"}


def test_politeness_and_fillers_drop_out() -> None:
    assert words("hi yes sorry, I was just wondering if you could check my bill please") == (
        words("check my bill"))
    assert words("could you kindly tell me my balance, thanks") == words("my balance")


def test_meaning_words_stay() -> None:
    # what tells the intents apart is not a stop word
    assert {"no", "out", "more", "credit", "down"} <= words(
        "no signal, I'm out of credit and need more, the line is down")


def test_likeness_of_a_polite_wrapping_of_an_example() -> None:
    example = normalise("my wifi keeps dropping", "en-US")
    said = normalise("hello, sorry, it's just that the wifi has been dropping all day", "en-US")
    plain = normalise("the wifi drops", "en-US")
    assert similarity(plain, example, "en-US") >= 0.5
    assert similarity(said, example, "en-US") > 0.5


def test_an_unrelated_request_stays_unlike() -> None:
    example = normalise("my wifi keeps dropping", "en-US")
    assert similarity(normalise("can I pay my bill by card", "en-US"), example, "en-US") < 0.3


def test_score_intent_by_example_through_contractions() -> None:
    intent = Intent(examples={"en-US": ["I have had no internet since yesterday"]})
    score, evidence = score_intent("we've had no internet for two days", intent, "en-US")
    assert evidence == "I have had no internet since yesterday"
    assert score >= 0.5
