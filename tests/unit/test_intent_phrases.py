"""Keywords with gaps (`想*死`, "end * life"), excluded phrases (`exclude`) and intents
matched only as written (`fuzzy: false`): the matcher and the model's validation."""

from __future__ import annotations

import re
import time

import pytest
from pydantic import ValidationError

from ivr.dialplan.models import Intent
from ivr.understanding.intents import match_intents, score_intent
from ivr.understanding.phrases import clauses, cut, gap_hit, gap_parts, keyword_problem
from ivr.understanding.profiles import BUILTIN_PROFILES


def intent(**fields) -> Intent:
    return Intent.model_validate(fields)


# ---------------------------------------------------------------- gaps
@pytest.mark.parametrize(
    ("text", "keyword", "hit"),
    [
        ("我想死", "想*死", True),  # an empty gap is a gap too
        ("我真的想去死", "想*死", True),
        ("我想一个人静静地死", "想*死", True),  # 6 characters between
        ("我想一个人安安静静死", "想*死", False),  # 7 characters: too far
        ("死了我也想", "想*死", False),  # the parts come in order
        ("我吃了一整瓶安眠药", "吃了*安眠药", True),
        ("我想问一下，死机了怎么办", "想*死", False),  # not across a clause
        ("我想问一下。死机了怎么办", "想*死", False),
        ("我把家里的安眠药全吃了", "把*安眠药*全", True),  # several gaps
        ("我把安眠药放好了，全家都睡了", "把*安眠药*全", False),
    ],
)
def test_chinese_gap(text, keyword, hit):
    score, _ = score_intent(text, intent(keywords=[keyword]), "zh-CN")
    assert (score > 0) is hit


@pytest.mark.parametrize(
    ("text", "keyword", "hit"),
    [
        ("I want to end my life", "end * life", True),
        ("I want to end my own sad life", "end * life", True),  # 3 words between
        ("I want to end my own very sad life", "end * life", False),  # 4: too far
        ("life will end", "end * life", False),
        ("I am going to end it. Life goes on", "end * life", False),  # not across a sentence
        ("my chest feels really tight", "chest * tight", True),
        ("the lifestyle is ending", "end * life", False),  # whole words only
        ("I took a bottle of my sleeping pills", "bottle of * pills", True),
    ],
)
def test_english_gap(text, keyword, hit):
    score, _ = score_intent(text, intent(keywords=[keyword]), "en-US")
    assert (score > 0) is hit


def test_a_gapped_keyword_scores_like_the_keyword_without_its_gaps():
    gapped, _ = score_intent("胸口一阵一阵地疼", intent(keywords=["胸口*疼"]), "zh-CN")
    plain, _ = score_intent("胸口疼", intent(keywords=["胸口疼"]), "zh-CN")
    assert gapped == plain == pytest.approx(0.91)
    longer, _ = score_intent("胸口一阵一阵地疼", intent(keywords=["胸口*一阵*疼"]), "zh-CN")
    assert longer > gapped  # longer keywords are more specific, as before


def test_the_evidence_is_the_keyword_as_written():
    assert score_intent("我想跳下去", intent(keywords=["想*跳下去"]), "zh-CN")[1] == "想*跳下去"


def test_gap_parts_get_the_callers_dialect_normalisation():
    yue = BUILTIN_PROFILES["yue"]
    keyword = intent(keywords=["唔想*生存"])  # 唔 is 不 for a Cantonese caller
    assert score_intent("我真係唔想再生存落去", keyword, "zh-CN", yue)[0] > 0
    assert score_intent("我真係唔想再生存落去", keyword, "zh-CN")[0] > 0


def test_gap_search_has_no_backtracking_blowup():
    text = "想" * 3000 + "活"
    start = time.process_time()  # CPU time: a parallel test module does not count
    assert not gap_hit(text, ["想", "想", "想", "想", "死"], chinese=True)
    assert time.process_time() - start < 2.0


def test_phrase_helpers():
    assert gap_parts("end * life") == ["end", "life"]
    assert gap_parts("话费") == ["话费"]
    assert clauses("我想问一下，死机了。怎么办？") == ["我想问一下", "死机了", "怎么办"]
    assert clauses("I paid 3.5 dollars. Now what") == ["I paid 3.5 dollars", " Now what"]
    assert gap_hit("a b c d e", ["a", "e"], chinese=False) is True  # 3 words between
    assert gap_hit("a b c d e f", ["a", "f"], chinese=False) is False


# ---------------------------------------------------------------- exclude
SELF_HARM = intent(keywords={"zh-CN": ["想死", "自杀"], "en-US": ["want to die", "dead"]},
                   exclude=["累死", "想死你", "死机", "dying to", "battery is dead"])


@pytest.mark.parametrize(
    ("text", "language", "hit"),
    [
        ("我想死你了", "zh-CN", False),
        ("我想死", "zh-CN", True),
        ("我累死了，我想自杀", "zh-CN", True),  # the rest of the text still counts
        ("我累死了我想自杀", "zh-CN", True),  # with or without punctuation
        ("my battery is dead", "en-US", False),
        ("my battery is dead and I want to die", "en-US", True),
        ("I'm dying to know", "en-US", False),
        ("I feel dead inside", "en-US", True),
    ],
)
def test_exclude_cuts_phrases_out_before_the_keywords(text, language, hit):
    assert (score_intent(text, SELF_HARM, language)[0] > 0) is hit


def test_a_cut_never_joins_its_two_sides_into_a_keyword():
    # without the cut 累死 the text would read 想 | 死 ... joined: 想死
    plain = intent(keywords=["想死"], exclude=["累死"])
    assert score_intent("想累死", plain, "zh-CN")[0] == 0
    gapped = intent(keywords=["想*死"], exclude=["累死"])
    assert score_intent("我想累死了", gapped, "zh-CN")[0] == 0
    english = intent(keywords=["want die"], exclude=["to"])
    assert score_intent("want to die", english, "en-US")[0] == 0


def test_exclude_is_per_intent_and_also_cuts_examples():
    plan = {
        "crisis": intent(examples=["想死"], exclude=["想死你"], fuzzy=False),
        "greeting": intent(keywords=["想死你"]),
    }
    best = match_intents("好久不见，想死你了", plan, "zh-CN")[0]
    assert best.intent == "greeting"
    assert score_intent("想死你了", plan["crisis"], "zh-CN")[0] == 0


def test_english_exclusions_are_whole_words():
    keyword = intent(keywords=["killing myself"], exclude=["killing me"])
    assert score_intent("I am killing myself", keyword, "en-US")[0] > 0


def test_cut_helper():
    assert cut("我累死了我想自杀", ["累死"], chinese=True) == ["我", "了我想自杀"]
    assert cut("the battery is dead now", ["battery is dead"], chinese=False) == ["the", "now"]
    assert cut("累死", ["累死"], chinese=True) == []
    assert cut("a a a", ["a a"], chinese=False) == ["a"]


# ---------------------------------------------------------------- fuzzy: false
def test_not_fuzzy_takes_keywords_and_examples_only_as_written():
    fuzzy = intent(examples=["想死"], keywords=["自杀"])
    exact = intent(examples=["想死"], keywords=["自杀"], fuzzy=False)
    for text in ("我想四点钟来", "有没有相似的套餐", "我要自沙"):  # sound-alikes
        assert score_intent(text, fuzzy, "zh-CN")[0] >= 0.5
        assert score_intent(text, exact, "zh-CN")[0] == 0
    # a sound cut out of a word is no mishearing (紫砂|壶: round 9, fuzzy.sound_evidence)
    assert score_intent("我想买个紫砂壶", fuzzy, "zh-CN")[0] < 0.5
    assert score_intent("我想死", exact, "zh-CN")[0] == pytest.approx(0.95)
    assert score_intent("想死", exact, "zh-CN")[0] == 1.0
    assert score_intent("我想自杀", exact, "zh-CN")[0] == pytest.approx(0.89)
    english = intent(keywords=["kill myself"], fuzzy=False)
    assert score_intent("I want to kill myself", english, "en-US")[0] > 0
    assert score_intent("I want to kiss myself", english, "en-US")[0] == 0  # not misspelt


def test_intents_without_the_new_fields_match_as_before():
    bill = intent(keywords=["话费"], examples=["查话费"])
    assert score_intent("茶话费", bill, "zh-CN")[0] > 0.8  # a homophone, as always
    assert Intent().exclude == [] and Intent().fuzzy is True


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("keyword", "message"),
    [
        ("*", "only a gap"),
        ("**", "only a gap"),
        ("想**死", "two '*' with nothing between"),
        ("想* *死", "two '*' with nothing between"),
        ("*死", "starts or ends with '*'"),
        ("end *", "starts or ends with '*'"),
        ("想*，*死", "has no letters"),
    ],
)
def test_bad_keywords_are_refused_with_a_reason(keyword, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        intent(keywords={"zh-CN": ["话费", keyword]})
    assert message in (keyword_problem(keyword) or "")


@pytest.mark.parametrize(
    ("phrase", "message"),
    [("累*死", "has a '*'"), ("", "no letters"), ("，", "no letters")],
)
def test_bad_exclusions_are_refused_with_a_reason(phrase, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        intent(keywords=["死"], exclude=[phrase])


def test_good_keywords_pass_validation():
    it = intent(keywords={"zh-CN": ["想*死", "吃了*安眠药", "话费"],
                          "en-US": ["end * life", "bottle of * pills"]},
                exclude={"zh-CN": ["累死"], "en-US": ["dying to"]})
    assert it.keywords["en-US"][0] == "end * life"
