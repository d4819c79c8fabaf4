"""Mandarin number words: the quantity reading of a whole number (1024 -> 一千零二十四,
20000 -> 两万, 十五 not 一十五, 零 for a gap). Shared by the TTS (numbers left in a prompt's
text) and the dialplans' say-as filters (`ivr/dialplan/say_as_zh.py`)."""

from __future__ import annotations

DIGITS = "零一二三四五六七八九"
LARGEST = 10**16  # 九千九百九十九万亿...: beyond it a value is said as written
_PLACES = ("", "十", "百", "千")
_SECTIONS = ("", "万", "亿", "万亿")


def _four(n: int, *, first: bool, liang: bool) -> str:
    """0 < n < 10000 in words; `first`: the number starts here (十五, not 一十五)."""
    out: list[str] = []
    zero = False
    text = str(n)
    for i, ch in enumerate(text):
        d, place = int(ch), len(text) - 1 - i
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        if d == 2 and place >= 2 and liang:
            out.append("两")
        elif not (d == 1 and place == 1 and first and not out):
            out.append(DIGITS[d])
        out.append(_PLACES[place])
    return "".join(out)


def cardinal(n: int, *, liang: bool = True) -> str | None:
    """A whole number of 0 <= n < 10**16: 1024 -> 一千零二十四, 20000 -> 两万,
    10005000 -> 一千万零五千; None beyond. `liang=False` says 二 everywhere (第二百)."""
    if n < 0 or n >= LARGEST:
        return None
    if n == 0:
        return "零"
    sections: list[int] = []
    while n:
        sections.append(n % 10000)
        n //= 10000
    out: list[str] = []
    gap = False  # zeros since the last section said: the next one starts with 零
    for i in range(len(sections) - 1, -1, -1):
        part = sections[i]
        if part == 0:
            gap = bool(out)
            continue
        if out and (gap or part < 1000):
            out.append("零")  # 一万零五, 一亿零一千
        if part == 2 and i > 0 and liang:
            out.append("两")  # 两万, 两亿
        else:
            out.append(_four(part, first=not out, liang=liang))
        out.append(_SECTIONS[i])
        gap = part % 10 == 0
    return "".join(out)
