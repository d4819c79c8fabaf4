"""English words for values read aloud (the English side of `say_as.py`).

Words rather than figures, so the Piper voice (whose espeak-ng phonemizer reads "4821" as
"four thousand eight hundred twenty-one") says what the dialplan means. Each function returns
None for a value it cannot read; `say_as` then says the value as written.
"""

from __future__ import annotations

LARGEST = 10**15  # "nine hundred ninety-nine trillion ...": beyond it, as written
ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen")
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                  "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def _hundreds(n: int) -> str:
    """0 < n < 1000: "two hundred thirty-four" (American: no "and")."""
    words: list[str] = []
    if n >= 100:
        words.append(f"{ONES[n // 100]} hundred")
        n %= 100
    if n >= 20:
        words.append(TENS[n // 10] + (f"-{ONES[n % 10]}" if n % 10 else ""))
    elif n:
        words.append(ONES[n])
    return " ".join(words)


def cardinal(n: int) -> str | None:
    """0 <= n < 10**15 in words: 1234 -> "one thousand two hundred thirty-four"."""
    if n < 0 or n >= LARGEST:
        return None
    if n == 0:
        return "zero"
    words: list[str] = []
    for size, name in _SCALES:
        if n >= size:
            words.append(f"{_hundreds(n // size)} {name}")
            n %= size
    if n:
        words.append(_hundreds(n))
    return " ".join(words)


def digit_string(chars: str) -> str:
    """Digits and letters one by one: "BK1284" -> "B K one two eight four"."""
    return " ".join(ONES[int(c)] if c.isdigit() else c.upper() for c in chars)


def money(fen: int) -> str | None:
    """Yuan and fen said like dollars and cents: 8800 -> "eighty-eight yuan",
    8850 -> "eighty-eight yuan fifty", 8806 -> "eighty-eight yuan oh six"."""
    yuan, cents = divmod(fen, 100)
    words = cardinal(yuan)
    if words is None:
        return None
    words += " yuan"
    if cents:
        words += " " + (f"oh {ONES[cents]}" if cents < 10 else _hundreds(cents))
    return words


def ordinal(n: int) -> str | None:
    """"first", "twenty-first", "one hundredth"; None for 0 and huge numbers."""
    words = cardinal(n)
    if words is None or n == 0:
        return None
    head, sep, last = words.rpartition(" ")
    stem, dash, unit = last.rpartition("-")
    unit = (_ORDINAL_WORDS.get(unit) or (unit[:-1] + "ieth" if unit.endswith("y")
                                         else unit + "th"))
    return head + sep + stem + dash + unit


def year(n: int) -> str:
    """As years are said: 2026 -> "twenty twenty-six", 2005 -> "two thousand five",
    1900 -> "nineteen hundred", 1984 -> "nineteen eighty-four"."""
    if 2000 <= n <= 2009 or not 1100 <= n <= 9999:
        return cardinal(n) or str(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{_hundreds(high)} hundred"
    return f"{_hundreds(high)} " + (f"oh {ONES[low]}" if low < 10 else _hundreds(low))


def date(y: int, month: int, day: int) -> str:
    """"December sixth, twenty twenty-six"."""
    return f"{MONTHS[month - 1]} {ordinal(day)}, {year(y)}"


def time(hour: int, minute: int) -> str:
    """A 12-hour clock: "two thirty PM", "nine oh five AM", "two PM", "twelve noon",
    "twelve midnight"."""
    if minute == 0 and hour in (0, 12):
        return "twelve noon" if hour == 12 else "twelve midnight"
    h = hour % 12 or 12
    words = ONES[h]
    if minute:
        words += " " + (f"oh {ONES[minute]}" if minute < 10 else _hundreds(minute))
    return f"{words} {'PM' if hour >= 12 else 'AM'}"
