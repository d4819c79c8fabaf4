"""Chinese callers' money wording as the standard words a telephone company's intents use.

Callers seldom say 充值 or 余额. They ask for an amount to be *given* to them with an everyday
verb (给我弄一百块钱话费, 帮我搞五十块话费, 先给我来个一百的, 给我整点钱进去), and they ask
whether money is *still there* (我账户还有没有钱, 这个号现在还有几块钱, 手机里的钱还够不够花).
Matched word by word, the first hears only the bill's 话费 (a top-up heard as a bill enquiry),
and the second hears nothing, or its 钱 and 账户 pull the meaning towards paying money in (Cantonese
我戶口仲有冇錢 reached top_up). `money_wording` rewrites both shapes, and the recogniser's
homophones of 充值 (重值, 冲值), as the standard words, so every dialplan's own 充值 / 余额
keywords and examples hear them:

- a giving verb (弄 搞 整 来 买 加 存 打 冲) right before an amount of money (a number with 块,
  元 or 的, or the amount before 话费) is 充: only as a request, so 我弄了一百块 (past, 了
  between) and 扣了一百块话费 (扣 takes, it does not give) are left alone;
- a question whether money is left (还有没有钱, 还有钱吗, 还有几块钱, 还剩多少钱, 钱还够不够)
  is 余额还有多少; a statement that it is gone (没钱了, 欠费了) is a top-up's and is kept;
- spending nouns (花销, 开销, 开支) are 消费, the bill's word; 花费 is not touched (issue 19:
  the recogniser writes 话费 as 花费);
- settling arrears (补上, 补交 where 欠费 or 停机 is said) is 缴费, and 本机 (为本机充值) is
  这个手机.

Runs on Simplified text after each Chinese profile's lexicon and `mainland_wording`
(`profiles.normalise_for`), so 冇, 仲有, 戶口 and 俺 are already 没有, 还有, 账户 and 我.
"""

from __future__ import annotations

import re

__all__ = ["money_wording", "MONEY_PATTERNS"]

_NUMBER = r"(?:[0-9]+|[一二两三四五六七八九十百千几]+)"
# a sum of money: a number with its unit or 的 (一百块, 五十块钱, 三十元, 一百的), or a number
# straight before the phone's fee (五十话费)
_SUM = (rf"{_NUMBER}(?:块钱?|元|圆|蚊|的)|{_NUMBER}(?=(?:电话|手机)?话费|手机费|电话费)")
# giving verbs, not where they end a word of another sense (出来, 回来, 增加, 追加, 调整, 完整)
_GIVE = r"(?:[弄搞买存打冲]|(?<![出回起过进原本将后])来|(?<![增追附叠参])加|(?<![调完])整)"
_FEE = r"(?:话费|手机费|电话费)"

# (pattern, replacement), applied in order on Simplified text.
MONEY_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r) for p, r in (
        # the recogniser's homophones of 充值 and of 充 before the fee
        (r"(?:重|冲|虫)值", "充值"),
        (rf"冲(?=(?:个|点|些|上)?{_FEE})", "充"),
        # a giving verb before a sum: 给我弄一百块钱话费, 帮我搞五十块话费, 给我来个一百的,
        # 再加五十块话费; never after 了 (the verb is right before the sum or 个 / 上 / 点)
        (rf"{_GIVE}(?=(?:个|上)?(?:{_SUM}))", "充"),
        # 整点钱进去, 打点钱进去, 弄点钱到手机上: a giving verb, some money, into the phone
        (rf"{_GIVE}(?=(?:点|些|一点)(?:钱|话费)(?:进去|到|给|上))", "充"),
        # whether money is left: a question, never 没钱了
        (r"还(?:有|剩)没有(?:余)?钱", "余额还有多少"),
        (r"还(?:有|剩)(?:余)?钱(?:没有|没|吗|么|不)", "余额还有多少"),
        (r"还(?:有|剩)(?:几块|几个|多少|几毛|几)钱(?![了都])", "余额还有多少"),
        (r"(?:有没有余钱|还有余钱)", "余额还有多少"),
        (r"钱还够不够(?:花|用)?", "余额还够不够用"),
        # spending, the bill's word
        (r"花销|开销|开支", "消费"),
        # 本机 (this phone, the top-up's formal word: 为本机充值) as everyday Mandarin
        (r"本机(?=充|号码|号|话费|余额|账单)|(?<=[为给帮])本机", "这个手机"),
    )
)
# paying off arrears: 欠费了我得赶紧补上, 把欠的补交了 (补上 alone is any "fill in")
_ARREARS = re.compile(r"欠费|欠钱|欠着|欠了|停机")
_SETTLE = re.compile(r"补(?:交|缴)(?:上)?|补上")


def money_wording(text: str) -> str:
    """Simplified `text` with money requests and balance questions in standard words:
    给我弄一百块钱话费 -> 给我充一百块钱话费, 我账户还有没有钱 -> 我账户余额还有多少."""
    for pattern, replacement in MONEY_PATTERNS:
        text = pattern.sub(replacement, text)
    if _ARREARS.search(text):
        text = _SETTLE.sub("缴费", text)
    return text
