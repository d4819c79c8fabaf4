"""A keyword heard by its sound is a recogniser's mishearing of it (鱼额, 于额 for 余额), not
the end of one word and the start of the next (下雨|啊, 说话|飞快, 主人|公) nor a final
particle (钓鱼啊): issue 17 round 9, `fuzzy.sound_evidence`."""

from __future__ import annotations

import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.loader import load_dialplan
from ivr.understanding.fuzzy import misheard_reading, sound_evidence
from ivr.understanding.intents import match_intents

HOTLINE = load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan
SERVICES = ["bill_enquiry", "broadband_fault", "top_up", "agent"]


@pytest.mark.parametrize(("text", "keyword"), [
    ("帮我查一下鱼额", "余额"),
    ("我手机里还有多少于额", "余额"),
    ("查下鱼额", "余额"),
    ("我要冲值一百块", "充值"),  # jieba cuts 要冲 | 值: a rare word, the keyword reads better
    ("话妃这个月扣了多少啊", "话费"),
    ("家里宽代又断了", "宽带"),
])
def test_a_misheard_keyword_is_still_heard(text: str, keyword: str) -> None:
    assert any(sound_evidence(text, keyword, tones) for tones in (True, False))


@pytest.mark.parametrize(("text", "keyword"), [
    ("明儿个下不下雨啊", "余额"),  # a final particle: 啊 reads e
    ("听日会唔会落雨啊", "余额"),
    ("周末去河边钓鱼啊", "余额"),
    ("这些鱼额外送给你", "余额"),  # 额外
    ("他说话飞快我听不清", "话费"),  # 说话 | 飞快
    ("这部电影的主人公是谁", "人工"),  # 主人公
    ("我往宿舍走呢", "网速"),  # 宿舍
    ("我家款待坏了", "宽带"),  # another real word (as before)
])
def test_a_sound_across_words_or_a_particle_is_no_keyword(text: str, keyword: str) -> None:
    assert not any(sound_evidence(text, keyword, tones) for tones in (True, False))


def test_the_reading_compares_the_sentence_cut_both_ways() -> None:
    assert misheard_reading("帮我查一下鱼额", 5, "余额")
    assert not misheard_reading("他说话飞快", 2, "话费")


@pytest.mark.parametrize("text", ["明儿个下不下雨啊", "这部电影的主人公是谁", "小孩在画飞机"])
def test_the_hotline_hears_no_service_in_them(text: str) -> None:
    matches = match_intents(text, HOTLINE.intents, "zh-CN", SERVICES)
    assert not matches or matches[0].score < HOTLINE.defaults.intent_threshold


def test_the_hotline_still_hears_a_misheard_balance() -> None:
    matches = match_intents("帮我查一下鱼额", HOTLINE.intents, "zh-CN", SERVICES)
    assert matches and matches[0].intent == "bill_enquiry"
