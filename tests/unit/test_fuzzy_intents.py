"""Intent matching that survives recognition errors and dialect wording (hotline intents)."""

from __future__ import annotations

import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Intent
from ivr.understanding.intents import (
    _fuzzy_word,
    fuzzy_keyword_hit,
    match_intents,
    normalise,
    score_intent,
)
from ivr.understanding.profiles import BUILTIN_PROFILES as P

PLAN = load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan
INTENTS = PLAN.intents
MAIN = ["bill_enquiry", "broadband_fault", "top_up", "english", "chinese", "agent"]
THRESHOLD = PLAN.defaults.intent_threshold


def best(text: str, language: str, profile: str | None = None,
         candidates: list[str] | None = None) -> tuple[str, float, str]:
    m = match_intents(text, INTENTS, language, candidates or MAIN,
                      P[profile] if profile else None)
    return m[0].intent, round(m[0].score, 3), m[0].evidence


def scores(text: str, language: str, profile: str | None = None) -> dict[str, float]:
    return {m.intent: m.score for m in match_intents(
        text, INTENTS, language, MAIN, P[profile] if profile else None)}


def test_threshold():
    assert THRESHOLD == 0.5


# ---------------------------------------------------------------- Mandarin ASR errors
@pytest.mark.parametrize(("heard", "intent", "score", "evidence"), [
    # true homophones (same tones): exact keyword score - 0.005
    ("茶话费", "bill_enquiry", 0.89, "话费"),  # an exact 话费 inside
    ("我想查话废", "bill_enquiry", 0.885, "话费"),
    ("冲值", "top_up", 0.885, "充值"),
    ("我要冲值", "top_up", 0.885, "充值"),
    ("转人公", "agent", 0.885, "人工"),
    ("宽待坏了", "broadband_fault", 0.885, "宽带"),
    # near homophones (another tone): 0.80 + 0.02 per character
    ("我要查话飞", "bill_enquiry", 0.84, "话费"),
    # heard as another common word (花费 spending, 款待 to treat): not the keyword by sound,
    # still the example by sound (0.97 * 0.85)
    ("查花费", "bill_enquiry", 0.825, "查话费"),
    ("我家款待坏了", "broadband_fault", 0.825, "宽带坏了"),
])
def test_mandarin_recognition_errors(heard, intent, score, evidence):
    assert best(heard, "zh-CN") == (intent, score, evidence)


@pytest.mark.parametrize("heard", ["冲值", "转人公", "宽待坏了", "我家款待坏了", "查花费"])
def test_recognition_errors_lead_clearly(heard):
    ranked = match_intents(heard, INTENTS, "zh-CN", MAIN)
    assert ranked[0].score >= THRESHOLD
    assert ranked[0].score - ranked[1].score >= 0.3


def test_chongzhi_polyphone_reaches_top_up():
    # 重 read chong (not zhong) sounds like 充 without the tone: a tone-less sound match
    assert best("我要重值", "zh-CN")[:2] == ("top_up", 0.84)


# ---------------------------------------------------------------- dialect wording
@pytest.mark.parametrize(("text", "profile", "intent"), [
    ("我想问下话费还剩好多", "zh-sichuan", "bill_enquiry"),
    ("宽带咋个又坏了", "zh-sichuan", "broadband_fault"),
    ("话费咋查", "zh-dongbei", "bill_enquiry"),
    ("网贼慢", "zh-dongbei", "broadband_fault"),
    ("我想瞅瞅账单", "zh-dongbei", "bill_enquiry"),
    ("我想查下話費", "yue", "bill_enquiry"),
    ("寬頻壞咗", "yue", "broadband_fault"),
    ("我冇錢喇想增值", "yue", "top_up"),
    ("唔該幫我轉人工", "yue", "agent"),
])
def test_chinese_dialect_wording(text, profile, intent):
    got, score, _ = best(text, "zh-CN", profile)
    assert got == intent
    assert score >= THRESHOLD


@pytest.mark.parametrize(("text", "profile", "intent", "without"), [
    # only the profile's lexicon makes these clear
    ("寬頻壞咗", "yue", "broadband_fault", 0.45),  # 寬頻 -> 宽带
    ("我冇錢喇想增值", "yue", "top_up", 0.2),  # 增值 -> 充值
    ("网贼慢", "zh-dongbei", "broadband_fault", 0.514),  # 贼 -> 很: 网速很慢
])
def test_dialect_lexicon_raises_the_score(text, profile, intent, without):
    assert scores(text, "zh-CN")[intent] == pytest.approx(without, abs=0.001)
    assert scores(text, "zh-CN", profile)[intent] >= without + 0.25


@pytest.mark.parametrize(("text", "profile", "intent", "score"), [
    ("I wanna check my mobile bill", "en-GB", "bill_enquiry", 0.93),
    ("I wanna check my mobile bill", "en-US", "bill_enquiry", 0.93),
    ("kindly connect me to an agent", "en-IN", "agent", 0.95),
    ("I'd like to top up my mobile", "en-GB", "top_up", 0.97),
    ("gimme an operator", "en-US", "agent", 0.99),
    ("cheers, my broadband is down innit", "en-GB", "broadband_fault", 0.99),
])
def test_english_dialect_wording(text, profile, intent, score):
    assert best(text, "en-US", profile)[:2] == (intent, score)


def test_english_lexicon_reaches_an_example():
    # "wanna" -> "want to" (a stop word): only "pay" is left to compare, nearer a top-up
    # example ("I'd like to pay in advance for my phone")
    assert best("I wanna pay", "en-US", "en-US")[0] == "top_up"
    assert scores("I wanna pay", "en-US", "en-US")["top_up"] > scores("I wanna pay", "en-US")[
        "top_up"]


# ---------------------------------------------------------------- English fuzzy words
@pytest.mark.parametrize(("text", "intent", "score", "evidence"), [
    # "bell" is a word, never the keyword "bill": only the example's words "check my"
    ("check my bell", "bill_enquiry", 0.519, "check my bill"),
    ("biling question", "bill_enquiry", 0.82, "billing"),  # one edit: 0.75 + 0.01 * 7
    ("my ballance", "bill_enquiry", 0.82, "balance"),
    ("operater", "agent", 0.83, "operator"),
    ("represenative", "agent", 0.89, "representative"),  # 2 edits allowed for 8+ letters
    ("broad band is down", "broadband_fault", 0.985, "broadband"),  # compound: exact - 0.005
    ("i want a topup", "top_up", 0.965, "top up"),
    ("top-up please", "top_up", 0.97, "top up"),  # punctuation gone: exact "top up"
])
def test_english_misrecognitions(text, intent, score, evidence):
    assert best(text, "en-US") == (intent, score, evidence)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("bell", "bill", False),  # a real word is not a misspelling
    ("bill", "bell", False),
    ("bills", "bill", True),  # a plural is the same word
    ("biling", "billing", True),
    ("bill", "bill", True),
    ("represenative", "representative", True),
    ("pill", "bill", False),  # first letter differs
    ("tell", "bill", False),
    ("bolt", "bill", False),  # two edits on a short word
    ("build", "bill", False),
    ("prison", "person", False),
    ("personal", "person", False),
    ("bat", "bit", False),  # under 4 letters
    ("cal", "call", False),
])
def test_fuzzy_word(a, b, expected):
    assert _fuzzy_word(a, b) is expected


@pytest.mark.parametrize(("text", "keyword", "expected"), [
    ("i have a bell question", "bill", False),  # "bell" is a word
    ("i have a bil question", "bill", False),  # under 4 letters
    ("the last calll i made", "last call", True),
    ("the last coll i made", "last call", False),  # "coll" is common enough (Zipf 3.0)
    ("broad band is down", "broadband", True),
    ("topup please", "top up", True),
    ("i am in prison", "person", False),
    ("the pill", "bill", False),
    ("last", "last call", False),
    ("top", "top up", False),
    ("", "bill", False),
])
def test_fuzzy_keyword_hit(text, keyword, expected):
    assert fuzzy_keyword_hit(normalise(text, "en-US"), keyword) is expected


# ---------------------------------------------------------------- false positives
@pytest.mark.parametrize("text", [
    "what's the weather like",
    "I am in prison",
    "the pill",
    "tell me a joke",
    "the build",
    "can I change my address",
    "I lost my sim card",
    "thanks goodbye",
    "hello",
])
def test_english_false_positives_stay_below_threshold(text):
    assert max(scores(text, "en-US").values()) < THRESHOLD


@pytest.mark.parametrize("text", ["今天天气怎么样", "我想订一张机票", "你好", "谢谢再见",
                                  "我的手机丢了"])
def test_chinese_false_positives_stay_below_threshold(text):
    assert max(scores(text, "zh-CN").values()) < THRESHOLD


def test_prison_is_not_a_person():
    s = scores("I am in prison", "en-US")
    assert s["agent"] < THRESHOLD
    assert score_intent("prison", INTENTS["agent"], "en-US")[1] != "person"


@pytest.mark.parametrize(("text", "intent"), [
    ("I have a question about my personal account", "agent"),
    ("how do I reset my router to the default settings", "broadband_fault"),
])
def test_keyword_inside_a_longer_word_is_not_a_hit(text, intent):
    assert scores(text, "en-US")[intent] < THRESHOLD


# ---------------------------------------------------------------- keyword specificity
@pytest.mark.parametrize(("text", "intent", "score", "other"), [
    ("不是", "deny", 0.89, 0.87),  # 不是 (2 characters) beats 是
    ("不要", "deny", 0.89, 0.87),  # 不要 beats 要
    ("是的", "affirm", 0.89, 0.0),
    ("没有", "deny", 0.89, 0.87),  # 没有 beats 有
])
def test_longer_keyword_wins(text, intent, score, other):
    ranked = match_intents(text, INTENTS, "zh-CN", ["affirm", "deny"])
    assert (ranked[0].intent, round(ranked[0].score, 3)) == (intent, score)
    assert round(ranked[1].score, 3) == other


def test_keyword_score_grows_with_length_and_caps():
    assert score_intent("人工", INTENTS["agent"], "zh-CN") == (pytest.approx(0.89), "人工")
    assert score_intent("接线员", INTENTS["agent"], "zh-CN") == (pytest.approx(0.91), "接线员")
    assert score_intent("representative", INTENTS["agent"], "en-US") == (0.99, "representative")


# ---------------------------------------------------------------- profile-keyed entries
DIALECT_INTENT = Intent(
    examples={"zh-CN": ["查话费"], "zh-sichuan": ["话费还剩好多嘛"], "yue": ["我想查数"],
              "en-US": ["check my bill"], "en-GB": ["sort out my account"]},
)


def test_profile_examples_used_with_that_profile():
    assert score_intent("话费还剩好多嘛", DIALECT_INTENT, "zh-CN", P["zh-sichuan"]) == (
        1.0, "话费还剩好多嘛")
    assert score_intent("我想查数", DIALECT_INTENT, "zh-CN", P["yue"]) == (1.0, "我想查数")
    assert score_intent("sort out my account", DIALECT_INTENT, "en-US", P["en-GB"]) == (
        1.0, "sort out my account")


def test_cantonese_examples_not_used_for_other_profiles():
    for profile in (None, P["zh-CN"], P["zh-sichuan"], P["zh-dongbei"]):
        s, evidence = score_intent("我想查数", DIALECT_INTENT, "zh-CN", profile)
        assert s < THRESHOLD and evidence != "我想查数"


@pytest.mark.parametrize(("text", "language", "profile"), [
    ("话费还剩好多嘛", "zh-CN", "zh-CN"),
    ("话费还剩好多嘛", "zh-CN", "zh-dongbei"),
    ("sort out my account", "en-US", "en-US"),
])
def test_dialect_examples_not_used_for_other_profiles(text, language, profile):
    s, evidence = score_intent(text, DIALECT_INTENT, language, P[profile])
    assert evidence != text


@pytest.mark.parametrize(("intent", "text", "profile"), [
    (Intent(keywords={"zh-CN": ["账单"], "yue": ["睇数"]}), "我想睇数", "yue"),
    (Intent(examples={"zh-CN": ["宽带报修"], "zh-sichuan": ["啥子时候修好"]}), "啥子时候修好",
     "zh-sichuan"),
])
def test_dialect_entries_match_dialect_wording(intent, text, profile):
    assert score_intent(text, intent, "zh-CN", P[profile])[0] >= 0.85
