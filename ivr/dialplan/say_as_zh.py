"""Chinese words for values read aloud (the Mandarin and Cantonese side of `say_as.py`).

Every function returns Chinese characters that a TTS reads one way only, so the Mandarin
espeak-ng path (pypinyin) never has to guess how a number is meant: 4821 as card digits is
四八二一, as a quantity 四千八百二十一. Each returns None for a value it cannot read; `say_as`
then says the value as written.

Readings follow Chinese bank and carrier IVRs:

- digit by digit, Mandarin reads 1 as 幺 (yao1): 一 (yi1) and 七 (qi1) are hard to tell
  apart on an 8 kHz line, which is why 10086, bank card tails and booking numbers are read
  幺零零八六, 尾号四八幺二. Cantonese (`yue`) has no 幺 and keeps 一.
- quantities: 两 before 百/千/万/亿 (两百, 一万两千), 十五 not 一十五 at the start, 零 for a gap
  (一千零五); decimals digit by digit after 点 (三点一四), 负 for a minus.
- money in yuan, jiao and fen as banks say it: 八十八元, 八十八元五角, 八十八元零六分;
  88.00 is 八十八元, never 八十八点零零元.
- dates 二零二六年十二月六日 (the year digit by digit, always 一), times 下午两点三十分.
"""

from __future__ import annotations

from audio_models.chinese_numbers import DIGITS, LARGEST, cardinal

__all__ = ["DIGITS", "LARGEST", "cardinal", "digit", "digit_string"]


def digit(ch: str, *, yao: bool = True) -> str:
    """One ASCII digit as a character: "1" -> 幺 (or 一 with `yao=False`)."""
    return "幺" if ch == "1" and yao else DIGITS[int(ch)]


def digit_string(chars: str, *, yao: bool = True) -> str:
    """Digits one by one, Latin letters kept as letters: "BK1284" -> "B K 幺二八四"."""
    out: list[str] = []
    for ch in chars:
        if ch.isdigit():
            if out and out[-1][-1] not in DIGITS + "幺":
                out.append(" ")
            out.append(digit(ch, yao=yao))
        else:
            if out:
                out.append(" ")
            out.append(ch.upper())
    return "".join(out)


def money(fen: int) -> str | None:
    """An amount in fen (1/100 yuan), as banks say it: 8850 -> 八十八元五角,
    8806 -> 八十八元零六分, 50 -> 五角, 0 -> 零元."""
    yuan, rest = divmod(fen, 100)
    jiao, cents = divmod(rest, 10)
    words = cardinal(yuan)
    if words is None:
        return None
    out = words + "元" if yuan or not rest else ""
    if jiao:
        out += DIGITS[jiao] + "角"
    if cents:
        out += ("零" if yuan and not jiao else "") + DIGITS[cents] + "分"
    return out


def ordinal(n: int) -> str | None:
    """第三, 第二十一, 第二百 (never 第两)."""
    words = cardinal(n, liang=False)
    return None if words is None or n == 0 else "第" + words


def date(year: int, month: int, day: int) -> str:
    """二零二六年十二月六日: the year digit by digit (一, not 幺), month and day as numbers."""
    return ("".join(digit(c, yao=False) for c in str(year)) + "年"
            + (cardinal(month) or "") + "月" + (cardinal(day) or "") + "日")


def time(hour: int, minute: int) -> str:
    """下午两点三十分, 上午九点零五分, 中午十二点, 凌晨零点十分: a 12-hour clock with the part of
    the day, as Chinese speakers tell the time."""
    if hour < 6:
        part = "凌晨"
    elif hour < 12:
        part = "上午"
    elif hour == 12:
        part = "中午"
    elif hour < 18:
        part = "下午"
    else:
        part = "晚上"
    h = hour if hour <= 12 else hour - 12
    words = part + ("两" if h == 2 else cardinal(h) or "") + "点"
    if minute:
        words += ("零" if minute < 10 else "") + (cardinal(minute) or "") + "分"
    return words
