"""Regional and dialect Chinese wording as mainland Mandarin (issue 17, round 7, H4):
`chinese_text.mainland_wording` for every Chinese profile (Taiwan usage, Shanghainese,
Hokkien, Hakka, 俺) and the round-7 entries of the Sichuanese, North-Eastern and Cantonese
lexicons, with the Mandarin words they must leave alone."""

from __future__ import annotations

import pytest

from ivr.understanding.chinese_text import mainland_wording
from ivr.understanding.profiles import BUILTIN_PROFILES, normalise_for

P = BUILTIN_PROFILES
CHINESE = ["zh-CN", "zh-sichuan", "zh-dongbei", "yue"]


@pytest.mark.parametrize(("text", "expected"), [
    ("我家網路一直斷線", "我家网络一直断线"),  # Taiwan: 網路 is 网络
    ("我想查一下帳單", "我想查一下账单"),  # 帳 -> 帐 (OpenCC) -> 账
    ("幫我手機門號儲值", "帮我手机号码充值"),
    ("數據機的燈不亮", "光猫的灯不亮"),
    ("侬帮我转人工好伐", "你帮我转人工好吗"),  # Shanghainese
    ("阿拉屋里向网络断脱了", "我家里网络断了"),
    ("迭个月电话费几钿", "这个月电话费多少钱"),
    ("阮兜的網路袂通", "我家的网络不通"),  # Hokkien
    ("我欲儲值", "我要充值"),
    ("電話費是偌濟", "电话费是多少"),
    ("我欲揣人工", "我要找人工"),
    ("𠊎這隻月个電話費係幾多", "我这个月个电话费是多少"),  # Hakka (係 is 是 before t2s)
    ("屋下網路斷忒了", "家里网络断了"),
    ("網路用毋得", "网络用不得"),
    ("俺家网断了", "我家网断了"),
    ("帮我充五十蚊", "帮我充五十块"),
])
@pytest.mark.parametrize("pid", CHINESE)
def test_regional_words_for_every_chinese_profile(pid, text, expected):
    assert normalise_for(P[pid], text) == expected


@pytest.mark.parametrize("text", [
    "无线网路由器坏了",  # 网 + 路由器, not Taiwan's 网路
    "阿拉伯语怎么说",  # Arabic, not Shanghainese "I"
    "步伐", "砍伐树木",  # not the question particle
    "他们联袂出演", "毋庸置疑", "毋宁说", "揣测一下", "揣摩心思",
    "食欲不好", "欲望",  # 欲 only after a pronoun
    "帐篷", "蚊帐", "蚊子咬人",
    "这只猫", "关系", "系统", "联系我",
    "我想查询话费", "宽带坏了", "转人工",
])
def test_mandarin_words_left_alone(text):
    assert mainland_wording(text) == text
    assert normalise_for(P["zh-CN"], text) == text


def test_traditional_relation_words_keep_xi():
    # the Traditional 係 is 是 for every Chinese profile, except inside 關係, 聯係, 係統
    assert normalise_for(P["zh-CN"], "我們的關係") == "我们的关系"
    assert normalise_for(P["zh-CN"], "係統壞了") == "系统坏了"
    assert normalise_for(P["zh-CN"], "係咪") == "是咪"


def test_english_profiles_untouched():
    for pid in ("en-US", "en-GB", "en-IN"):
        assert normalise_for(P[pid], "my wifi 網路") == "my wifi 網路"


@pytest.mark.parametrize(("pid", "text", "expected"), [
    ("zh-sichuan", "帮我查哈我还有好多钱", "帮我查一下我余额还有多少"),  # + chinese_money
    ("zh-sichuan", "这个月用了好多钱", "这个月用了多少钱"),
    ("zh-sichuan", "屋头wifi又断求了", "家里wifi又断了"),
    ("zh-sichuan", "我手机停起了帮我冲起嘛", "我手机停了帮我充上嘛"),
    ("zh-sichuan", "喊个人来嘛", "找个人来嘛"),  # not 叫个: it sounds as top-up 交个
    ("zh-sichuan", "莫让机器跟我说", "别让机器跟我说"),
    ("zh-dongbei", "这月咋扣了这老些钱", "这月怎么扣了这么多钱"),
    ("zh-dongbei", "找个人跟我唠唠", "找个人跟我聊聊"),
    ("yue", "我戶口仲有冇錢呀", "我账户余额还有多少呀"),  # + chinese_money
    ("yue", "屋企上唔到網", "家里上不了网"),
    ("yue", "幫我轉駁真人", "帮我转接真人"),
    ("yue", "我想查下今個月用咗幾多錢", "我想查下这个月用了多少钱"),
    ("yue", "我要俾錢入部電話", "我要交钱入部电话"),
])
def test_round7_lexicon_entries(pid, text, expected):
    assert normalise_for(P[pid], text) == expected


def test_lexicon_entries_stay_with_their_dialect():
    # 好多 is "many" in Mandarin, 仲 is 仲裁, 喊 is "shout": only their dialect maps them
    assert normalise_for(P["zh-CN"], "用了好多钱") == "用了好多钱"
    assert normalise_for(P["zh-CN"], "仲裁委员会") == "仲裁委员会"
    assert normalise_for(P["zh-CN"], "喊个人来") == "喊个人来"
    assert normalise_for(P["zh-dongbei"], "这老些钱") == "这么多钱"
    assert normalise_for(P["zh-CN"], "这老些钱") == "这老些钱"
