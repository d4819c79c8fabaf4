"""Understanding caller text: normalisation, intents on the hotline plan, slot extraction."""

from __future__ import annotations

import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan import load_dialplan
from ivr.dialplan.models import Intent
from ivr.understanding.intents import (
    extract_digits,
    extract_number,
    extract_yes_no,
    is_chinese,
    match_intents,
    normalise,
    score_intent,
    similarity,
)


@pytest.fixture(scope="module")
def intents() -> dict[str, Intent]:
    return load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan.intents


# ---------------------------------------------------------------- normalise
@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("話費", "zh-CN", "话费"),
        ("我想查一下話費，謝謝！", "zh-CN", "我想查一下话费谢谢"),
        (" 转 人 工 。", "zh-CN", "转人工"),
        ("ＡＢＣ１２３", "zh-CN", "abc123"),  # NFKC full-width, lower case
        ("Check My BILL, please!", "en-US", "check my bill please"),
        ("  Hello,   WORLD  ", "en", "hello world"),
        ("ＴＯＰ ＵＰ", "en-US", "top up"),
    ],
)
def test_normalise(text, language, expected):
    assert normalise(text, language) == expected


def test_is_chinese():
    assert is_chinese("zh-CN") and is_chinese("zh") and is_chinese("yue-HK") and is_chinese("ZH")
    assert not is_chinese("en-US") and not is_chinese("fr")


def test_similarity_bounds():
    assert similarity("", "abc", "en-US") == 0.0
    assert similarity("check my bill", "check my bill", "en-US") == 1.0
    assert similarity("please check my bill now", "check my bill", "en-US") == 0.95
    assert similarity("我想查话费吧", "查话费", "zh-CN") == 0.95
    assert 0.0 <= similarity("宽带坏了", "查话费", "zh-CN") < 0.3


# ---------------------------------------------------------------- intents
@pytest.mark.parametrize(
    ("text", "language", "intent", "score"),
    [
        ("我想查一下话费", "zh-CN", "bill_enquiry", 0.89),  # keyword 话费 (2 chars)
        ("我想查一下話費", "zh-CN", "bill_enquiry", 0.89),  # Traditional characters
        ("宽带坏了", "zh-CN", "broadband_fault", 0.89),
        ("帮我转人工", "zh-CN", "agent", 0.89),
        ("我要充值", "zh-CN", "top_up", 0.89),
        ("check my bill", "en-US", "bill_enquiry", 0.93),  # "bill": 0.85 + 0.02 * 4
        ("Waiting to speak with a representative.", "en-US", "agent", 0.99),
        ("the internet is down", "en-US", "broadband_fault", 0.99),
        ("I want to top up", "en-US", "top_up", 0.97),
    ],
)
def test_match_intents(intents, text, language, intent, score):
    best = match_intents(text, intents, language)[0]
    assert best.intent == intent
    assert best.score == pytest.approx(score)


def test_match_intents_sorted_and_restricted(intents):
    matches = match_intents("我想查一下话费", intents, "zh-CN")
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    assert {m.intent for m in matches} == set(intents)
    only = match_intents("我想查一下话费", intents, "zh-CN", ["agent", "top_up"])
    assert [m.intent for m in only] == ["top_up", "agent"]
    assert only[0].score < 0.5  # no keyword of these intents is in the text


def test_keyword_evidence(intents):
    m = match_intents("Waiting to speak with a representative.", intents, "en-US")[0]
    assert m.evidence == "representative"


def test_keyword_specificity(intents):
    matches = match_intents("不是", intents, "zh-CN", ["affirm", "deny"])
    assert [(m.intent, m.evidence) for m in matches] == [("deny", "不是"), ("affirm", "是")]
    assert matches[0].score == pytest.approx(0.89)
    assert matches[1].score == pytest.approx(0.87)
    assert match_intents("是的", intents, "zh-CN", ["affirm", "deny"])[0].intent == "affirm"


def test_english_keywords_match_whole_words(intents):
    # "no" is a deny keyword but must not match inside "know" or "nothing"
    score, _ = score_intent("I know", intents["deny"], "en-US")
    assert score < 0.5
    score, evidence = score_intent("nothing else, thanks", intents["deny"], "en-US")
    assert (score, evidence) == (0.99, "nothing else")  # capped at 0.99


def test_examples_used_without_keywords(intents):
    # "帮我核对一下这个月的费用" has no keyword of bill_enquiry but is one of its examples
    # ("我还剩多少钱" was, until round 7 made 还剩多少 a keyword)
    score, evidence = score_intent("帮我核对一下这个月的费用", intents["bill_enquiry"], "zh-CN")
    assert (score, evidence) == (1.0, "帮我核对一下这个月的费用")


def test_language_prefix_fallback():
    # a regional variant that is not a dialect profile serves its base language...
    intent = Intent(keywords={"en-AU": ["cheers"], "zh-CN": ["谢谢"]})
    assert score_intent("cheers mate", intent, "en-US")[1] == "cheers"
    assert score_intent("cheers mate", intent, "zh-CN")[0] < 0.5
    # ...while entries under a dialect profile (en-GB) serve only that profile's callers
    dialect = Intent(keywords={"en-GB": ["cheers"]})
    assert score_intent("cheers mate", dialect, "en-US")[0] == 0.0


def test_off_topic_scores_low(intents):
    matches = match_intents("in being comparatively modern", intents, "en-US")
    assert matches[0].score < 0.5


# ---------------------------------------------------------------- digits
@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("幺三八零零一三八零零零", "zh-CN", "13800138000"),
        ("我的号码是138 0013 8000", "zh-CN", "13800138000"),
        ("一三八，零零一三", "zh-CN", "1380013"),
        ("double five one", "en-US", "551"),
        ("triple nine", "en-US", "999"),
        ("my number is 138 0013", "en-US", "1380013"),
        ("one two three four five six", "en-US", "123456"),
        ("oh one two", "en-US", "012"),
        ("１２３", "en-US", "123"),
        ("no digits here", "en-US", ""),
        ("没有", "zh-CN", ""),
    ],
)
def test_extract_digits(text, language, expected):
    assert extract_digits(text, language) == expected


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("五十", "zh-CN", 50),
        ("一百二十", "zh-CN", 120),
        ("两千零五", "zh-CN", 2005),
        ("一万", "zh-CN", 10000),
        ("十五", "zh-CN", 15),
        ("一百零五", "zh-CN", 105),
        ("二十万", "zh-CN", 200_000),
        ("3千", "zh-CN", 3000),
        ("兩千", "zh-CN", 2000),  # Traditional
        ("充一百块", "zh-CN", 100),
        ("零", "zh-CN", 0),
        ("没有", "zh-CN", None),
        ("two thousand five hundred and twenty", "en-US", 2520),
        ("fifty yuan", "en-US", 50),
        ("one hundred", "en-US", 100),
        ("a hundred and fifty", "en-US", 150),
        ("twelve hundred", "en-US", 1200),
        ("1,500", "en-US", 1500),
        ("I want fifty", "en-US", 50),
        ("zero", "en-US", 0),
        ("nothing", "en-US", None),
        ("", "en-US", None),
    ],
)
def test_extract_number(text, language, expected):
    assert extract_number(text, language) == expected


@pytest.mark.parametrize(("text", "expected"), [("三百五", 350), ("一千五", 1500),
                                                 ("一万二", 12000)])
def test_extract_number_chinese_abbreviated_tail(text, expected):
    assert extract_number(text, "zh-CN") == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("three fifty", 350), ("two twenty five", 225), ("nineteen ninety", 1990),
    ("fifty three", 53), ("twenty one", 21), ("three hundred fifty", 350)])
def test_extract_number_english_spoken_hundreds(text, expected):
    """Said as people say prices and years: a number under 100 before a tens or teen word
    counts hundreds (intent_variants.yaml's "three fifty" had read 53)."""
    assert extract_number(text, "en-US") == expected


# ---------------------------------------------------------------- yes / no
@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("是的", "zh-CN", True),
        ("对", "zh-CN", True),
        ("好的，确认", "zh-CN", True),
        ("不是", "zh-CN", False),
        ("不对", "zh-CN", False),
        ("不用了，谢谢", "zh-CN", False),
        ("没有", "zh-CN", False),
        ("不是的", "zh-CN", False),  # negative wins over 是的
        ("今天星期三", "zh-CN", None),
        ("yes please", "en-US", True),
        ("Yeah, sure.", "en-US", True),
        ("no thanks", "en-US", False),
        ("Nope!", "en-US", False),
        ("not really", "en-US", False),
        ("I know", "en-US", None),  # "no" only as a whole word
        ("maybe", "en-US", None),
    ],
)
def test_extract_yes_no(text, language, expected):
    assert extract_yes_no(text, language) is expected


def test_extract_yes_no_thats_all():
    assert extract_yes_no("That's all", "en-US") is False
