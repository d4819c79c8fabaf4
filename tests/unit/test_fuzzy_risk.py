"""No risky fuzzy matches (issue 19): a caller's word that is a real word never matches a
different keyword by spelling or sound; a misspelling that is no word still does."""

from __future__ import annotations

import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.conversation import Conversation
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Intent
from ivr.understanding.fuzzy import (
    common_words,
    fuzzy_keyword_hit,
    fuzzy_word,
    heard_as_word,
    masked,
    plan_words,
)
from ivr.understanding.intents import match_intents, score_intent
from ivr.understanding.pinyin import sound_spans

BANK = load_dialplan(REPO_ROOT / "dialplans" / "bank.yaml").plan
HOTLINE = load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan
LOST = Intent(keywords={"en-US": ["lost"]})


@pytest.mark.parametrize("word", ["last", "list", "lust"])
def test_a_real_word_is_never_lost(word):
    assert not fuzzy_word(word, "lost")
    assert score_intent(f"my {word} bill", LOST, "en-US") == (0.0, "")
    scores = {m.intent: m.score for m in match_intents(
        f"what was my {word} payment", BANK.intents, "en-US")}
    assert scores["lost_card"] < BANK.defaults.intent_threshold


@pytest.mark.parametrize(("heard", "keyword"), [("biling", "billing"), ("ballance", "balance"),
                                                ("operater", "operator"), ("losst", "lost")])
def test_a_misspelling_that_is_no_word_still_matches(heard, keyword):
    assert heard not in common_words("en")
    assert fuzzy_word(heard, keyword)
    assert fuzzy_keyword_hit(f"a {heard} question", keyword)


def test_biling_still_matches_billing_on_the_hotline():
    best = match_intents("biling question", HOTLINE.intents, "en-US")[0]
    assert (best.intent, best.evidence) == ("bill_enquiry", "billing")
    assert best.score == pytest.approx(0.82)


def test_a_word_of_the_dialplan_is_a_real_word_too():
    vocabulary = plan_words(BANK.intents, "en-US")
    assert {"stolen", "freeze", "balance"} <= vocabulary
    # "blocks" is the plural of the keyword "block": the same word
    assert fuzzy_word("blocks", "block", vocabulary)
    # a word the dialplan uses is not a misspelling of another keyword
    assert not fuzzy_word("freezer", "freeze", frozenset({"freezer"}))


def test_my_last_bill_is_a_bill_on_the_hotline():
    best = match_intents("my last bill", HOTLINE.intents, "en-US")[0]
    assert best.intent == "bill_enquiry"
    assert best.score >= HOTLINE.defaults.intent_threshold


def test_my_last_bill_at_the_bank_is_never_a_lost_card():
    for text in ["my last bill", "list my payments", "the last transaction"]:
        top = match_intents(text, BANK.intents, "en-US")[0]
        assert top.intent != "lost_card" or top.score < BANK.defaults.intent_threshold, text


def test_likeness_counts_only_misspellings_and_shared_words():
    assert masked("my last bill", "i lost my card") == "my #### ####"
    assert masked("biling question", "billing question") == "biling question"
    assert masked("add credits", "add credit") == "add credits"  # a plural


@pytest.mark.parametrize(("text", "keyword", "spans"), [
    ("查花费", "话费", ["花费"]), ("我家款待坏了", "宽带", ["款待"]),
    ("我要冲值", "充值", ["冲值"])])
def test_sound_spans(text, keyword, spans):
    assert sound_spans(text, keyword) == spans


def test_a_chinese_keyword_heard_as_another_common_word_does_not_count():
    bill = Intent(keywords={"zh-CN": ["话费"]})
    assert heard_as_word(["花费"], "话费", frozenset())
    assert score_intent("查花费", bill, "zh-CN")[0] == 0.0  # 花费 (spending) is a word
    assert score_intent("我要查话飞", bill, "zh-CN")[0] == pytest.approx(0.84)  # 话飞 is none
    top_up = Intent(keywords={"zh-CN": ["充值"]})
    assert score_intent("冲值", top_up, "zh-CN")[0] == pytest.approx(0.885)  # 冲值 is none


@pytest.mark.parametrize(("plan", "text", "intent", "node"), [
    ("hotline.yaml", "my last bill", "bill_enquiry", "anything_else"),
    ("hotline.yaml", "list my charges", "bill_enquiry", "anything_else"),
    ("bank.yaml", "what was my last balance", "balance", "verify_id_number"),
])
def test_last_and_list_in_a_call(plan, text, intent, node):
    with Conversation(load_dialplan(REPO_ROOT / "dialplans" / plan), caller="13800138000") as c:
        c.start()
        c.press("9")
        turn = c.say_text(text)
        assert (turn.intent, turn.outcome, turn.node_after) == (intent, "match", node)
        assert not any("freeze" in said for said in turn.said)
