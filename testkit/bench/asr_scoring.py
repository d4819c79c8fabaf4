"""How `scripts/bench_asr` scores a transcript against its reference: CER for Mandarin, WER
for English, the one digit for the digits set, and hotwords the speaker did not say.

A recogniser that writes "42" for "forty-two" or "2015年" for "二零一五年" has not erred, so
both sides are normalised before counting: English number words and numerals become one digit
string (`en_words`), Arabic numerals in Chinese become the reading AISHELL transcripts use
(`zh_chars`, cardinal or digit by digit, whichever is closer). The raw counts (no number
normalisation) are kept alongside so the normalisation itself can be judged.
"""

from __future__ import annotations

import re
import unicodedata

from ivr.understanding.fuzzy import edit_distance
from ivr.understanding.intents import extract_digits
from ivr.understanding.profiles import LanguageProfile, normalise_for

__all__ = ["digit_tokens", "en_words", "leaked", "score", "zh_chars"]

_EN_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_EN_TENS = {w: 10 * (i + 2) for i, w in enumerate(
    "twenty thirty forty fifty sixty seventy eighty ninety".split())}
_EN_ABBREV = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "ok": "okay"}


def _numbers_to_digits(tokens: list[str]) -> list[str]:
    """Runs of number words and numerals -> one digit string ("fourteen fifty five" -> "1455",
    "forty two" -> "42", "one hundred and five" -> "105", "1 000" -> "1000")."""
    out: list[str] = []
    run: list[int | str] = []  # chunks of one run of numbers

    def flush() -> None:
        if run:
            out.append("".join(str(c) for c in run))
            run.clear()

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        last = run[-1] if run else None
        if tok.isdigit():
            run.append(tok)
        elif tok in _EN_UNITS:
            value = _EN_UNITS[tok]
            if isinstance(last, int) and value < 10 and (
                    (last % 100 >= 20 and last % 10 == 0) or (last >= 100 and last % 100 == 0)):
                run[-1] = last + value  # forty + two, hundred + five
            elif isinstance(last, int) and last >= 100 and last % 100 == 0:
                run[-1] = last + value  # hundred + fifteen
            else:
                run.append(value)
        elif tok in _EN_TENS:
            if isinstance(last, int) and last >= 100 and last % 100 == 0:
                run[-1] = last + _EN_TENS[tok]
            else:
                run.append(_EN_TENS[tok])
        elif tok in ("hundred", "thousand") and isinstance(last, int):
            run[-1] = last * (100 if tok == "hundred" else 1000)
        elif tok == "and" and isinstance(last, int) and last >= 100 and i + 1 < len(tokens) and (
                tokens[i + 1] in _EN_UNITS or tokens[i + 1] in _EN_TENS):
            pass  # "one hundred and five"
        else:
            flush()
            out.append(tok)
        i += 1
    flush()
    return out


def en_words(text: str, numbers: bool = True) -> list[str]:
    """Lower case, punctuation removed (hyphens split words), optional numbers -> digits."""
    text = unicodedata.normalize("NFKC", text).lower().replace("-", " ")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,000 -> 1000
    tokens = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text)
    tokens = [_EN_ABBREV.get(t, t) for t in tokens]
    return _numbers_to_digits(tokens) if numbers else tokens


_ZH_DIGIT = "零一二三四五六七八九"


def _zh_cardinal(n: int) -> str:
    """Spoken Chinese reading of a non-negative integer (below 10^12)."""
    if n == 0:
        return "零"

    def below_10k(v: int) -> str:
        out, zero = "", False
        for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            d, v = divmod(v, unit)
            if d:
                if zero:
                    out += "零"
                out += _ZH_DIGIT[d] + name
                zero = False
            elif out:
                zero = True
        return out

    parts = []
    for unit, name in ((10**8, "亿"), (10**4, "万"), (1, "")):
        chunk, n = divmod(n, unit)
        if chunk:
            if parts and chunk < 1000:
                parts.append("零")
            parts.append(below_10k(chunk) + name)
    text = "".join(parts)
    return text[1:] if text.startswith("一十") else text


def _zh_numerals(text: str, digitwise: bool = False) -> str:
    """Arabic numerals -> the Chinese reading AISHELL transcripts use (2015年 -> 二零一五年,
    3.5 -> 三点五, 25% -> 百分之二十五, 138 -> 一百三十八); `digitwise`: every number read
    digit by digit, as a digit string is said (69832548 -> 六九八三二五四八)."""

    def number(m: re.Match[str]) -> str:
        whole, frac, pct = m.group(1), m.group(2), m.group(3)
        if digitwise or len(whole) == 4 and m.string[m.end():m.end() + 1] == "年" or len(
                whole) > 12 or (len(whole) > 1 and whole.startswith("0")):
            spoken = "".join(_ZH_DIGIT[int(d)] for d in whole)
        else:
            spoken = _zh_cardinal(int(whole))
        if frac:
            spoken += "点" + "".join(_ZH_DIGIT[int(d)] for d in frac)
        return ("百分之" + spoken) if pct else spoken

    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    return re.sub(r"(\d+)(?:\.(\d+))?(%|％)?", number, text)


def zh_chars(text: str, profile: LanguageProfile, numbers: bool = True,
             digitwise: bool = False) -> list[str]:
    """Profile normalisation (t2s), then characters without spaces or punctuation."""
    text = normalise_for(profile, unicodedata.normalize("NFKC", text))
    if numbers:
        text = _zh_numerals(text, digitwise)
    return [c for c in text.lower() if c.isalnum()]


_DIGIT_WORDS = {w: str(i) for w, i in _EN_UNITS.items() if i < 10} | {"oh": "0"}


def digit_tokens(text: str) -> list[str]:
    """Every digit said or written in `text`: "Two." -> ["2"], "6" -> ["6"], "Forward" -> []."""
    out: list[str] = []
    for tok in re.findall(r"[a-z]+|\d", unicodedata.normalize("NFKC", text).lower()):
        if tok.isdigit():
            out.append(tok)
        elif tok in _DIGIT_WORDS:
            out.append(_DIGIT_WORDS[tok])
    return out


def score(set_name: str, profile: LanguageProfile, ref: str, hyp: str
          ) -> tuple[int, int, int, bool]:
    """(errors, reference length, errors without number normalisation, ivr-style digit ok)."""
    if set_name == "aishell":
        ref_c = zh_chars(ref.replace(" ", ""), profile)
        # numerals in the hypothesis: the reading closer to the reference, cardinal or digit
        # by digit ("69832548" is a digit string, not 六千九百八十三万...)
        errors = min(edit_distance(ref_c, zh_chars(hyp, profile, digitwise=d))
                     for d in (False, True))
        return (errors, len(ref_c),
                edit_distance(zh_chars(ref.replace(" ", ""), profile, False),
                              zh_chars(hyp, profile, False)), False)
    if set_name == "en_misc":
        ref_w = en_words(ref)
        return (edit_distance(ref_w, en_words(hyp)), len(ref_w),
                edit_distance(en_words(ref, False), en_words(hyp, False)), False)
    expected = _DIGIT_WORDS[ref.strip().lower()]
    ok = digit_tokens(hyp) == [expected]
    return int(not ok), 1, int(not ok), extract_digits(hyp, "en-US") == expected


def leaked(set_name: str, vocab: list[str], ref: str, hyp: str) -> bool:
    """A hotword in the hypothesis that the speaker did not say."""
    if set_name == "aishell":
        ref_n, hyp_n = ref.replace(" ", ""), hyp
        return any(len(w) >= 2 and w in hyp_n and w not in ref_n for w in vocab)
    ref_w, hyp_w = f" {' '.join(en_words(ref, False))} ", f" {' '.join(en_words(hyp, False))} "
    return any(f" {w.lower()} " in hyp_w and f" {w.lower()} " not in ref_w for w in vocab)
