"""Say-as: how a value in a prompt is read aloud, `{name|filter}` in a prompt template.

A TTS reads what it is given: "尾号4821" becomes 四千八百二十一 and "88.00元" 八十八点零零元. A
filter turns the value into words the TTS reads one way only (Chinese characters for the
Mandarin espeak-ng/pypinyin path, English words for Piper), in the prompt's language:

- `digits`  4821, BK1284, 11010519...X -> 四八二幺, B K 幺二八四 / four eight two one
- `phone`   13800138000 -> 幺三八，零零幺三，八零零零 / one three eight, zero zero one three, ...
- `money`   88, 88.5, "88.00" (yuan) -> 八十八元, 八十八元五角 / eighty-eight yuan fifty
- `number`  12, 3.14, -3 (a quantity) -> 十二, 三点一四, 负三 / twelve, three point one four
- `ordinal` 3 -> 第三 / third
- `date`    2026-12-06 -> 二零二六年十二月六日 / December sixth, twenty twenty-six
- `time`    14:30 -> 下午两点三十分 / two thirty PM
- `plain`   as written (no say-as; turns a slot type's default off)

Mandarin reads 1 as 幺 digit by digit (`digits`, `phone`), as Chinese carriers and banks do;
Cantonese (`yue`, `zh-HK`) says 一 and otherwise follows the Mandarin readings.

Without a filter a variable filled by a `gather` slot is read by its slot type
(`DEFAULT_FILTERS`: a `digits` slot digit by digit, an `amount` as money, ...); any other
variable is said as written, as before filters existed. A value a filter cannot read (text
given to `money`, a negative amount, a date that is no date, a number from 10^16 on, 10^15
in English) is said as written too: a prompt never fails because of its data. Pure functions,
no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ivr.dialplan import say_as_en as en
from ivr.dialplan import say_as_zh as zh

# `{name}`, `{account.balance}`, `{card_last4|digits}`; group 2 is the filter (any text, so
# that a misspelt one is caught by `template_problems`, not left in the prompt)
TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)(?:\|([^{}]*))?\}")

FILTERS: dict[str, str] = {
    "digits": "digit by digit, letters spelt (card and reference numbers, codes)",
    "phone": "a phone number digit by digit, in groups (3-4-4 for an 11-digit mobile)",
    "money": "an amount of yuan (yuan, jiao and fen)",
    "number": "a quantity",
    "ordinal": "a position: third, 第三",
    "date": "a date (YYYY-MM-DD)",
    "time": "a time of day (HH:MM, 24-hour)",
    "plain": "as written: no say-as (overrides a slot's default)",
}
# how a variable filled by a slot of this type is read when its template names no filter
DEFAULT_FILTERS: dict[str, str] = {
    "digits": "digits", "id_card": "digits", "phone": "phone", "amount": "money",
    "number": "number", "date": "date", "time": "time",
}  # fmt: skip

_NUMERIC = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_CODE = re.compile(r"[A-Za-z0-9]+(?:[ \-][A-Za-z0-9]+)*")  # BK1284, 138-0013-8000
_PHONE = re.compile(r"\+?\d+(?:[ \-]\d+)*")
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::\d{2})?")


def spoken(value: Any) -> str:
    """A value as written, for the TTS to read as it will: 12.50 -> "12.5", True -> "yes"."""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def speech_language(language: str) -> str:
    """The rules a prompt language uses: "zh" (Mandarin), "yue" (Cantonese) or "en"."""
    tag = language.strip().lower().replace("_", "-")
    if tag.startswith(("yue", "zh-hk", "zh-mo")):
        return "yue"
    return "zh" if tag.startswith(("zh", "cmn")) else "en"


def template_problems(text: str) -> list[str]:
    """What is wrong with the say-as filters of a template text (unknown names)."""
    out: list[str] = []
    for m in TEMPLATE.finditer(text):
        name = m.group(2)
        if name is not None and name not in FILTERS:
            out.append(f"unknown say-as filter {name!r} in {m.group(0)!r}: use one of "
                       f"{', '.join(FILTERS)}")
    return out


def say_as(value: Any, how: str | None, language: str) -> str:
    """`value` as words of `language` for the TTS, read the way `how` says; as written when
    `how` is None, "plain", unknown, or cannot read this value. Never raises."""
    if value is None:
        return ""
    reader = _READERS.get(how or "")
    if reader is None or isinstance(value, bool):
        return spoken(value)
    try:
        words = reader(value, speech_language(language))
    except (ValueError, TypeError, ArithmeticError):  # a value no reader expected
        words = None
    return spoken(value) if words is None else words


# ---------------------------------------------------------------- readers
def _decimal(value: Any) -> Decimal | None:
    """A finite number from an int, float or numeric string ("1,234.50"); None otherwise."""
    if isinstance(value, float):
        number = Decimal(str(round(value, 6)))  # 0.1 + 0.2 is 0.3, not 0.30000000000000004
    elif isinstance(value, int | Decimal):
        number = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if _THOUSANDS.fullmatch(text):
            text = text.replace(",", "")
        if not _NUMERIC.fullmatch(text):
            return None
        number = Decimal(text)
    else:
        return None
    return number if number.is_finite() else None


def _chars(value: Any) -> str | None:
    """The letters and digits of a code or digit string (int or str); None when it holds
    anything else (a word, a minus sign, Chinese)."""
    if isinstance(value, int) and value >= 0:
        return str(value)
    if isinstance(value, str) and _CODE.fullmatch(value.strip()) and value.isascii():
        return value.strip()
    return None


def _join(groups: list[str], language: str) -> str:
    if language == "en":
        return ", ".join(en.digit_string(g) for g in groups)
    return "，".join(zh.digit_string(g, yao=language == "zh") for g in groups)


def _digits(value: Any, language: str) -> str | None:
    """Digits one by one in the value's own groups (spaces, dashes), else one group."""
    text = _chars(value)
    return None if text is None else _join(re.split(r"[ \-]", text), language)


def _phone_groups(digits: str) -> list[str]:
    """An 11-digit mobile as 3-4-4, a longer run than 5 digits in fours with the short group
    first (1234567 -> 123 4567), a short one whole (10086)."""
    if len(digits) == 11 and digits.startswith("1"):
        return [digits[:3], digits[3:7], digits[7:]]
    if len(digits) <= 5:
        return [digits]
    cut = len(digits) % 4 or 4
    return [digits[:cut]] + [digits[i:i + 4] for i in range(cut, len(digits), 4)]


def _phone(value: Any, language: str) -> str | None:
    """A phone number digit by digit, in the groups it is written in (021-12345678), each
    long group split as `_phone_groups` says; +86 (or 0086) before a mobile said as its own
    group: "+8613800138000" -> 加八六，幺三八，零零幺三，八零零零."""
    text = str(value).strip() if isinstance(value, int | str) else ""
    if not _PHONE.fullmatch(text) or isinstance(value, bool):
        return None
    plus, text = text.startswith("+"), text.lstrip("+")
    groups: list[str] = []
    for group in re.split(r"[ \-]", text):
        country = re.fullmatch(r"(0086|86)(1\d{10})", group) if plus or not groups else None
        if country:
            groups += [country.group(1), *_phone_groups(country.group(2))]
        else:
            groups += _phone_groups(group)
    words = _join(groups, language)
    return ("plus " if language == "en" else "加") + words if plus else words


def _number(value: Any, language: str) -> str | None:
    number = _decimal(value)
    if number is None:
        return None
    if language == "en":
        return _quantity(number, en.cardinal, en.ONES, " point ", "minus ", " ")
    return _quantity(number, zh.cardinal, zh.DIGITS, "点", "负", "")


def _quantity(value: Decimal, cardinal: Callable[[int], str | None], digits: Sequence[str],
              point: str, minus: str, joiner: str) -> str | None:
    """A quantity in words: 12 -> twelve / 十二, 3.14 -> three point one four / 三点一四,
    -3 -> minus three / 负三, 88.00 -> eighty-eight / 八十八 (trailing zeros are not said)."""
    whole, _, frac = format(abs(value), "f").partition(".")
    words = cardinal(int(whole))
    if words is None:
        return None
    if frac := frac.rstrip("0"):
        words += point + joiner.join(digits[int(c)] for c in frac)
    return (minus if value < 0 else "") + words


def _money(value: Any, language: str) -> str | None:
    number = _decimal(value)
    if number is None or number < 0:
        return None
    fen = int((number * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return en.money(fen) if language == "en" else zh.money(fen)


def _ordinal(value: Any, language: str) -> str | None:
    number = _decimal(value)
    if number is None or number != number.to_integral_value() or number <= 0:
        return None
    return en.ordinal(int(number)) if language == "en" else zh.ordinal(int(number))


def _date(value: Any, language: str) -> str | None:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str) and (m := _DATE.fullmatch(value.strip())):
        try:
            value = dt.date(*(int(g) for g in m.groups()))
        except ValueError:
            return None
    if not isinstance(value, dt.date):
        return None
    when = (value.year, value.month, value.day)
    return en.date(*when) if language == "en" else zh.date(*when)


def _time(value: Any, language: str) -> str | None:
    if isinstance(value, dt.datetime | dt.time):
        hour, minute = value.hour, value.minute
    elif isinstance(value, str) and (m := _TIME.fullmatch(value.strip())):
        hour, minute = int(m.group(1)), int(m.group(2))
    else:
        return None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        return None
    return en.time(hour, minute) if language == "en" else zh.time(hour, minute)


_READERS: dict[str, Callable[[Any, str], str | None]] = {
    "digits": _digits, "phone": _phone, "money": _money, "number": _number,
    "ordinal": _ordinal, "date": _date, "time": _time,
}  # fmt: skip
