"""What an English caller says is not the request, taken out before matching
(`english_asides.without_asides`, in every English profile's `standard_english`), and the
hedges and "have got" of round 8 (`english_openers`, `english_dialect`)."""

from __future__ import annotations

import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.loader import load_dialplan
from ivr.understanding.english_asides import without_asides
from ivr.understanding.english_dialect import standard_english
from ivr.understanding.english_openers import without_opener
from ivr.understanding.intents import match_intents
from ivr.understanding.profiles import BUILTIN_PROFILES, normalise_for


@pytest.mark.parametrize(("said", "meant"), [
    ("I'm not calling about the bill, I just want to add some credit",
     "I just want to add some credit"),
    ("it's not about my bill, my internet is down", "my internet is down"),
    ("it isn't really about the bill, I want an agent", "I want an agent"),
    ("this is nothing to do with my bill, I need credit", "I need credit"),
    ("my wifi is out and I called last week about my bill but this is different",
     "my wifi is out and"),
    ("I rang you yesterday about the top up but that's not it, the internet's down",
     "the internet's down"),
    ("I paid my bill on time so why have I got no internet", "why have I got no internet"),
    ("I topped up last week but now there's a charge I don't get",
     "now there's a charge I don't get"),
    ("we've already paid the bill, but that's not the problem, the wifi is off",
     "the wifi is off"),
])
def test_the_aside_is_taken_out(said: str, meant: str) -> None:
    assert without_asides(said) == meant


@pytest.mark.parametrize("text", [
    "I'm not calling about the bill",  # nothing else is said: left as it was
    "it's about my bill",  # an announcement, not a negation (english_openers takes it)
    "I paid my bill twice",  # no time, no turn: a bill question
    "I paid my bill but it has not gone through",  # no time: the payment is the matter
    "I rang yesterday about the internet and it is still down",  # the same matter again
    "I called about my bill",
    "it is for my mum",
    "I'm not suicidal, I just want to top up",  # no "calling about": negation.py's
])
def test_a_text_without_an_aside_is_left_alone(text: str) -> None:
    assert without_asides(text) == text


@pytest.mark.parametrize(("said", "meant"), [
    ("I might be wrong but I think there's a mistake on my statement",
     "there's a mistake on my statement"),
    ("not sure if this is the right option but my bill is high", "my bill is high"),
    ("I'm not sure if I'm in the right place but I need an agent", "I need an agent"),
    ("I don't know if it's you or me but the internet just isn't there",
     "the internet just isn't there"),
    ("I'm not sure what's happened but the wifi is gone", "the wifi is gone"),
    ("this may be a daft question but how much do I owe", "how much do I owe"),
    ("I think you've overcharged me", "you've overcharged me"),
])
def test_a_hedge_is_taken_off_the_start(said: str, meant: str) -> None:
    assert without_opener(said) == meant


@pytest.mark.parametrize("text", [
    "I don't know if I can go on but I need help",  # what a hedge doubts is spelled out
    "not sure if I can keep going but whatever",
    "I think so", "I think not", "I'm not sure",
])
def test_a_hedge_never_takes_other_words(text: str) -> None:
    assert without_opener(text) == text


def test_have_got_is_have_for_every_english_profile() -> None:
    assert standard_english("I've got a question") == "I have a question"
    assert standard_english("I've a question for you") == "I have a question for you"
    for pid in ("en-US", "en-GB", "en-IN"):
        assert normalise_for(BUILTIN_PROFILES[pid], "I'm not calling about the bill, "
                             "I've got no credit") == "I have no credit"


def test_crisis_words_stay_after_an_aside() -> None:
    assert standard_english("it's not about the bill, I want to end it all") == (
        "I want to end it all")
    assert standard_english("I'm not sure what's happened but my dad has stopped breathing"
                            ) == "my dad has stopped breathing"


@pytest.mark.parametrize(("text", "intent"), [
    # the bill's "about my bill" (0.99) was heard in the aside and took the request
    ("my wifi is out and I called last week about my bill but this is different",
     "broadband_fault"),
    ("I'm not calling about my bill, I need to top up", "top_up"),
    ("I've a question for you", "question"),  # not the bill's "I have a question about my bill"
    ("none of the above", "question"),
])
def test_the_hotline_hears_the_request_not_the_aside(text: str, intent: str) -> None:
    plan = load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan
    menu = ["bill_enquiry", "broadband_fault", "top_up", "question", "agent"]
    best = match_intents(text, plan.intents, "en-US", menu, BUILTIN_PROFILES["en-US"])[0]
    assert (best.intent, best.score >= plan.defaults.intent_threshold) == (intent, True)
