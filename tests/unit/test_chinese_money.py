"""Chinese money wording as standard words (issue 17, round 8, H2): `chinese_money.money_wording`
for every Chinese profile: an amount given with an everyday verb is 充 (a top-up, not the
bill's 话费), a question whether money is left is 余额 (a balance question, not a top-up), and
the Mandarin sentences that only look alike are left alone."""

from __future__ import annotations

import pytest

from ivr.understanding.chinese_money import money_wording
from ivr.understanding.profiles import BUILTIN_PROFILES, normalise_for

P = BUILTIN_PROFILES
CHINESE = ["zh-CN", "zh-sichuan", "zh-dongbei", "yue"]


@pytest.mark.parametrize(("text", "expected"), [
    ("给我弄一百块钱话费", "给我充一百块钱话费"),  # the known round-7 miss
    ("帮我搞五十块话费", "帮我充五十块话费"),
    ("先给我来个一百的", "先给我充个一百的"),
    ("再加三十元话费", "再充三十元话费"),
    ("给我买20块钱的话费", "给我充20块钱的话费"),
    ("帮我打五十话费", "帮我充五十话费"),
    ("打点钱进去", "充点钱进去"),
    ("我要重值话费", "我要充值话费"),  # the recogniser's homophones of 充值
    ("帮我冲话费", "帮我充话费"),
    ("我账户还有没有钱", "我账户余额还有多少"),
    ("卡里还有钱吗", "卡里余额还有多少"),
    ("这个号现在还有几块钱", "这个号现在余额还有多少"),
    ("我还剩多少钱", "我余额还有多少"),
    ("手机里的钱还够不够花", "手机里的余额还够不够用"),
    ("最近的花销情况", "最近的消费情况"),
])
def test_money_wording(text, expected):
    assert money_wording(text) == expected


@pytest.mark.parametrize("text", [
    "账单出来一百块",  # 出来: not a giving 来
    "为什么增加一百块话费",  # 增加: a rise on the bill
    "我弄了一百块话费",  # past: 了 between the verb and the sum
    "扣了我一百块话费",  # 扣 takes money
    "手机还剩几块钱了",  # a statement that money is nearly gone (a top-up's)
    "我手机没钱了",
    "帮我打个电话给他",  # no sum of money
    "给我来一个人",
    "上个月话费一百块",
    "我冲进去一看",  # 冲 as rushing
    "重新设置密码",
    "这个月花费多少",  # 花费 is left to issue 19's rule (the recogniser's 话费)
])
def test_lookalikes_are_left_alone(text):
    assert money_wording(text) == text


@pytest.mark.parametrize("pid", CHINESE)
def test_every_chinese_profile_rewrites(pid):
    assert normalise_for(P[pid], "给我弄一百块钱话费") == "给我充一百块钱话费"
    assert "余额" in normalise_for(P[pid], "我账户还有没有钱")


def test_cantonese_balance_question():
    assert normalise_for(P["yue"], "我戶口仲有冇錢") == "我账户余额还有多少"


def test_english_untouched():
    assert normalise_for(P["en-US"], "give me a hundred yuan") == "give me a hundred yuan"
