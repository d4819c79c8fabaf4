"""Mask personal numbers before anything is stored or logged.

Rules, in Mandarin and English, written or spoken ("一三八零零一三八零零零", "one three eight
...", "幺三八", ASR spacing "138 0013 8000" or "1 3 8 0 ..."):

=============== ============================================== ==========================
what            recognised as                                  stored as
=============== ============================================== ==========================
mobile          1[3-9] + 9 digits, optional +86 / 86 / 0086     ``138****8000``
landline        0 + area code + 7-8 digits (10-12 digits)       ``021****5678``
resident ID     18 characters, MOD 11-2 checksum, birth date   ``**************002X``
bank card       13-19 digits starting 3-6, Luhn checksum        ``***************0128``
e-mail          local@domain.tld                                ``z***@example.com``
secret          a value of a ``sensitive`` slot of this call    ``****``
=============== ============================================== ==========================

Phones keep their first 3 and last 4 digits, ID and card numbers their last 4, e-mails the first
character and the domain: enough for an agent to recognise a number the caller repeats, not
enough to use it. A masked number is written in ASCII whatever form it was said in. Secrets
(exact values of sensitive slots, also in their spoken and spaced forms) are masked whole.
Amounts, dates, times and short numbers stay as they are: a number is masked only when its
digits form one of the shapes above (and pass its checksum).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ivr.understanding.slots import id_card_valid

SECRET_MASK = "****"
_EN_DIGITS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
              "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_ZH_DIGITS = {"零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
              "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_WORD = "|".join(_EN_DIGITS)
_ONE = rf"(?:{_WORD}|[0-9０-９零〇一幺二两三四五六七八九])"
_TOKEN = re.compile(
    rf"(?P<rep>(?<![A-Za-z])(?:double|triple)\s+{_ONE}(?![A-Za-z]))"
    rf"|(?P<word>(?<![A-Za-z])(?:{_WORD})(?![A-Za-z]))"
    r"|(?P<digit>[0-9０-９零〇一幺二两三四五六七八九])"
    r"|(?P<x>(?<=[0-9零〇一幺二两三四五六七八九])\s?(?:[xX](?![A-Za-z])|叉))",
    re.IGNORECASE,
)
_GAP = re.compile(r"[\s\-–—.,，、·/()（）+]{1,3}")  # between the groups of one number
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                    r"\.[A-Za-z]{2,})")
_MOBILE = re.compile(r"(?:0086|86)?(1[3-9]\d{9})")
_LANDLINE = re.compile(r"0[1-9]\d{8,10}")
_MAX_DIGITS = 22  # the longest number worth a look (0086 + mobile, card, ID)


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    digits: str  # "1", "88" (double eight) or "X"


def _digit(s: str) -> str:
    s = s.lower()
    if s in _EN_DIGITS:
        return _EN_DIGITS[s]
    if s in _ZH_DIGITS:
        return _ZH_DIGITS[s]
    if "０" <= s <= "９":
        return chr(ord(s) - ord("０") + ord("0"))
    return s


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    for m in _TOKEN.finditer(text):
        if m.group("rep"):
            times, one = m.group("rep").split(maxsplit=1)
            out.append(_Token(m.start(), m.end(), _digit(one) * (2 if times.lower()
                                                                   == "double" else 3)))
        elif m.group("x"):
            out.append(_Token(m.start(), m.end(), "X"))
        else:
            out.append(_Token(m.start(), m.end(), _digit(m.group(0))))
    return out


def _runs(text: str) -> list[list[list[_Token]]]:
    """Tokens joined into runs of groups: a run is one stretch of digits, its groups are what
    separators (spaces, dashes, commas) split it into."""
    runs: list[list[list[_Token]]] = []
    prev: _Token | None = None
    for tok in _tokens(text):
        gap = text[prev.end:tok.start] if prev is not None else None
        if prev is None or (gap and not _GAP.fullmatch(gap)) or prev.digits == "X":
            runs.append([[tok]])
        elif gap:
            runs[-1].append([tok])
        else:
            runs[-1][-1].append(tok)
        prev = tok
    return runs


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) checksum of bank card numbers."""
    if not number.isdigit():
        return False
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _classify(digits: str, groups: list[str]) -> str | None:
    """The mask of a number, or None when it is none of the personal shapes."""
    if m := _MOBILE.fullmatch(digits):
        mobile = m.group(1)
        return f"{mobile[:3]}****{mobile[-4:]}"
    if len(digits) == 18 and id_card_valid(digits):
        return "*" * 14 + digits[-4:]
    if "X" in digits:
        return None
    if 13 <= len(digits) <= 19 and digits[0] in "3456" and luhn_valid(digits) and (
            len(groups) == 1 or all(len(g) == 1 for g in groups)
            or all(3 <= len(g) <= 6 for g in groups[:-1])):
        return "*" * (len(digits) - 4) + digits[-4:]
    if _LANDLINE.fullmatch(digits) and not digits.startswith("0086"):
        return f"{digits[:3]}****{digits[-4:]}"
    return None


def _secret_forms(secrets: Iterable[Any]) -> tuple[list[str], list[str]]:
    """(digit strings, other strings) of the secrets worth masking (2+ characters)."""
    digits: list[str] = []
    words: list[str] = []
    for value in secrets:
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        if len(text) < 2:
            continue
        toks = _tokens(text)
        covered = sum(t.end - t.start for t in toks)
        spaces = sum(c.isspace() or c in "-" for c in text)
        if toks and covered + spaces >= len(text):
            digits.append("".join(t.digits for t in toks).upper())
        else:
            words.append(text)
    return digits, words


class Redactor:
    """Masks personal numbers and a call's secrets in text and in JSON-like data."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def redact_text(self, text: str, secrets: Iterable[Any] = ()) -> str:
        """`text` with personal numbers, e-mails and the `secrets` masked."""
        if not self.enabled or not text:
            return text
        secret_digits, secret_words = _secret_forms(secrets)
        for word in secret_words:
            text = re.sub(re.escape(word), SECRET_MASK, text, flags=re.IGNORECASE)
        spans: list[tuple[int, int, str]] = []
        for run in _runs(text):
            spans += _secret_spans(run, secret_digits)
            spans += _rule_spans(run, spans)
        for start, end, mask in sorted(spans, reverse=True):
            if mask != SECRET_MASK and text[start - 1:start] in ("+", "＋"):
                start -= 1  # +86 138...: the plus goes with the number
            text = text[:start] + mask + text[end:]
        return _EMAIL.sub(lambda m: f"{m.group(1)[0]}***@{m.group(2)}", text)

    def redact_obj(self, obj: Any, secrets: Iterable[Any] = ()) -> Any:
        """A copy of `obj` (dicts, lists, tuples, strings, numbers) with everything masked."""
        if not self.enabled:
            return obj
        secrets = list(secrets)
        return self._obj(obj, secrets, {_plain(s) for s in secrets if s is not None})

    def _obj(self, obj: Any, secrets: list[Any], plain: set[str]) -> Any:
        if isinstance(obj, str):
            return self.redact_text(obj, secrets)
        if isinstance(obj, dict):
            return {k: self._obj(v, secrets, plain) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self._obj(v, secrets, plain) for v in obj]
        if isinstance(obj, int | float) and not isinstance(obj, bool):
            if len(_plain(obj)) >= 2 and _plain(obj) in plain:
                return SECRET_MASK
            if isinstance(obj, int) and obj >= 10**9:  # a number kept as an integer
                masked = self.redact_text(str(obj), secrets)
                return masked if masked != str(obj) else obj
        return obj


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().upper()


def _secret_spans(run: list[list[_Token]], secrets: list[str]) -> list[tuple[int, int, str]]:
    toks = [t for g in run for t in g]
    joined = "".join(t.digits for t in toks).upper()
    owner = [i for i, t in enumerate(toks) for _ in t.digits]  # digit index -> token index
    spans: list[tuple[int, int, str]] = []
    for secret in secrets:
        at = joined.find(secret)
        while at >= 0:
            first, last = owner[at], owner[at + len(secret) - 1]
            spans.append((toks[first].start, toks[last].end, SECRET_MASK))
            at = joined.find(secret, at + len(secret))
    return _disjoint(spans)


def _rule_spans(run: list[list[_Token]], taken: list[tuple[int, int, str]]
                ) -> list[tuple[int, int, str]]:
    """Greedy from the left: the longest stretch of whole groups that is a personal number."""
    groups = ["".join(t.digits for t in g) for g in run]
    spans: list[tuple[int, int, str]] = []
    i = 0
    while i < len(run):
        found = False
        for j in range(len(run), i, -1):
            digits = "".join(groups[i:j])
            if len(digits) > _MAX_DIGITS or len(digits) < 10:
                continue
            mask = _classify(digits, groups[i:j])
            if mask is None:
                continue
            start, end = run[i][0].start, run[j - 1][-1].end
            if not any(s < end and start < e for s, e, _ in taken):
                spans.append((start, end, mask))
            i, found = j, True
            break
        if not found:
            i += 1
    return spans


def _disjoint(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for s in sorted(spans, key=lambda x: (x[0], -x[1])):
        if out and s[0] < out[-1][1]:
            if s[1] > out[-1][1]:
                out[-1] = (out[-1][0], s[1], SECRET_MASK)
            continue
        out.append(s)
    return out
