"""The `survey` verb (issue 21): a score 1-5 by key or by voice, an optional comment, retries
that end politely (never `on_failure`), and the variables the store derives the answer from."""

from __future__ import annotations

import pytest

from audio_models.grammar import ChoiceGrammar
from ivr.dialplan.actions import CallerInput, Hangup, Listen, NoInput, SetVariables
from ivr.dialplan.survey import SURVEY_PHRASINGS, score_of
from tests.unit.inline_plans import FACTS, engine, says

NODES = """\
s:
  survey:
    question: {zh-CN: 请为本次服务打分，一到五分, en-US: Rate us from one to five}
    comment: {zh-CN: 请说出您的建议, en-US: Any comment}
    thanks: {zh-CN: 感谢您的评价, en-US: Thank you}
    no_match: [{zh-CN: 请按一到五, en-US: Press one to five}]
  next: bye
bye:
  hangup: {say: 再见}
"""
NO_COMMENT = NODES.replace("    comment: {zh-CN: 请说出您的建议, en-US: Any comment}\n", "")


def _vars(actions) -> dict:
    out: dict = {}
    for a in actions:
        if isinstance(a, SetVariables):
            out |= a.values
    return out


def test_arrival_offers_and_listens_for_keys_and_scores(tmp_path) -> None:
    eng = engine(tmp_path, NODES)
    first = eng.start(facts=FACTS)
    assert says(first.actions) == ["请为本次服务打分，一到五分"]
    assert _vars(first.actions) == {"survey": "satisfaction", "survey_status": "offered",
                                    "survey_score": None}
    listen = first.actions[-1]
    assert isinstance(listen, Listen) and listen.dtmf_choices == ("1", "2", "3", "4", "5")
    assert isinstance(listen.grammar, ChoiceGrammar)
    assert listen.grammar.ids() == ("5", "4", "3", "2", "1")


def test_key_score_then_comment_then_thanks(tmp_path) -> None:
    eng = engine(tmp_path, NODES)
    step = eng.step(eng.start(facts=FACTS).state, CallerInput("dtmf", "5"), FACTS)
    assert _vars(step.actions) == {"survey": "satisfaction", "survey_status": "answered",
                                   "survey_score": 5, "survey_answered_by": "dtmf"}
    assert says(step.actions) == ["请说出您的建议"]
    assert step.actions[-1].dtmf_choices == ("#",) and step.actions[-1].grammar is None
    done = eng.step(step.state, CallerInput("speech", "等待时间太长了"), FACTS)
    assert _vars(done.actions) == {"survey_comment": "等待时间太长了"}
    assert says(done.actions) == ["感谢您的评价", "再见"]
    assert isinstance(done.actions[-1], Hangup) and done.actions[-1].reason == "completed"
    assert done.state.variables["survey_score"] == 5


def test_hash_or_silence_skips_the_comment(tmp_path) -> None:
    eng = engine(tmp_path, NODES)
    step = eng.step(eng.start(facts=FACTS).state, CallerInput("dtmf", "3"), FACTS)
    for skip in (CallerInput("dtmf", "#"), NoInput()):
        done = eng.step(step.state, skip, FACTS)
        assert _vars(done.actions) == {"survey_comment": ""}
        assert done.state.ended


def test_spoken_score_without_comment(tmp_path) -> None:
    eng = engine(tmp_path, NO_COMMENT)
    done = eng.step(eng.start(facts=FACTS).state, CallerInput("speech", "非常满意"), FACTS)
    assert _vars(done.actions)["survey_score"] == 5
    assert _vars(done.actions)["survey_answered_by"] == "speech"
    assert says(done.actions) == ["感谢您的评价", "再见"]


def test_no_match_retries_then_ends_politely_unanswered(tmp_path) -> None:
    eng = engine(tmp_path, NODES)
    state = eng.start(facts=FACTS).state
    again = eng.step(state, CallerInput("dtmf", "9"), FACTS)
    assert says(again.actions) == ["请按一到五", "请为本次服务打分，一到五分"]
    assert again.understanding.outcome == "no_match"
    last = eng.step(again.state, NoInput(), FACTS)
    assert _vars(last.actions) == {"survey_status": "no_answer"}
    assert says(last.actions) == ["感谢您的评价", "再见"]
    assert last.actions[-1].reason == "completed"  # not max_attempts: the call was served


@pytest.mark.parametrize(("text", "language", "score"), [
    ("5", "zh-CN", 5), ("五分", "zh-CN", 5), ("我给四分", "zh-CN", 4), ("满意", "zh-CN", 4),
    ("非常不满意", "zh-CN", 1), ("不满意", "zh-CN", 2), ("一般吧", "zh-CN", 3),
    ("很满意", "zh-CN", 5), ("Five.", "en-US", 5), ("very satisfied", "en-US", 5),
    ("I'm not satisfied", "en-US", 2), ("satisfied", "en-US", 4), ("three", "en-US", 3),
    ("10", "en-US", None), ("我要转人工", "zh-CN", None), ("one or two", "en-US", None),
    ("", "zh-CN", None)])
def test_score_of(text: str, language: str, score: int | None) -> None:
    assert score_of(text, language) == score


@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
def test_every_grammar_phrasing_reads_back_as_its_score(language: str) -> None:
    for score, phrasings in SURVEY_PHRASINGS[language[:2]]:
        for text in phrasings:
            assert score_of(text, language) == int(score), text
