"""Comparing Chinese by sound, on homophones Whisper (base) writes for Mandarin telephone speech."""

from __future__ import annotations

import pytest

from ivr.understanding.pinyin import sound_similarity, sounds_contain, syllables

# (what Whisper wrote, what the caller said)
HOMOPHONES = [  # same syllables, same tones
    ("茶话费", "查话费"),
    ("冲值", "充值"),
    ("转人公", "转人工"),
    ("宽待", "宽带"),
    ("话废", "话费"),
]
NEAR_HOMOPHONES = [  # same syllables, another tone
    ("查花费", "查话费"),  # hua1 for hua4
    ("款待", "宽带"),  # kuan3 for kuan1
]


# ---------------------------------------------------------------- syllables
def test_syllables_without_and_with_tones():
    assert syllables("查话费") == ("cha", "hua", "fei")
    assert syllables("查话费", True) == ("cha2", "hua4", "fei4")
    assert syllables("款待", True) == ("kuan3", "dai4")
    assert syllables("宽带", True) == ("kuan1", "dai4")
    assert syllables("坏了", True) == ("huai4", "le5")  # neutral tone as 5


def test_syllables_drop_everything_but_chinese():
    assert syllables("我要 wifi，谢谢！123") == ("wo", "yao", "xie", "xie")
    assert syllables("hello world 123") == ()
    assert syllables("") == ()
    assert syllables("，。！？") == ()


@pytest.mark.parametrize(("heard", "said"), HOMOPHONES + NEAR_HOMOPHONES)
def test_misrecognitions_share_syllables_without_tones(heard, said):
    assert syllables(heard) == syllables(said)
    assert heard != said


# ---------------------------------------------------------------- sound_similarity
@pytest.mark.parametrize(("heard", "said"), HOMOPHONES)
def test_homophone_scores_0_9(heard, said):
    assert sound_similarity(heard, said) == 0.9
    assert sound_similarity(said, heard) == 0.9


@pytest.mark.parametrize(("heard", "said"), NEAR_HOMOPHONES)
def test_near_homophone_scores_0_85(heard, said):
    assert sound_similarity(heard, said) == 0.85


def test_example_heard_inside_a_longer_request():
    assert sound_similarity("我想茶话费", "查话费") == 0.9
    assert sound_similarity("我要冲值", "充值") == 0.9
    assert sound_similarity("我家款待坏了", "宽带坏了") == 0.85
    assert sound_similarity("帮我转人公吧", "转人工") == 0.9
    # but not the other way round: a longer example is not contained in a short request
    assert sound_similarity("话费", "我想查一下话费") < 0.85


def test_partial_overlap_scores_by_syllable_pairs():
    # 话费/话废 shares (hua4, fei4) with 查话费 but not (cha2, hua4): dice = 2*1/(1+2)
    assert sound_similarity("话废", "查话费") == pytest.approx(2 / 3)
    # without tones only: 0.95 * dice
    assert sound_similarity("花费", "查话费") == pytest.approx(0.95 * 2 / 3)


def test_identical_text_scores_0_9():
    assert sound_similarity("宽带坏了", "宽带坏了") == 0.9


@pytest.mark.parametrize(("text", "example"), [
    ("今天天气怎么样", "查话费"),
    ("我想问一下天气", "宽带坏了"),
    ("谢谢", "充值"),
    ("天气", "转人工"),
])
def test_unrelated_text_scores_low(text, example):
    assert sound_similarity(text, example) < 0.3


@pytest.mark.parametrize(("text", "example"), [("hello", "查话费"), ("查话费", "hello"),
                                               ("", "查话费"), ("check my bill", "bill")])
def test_non_chinese_scores_zero(text, example):
    assert sound_similarity(text, example) == 0.0


def test_single_syllables_only_match_alone():
    assert sound_similarity("查", "茶") == 0.9  # one syllable each, same sound
    assert sound_similarity("查", "花") == 0.0
    assert sound_similarity("查", "查话费") == 0.0  # one syllable shared is no evidence
    assert sound_similarity("我要茶", "查") == 0.9  # contained, with the same tone
    assert sound_similarity("查花", "查") == 0.9


# ---------------------------------------------------------------- sounds_contain
@pytest.mark.parametrize(("text", "keyword"), [
    ("我想茶话费", "话费"),
    ("冲值", "充值"),
    ("转人公", "人工"),
    ("话废", "话费"),
    ("宽待坏了", "宽带"),
])
def test_sounds_contain_homophones_with_and_without_tones(text, keyword):
    assert sounds_contain(text, keyword)
    assert sounds_contain(text, keyword, tones=True)


@pytest.mark.parametrize(("text", "keyword"), [("我家款待坏了", "宽带"), ("查花费", "话费")])
def test_sounds_contain_near_homophones_only_without_tones(text, keyword):
    assert sounds_contain(text, keyword)
    assert not sounds_contain(text, keyword, tones=True)


@pytest.mark.parametrize(("text", "keyword"), [("我要茶", "查"), ("花", "话"), ("是", "事"),
                                               ("有", "又")])
def test_single_syllable_keywords_never_match_by_sound(text, keyword):
    assert syllables(text)[-1] == syllables(keyword)[0]  # they do sound alike
    assert not sounds_contain(text, keyword)
    assert not sounds_contain(text, keyword, tones=True)
    assert not sounds_contain(keyword, keyword)  # not even the keyword itself


@pytest.mark.parametrize(("text", "keyword"), [
    ("今天天气怎么样", "话费"),
    ("hello", "话费"),
    ("话费", "hello"),
    ("话费", ""),
    ("费话", "话费"),  # the syllables in another order
    ("话和费", "话费"),  # not adjacent
])
def test_sounds_contain_negatives(text, keyword):
    assert not sounds_contain(text, keyword)
    assert not sounds_contain(text, keyword, tones=True)


def test_polyphonic_homophone_chongzhi():
    assert sounds_contain("我要重值", "充值")
    assert sound_similarity("重值", "充值") >= 0.85
