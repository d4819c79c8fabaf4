"""Readings pypinyin gets wrong in IVR prompts, by context: 还款 is huan2 kuan3, not hai2.

pypinyin picks a polyphone's reading from its phrase dictionary, else the character's most
common reading; these are IVR words it reads wrongly (checked against pypinyin 0.55: 还款 ->
hai2 kuan3, 重听 -> zhong4 ting1, 长时间 -> zhang3, 支行 -> xing2, 出血 -> xie3, 余额为 ->
wei4). Words it already reads right (还钱, 还清, 重新, 重复, 银行, 分行, 不行, 行吗, 调整, 转账)
are not repeated here.
`phrase_chunks` cuts a text at these words (提前还款日 -> 提前, 还款, 日) so the TTS reads them
from here and the rest with pypinyin. pypinyin's own dictionary is left alone: the caller's
words are matched by sound with it (ivr/understanding/pinyin.py), and a table loaded into it
from the TTS would change that matching depending on which loaded first.
"""

from __future__ import annotations

import re

PHRASES: dict[str, str] = {
    # 还 huan2 "pay back" (pypinyin: hai2 "still")
    "还款": "huan2 kuan3", "还息": "huan2 xi1", "应还": "ying1 huan2", "待还": "dai4 huan2",
    "已还": "yi3 huan2", "未还": "wei4 huan2", "还信用卡": "huan2 xin4 yong4 ka3",
    # 重 chong2 "again" (pypinyin: zhong4 "heavy")
    "重听": "chong2 ting1", "重置": "chong2 zhi4", "重开": "chong2 kai1", "重拨": "chong2 bo1",
    "重输": "chong2 shu1", "重来": "chong2 lai2", "重办": "chong2 ban4", "重发": "chong2 fa1",
    "重试": "chong2 shi4", "重设": "chong2 she4", "重填": "chong2 tian2",
    # 长 chang2 "long" (pypinyin: zhang3 "grow, head of")
    "长时间": "chang2 shi2 jian1", "最长": "zui4 chang2", "时间长": "shi2 jian1 chang2",
    "较长": "jiao4 chang2", "长按": "chang2 an4",
    # 行 hang2 "bank" (pypinyin: xing2 "go, OK")
    "支行": "zhi1 hang2",
    # 血 xue4 in standard speech (pypinyin: colloquial xie3)
    "出血": "chu1 xue4", "流血": "liu2 xue4",
    # 为 wei2 "is" before a value (pypinyin: wei4 "for"): 余额为八十八元
    "余额为": "yu2 e2 wei2", "金额为": "jin1 e2 wei2", "额度为": "e2 du4 wei2",
    "号码为": "hao4 ma3 wei2", "时间为": "shi2 jian1 wei2", "日期为": "ri4 qi1 wei2",
    "分别为": "fen1 bie2 wei2", "更改为": "geng1 gai3 wei2", "变更为": "bian4 geng1 wei2",
    "修改为": "xiu1 gai3 wei2", "设置为": "she4 zhi4 wei2",
}  # fmt: skip

_WORDS = re.compile("|".join(re.escape(w) for w in sorted(PHRASES, key=len, reverse=True)))


def phrase_chunks(text: str) -> list[tuple[str, str | None]]:
    """`text` cut into (piece, its pinyin) for the words of `PHRASES` (longest first) and
    (piece, None) between them, for pypinyin: "请按时还款" -> [("请按时", None),
    ("还款", "huan2 kuan3")]."""
    out: list[tuple[str, str | None]] = []
    at = 0
    for m in _WORDS.finditer(text):
        if m.start() > at:
            out.append((text[at:m.start()], None))
        out.append((m.group(0), PHRASES[m.group(0)]))
        at = m.end()
    if at < len(text):
        out.append((text[at:], None))
    return out
