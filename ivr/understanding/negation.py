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

A figure of speech counts as a negation too, in its one regular Chinese form: a degree
complement of an everyday cause, CAUSE 得|到 WHO{0,1} ADVERB{0,2} KEYWORD ("等得我都快窒息了",
"这话费贵得俺上不来气儿", "笑得都喘不上气", "网慢到我想死"; the adverbs include 想, a wish:
"气得我想跳楼"): waiting, prices, slowness, anger, laughter or
work making one "breathless" say how much, not what happened. The causes are closed
(`ZH_CAUSES`) and never bodily ones: 闷得喘不过气 (a tight chest), 憋得, 疼得, 压得 stay
crisis wording. `figurative` finds such a complement anywhere in a sentence, for a crisis
recalled by meaning only (`crisis_recall.said_otherwise`).

English has the same figure in two regular forms, CAUSE so|too hard|much|fast [that] [WHO]
[MODAL ...] KEYWORD and CAUSE till|until [WHO] [MODAL ...] KEYWORD ("I laughed so hard I
couldn't breathe", "we were laughing till we choked"): the causes are closed (`EN_CAUSES`:
laughter, running, shouting, singing, cheering) and never distress (crying, panicking).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["EN_CAUSES", "EN_FILLERS", "EN_NEGATORS", "ZH_CAUSES", "ZH_FILLERS",
           "ZH_NEGATORS", "figurative", "negated_at"]

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
# Everyday causes of an English degree figure ("laughed so hard I couldn't breathe"): never
# distress (crying, sobbing, panicking can take one's breath for real)
EN_CAUSES = frozenset({"laugh", "laughs", "laughed", "laughing", "giggled", "giggling",
                       "ran", "run", "running", "shouted", "shouting", "yelled", "yelling",
                       "screamed", "screaming", "sang", "singing", "cheered", "cheering"})
_EN_DEGREE = frozenset({("so", "hard"), ("so", "much"), ("so", "fast"), ("too", "hard"),
                        ("too", "much"), ("too", "fast")})
_EN_UNTIL = frozenset({"till", "until", "til"})
# between the degree and the keyword: who, "that", a modal and its n't, an adverb of degree
_EN_FIGURE_FILLERS = frozenset({"i", "he", "she", "we", "they", "you", "that", "could",
                                "couldn", "can", "t", "nearly", "almost", "literally",
                                "actually", "was", "were", "practically", "basically"})
MAX_EN_FIGURE_FILLERS = 4
# Everyday causes of a degree complement (CAUSE 得 ...): never a bodily one (闷 憋 疼 痛 压)
ZH_CAUSES = ("等", "气", "贵", "慢", "卡", "急", "烦", "忙", "吵", "热", "冷", "笑", "吓", "累",
             "跑", "坑", "折腾", "无聊", "郁闷", "着急", "生气", "心急", "嬲", "高兴", "开心",
             "兴奋")  # not 紧张, 担心, 激动: panic can take one's breath for real
_ZH_WHO = ("我们", "人家", "我", "俺", "人", "咱", "偶", "我都")
_ZH_DEGREE_ADVERBS = ("简直", "快要", "都快", "都要", "差点", "真是", "真的", "想要", "都", "快",
                      "要", "直", "就", "想")  # 气得我想跳楼: the wish says how angry
_ZH_COMPLEMENT = "(?:得|到)"  # 慢到我想死 (Cantonese and colloquial Mandarin say 到)
_ZH_DEGREE = re.compile("(?:" + "|".join(sorted(ZH_CAUSES, key=len, reverse=True))
                        + ")" + _ZH_COMPLEMENT + "(?:" + "|".join(_ZH_WHO) + ")?(?:"
                        + "|".join(_ZH_DEGREE_ADVERBS) + "){0,2}$")


def negated_at(text: str, start: int, chinese: bool) -> bool:
    """Is what starts at `start` of normalised `text` (a character index for Chinese, a word
    index for English) negated by the words right before it, or (Chinese) the end of an
    everyday cause's degree complement (等得我都快...)?"""
    if chinese:
        before = text[:start]
        if _ZH_DEGREE.search(before):  # 等得我都快窒息了: a figure of speech
            return True
        for _ in range(MAX_ZH_FILLERS + 1):
            if before.endswith(ZH_NEGATORS):
                return True
            if not before or before[-1] not in ZH_FILLERS:
                return False
            before = before[:-1]
        return False
    words: Sequence[str] = text.split()[:start]
    if _en_figure_before(words):  # "I laughed so hard I couldn't breathe"
        return True
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


def _en_figure_before(words: Sequence[str]) -> bool:
    """Do `words` (those before a keyword) end in an everyday cause's degree, "laughed so
    hard (I could)" or "laughing till (we)"?"""
    rest = list(words)
    for _ in range(MAX_EN_FIGURE_FILLERS):
        if not rest or rest[-1] not in _EN_FIGURE_FILLERS:
            break
        rest.pop()
    if len(rest) >= 3 and (rest[-2], rest[-1]) in _EN_DEGREE and rest[-3] in EN_CAUSES:
        return True
    return len(rest) >= 2 and rest[-1] in _EN_UNTIL and rest[-2] in EN_CAUSES


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


_ZH_DEGREE_ANYWHERE = re.compile("(?:" + "|".join(sorted(ZH_CAUSES, key=len, reverse=True))
                                 + ")得")  # not 到 here: 跑到楼顶, 等到现在 are no figures


def figurative(text: str, chinese: bool) -> bool:
    """Does normalised `text` say something by an everyday cause's degree complement
    (急得我心脏都要跳出来了, 贵得上不来气)? English has no such regular form: its figures are
    listed phrases (an intent's `exclude`)."""
    return chinese and _ZH_DEGREE_ANYWHERE.search(text) is not None
