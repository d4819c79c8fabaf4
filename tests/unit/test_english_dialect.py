"""Regional, clipped, texted and misheard English spelled as standard English
(`english_dialect.standard_english`), as every English profile normalises it."""

from __future__ import annotations

import pytest

from ivr.understanding.english_dialect import standard_english
from ivr.understanding.profiles import BUILTIN_PROFILES, normalise_for


@pytest.mark.parametrize(("said", "meant"), [
    ("whit's ma bill", "what's my bill"),  # Scots, a contraction kept
    ("gonnae put me through tae somebody", "could you put me through to somebody"),
    ("ma internet's no workin", "my internet's not working"),
    ("how much am I owin yous", "how much am I owing you"),  # Irish, dropped g
    ("the wifi's carked it again", "the wifi's stopped working again"),  # Australian
    ("can ye stick a tenner on me phone", "can you put a ten pounds on my phone"),
    ("abeg connect me", "please connect me"),  # Nigerian
    ("net is not coming from morning", "internet is not coming since this morning"),  # Indian
    ("wifi down since two days", "wifi down for two days"),
    ("can check my bill or not lah", "can check my bill"),  # Singapore
    ("ur internet down pls", "your internet down please"),  # typed
    ("why fie not working", "wifi not working"),  # heard
    ("I dont know whats wrong", "I don't know what's wrong"),
    ("I'm knackered, been on hold for ages", "I'm tired, been on hold for ages"),  # a person
    ("the router's knackered", "the router's broken"),  # a thing
])
def test_dialect_spelled_as_standard_english(said: str, meant: str) -> None:
    assert standard_english(said) == meant


@pytest.mark.parametrize("text", [
    "within the cabin", "no morning calls please", "my net amount is wrong",
    "send me a message", "I want to top up", "my number is seven seven o",
    "I'm going to lose my mind",
])
def test_standard_english_is_left_alone(text: str) -> None:
    assert standard_english(text) == text


def test_every_english_profile_reads_dialect_but_chinese_ones_do_not() -> None:
    for pid in ("en-US", "en-GB", "en-IN"):
        assert normalise_for(BUILTIN_PROFILES[pid], "gie's a wee minute, ma phone's no workin"
                             ).endswith("my phone's not working")
    assert normalise_for(BUILTIN_PROFILES["zh-CN"], "ma 我要查话费") == "ma 我要查话费"
    assert standard_english("I want to buy airtime") == "I want to buy airtime"

