"""The conversational opening of an English request taken off before matching
(`english_openers.without_opener`), as every English profile normalises it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ivr.understanding.english_dialect import standard_english
from ivr.understanding.english_openers import without_opener
from ivr.understanding.profiles import BUILTIN_PROFILES, normalise_for
from ivr.understanding.semantic import SemanticIndex


@pytest.mark.parametrize(("said", "meant"), [
    ("yeah hi, it's about the internet thing", "the internet thing"),
    ("quick question about my bill", "my bill"),
    ("quick question, can I put some credit on my phone", "can I put some credit on my phone"),
    ("so basically my router keeps flashing red", "my router keeps flashing red"),
    ("hello love, I've had a letter about my account", "I've had a letter about my account"),
    ("sorry to trouble you dear but the computer says no connection",
     "the computer says no connection"),
    ("um yeah I just wanted to go over some charges", "I just wanted to go over some charges"),
    ("Good morning, I'm calling about my last invoice", "my last invoice"),
    ("I was wondering if you could put me through to a person", "put me through to a person"),
    ("hi there, I was just wondering whether my payment went through",
     "my payment went through"),
    ("excuse me my home internet is not working", "my home internet is not working"),
    ("right so the direct debit was bigger than normal", "the direct debit was bigger than normal"),
])
def test_the_opening_is_taken_off(said: str, meant: str) -> None:
    assert without_opener(said) == meant


@pytest.mark.parametrize("text", [
    "quick question for ya",  # only an opening: the question route must still hear it
    "hello?", "hi", "yes", "sorry", "good morning",
    "it's about time",  # one word would be left
    "I have a quick question about roaming",
    "look at my bill please",  # "look at": a request, not "look, ..."
    "listen to this message again",
    "my internet is down, sorry",  # only the start is touched
    "I want to top up",
    "oh two oh triple seven nine",  # "oh" is a zero here: a phone number keeps it
    "oh, 0207 779 1234",
])
def test_a_text_without_a_separate_request_is_left_alone(text: str) -> None:
    assert without_opener(text) == text


def test_every_english_profile_takes_the_opening_off_after_the_dialect() -> None:
    # "hiya" is read as a greeting, "ma" as "my" (english_dialect), then the opening goes
    assert standard_english("hiya, quick one, ma phone's no workin") == "my phone's not working"
    for pid in ("en-US", "en-GB", "en-IN"):
        assert normalise_for(BUILTIN_PROFILES[pid], "yeah hi, it's about the wifi at home"
                             ) == "the wifi at home"
    assert normalise_for(BUILTIN_PROFILES["zh-CN"], "yeah hi 我要查话费") == "yeah hi 我要查话费"


def test_a_crisis_sentence_keeps_its_words() -> None:
    """The opening goes, never the words after it: crisis phrases are still all there."""
    assert without_opener("sorry to bother you but my husband has stopped breathing") == (
        "my husband has stopped breathing")
    assert without_opener("hello, I don't want to be alive anymore") == (
        "I don't want to be alive anymore")


def test_english_examples_are_embedded_without_their_opening() -> None:
    """Both sides alike: the utterance loses its opening in `standard_english`, an English
    example when it is embedded; other languages' examples are embedded as written."""
    seen: list[str] = []

    class Recording:
        def query(self, texts: list[str]) -> Any:
            seen.extend(texts)
            return np.eye(len(texts), 4, dtype=np.float32)

    SemanticIndex.build({"en-US": [("bill", "yeah hi, it's about the bill on my phone"),
                                   ("agent", "hello, can I speak to a person")],
                         "zh-CN": [("bill", "yeah hi, it's about the bill on my phone")]},
                        Recording())
    assert "the bill on my phone" in seen and "can I speak to a person" in seen
    assert "yeah hi, it's about the bill on my phone" in seen  # (the zh-CN row)
    assert not any(t.startswith("hello") for t in seen)
