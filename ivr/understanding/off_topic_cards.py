"""Another business named in a Mandarin request: a card ("饭卡没钱了怎么充", "油卡余额怎么
查") or a kind of business ("淘宝买的东西找人工退款", "公积金还剩多少钱").

Chinese names a stored-value card by what it pays for, one character before 卡 being
enough: 饭卡 (canteen), 油卡 (fuel), 电卡 and 水卡 (prepaid meters), 交通卡, 会员卡,
购物卡. jieba knows some of them (饭卡, 交通卡), guesses others (油卡) and cuts some apart
(电卡里 -> 电 / 卡里, 俺家电卡 -> 家电 / 卡), so neither the dialplan's off-topic words nor the
owner search of `off_topic` sees them all. A telephone company's own cards are few and
closed: the SIM (手机卡, 电话卡, 流量卡, 上网卡, 主卡, 副卡, 移动卡 ...) and its top-up
vouchers (充值卡, 储值卡, 话费卡). So a card counts as another business's (`other_card`)
when

- 卡 is a noun there: not a verb of lag (网卡了, 卡得要命, 卡顿, 卡死, 卡住, 卡不卡),
- the character before it names what the card pays for: not a pronoun, measure word,
  preposition, adjective, adverb or verb (我的卡, 这张卡, 往卡里, 新卡, 很卡, 补卡, 办卡),
  nor one of the telephone company's own cards (手机卡, 电话卡, 流量卡, 充值卡, 移动卡 ...),
- no text of the dialplan says that card (an integrator that sells 公交卡 top-ups lists it),
- and the request is about money (钱, 充, 值, 余额, 费, 缴, 账, 付, 扣, 退): "看视频卡怎么回事"
  is lag on the broadband, not a video card.

`other_business` names the other kind of thing Mandarin callers put beside a top-up, a
bill, a refund or "转人工": a bank, a shopping or delivery platform, a credit product, a
streaming membership, a public fund, a game's currency (`ZH_OTHER_BUSINESSES`, a closed list
of kinds, filtered by the dialplan's texts like the off-topic words). They are not listed as
off-topic requests in hotline.yaml: whole sentences about them, even their bare names, moved
the meaning classifier's off-topic class over borderline top-ups ("往我这个号里打点钱进去"
went from top-up 0.54 to off-topic 0.55-0.68), while a word list moves nothing else.

Pure and small: a character scan, no tagger.
"""

from __future__ import annotations

__all__ = ["MONEY_MARKS", "ZH_OTHER_BUSINESSES", "other_business", "other_card"]

# Kinds of business callers name beside the hotline's words: banks and their products,
# shopping and delivery platforms, credit and payment products, streaming memberships,
# public funds, a game's currency. Not the means of paying (支付宝, 微信: 用支付宝充话费 is ours).
ZH_OTHER_BUSINESSES = frozenset("""
银行 网银 信用卡 花呗 借呗 白条 网贷 房贷 车贷 贷款 理财 基金 股票 保险公司
淘宝 天猫 京东 拼多多 美团 饿了么 外卖 快递 商家 店家 滴滴 打车 网约车
会员 爱奇艺 优酷 芒果 哔哩哔哩 网易云
公积金 社保 医保 个税 学费
点券 游戏币 钻石 皮肤
八达通 一卡通 房租
""".split())

_CARD = "卡"
# 卡 as a verb of lag, by what follows it: 网卡了, 卡得要命, 卡顿, 卡死, 卡住, 卡不卡, 卡卡的
_VERB_AFTER = frozenset("了得顿死住成爆不卡到着")
# The telephone company's own cards, by the two characters before 卡
_OURS_TWO = frozenset("手机 电话 流量 上网 充值 储值 话费 移动 联通 电信 广电 物联 宽带 网络 "
                      "老人 学生 亲情 家庭 号码 实名".split())
# The one character before 卡 that names no owner: pronouns, demonstratives, measures,
# numbers, adjectives, adverbs, verbs done to a card, and our own cards' last characters
_NO_OWNER = frozenset("的这那哪该此每张个些我你他她它俺咱们您"
                      "一二两三四五六七八九十几"
                      "新旧主副号大小双单原老本别整"
                      "好很太真又也都还贼巨超特挺有点么最更越太忒"
                      "插换补办开销停挂拔用买绑充刷丢掉锁解拿取送寄领换装"
                      "把被给帮为替跟和与或在从向对是要想能会让叫往朝进入到于"
                      "网机话量值")
MONEY_MARKS = ("钱", "充", "值", "余额", "费", "缴", "账", "付", "扣", "退")


def _cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def other_card(text: str, plan: str) -> str | None:
    """The card of another business named in normalised Chinese `text` asking about money
    (the characters up to its 卡), or None. `plan`: the dialplan's intents' texts joined."""
    if not any(mark in text for mark in MONEY_MARKS):
        return None
    for i, ch in enumerate(text):
        if ch != _CARD or i == 0:
            continue
        if text[i + 1 : i + 2] in _VERB_AFTER and text[i + 1 : i + 2]:
            continue
        owner = text[i - 1]
        if not _cjk(owner) or owner in _NO_OWNER or text[max(0, i - 2) : i] in _OURS_TWO:
            continue
        if owner + _CARD in plan:
            continue
        return text[max(0, i - 2) : i + 1] if i >= 2 and _cjk(text[i - 2]) else owner + _CARD
    return None


def other_business(text: str, plan: str) -> str | None:
    """The first of `ZH_OTHER_BUSINESSES` said in normalised Chinese `text` that no text of
    the dialplan (`plan`, joined) uses, or None."""
    return next((w for w in sorted(ZH_OTHER_BUSINESSES) if w in text and w not in plan), None)
