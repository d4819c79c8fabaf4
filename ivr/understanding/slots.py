"""Typed slot values from what a caller said or keyed, in Mandarin or English.

`extract_slot(slot, text, language, now)` returns the value (str, int, float or bool) or
None when the text holds no acceptable value. Dates come back as ISO `YYYY-MM-DD`, times as
`HH:MM`, amounts as floats with two decimals, ID-card numbers upper-case with checksum checked.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from ivr.dialplan.nodes import Slot
from ivr.understanding.chinese_text import to_simplified
from ivr.understanding.intents import (
    _zh_number,
    extract_digits,
    extract_number,
    extract_yes_no,
    is_chinese,
)

_WEEKDAY_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEKDAY_EN = {d: i for i, d in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
_MONTH_EN = {m: i + 1 for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"])}
_EN_NUMBER_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                    "ten", "eleven", "twelve", "fifteen", "twenty", "thirty", "forty",
                    "forty five", "fifty", "oh five"]
_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)\b")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _prep(text: str, language: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().strip()
    return to_simplified(text) if is_chinese(language) else text


# ---------------------------------------------------------------- amount
def extract_amount(text: str, language: str) -> float | None:
    """58.2 from "58.20", "五十八元二角", "五十八块五", "fifty eight point two", "$12.50"."""
    t = _prep(text, language).replace(",", "")
    # a written decimal, alone or followed by a currency word: 58.20, 58.5块, 12.50 dollars
    m = re.search(r"\d+\.\d+|\d+(?=\s*(?:元|块|dollars?|yuan|bucks?|$))", t)
    if m and not re.search(r"[角毛分]|point|cent", t[m.end():]):
        return round(float(m.group(0)), 2)
    if is_chinese(language):
        small = "[零一二两三四五六七八九\\d]"
        m = re.search(rf"({small}|十)[角毛](?:({small})分)?", t)
        if m and not re.search(r"[元块]", t):  # 五毛 = 0.5, 五毛五分 = 0.55
            return round((_zh_number(m.group(1)) or 0) / 10
                         + (_zh_number(m.group(2) or "") or 0) / 100, 2)
        num, digit = "[零〇一二两三四五六七八九十百千万\\d]+", "[零一二两三四五六七八九\\d]"
        m = re.search(rf"({num})[元块]({digit})$", t)  # 五十八块五 = 58.5
        if m:
            return round((_zh_number(m.group(1)) or 0) + (_zh_number(m.group(2)) or 0) / 10, 2)
        m = re.search(rf"({num})[元块](?:({digit})[角毛])?(?:({digit})分)?", t)
        if m:
            whole = _zh_number(m.group(1)) or 0
            jiao = _zh_number(m.group(2) or "") or 0
            fen = _zh_number(m.group(3) or "") or 0
            return round(whole + jiao / 10 + fen / 100, 2)
        value = extract_number(t, language)
        return None if value is None else float(value)
    if " point " in f" {t} ":
        whole_text, frac_text = t.split("point", 1)
        whole = extract_number(whole_text, language) or 0
        frac = extract_digits(frac_text, language)
        return round(float(f"{whole}.{frac or 0}"), 2)
    m = re.fullmatch(r"(.*?)\bcents?\b.*", t)
    if m and not re.search(r"dollars?|yuan|bucks?", t):  # fifty cents = 0.5
        cents = extract_number(m.group(1), language)
        return None if cents is None else round(cents / 100, 2)
    m = re.search(r"(.*?)(?:dollars?|yuan|bucks?)(?:\s+and)?(.*?)(?:cents?)?$", t)
    if m and extract_number(m.group(1), language) is not None:
        cents = extract_number(m.group(2), language) or 0
        return round(extract_number(m.group(1), language) + cents / 100, 2)  # type: ignore[operator]
    value = extract_number(t, language)
    return None if value is None else float(value)


# ---------------------------------------------------------------- date
def extract_date(text: str, language: str, now: dt.datetime) -> str | None:
    """ISO date from "明天", "下周三", "3月5号", "tomorrow", "next friday", "March 3rd"."""
    t = _prep(text, language)
    today = now.date()
    if m := re.search(r"(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})", t):
        return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if is_chinese(language):
        for word, days in (("大后天", 3), ("后天", 2), ("明天", 1), ("今天", 0)):
            if word in t:
                return (today + dt.timedelta(days=days)).isoformat()
        if m := re.search(r"(下+)?(?:周|星期|礼拜)([一二三四五六日天])", t):
            return _weekday(today, _WEEKDAY_ZH[m.group(2)], len(m.group(1) or "")).isoformat()
        if m := re.search(r"([\d一二三四五六七八九十]+)月([\d一二三四五六七八九十]+)[日号]", t):
            month, day = _zh_number(m.group(1)), _zh_number(m.group(2))
            return _future(today, month or 0, day or 0)
        if m := re.search(r"([\d一二三四五六七八九十]+)[日号]", t):
            return _future(today, 0, _zh_number(m.group(1)) or 0)
        return None
    for word, days in (("day after tomorrow", 2), ("tomorrow", 1), ("today", 0)):
        if word in t:
            return (today + dt.timedelta(days=days)).isoformat()
    t = _ORDINAL.sub(r"\1", t)
    if m := re.search(r"(next\s+)?(" + "|".join(_WEEKDAY_EN) + r")", t):
        return _weekday(today, _WEEKDAY_EN[m.group(2)], 1 if m.group(1) else 0).isoformat()
    months = "|".join(_MONTH_EN)
    pattern = rf"({months})\s+(?:the\s+)?(\d{{1,2}})|(\d{{1,2}})\s+(?:of\s+)?({months})"
    if m := re.search(pattern, t):
        month = _MONTH_EN[m.group(1) or m.group(4)]
        return _future(today, month, int(m.group(2) or m.group(3)))
    return None


def _iso(y: int, m: int, d: int) -> str | None:
    try:
        return dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def _weekday(today: dt.date, weekday: int, weeks_ahead: int) -> dt.date:
    """The coming `weekday` (not today); 下周/next moves to the following calendar week."""
    if weeks_ahead:
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks_ahead)
        return monday + dt.timedelta(days=weekday)
    delta = (weekday - today.weekday()) % 7 or 7
    return today + dt.timedelta(days=delta)


def _future(today: dt.date, month: int, day: int) -> str | None:
    """The next date with this month/day that is not past; month 0 means this month, or
    the next month when the day has passed ("20号" on the 21st is next month's 20th)."""
    if month:
        candidates = [(today.year, month), (today.year + 1, month)]
    else:
        nxt = (today.year + (today.month == 12), today.month % 12 + 1)
        candidates = [(today.year, today.month), nxt]
    for year, mon in candidates:
        cand = _iso(year, mon, day)
        if cand and cand >= today.isoformat():
            return cand
    return None


# ---------------------------------------------------------------- time
def extract_time(text: str, language: str) -> str | None:
    """HH:MM from "下午三点半", "上午九点十五分", "3 pm", "15:30", "half past two"."""
    t = _prep(text, language)
    if m := re.search(r"(\d{1,2})[:：](\d{2})", t):
        h, mi = int(m.group(1)), int(m.group(2))
        h = _meridiem(h, t, language)
        return f"{h:02d}:{mi:02d}" if h < 24 and mi < 60 else None
    if is_chinese(language):
        hour, minute = "[\\d零一二两三四五六七八九十]+", "[\\d零一二三四五六七八九十]+分?"
        m = re.search(rf"({hour})点(半|一刻|三刻|{minute})?", t)
        if not m:
            return None
        h = _zh_number(m.group(1)) or 0
        tail = m.group(2) or ""
        mi = {"半": 30, "一刻": 15, "三刻": 45}.get(tail)
        if mi is None:
            mi = _zh_number(tail.rstrip("分")) or 0 if tail else 0
        h = _meridiem(h, t, language)
        return f"{h:02d}:{mi:02d}" if h < 24 and mi < 60 else None
    if re.search(r"\bnoon\b", t):
        return "12:00"
    if re.search(r"\bmidnight\b", t):
        return "00:00"
    m = re.search(r"(half past|quarter past|quarter to)\s+(\w+)", t)
    if m:
        h = extract_number(m.group(2), language)
        if h is None:
            return None
        mi = {"half past": 30, "quarter past": 15, "quarter to": 45}[m.group(1)]
        h = (h - 1) % 12 if m.group(1) == "quarter to" else h
        h = _meridiem(h, t, language)
        return f"{h:02d}:{mi:02d}"
    number = r"\d{1,2}|" + "|".join(sorted(_EN_NUMBER_WORDS, key=len, reverse=True))
    m = re.search(rf"\b({number})(?:[:\s]+({number}))?\s*(a\.?m\.?|p\.?m\.?|o'clock)", t)
    if m:
        h = extract_number(m.group(1), language)
        mi = extract_number(m.group(2), language) if m.group(2) else 0
        if h is None:
            return None
        h = _meridiem(h, t, language)
        return f"{h:02d}:{(mi or 0):02d}" if h < 24 else None
    return None


def _meridiem(h: int, t: str, language: str) -> int:
    pm = (any(w in t for w in ("下午", "晚上", "傍晚", "中午")) if is_chinese(language)
          else bool(re.search(r"p\.?m\.?|evening|afternoon|tonight", t)))
    if h == 12 and is_chinese(language) and any(w in t for w in ("晚上", "半夜", "夜里")):
        return 0  # 晚上十二点 is midnight
    if pm and h < 12:
        return h + 12 if not ("中午" in t and h == 12) else h
    am = is_chinese(language) and any(w in t for w in ("凌晨", "早上", "上午"))
    if (am or re.search(r"a\.?m\.?", t)) and h == 12:
        return 0
    return h


# ---------------------------------------------------------------- identity numbers
def id_card_valid(number: str) -> bool:
    """Chinese resident ID (18 chars): ISO 7064 MOD 11-2 checksum and a real birth date."""
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    total = sum(int(c) * w for c, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != number[17]:
        return False
    return _iso(int(number[6:10]), int(number[10:12]), int(number[12:14])) is not None


def extract_id_card(text: str, language: str) -> str | None:
    t = _prep(text, language)
    t = re.sub(r"叉|艾克斯|(?<![a-z])(?:ex|x)(?![a-z])", "X", t, flags=re.I)
    digits = "".join(ch for ch in extract_digits(re.sub("X", " ", t), language))
    candidate = digits + ("X" if t.rstrip().endswith("X") else "")
    if len(candidate) == 17 and "X" in t:
        candidate += "X"
    return candidate if id_card_valid(candidate) else None


def extract_phone(text: str, language: str, min_len: int, max_len: int) -> str | None:
    digits = extract_digits(text, language)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) == 11 and not re.fullmatch(r"1[3-9]\d{9}|0\d{10}", digits):
        return None  # 11 digits: a mobile (13x-19x) or an area code 0xx + 8 digits
    return digits if max(min_len, 5) <= len(digits) <= max(max_len, 11) else None


# ---------------------------------------------------------------- dispatch
def extract_slot(slot: Slot, text: str, language: str, now: dt.datetime) -> Any:
    """The slot's value in `text`, or None."""
    kind = slot.type
    if kind == "digits":
        digits = extract_digits(text, language)
        return digits if digits and slot.min_length <= len(digits) <= slot.max_length else None
    if kind in ("number", "amount"):
        value = extract_number(text, language) if kind == "number" else extract_amount(
            text, language)
        return None if value is None else _in_range(slot, value)
    if kind == "date":
        return extract_date(text, language, now)
    if kind == "time":
        return extract_time(text, language)
    if kind == "phone":
        return extract_phone(text, language, slot.min_length, slot.max_length)
    if kind == "id_card":
        return extract_id_card(text, language)
    if kind == "yes_no":
        return extract_yes_no(text, language)
    if kind == "regex":
        assert slot.pattern is not None
        compact = re.sub(r"\s+", "", text) if is_chinese(language) else text.strip()
        m = re.search(slot.pattern, compact)
        return None if m is None else (m.group(1) if m.groups() else m.group(0))
    value = text.strip()
    return value or None


def keyed_slot(slot: Slot, keys: str) -> Any:
    """The slot's value from DTMF keys ('#' already stripped), or None.

    `*` stands for X in an ID number and for the decimal point in an amount; dates are keyed
    YYYYMMDD, times HHMM; yes/no is 1/2."""
    kind = slot.type
    if kind == "id_card":
        number = keys.replace("*", "X")
        return number if id_card_valid(number) else None
    if kind == "amount" and re.fullmatch(r"\d+\*\d{1,2}", keys):
        return _in_range(slot, round(float(keys.replace("*", ".")), 2))
    if not keys.isdigit():
        return None
    if kind == "phone":
        return extract_phone(keys, "en", slot.min_length, slot.max_length)
    if kind == "date":
        return _iso(int(keys[:4]), int(keys[4:6]), int(keys[6:])) if len(keys) == 8 else None
    if kind == "time":
        if len(keys) not in (3, 4):
            return None
        h, mi = int(keys[:-2]), int(keys[-2:])
        return f"{h:02d}:{mi:02d}" if h < 24 and mi < 60 else None
    if kind == "yes_no":
        return {"1": True, "2": False}.get(keys)
    if not slot.min_length <= len(keys) <= slot.max_length:
        return None
    if kind in ("number", "amount"):
        value = _in_range(slot, int(keys))
        return value if value is None or kind == "number" else float(value)
    if kind == "regex":
        assert slot.pattern is not None
        m = re.search(slot.pattern, keys)
        return None if m is None else (m.group(1) if m.groups() else m.group(0))
    return keys


def _in_range(slot: Slot, value: float) -> Any:
    if (slot.min_value is not None and value < slot.min_value) or (
            slot.max_value is not None and value > slot.max_value):
        return None
    return value
