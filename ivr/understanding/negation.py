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
           "EN_HARMED", "EN_HARM_VERBS", "EN_HESITATIONS", "ZH_NEGATORS", "figurative",
           "negated_at"]

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
# what a hesitation is written as (also thinned out of crisis phrases: `crisis_thinned`)
EN_HESITATIONS = frozenset({"um", "umm", "uh", "uhm", "er", "erm", "err", "ah", "hmm"})
# Verbs of harm that callers also do to things ("the fees are strangling my budget"), and
# what makes them real when they are done to it: people, pronouns, the body (the object's
# noun is looked for after a determiner, past an adjective or two)
EN_HARM_VERBS = frozenset({
    "suffocating", "suffocates", "suffocated", "suffocate", "choking", "chokes", "choke",
    "strangling", "strangles", "strangled", "strangle", "smothering", "smothers",
    "smothered", "smother", "drowning", "drowns", "killing", "kills", "murdering",
    "murders", "crushing", "crushes", "squeezing", "squeezes", "stabbing", "bleeding"})
EN_HARMED = frozenset("""
me him her them us you myself himself herself themselves yourself self
son daughter baby babies kid kids child children boy girl wife husband partner mum mom
mother dad father nan nana gran granny grandma grandmother grandad granddad grandpa
grandfather brother sister friend boyfriend girlfriend family neighbour neighbor man woman
people person dog cat body chest heart throat neck lung lungs arm arms wrist wrists head
face breath breathing airway windpipe stomach back side jaw skin life
""".split())
_EN_OBJECT_DETERMINERS = frozenset({"my", "our", "the", "his", "their", "your", "this"})
# (not "her" or "me": "he's strangling her right now" has no thing after it)
_EN_BE = frozenset({"is", "s", "was", "are", "were"})
_EN_PERSONAL = frozenset({"i", "he", "she", "we", "they", "it", "who", "one", "someone",
                          "somebody", "everyone", "nobody", "t", "m", "re"})
_EN_OBJECT_FILLERS = frozenset({"whole", "entire", "poor", "little", "old", "own", "new",
                                "home", "s"})
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
    every = text.split()
    words: Sequence[str] = every[:start]
    if _en_figure_before(words):  # "I laughed so hard I couldn't breathe"
        return True
    if _en_done_to_a_thing(every, start):  # "the wifi is suffocating my work"
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
    hard (I could)" or "laughing till (we)"? Hesitations do not count ("laughed so, um,
    hard")."""
    rest = [w for w in words if w not in EN_HESITATIONS]
    for _ in range(MAX_EN_FIGURE_FILLERS):
        if not rest or rest[-1] not in _EN_FIGURE_FILLERS:
            break
        rest.pop()
    if len(rest) >= 3 and (rest[-2], rest[-1]) in _EN_DEGREE and rest[-3] in EN_CAUSES:
        return True
    return len(rest) >= 2 and rest[-1] in _EN_UNTIL and rest[-2] in EN_CAUSES


def _en_done_to_a_thing(words: Sequence[str], start: int) -> bool:
    """Is the word at `start` a verb of harm done to a thing, not to a body or a person: "the
    wifi is suffocating my work", "these charges are strangling the business", "the kids are
    killing our data"? A verb of harm (EN_HARM_VERBS) with a determiner and a noun that is
    no person, pronoun or body part (EN_HARMED) is a figure of speech; "he's choking my son",
    "it's crushing my chest" are not."""
    if start >= len(words) or words[start] not in EN_HARM_VERBS:
        return False
    if (start >= 2 and words[start - 1] in _EN_BE and words[start].endswith("ing")
            and start + 1 == len(words) and _en_a_thing(words[start - 2])):
        return True  # "the price of this plan is suffocating" (a thing is, not a person)
    rest = list(words[start + 1 : start + 4])
    if not rest or rest[0] not in _EN_OBJECT_DETERMINERS:
        return False
    noun = next((w for w in rest[1:] if w not in _EN_OBJECT_FILLERS), None)
    return noun is not None and noun not in EN_HARMED and noun.rstrip("s") not in EN_HARMED


def _en_a_thing(word: str) -> bool:
    """Is `word`, the subject before "is", a thing: a noun, no person, pronoun or body?"""
    return (word.isalpha() and word not in EN_HARMED and word.rstrip("s") not in EN_HARMED
            and word not in _EN_PERSONAL and word not in _EN_OBJECT_DETERMINERS)


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


# Done to death by the company or a thing: 被你们折磨死了, 被这网速逼疯, 快被这破网整死了
# (not by a person: 被他打死 is violence; the cause is an everyday one, never 打 杀 砍 捅)
_ZH_PASSIVE_HYPERBOLE = re.compile(
    "被(?:你们|你|您|这|那|客服|网|宽带|话费|账单)[^，。！？]{0,6}?"
    "(?:折磨|折腾|逼|坑|整|磨|烦|气|吓|累|卡|急|害|搞|弄|耽误)(?:死|疯|晕|崩溃)")


def figurative(text: str, chinese: bool) -> bool:
    """Does normalised `text` say something by an everyday cause's degree complement
    (急得我心脏都要跳出来了, 贵得上不来气) or as done to death by the company or a thing
    (我都快被你们折磨死了)? English has no such regular form: its figures are listed phrases
    (an intent's `exclude`) and harm done to a thing (`negated_at`)."""
    return chinese and (_ZH_DEGREE_ANYWHERE.search(text) is not None
                        or _ZH_PASSIVE_HYPERBOLE.search(text) is not None)
