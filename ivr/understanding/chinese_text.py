"""Chinese text as the IVR compares it: Whisper writes Mandarin in Traditional or Simplified
characters from one utterance to the next, so every comparison converts to Simplified first
(OpenCC `t2s`, loaded once per process).

`mainland_wording` then rewrites words of other Chinese regions and dialects that Whisper
writes in characters for a caller heard as Mandarin (Taiwan and Hong Kong usage, Shanghainese,
Hokkien, Hakka, the northern 俺) as mainland Mandarin. Every entry is a word with no
other everyday Mandarin sense, or a pattern whose context keeps the Mandarin sense apart
(网路 but not 网路由器, 阿拉 but not 阿拉伯, 欲 only after a pronoun).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = ["mainland_wording", "to_simplified", "REGIONAL_WORDS", "REGIONAL_PATTERNS"]


@lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """`text` with Traditional Chinese characters converted to Simplified (others kept)."""
    return str(_converter().convert(text))


# Plain words (Simplified) -> mainland Mandarin; longer entries are applied first.
REGIONAL_WORDS: dict[str, str] = {
    # Taiwan and Hong Kong usage
    "储值": "充值", "加值": "充值", "门号": "号码", "讯号": "信号", "数据机": "光猫",
    "宽频": "宽带", "手机仔": "手机",
    # Shanghainese (Wu)
    "侬": "你", "迭个": "这个", "迭只": "这个", "几钿": "多少钱", "钞票": "钱",
    "屋里向": "家里", "覅": "不要", "勿要": "不要", "啥个": "什么",
    # Hokkien (Min Nan)
    "阮兜": "我家", "恁兜": "你家", "偌济": "多少", "偌多": "多少", "按怎": "怎么",
    "啥物": "什么", "佮": "跟", "䞐": "剩", "厝": "家",
    # Hakka
    "𠊎": "我", "么个": "什么", "麽个": "什么", "仰般": "怎么", "屋下": "家里",
    # Cantonese and Sichuanese words that mean nothing else in Mandarin
    "屋企": "家里", "屋头": "家里", "几多": "多少",
    # northern colloquial (咋 and 啥 stay with the North-Eastern profile's lexicon)
    "俺们": "我们", "俺": "我", "不好使": "不好用",
}

# (pattern, replacement) on Simplified text, after REGIONAL_WORDS.
REGIONAL_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r) for p, r in (
        (r"网路(?!由)", "网络"),  # Taiwan's 网路 is 网络; 网路由器 is 网 + 路由器
        (r"帐(?=[单户号目面本上])", "账"), (r"(?<=[查对结算记])帐", "账"),  # 帐单 -> 账单
        (r"阿拉(?!伯)", "我"),  # Shanghainese "I, we"; not 阿拉伯 (Arabic)
        (r"这只(?=[月号])", "这个"),  # 這隻月 (Hakka, Cantonese): this month
        (r"(?<![步砍征讨杀])伐(?=$|[，。！？?!、,])", "吗"),  # Shanghainese question particle
        (r"([断坏用花扣])[脱忒]了?", r"\1了"),  # Wu and Hakka completive: 断脱, 断忒
        (r"(?<=[我你他她阮恁伊])欲", "要"),  # Hokkien "want": 我欲, not 欲望 or 食欲
        (r"阮(?=[的这要想手电家])", "我"),  # Hokkien "I, my": 阮的, not the surname alone
        (r"(?<![联分])袂", "不"),  # Hokkien "cannot": 袂通; not 联袂, 分袂
        (r"毋(?![庸宁须])", "不"),  # Hokkien and Hakka "not": 用毋得; not 毋庸, 毋宁, 毋须
        (r"揣(?![测摩度着在进手])", "找"),  # Hokkien "look for": 揣人工; not 揣测, 揣摩
        (r"([0-9一二两三四五六七八九十百千万])蚊", r"\1块"),  # Cantonese money: 五十蚊
    )
)


def mainland_wording(text: str) -> str:
    """Simplified `text` with regional and dialect words (REGIONAL_WORDS, REGIONAL_PATTERNS)
    in mainland Mandarin: 我家網路斷線 (as 我家网路断线) -> 我家网络断线, 我欲储值 -> 我要充值."""
    for word in _by_length():
        if word in text:
            text = text.replace(word, REGIONAL_WORDS[word])
    for pattern, replacement in REGIONAL_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@lru_cache(maxsize=1)
def _by_length() -> tuple[str, ...]:
    return tuple(sorted(REGIONAL_WORDS, key=len, reverse=True))
