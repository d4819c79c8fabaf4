"""Which to believe, the free transcript or the grammar's answer (issue 19;
ivr/call/grammar_fusion.py): a confident grammar wins, a disagreement lowers the confidence,
a clear request for a person or a crisis phrase always wins, and a sensitive answer's
grammar result is never logged. Pure fusion on the shipped hotline, then real sessions with a
fake recogniser (tests/unit/call_runner.py)."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import pytest

from audio_models.grammar import ChoiceGrammar, DigitGrammar, GrammarResult
from audio_models.protocols import Transcript
from ivr.call.grammar_fusion import GrammarFusion, GrammarRules
from ivr.config import Settings
from ivr.dialplan import load_dialplan
from ivr.dialplan.actions import Listen
from ivr.dialplan.grammars import yes_no_grammar
from ivr.dialplan.rendering import NodeRenderer
from ivr.dialplan.state import DialogState
from ivr.understanding.input_rules import judge_speech
from tests.unit import call_runner
from tests.unit.call_runner import Call, run_call, speech_clip
from tests.unit.fakes import transcript
from tests.unit.test_session_privacy import dump
from tests.unit.test_session_privacy import plan as privacy_plan

HOTLINE = Path(__file__).resolve().parents[2] / "dialplans" / "hotline.yaml"
RULES = GrammarRules(digits_confidence=0.6, choice_confidence=0.7, max_no_speech_prob=0.7)


@pytest.fixture(scope="module")
def fusion() -> GrammarFusion:
    return GrammarFusion(load_dialplan(HOTLINE).plan, RULES)


def listen_at(fusion: GrammarFusion, node: str, language: str = "en-US", **state) -> Listen:
    p = fusion.plan
    return NodeRenderer(p).listen(DialogState(node=node, language=language, **state),
                                  p.nodes[node])


def heard(text: str, value: str, confidence: float, *, free: float = 0.8,
          language: str = "en", no_speech: float = 0.05) -> Transcript:
    r = GrammarResult(value, value, confidence, processing_time=0.05)
    return dataclasses.replace(transcript(text, language, free, no_speech), grammar=r)


ACCOUNT = "broadband_account"  # digits, 6-12


# ---------------------------------------------------------------- digits
def test_a_confident_digit_string_replaces_the_free_transcript(fusion) -> None:
    listen = listen_at(fusion, ACCOUNT)
    b = fusion.believe(heard("6 9 8 3 5 4 8", "69832548", 0.9, free=0.6), listen)
    assert b is not None and (b.used, b.why, b.kind) == (True, "confident", "digits")
    assert b.transcript.text == "69832548" and b.transcript.confidence == 0.9
    assert b.transcript.grammar == b.result


def test_the_same_digits_agree_at_the_better_confidence(fusion) -> None:
    listen = listen_at(fusion, ACCOUNT)
    b = fusion.believe(heard("six nine eight three two five four eight", "69832548", 0.4,
                             free=0.7), listen)
    assert b is not None and (b.used, b.why) == (True, "agree")
    assert b.transcript.text == "six nine eight three two five four eight"
    assert b.transcript.confidence == 0.7


def test_disagreeing_digits_below_the_threshold_lower_the_confidence(fusion) -> None:
    listen = listen_at(fusion, ACCOUNT)
    b = fusion.believe(heard("6 9 8 3 5 4 8", "69832548", 0.55, free=0.8), listen)
    assert b is not None and (b.used, b.why) == (False, "unsure")
    assert b.transcript.text == "6 9 8 3 5 4 8" and b.transcript.confidence == 0.45
    # strongly doubted: below asr.min_confidence, the caller is asked again
    b = fusion.believe(heard("1 2 3 4 5 6", "69832548", 0.58 + 0.3, free=0.8),
                       dataclasses.replace(listen, grammar=DigitGrammar(6, 12)))
    assert b is not None and b.used  # (0.88 is confident: the digits are believed)
    rules = dataclasses.replace(RULES, digits_confidence=0.95)
    doubted = GrammarFusion(fusion.plan, rules).believe(
        heard("1 2 3 4 5 6", "69832548", 0.88, free=0.8), listen)
    assert doubted is not None and not doubted.used
    assert judge_speech(doubted.transcript, 0.25, 0.7) == "unintelligible"


def test_a_digit_string_of_another_length_is_not_believed(fusion) -> None:
    listen = listen_at(fusion, ACCOUNT)
    b = fusion.believe(heard("four five", "45", 0.99), listen)
    assert b is not None and (b.used, b.why) == (False, "invalid")
    assert b.transcript.text == "four five"


def test_the_grammar_rescues_what_free_transcription_called_noise(fusion) -> None:
    """A lone "three" heard as "Thank you." is noise to the call; under the digit grammar it
    is the digit, believed as speech."""
    listen = dataclasses.replace(listen_at(fusion, ACCOUNT), grammar=DigitGrammar(1, 1))
    t = dataclasses.replace(heard("Thank you.", "3", 0.9, free=0.3, no_speech=0.4),
                            audio_duration=0.6)
    assert judge_speech(t, 0.25, 0.7) == "noise"
    b = fusion.believe(t, listen)
    assert b is not None and b.used and b.transcript.text == "3"
    assert judge_speech(b.transcript, 0.25, 0.7) == "speech"


def test_no_speech_is_not_guessed_at(fusion) -> None:
    b = fusion.believe(heard("", "12345678", 0.9, no_speech=0.9), listen_at(fusion, ACCOUNT))
    assert b is not None and (b.used, b.why) == (False, "no_speech")


def test_an_id_cards_check_letter_keeps_the_free_transcript(fusion) -> None:
    listen = dataclasses.replace(listen_at(fusion, ACCOUNT), grammar=DigitGrammar(18, 18))
    b = fusion.believe(heard("一一零一零五一九四九一二三一零零二叉", "110105194912310021", 0.9,
                             language="zh"), dataclasses.replace(listen, language="zh-CN"))
    assert b is not None and (b.used, b.why) == (False, "check_letter")


# ---------------------------------------------------------------- global choices still win
@pytest.mark.parametrize(("text", "language"), [
    ("转人工", "zh-CN"), ("I want to speak to an agent", "en-US"), ("我不想活了", "zh-CN")])
def test_a_request_for_a_person_or_a_crisis_is_never_hidden(fusion, text, language) -> None:
    for listen, value in ((listen_at(fusion, ACCOUNT, language), "12345678"),
                          (listen_at(fusion, "anything_else", language), "affirm"),
                          (listen_at(fusion, ACCOUNT, language, confirming=("account", "1")),
                           "yes")):
        b = fusion.believe(heard(text, value, 0.99, language=language[:2]), listen)
        assert b is not None and (b.used, b.why) == (False, "global"), (listen.node, text)
        assert b.transcript.text == text


# ---------------------------------------------------------------- yes and no
def read_back(fusion: GrammarFusion, language: str = "en-US") -> Listen:
    return listen_at(fusion, ACCOUNT, language, confirming=("account", "69832548"))


def test_a_confident_yes_becomes_the_canonical_yes(fusion) -> None:
    listen = read_back(fusion)
    assert listen.grammar == yes_no_grammar("en-US")
    b = fusion.believe(heard("Yes, sir.", "yes", 0.92, free=0.3), listen)
    assert b is not None and (b.used, b.why, b.kind) == (True, "agree", "yes_no")
    b = fusion.believe(heard("Chess.", "yes", 0.92, free=0.3), listen)
    assert b is not None and (b.used, b.why) == (True, "confident")
    assert (b.transcript.text, b.transcript.confidence) == ("yes", 0.92)
    zh = fusion.believe(heard("师的", "yes", 0.9, language="zh"), read_back(fusion, "zh-CN"))
    assert zh is not None and zh.transcript.text == "是的"


def test_an_unsure_choice_leaves_the_free_transcript(fusion) -> None:
    b = fusion.believe(heard("Chess.", "yes", 0.6, free=0.3), read_back(fusion))
    assert b is not None and (b.used, b.why) == (False, "unsure")
    assert b.transcript.text == "Chess." and b.transcript.confidence == 0.3


def test_free_yes_against_a_confident_grammar_no_is_asked_again(fusion) -> None:
    b = fusion.believe(heard("yes", "no", 0.9, free=0.8), read_back(fusion))
    assert b is not None and (b.used, b.why) == (False, "disagree")
    assert b.transcript.text == "yes" and b.transcript.confidence == 0.1
    assert judge_speech(b.transcript, 0.25, 0.7) == "unintelligible"


def test_a_sentence_is_no_yes_or_no(fusion) -> None:
    said = "I think it was the other account my wife opened"
    b = fusion.believe(heard(said, "no", 0.95), read_back(fusion))
    assert b is not None and (b.used, b.why) == (False, "long")


# ---------------------------------------------------------------- menus
def test_a_confident_menu_choice_becomes_its_canonical_phrasing(fusion) -> None:
    listen = listen_at(fusion, "main_menu")
    b = fusion.believe(heard("Broad bend", "broadband_fault", 0.85, free=0.4), listen)
    assert b is not None and (b.used, b.why, b.kind) == (True, "confident", "menu")
    assert b.transcript.text == dict(listen.grammar.choices)["broadband_fault"][0]


def test_a_request_the_grammar_does_not_hold_goes_on_unchanged(fusion) -> None:
    """"other questions" (`fuzzy: false`, not in the grammar) said clearly is not doubted."""
    b = fusion.believe(heard("other questions", "bill_enquiry", 0.9), listen_at(fusion,
                                                                              "main_menu"))
    assert b is not None and (b.used, b.why) == (False, "other_choice")
    assert b.transcript.confidence == 0.8


def test_another_menu_choice_said_is_a_disagreement(fusion) -> None:
    b = fusion.believe(heard("top up", "bill_enquiry", 0.9), listen_at(fusion, "main_menu"))
    assert b is not None and (b.used, b.why) == (False, "disagree")
    assert b.transcript.text == "top up" and b.transcript.confidence == 0.1


def test_nothing_to_fuse_without_a_grammar(fusion) -> None:
    listen = listen_at(fusion, "topup_amount")  # an amount: free
    assert listen.grammar is None
    assert fusion.believe(heard("fifty", "50", 0.9), listen) is None
    assert fusion.believe(transcript("yes"), read_back(fusion)) is None  # nothing recognised


# ---------------------------------------------------------------- in a call
LAST4 = "4821"


def last4_call(tmp_path: Path, said: str, value: str, confidence: float) -> Call:
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="ask_id")
        c.dtmf("11010519491231002*#")
        await c.wait_event("listen", node="ask_last4")
        c.say(speech_clip())
        await c.wait_event("listen", node="ask_last4", count=2)  # the read-back
        c.dtmf("1")

    r = GrammarResult(value, value, confidence, processing_time=0.04)
    script = [dataclasses.replace(transcript(said, "zh", 0.7, 0.02), grammar=r)]
    return run_call(tmp_path, scenario, plan_path=privacy_plan(tmp_path), asr_script=script,
                    speed=0.05)


def test_the_call_asks_for_the_grammar_and_fills_the_slot_with_its_digits(tmp_path,
                                                                           caplog) -> None:
    caplog.set_level(logging.DEBUG)
    c = last4_call(tmp_path, "四八二", LAST4, 0.93)  # the free transcript lost a digit
    assert c.asr.grammars == [DigitGrammar(4, 4)]
    assert c.asr.full_windows == [True]
    event = c.events("grammar_result")[0]
    assert event == {"node": "ask_last4", "kind": "digits", "value": "****",
                     "confidence": 0.93, "used": True, "why": "confident",
                     "free_text": "****", "ms": 40}
    assert c.row()["end_reason"] == "done"
    assert "尾号****已核实" in " ".join(e["text"] for e in c.events("prompt"))
    everything = dump(c) + caplog.text
    assert not re.search(rf"(?<!\d){LAST4}(?!\d)", everything)
    assert "四八二" not in everything


def test_with_asr_grammar_off_the_recogniser_is_not_asked(tmp_path, monkeypatch) -> None:
    def without_grammar(**kw):  # type: ignore[no-untyped-def]
        return Settings(**kw, asr={"grammar": False})

    monkeypatch.setattr(call_runner, "Settings", without_grammar)
    c = last4_call(tmp_path, "四八二幺", LAST4, 0.93)
    assert c.asr.grammars == [None]
    assert c.events("grammar_result") == []
    assert c.row()["end_reason"] == "done"


@pytest.mark.parametrize(("max_s", "asked"), [(30.0, True), (0.5, False)])
def test_a_menu_grammar_only_for_a_short_answer(tmp_path, monkeypatch, max_s: float,
                                                asked: bool) -> None:
    """A sentence at a menu (longer than asr.grammar_choice_max_s) is read by the free
    transcript and the intents only: scoring every phrasing would add to the reply."""
    def with_bound(**kw):  # type: ignore[no-untyped-def]
        return Settings(**kw, asr={"grammar_choice_max_s": max_s})

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.say(speech_clip())  # a read sentence of a few seconds
        await c.wait_event("turn")
        c.session.on_hangup("caller_hangup")

    monkeypatch.setattr(call_runner, "Settings", with_bound)
    c = run_call(tmp_path, scenario, asr_script=[transcript("我要查话费")])
    grammars = [g for g in c.asr.grammars if g is not None]
    assert bool(grammars) is asked, c.asr.grammars
    assert all(isinstance(g, ChoiceGrammar) for g in grammars)
