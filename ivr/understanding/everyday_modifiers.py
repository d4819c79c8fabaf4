"""Everyday modifiers: words beside a keyword that say what kind of the caller's own thing it
is, not whose business it is (issue 17 round 9).

`off_topic.owner_elsewhere` and `kindred_elsewhere` refuse a request as "said in passing"
when a keyword is tied to a noun no text of the dialplan uses ("my gas bill", 公交卡余额).
A dialplan with 3-5 examples an intent uses few words, so an integrator's small dialplan
refused its own callers' ordinary wording: 纸质账单 (a paper bill), 智能水表读数 (a smart
meter's reading), 老房子的销户 (closing the old flat's account), "a formal complaint", "a
doorstep collection", "the outage on my road", 上门收件 (a pick-up at the door). The words
that do that are of a few kinds, whatever the business, and none of them names a provider:

- attributes: form and medium (paper, written, digital; 纸质, 电子, 书面), size and age (large,
  大件, 老), formality and urgency (formal, 正式, 加急), scope and frequency (大面积, 二次, 首次),
  where a service is done (上门, 网上, 线下); English adjectives without a tell-tale ending;
- the caller's surroundings: their road, estate, block or doorstep (片区, 楼里), which say
  where the fault is, not whose (a library or a bank is another business and stays one);
- Chinese: a noun whose head is the dialplan's own thing (智能水表 ends in 水表, 老房子 is an
  old 房子), or one of the keyword's thing's sizes (大件, 小件 beside 取件). (An action on the
  same thing, 收件 beside 取件, is not told apart: a verb before the head also makes 停车费 of
  缴费's kind.)

The lists are of common words of those kinds, not of words seen in one set; a dialplan's own
words still decide the rest (`off_topic`).
"""

from __future__ import annotations

import functools

# English adjectives and attributive words that end in none of off_topic's adjective
# endings; none that also names a thing someone charges for (no "medical", "electric",
# "mobile", "national", "fine", "light", "metal", "paper": a parking fine, a light bill)
EN_ATTRIBUTES = frozenset("""
formal informal written verbal oral digital analogue analog smart manual automatic
physical serious urgent important major minor general special specific simple clear fair
unfair honest private personal large long short wide narrow heavy bright dark warm cold
hot cool dry wet clean dirty empty open closed early late quiet loud soft hard strong weak
young safe sick busy ready sure true false rare common plain lovely happy sad angry upset
glad sorry fresh frozen single double triple multiple separate joint shared mixed similar
various spare temporary permanent interim partial initial original fixed variable flexible
direct indirect wooden fragile bulky oversized overweight medium little huge brief quick
rapid sudden constant frequent occasional odd
""".split())
# Where the caller is: their surroundings locate a fault or a visit, they own nothing
EN_SURROUNDINGS = frozenset("""
road street lane avenue estate village town area block building floor doorstep door gate
porch garden driveway crescent terrace district neighbourhood neighborhood postcode address
corner
""".split())
# Chinese attributes (jieba tags many of them nouns: 纸质, 电子, 智能, 阶梯)
ZH_ATTRIBUTES = frozenset("""
纸质 纸质版 电子 电子版 智能 数字 网上 线上 线下 手写 书面 口头 正式 临时 长期 短期 国际 国内 本地
外地 异地 同城 大件 小件 大型 小型 中型 上门 阶梯 分时 月度 季度 年度 全年 全额 部分 大面积 小面积
局部 整体 全部 二次 首次 多次 二手 高层 低层 家用 商用 民用 个人 普通 特殊 加急 紧急 易碎 贵重
新 老 旧 最新 原来 原先 之前 现在 目前 当前 以后 正常 异常 实际 具体 详细 完整 自动 手动
每月 每个月 按月 按年 整个 整栋 整片 片区 楼里 楼上 楼下 附近 这边 那边 这片 那片 周边 一带
""".split())
ZH_SIZES = tuple("大小新老旧")  # one character before the thing: 大件, 老房子, 新卡


def en_everyday(word: str) -> bool:
    """An English word that says what kind of thing or where, never whose."""
    return word in EN_ATTRIBUTES or word in EN_SURROUNDINGS


def zh_everyday(owner: str, parts: list[str], plan_words: frozenset[str],
                generic: frozenset[str]) -> bool:
    """Does the Chinese noun (run) `owner` (of jieba's `parts`) name the caller's own thing
    or an attribute of it, not another business? Attributes and surroundings, a noun whose
    head is one of the dialplan's words (`plan_words`, jieba's words of its texts: 智能水表
    ends in 水表), or a size or attribute before the plan's or a generic thing (老房子)."""
    if owner in ZH_ATTRIBUTES or all(p in ZH_ATTRIBUTES for p in parts):
        return True
    for cut in range(1, len(owner) - 1):
        head, before = owner[cut:], owner[:cut]
        if head in plan_words and head not in generic:
            return True  # the dialplan's thing, whatever kind: 智能水表
        if (head in plan_words or head in generic) and (
                before in ZH_ATTRIBUTES or before in ZH_SIZES):
            return True  # an old flat: 老房子
    return False


@functools.lru_cache(maxsize=16)
def zh_plan_words(plan: str) -> frozenset[str]:
    """jieba's words (2+ characters) of the dialplan's texts (joined): its own things (水表,
    房子). jieba is loaded by then (`off_topic` tags the caller's words first)."""
    import jieba

    return frozenset(w for w in jieba.lcut(plan) if len(w) >= 2)


def zh_same_thing(word: str) -> bool:
    """Is `word` (a noun ending in the last character of a keyword) one of the keyword's
    thing's sizes or kinds by an attribute (大件 beside 取件, 电子账单 beside 账单), not another
    provider's kind of it (电费 beside 话费, 订单 beside 账单)?"""
    return word[0] in ZH_SIZES or any(word[:n] in ZH_ATTRIBUTES for n in range(2, len(word)))
