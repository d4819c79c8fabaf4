"""Compare Chinese text by sound: Whisper often writes a homophone or near-homophone of the
word the caller said (茶话费 for 查话费, 款待 for 宽带, 冲值 for 充值). Comparing pinyin syllables
without tones forgives those errors; with tones it separates true homophones."""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin, pinyin


@lru_cache(maxsize=4096)
def syllables(text: str, tones: bool = False) -> tuple[str, ...]:
    """Pinyin syllables of the Chinese characters in `text` (other characters dropped)."""
    chars = "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")
    if not chars:
        return ()
    style = Style.TONE3 if tones else Style.NORMAL
    return tuple(lazy_pinyin(chars, style=style, neutral_tone_with_five=True))


@lru_cache(maxsize=4096)
def readings(text: str, tones: bool = False) -> tuple[frozenset[str], ...]:
    """Every reading of each Chinese character (重 is zhong4 and chong2): a recogniser's
    character may stand for the keyword's sound under any of its readings."""
    chars = "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")
    if not chars:
        return ()
    style = Style.TONE3 if tones else Style.NORMAL
    return tuple(frozenset(r) for r in pinyin(chars, style=style, heteronym=True,
                                              neutral_tone_with_five=True))


def _contains(hay: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return n > 0 and any(hay[i : i + n] == needle for i in range(len(hay) - n + 1))


def _sounds_within(hay: tuple[frozenset[str], ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return n > 0 and any(all(needle[k] in hay[i + k] for k in range(n))
                         for i in range(len(hay) - n + 1))


def _dice(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    if not a or not b:
        return 0.0
    if len(a) == 1 or len(b) == 1:
        return 1.0 if set(a) & set(b) and len(a) == len(b) else 0.0
    x = {a[i : i + 2] for i in range(len(a) - 1)}
    y = {b[i : i + 2] for i in range(len(b) - 1)}
    return 2 * len(x & y) / (len(x) + len(y))


def sound_similarity(text: str, example: str) -> float:
    """How alike `text` and `example` sound, in [0, 1]; an example heard inside a longer
    request scores 0.9 with matching tones and 0.85 without."""
    a, b = syllables(text, True), syllables(example, True)
    if _sounds_within(readings(text, True), b):
        return 0.9
    a0, b0 = syllables(text), syllables(example)
    if _sounds_within(readings(text), b0):
        return 0.85
    return max(_dice(a, b), 0.95 * _dice(a0, b0))


def sounds_contain(text: str, keyword: str, tones: bool = False) -> bool:
    """Does `text` contain `keyword` by sound (pinyin, with or without tones), for keywords
    of 2+ syllables (single syllables are too ambiguous)?"""
    k = syllables(keyword, tones)
    return len(k) >= 2 and _sounds_within(readings(text, tones), k)


def sound_spans(text: str, keyword: str, tones: bool = False) -> list[str]:
    """The stretches of `text`'s Chinese characters that sound like `keyword` (2+
    syllables), as `sounds_contain` finds them: 花费 in 查花费 for 话费."""
    chars = han(text)
    n = len(syllables(keyword, tones))
    return [chars[i : i + n] for i in sound_starts(text, keyword, tones)]


def han(text: str) -> str:
    """`text`'s Chinese characters, in order (what the sound comparisons index)."""
    return "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")


def sound_starts(text: str, keyword: str, tones: bool = False) -> list[int]:
    """Where (in `han(text)`) the stretches that sound like `keyword` (2+ syllables) start."""
    k = syllables(keyword, tones)
    n = len(k)
    if n < 2:
        return []
    hay = readings(text, tones)
    return [i for i in range(len(hay) - n + 1) if all(k[j] in hay[i + j] for j in range(n))]
