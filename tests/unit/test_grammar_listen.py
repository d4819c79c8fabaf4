"""What grammar each question gets (issue 19; ivr/dialplan/grammars.py): digit slots their
digits, read-backs and other yes/no questions yes or no in the call's language, menus the
intents reachable from them; open questions, dates and amounts none."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio_models.grammar import ChoiceGrammar, DigitGrammar
from ivr.dialplan import load_dialplan
from ivr.dialplan.actions import CallerInput, Listen
from ivr.dialplan.answering import ANSWER, Answering
from ivr.dialplan.confirmation import INTENT
from ivr.dialplan.grammars import (
    MAX_PHRASINGS,
    NO,
    YES,
    YES_NO_PHRASINGS,
    grammar_kind,
    short,
    yes_no_grammar,
)
from ivr.dialplan.recognition import choices_at, ranked
from ivr.dialplan.rendering import NodeRenderer
from ivr.dialplan.state import DialogState
from ivr.dialplan.verbs import NodeWalker, consent_listen
from ivr.understanding.intents import extract_yes_no
from tests.unit.inline_plans import DEFAULTS_HEAD, FACTS, engine

DIALPLANS = Path(__file__).resolve().parents[2] / "dialplans"
SHIPPED = ("hotline", "bank", "clinic")


def plan(name: str):  # type: ignore[no-untyped-def]
    return load_dialplan(DIALPLANS / f"{name}.yaml").plan


@pytest.fixture(scope="module")
def hotline():  # type: ignore[no-untyped-def]
    return plan("hotline")


def grammar_at(p, node: str, language: str = "en-US", **state):  # type: ignore[no-untyped-def]
    return NodeRenderer(p).listen(DialogState(node=node, language=language, **state),
                                  p.nodes[node]).grammar


# ---------------------------------------------------------------- digit slots
@pytest.mark.parametrize(("name", "node", "expected"), [
    ("hotline", "broadband_account", DigitGrammar(8, 8)),  # digits, exactly 8
    ("bank", "verify_card_last4", DigitGrammar(4, 4)),  # a card's last 4
    ("bank", "verify_id_number", DigitGrammar(18, 18)),  # id_card
    ("clinic", "book_phone", DigitGrammar(11, 11)),  # phone
])
def test_digit_slots_get_their_digits(name: str, node: str, expected: DigitGrammar) -> None:
    p = plan(name)
    for language in p.languages:
        assert grammar_at(p, node, language) == expected


@pytest.mark.parametrize(("name", "node"), [
    ("hotline", "topup_amount"),  # number: "两千五" and "fifty" are not digit strings
    ("clinic", "book_date"), ("clinic", "book_time"),  # dates and times
    ("hotline", "questions"),  # an open question, answered from the knowledge base
])
def test_amounts_dates_and_open_questions_stay_free(name: str, node: str) -> None:
    assert grammar_at(plan(name), node) is None


# ---------------------------------------------------------------- yes and no
@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
def test_a_read_back_being_confirmed_is_yes_or_no_in_the_calls_language(language: str) -> None:
    p = plan("bank")
    g = grammar_at(p, "verify_card_last4", language, confirming=("card_last4", "4821"))
    assert g == yes_no_grammar(language) and g.ids() == (YES, NO)
    assert ("是的" in dict(g.choices)[YES]) == (language == "zh-CN")
    assert grammar_kind(g) == "yes_no"


def test_an_engine_read_back_listens_for_yes_or_no(tmp_path: Path) -> None:
    nodes = """
    s:
      gather:
        prompt: {zh-CN: 请输入卡号后四位, en-US: Last four digits}
        slot: {name: last4, type: digits, min_length: 4, max_length: 4}
        confirm: true
        next: done
    done: {hangup: {say: "ok"}}
    """
    e = engine(tmp_path, nodes, DEFAULTS_HEAD)
    first = e.start({}, FACTS)
    asked = first.actions[-1]
    assert isinstance(asked, Listen) and asked.grammar == DigitGrammar(4, 4)
    step = e.step(first.state, CallerInput("speech", "四八二一"), FACTS)
    read_back = step.actions[-1]
    assert isinstance(read_back, Listen) and read_back.grammar == yes_no_grammar("zh-CN")
    # the grammar is what the recogniser is told, not what the dialogue waits for
    assert read_back == Listen("s", "zh-CN", None, 1, 1, dtmf_choices=("1", "2"))


def test_did_you_mean_and_did_that_answer_it_are_yes_or_no(hotline) -> None:
    g = grammar_at(hotline, "main_menu", "en-US", confirming=(INTENT, "top_up"))
    assert g == yes_no_grammar("en-US")
    node = hotline.nodes["questions"]
    state = DialogState(node="questions", language="zh-CN", confirming=(ANSWER, "roaming"))
    check = Answering(NodeWalker(hotline, {}), None)._check(state, node)[-1]
    assert isinstance(check, Listen) and check.grammar == yes_no_grammar("zh-CN")
    assert check.dtmf_choices == ("1", "2") and not check.digits_slot
    listen = NodeRenderer(hotline).yes_no_listen(DialogState("main_menu", "en-US"),
                                                 hotline.nodes["main_menu"])
    assert listen.grammar == yes_no_grammar("en-US") and listen.dtmf_choices == ("1", "2")


def test_a_consent_question_is_yes_or_no(tmp_path: Path) -> None:
    nodes = """
    s:
      consent:
        prompt: {zh-CN: 本通话将被录音，同意请按1, en-US: This call is recorded. Press 1}
      next: done
    done: {hangup: {say: "ok"}}
    """
    e = engine(tmp_path, nodes)
    state = e.start({}, FACTS).state
    listen = consent_listen(state, e.plan.nodes["s"])
    assert listen.grammar == yes_no_grammar("zh-CN")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_yes_no_phrasing_is_read_as_such_by_the_dialogue(language: str) -> None:
    dialogue_language = {"zh": "zh-CN", "en": "en-US"}[language]
    for cid, phrasings in YES_NO_PHRASINGS[language]:
        for text in phrasings:
            assert extract_yes_no(text, dialogue_language) is (cid == YES), text


# ---------------------------------------------------------------- menus
def test_a_menu_offers_its_intents_language_choices_and_the_agent(hotline) -> None:
    g = grammar_at(hotline, "main_menu", "en-US")
    assert isinstance(g, ChoiceGrammar) and grammar_kind(g) == "menu"
    assert set(g.ids()) == {"bill_enquiry", "broadband_fault", "top_up", "english", "chinese",
                            "agent"}
    phrasings = dict(g.choices)
    assert "agent" in phrasings["agent"] and "english" in phrasings["english"]
    assert all("询" not in p for ps in phrasings.values() for p in ps)  # English only
    zh = dict(grammar_at(hotline, "main_menu", "zh-CN").choices)
    assert "人工" in zh["agent"] and "英语" in zh["english"]


def test_phrases_matched_only_as_written_are_never_a_grammars_guess(hotline) -> None:
    """Crisis phrases and routing phrases (`fuzzy: false`) reach the caller's route from the
    free transcript only: a guess must not send a caller there."""
    for language in hotline.languages:
        ids = set(grammar_at(hotline, "main_menu", language).ids())
        assert not ids & {"self_harm", "chest_pain", "breathing", "question"}


@pytest.mark.parametrize("name", SHIPPED)
def test_menu_grammars_are_bounded_and_short(name: str) -> None:
    p = plan(name)
    for language in p.languages:
        for node_name, node in p.nodes.items():
            if node.menu is None:
                continue
            g = grammar_at(p, node_name, language)
            assert isinstance(g, ChoiceGrammar), node_name
            assert sum(len(ps) for _, ps in g.choices) <= MAX_PHRASINGS
            assert all(ps and all(short(x, language) for x in ps) for _, ps in g.choices)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_choices_first_phrasing_is_matched_by_the_dialogue(name: str) -> None:
    """The canonical text the dialogue gets when the grammar is believed takes that choice."""
    p = plan(name)
    threshold = p.defaults.intent_threshold
    for language in p.languages:
        for node_name, node in p.nodes.items():
            if node.menu is None:
                continue
            for cid, phrasings in grammar_at(p, node_name, language).choices:
                best = ranked(p, phrasings[0], language, None, choices_at(p, node))[0]
                assert (best.intent, best.score >= threshold) == (cid, True), (
                    name, node_name, language, phrasings[0], best)
