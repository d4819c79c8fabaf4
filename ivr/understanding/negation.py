"""Negated phrases: "我不是想自杀", "I'm not suicidal", "I'm never going to hurt myself".

A phrase-rule intent (`semantic: false`: the crisis intents) fires on its keywords wherever
they are heard, so a caller reassuring us ("我没有想自杀，我是想问话费", "I'm not going to
kill myself over a phone bill") would reach the crisis queue. A keyword heard right after a
negation is not evidence for its intent: the grammar is

    negated := NEGATOR FILLER{0,3} KEYWORD        (in one clause)

- NEGATOR: 不是 并不是 并非 没有 没 从没 从来没 不会 绝不会 才不会 不打算 没打算 不再 (and
  Cantonese 唔系 冇 唔会); not, never, nor, and the n't forms (don't, isn't, didn't,
  wouldn't, ...). Not "no" and "won't": crisis wording uses them as the crisis itself
  ("there's no reason for me to be alive", "I won't be around much longer").
- FILLER (Chinese: characters, English: words) that may stand between the negator and the
  keyword without ending its scope: 想 要 在 说 过 去 会 是 真 的 打 算; going, gonna, to, want,
  wanna, planning, plans, plan, intention, of, thinking, about, trying, ever, really,
  actually, even, feel, feeling, am, at, all. Not "be": "I'm not going to be around much
  longer" is a crisis.

Only a negator before the keyword's first character counts: the keywords that are negative
themselves (不想活, "can't go on", "don't want to live") start with theirs and keep firing,
and a negation elsewhere in the sentence ("我没事，就是想死", "I can't stop thinking about
killing myself": 'stop' is no filler) leaves the keyword alone. Everything else is what the
keyword lists already say; `exclude` still removes figures of speech (累死, "dying to").
Deliberately small and closed: a filler list that grew to "have" or "any" would let "I don't
have any reason to live" negate itself.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["EN_FILLERS", "EN_NEGATORS", "ZH_FILLERS", "ZH_NEGATORS", "negated_at"]

ZH_NEGATORS = ("不是", "并不是", "并非", "没有", "没", "从没", "从来没", "不会", "绝不会",
               "才不会", "不打算", "没打算", "不再", "唔系", "冇", "唔会")
ZH_FILLERS = frozenset("想要在说过去会是真的打算")
MAX_ZH_FILLERS = 3
EN_NEGATORS = frozenset({"not", "never", "nor", "dont", "wouldnt", "isnt", "didnt", "arent",
                         "doesnt", "wasnt", "aint", "shouldnt"})
_EN_NT = frozenset({"don", "wouldn", "isn", "didn", "aren", "doesn", "wasn", "ain",
                    "shouldn"})  # "don't" normalised is "don t"
EN_FILLERS = frozenset({"going", "gonna", "to", "want", "wanna", "planning", "plans", "plan",
                        "intention", "of", "thinking", "about", "trying", "ever", "really",
                        "actually", "even", "feel", "feeling", "am", "at", "all"})
MAX_EN_FILLERS = 3


def negated_at(text: str, start: int, chinese: bool) -> bool:
    """Is what starts at `start` of normalised `text` (a character index for Chinese, a word
    index for English) negated by the words right before it?"""
    if chinese:
        before = text[:start]
        for _ in range(MAX_ZH_FILLERS + 1):
            if before.endswith(ZH_NEGATORS):
                return True
            if not before or before[-1] not in ZH_FILLERS:
                return False
            before = before[:-1]
        return False
    words: Sequence[str] = text.split()[:start]
    for _ in range(MAX_EN_FILLERS + 1):
        if not words:
            return False
        last = words[-1]
        if last in EN_NEGATORS or (last == "t" and len(words) > 1 and words[-2] in _EN_NT):
            return True
        if last not in EN_FILLERS:
            return False
        words = words[:-1]
    return False


def starts(text: str, phrase: str, chinese: bool) -> list[int]:
    """Where normalised `phrase` occurs in normalised `text`: character indices (Chinese) or
    word indices (English, whole words)."""
    if not phrase:
        return []
    if chinese:
        out, i = [], text.find(phrase)
        while i >= 0:
            out.append(i)
            i = text.find(phrase, i + 1)
        return out
    words, target = text.split(), phrase.split()
    n = len(target)
    return [i for i in range(len(words) - n + 1) if words[i : i + n] == target]


def heard_plainly(text: str, phrase: str, chinese: bool) -> bool:
    """Is `phrase` in `text` at least once without a negation right before it?"""
    return any(not negated_at(text, i, chinese) for i in starts(text, phrase, chinese))
