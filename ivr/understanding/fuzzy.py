"""Fuzzy matching that cannot turn one real word into another.

A recogniser's misspelling ("biling" for "billing", 冲值 for 充值) is worth forgiving; a real
word is not a misspelling. One-edit matching once heard "last" and "list" as the keyword
`lost` and sent a balance enquiry into card blocking at 0.79 (issue 19). The rule: a caller's
word that is itself a real word — a word of the dialplan's vocabulary in that language (every
intent's keywords and examples) or one of the language's common words — never matches a
*different* keyword by spelling (English) or by sound (a Chinese keyword: 花费 is a word, not
话费; 冲值 is none, it may be 充值), nor lends its letters to the likeness of an English
example; a plural is the same word ("credits"). "last", "list" and "lust" are words: never
`lost`; "biling" is no word: it may still be "billing". (Chinese examples are still compared
by sound as a whole: a sentence is rarely another sentence.)

The common words come from `wordfreq` 3.1.1 (its data ships inside the package): every word
said at least once per million words (Zipf frequency >= 3): 28,338 English words of letters
and 36,343 Chinese words, loaded once (~1 s) and kept as sets: a check is a set lookup.
`warm` loads them when a dialplan's engine is built, not on the first utterance.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ivr.understanding.language_codes import base_language, is_chinese
from ivr.understanding.pinyin import han, sound_starts, sounds_contain, syllables

if TYPE_CHECKING:
    from ivr.dialplan.models import Intent

COMMON_ZIPF = 3.0  # at least one in a million words: a word a caller may well say
_LETTERS = re.compile(r"[a-z]+")
_HAN = re.compile(r"[\u4e00-\u9fff]+")
_CACHED_PLANS = 16  # vocabularies kept (dialplans in use, hot reloads)


def common_words(language: str) -> frozenset[str]:
    """The language's common words (Zipf >= 3 in wordfreq): English words of letters, Chinese
    words (Simplified); an empty set for a language wordfreq does not know. Cached per
    wordfreq language: "zh-CN" (warmed at start-up) and "zh" (a Mandarin turn) share one set."""
    base = base_language(language)
    return _common_words("zh" if is_chinese(language) else base)


@functools.cache
def _common_words(base: str) -> frozenset[str]:
    from wordfreq import get_frequency_dict  # 0.3 s to import: only when first needed

    chinese = base == "zh"
    try:
        freqs = get_frequency_dict("zh" if chinese else base)
    except (LookupError, ValueError):
        return frozenset()
    floor = 10 ** (COMMON_ZIPF - 9)
    shape = _HAN if chinese else _LETTERS
    return frozenset(w for w, f in freqs.items() if f >= floor and shape.fullmatch(w))


def _entries(values: Any, language: str) -> Iterable[str]:
    """Every entry of a per-language list written in `language` or a variant or dialect of
    it (zh-CN also takes zh-sichuan and yue lists)."""
    if isinstance(values, list):
        yield from values
        return
    chinese = is_chinese(language)
    base = base_language(language)
    for lang, items in values.items():
        if (is_chinese(lang) if chinese else base_language(lang) == base):
            yield from items


def _words_of(text: str, language: str) -> set[str]:
    """English: the words of a keyword or example; Chinese: the keyword or example whole
    (the language's words come from the common words)."""
    from ivr.understanding.intents import normalise

    norm = normalise(text.replace("*", " "), language)
    return {norm} if is_chinese(language) else set(norm.split())


_plans: dict[tuple[int, str], tuple[object, frozenset[str]]] = {}


def plan_words(intents: Mapping[str, Intent] | Intent, language: str) -> frozenset[str]:
    """The dialplan's vocabulary in `language`: the words of every intent's keywords and
    examples (English), or its keywords and examples (Chinese); of one intent when given
    one. Cached per object (a dialplan's intents never change once
    loaded)."""
    key = (id(intents), language)
    hit = _plans.get(key)
    if hit is not None and hit[0] is intents:
        return hit[1]
    items = list(intents.values()) if isinstance(intents, Mapping) else [intents]
    words: set[str] = set()
    for intent in items:
        for text in [*_entries(intent.keywords, language), *_entries(intent.examples, language)]:
            words |= _words_of(text, language)
    result = frozenset(words)
    if len(_plans) >= _CACHED_PLANS:
        _plans.pop(next(iter(_plans)))
    _plans[key] = (intents, result)
    return result


def is_word(word: str, language: str, vocabulary: frozenset[str] = frozenset()) -> bool:
    """Is `word` (normalised) a real word: of the dialplan's vocabulary or common?"""
    return word in vocabulary or word in common_words(language)


# ---------------------------------------------------------------- English: spelling
def edit_distance(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Levenshtein distance between two sequences (characters, words...)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def same_word(a: str, b: str) -> bool:
    """The same English word, or its plural ("credits" for "credit", "charges")."""
    return a == b or a in (b + "s", b + "es") or b in (a + "s", a + "es")


def fuzzy_word(a: str, b: str, vocabulary: frozenset[str] = frozenset(),
               language: str = "en") -> bool:
    """May the caller's word `a` stand for the keyword's word `b`? The same word or its
    plural; or a misspelling a recogniser may write: not a real word itself ("biling", not
    "last"), one edit apart, two for long words, with the same first letter, 4+ letters."""
    if same_word(a, b):
        return True
    if min(len(a), len(b)) < 4 or a[0] != b[0]:
        return False
    if edit_distance(a, b) > (2 if min(len(a), len(b)) >= 8 else 1):
        return False
    return not is_word(a, language, vocabulary)


def fuzzy_keyword_hit(text: str, keyword: str, vocabulary: frozenset[str] = frozenset(),
                      language: str = "en") -> bool:
    """Is `keyword` (normalised English) in `text`, allowing misspelt words (that are no real
    words) and split or joined compounds ("broad band", "topup")?"""
    words, kw = text.split(), keyword.split()
    n = len(kw)
    if any(all(fuzzy_word(w, k, vocabulary, language)
               for w, k in zip(words[i : i + n], kw, strict=True))
           for i in range(len(words) - n + 1)):
        return True
    return joined_compound(text, keyword)


def joined_compound(text: str, keyword: str) -> bool:
    """`keyword` written as a run of whole words of `text` with the spaces moved:
    "broad band" for "broadband", "topup" for "top up" (not "personal" for "person")."""
    joined = keyword.replace(" ", "")
    if len(joined) < 5:
        return False
    words = text.split()
    for i in range(len(words)):
        run = ""
        for w in words[i:]:
            run += w
            if run == joined:
                return True
            if len(run) >= len(joined):
                break
    return False


def masked(text: str, example: str, vocabulary: frozenset[str] = frozenset(),
           language: str = "en") -> str:
    """`text` (normalised English) for a likeness of characters with `example`: its real
    words that the example does not have (nor their plural) become `#`s of the same length,
    so that only misspellings can be like the example's words ("my last bill" is not like
    "I lost my card"; "biling question" is like "billing question")."""
    theirs = set(example.split())
    return " ".join(w if w in theirs or not is_word(w, language, vocabulary)
                    or any(same_word(w, t) for t in theirs) else "#" * len(w)
                    for w in text.split())


# ---------------------------------------------------------------- Chinese: sound
def heard_as_word(heard: Iterable[str], keyword: str, vocabulary: frozenset[str]) -> bool:
    """Were all the stretches of the caller's text that sound like `keyword` other real
    words (花费 for 话费, 款待 for 宽带)? Then the sound is no evidence for the keyword."""
    common = common_words("zh")
    spans = [s for s in heard if s != keyword]
    return bool(spans) and all(s in vocabulary or s in common for s in spans)


# Final particles: their vowel is a keyword's often enough (啊 reads a and e: 雨啊 ~ 余额), and
# a recogniser writes them where the caller put a particle, not for a syllable of a word
_PARTICLES = frozenset("啊呀吗呢吧嘛啦哦呗咯")


@functools.cache
def _jieba() -> tuple[Any, float]:
    """jieba's dictionary tokenizer, loaded once and quiet, and the log of its word count."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.dt.check_initialized()  # builds its dictionary once, under jieba's own lock
    return jieba.dt, math.log(jieba.dt.total)


def _log_p(word: str) -> float:
    dt, log_total = _jieba()
    return math.log(dt.FREQ.get(word) or 1) - log_total


@functools.lru_cache(maxsize=4096)
def _best_cut(chars: str) -> float:
    """Log-probability of the likeliest cut of `chars` into words of jieba's dictionary
    (jieba's own unigram route, without its guesses at unknown words)."""
    if not chars:
        return 0.0
    dag = _jieba()[0].get_DAG(chars)
    best = [0.0] * (len(chars) + 1)
    for i in range(len(chars) - 1, -1, -1):
        best[i] = max(_log_p(chars[i : j + 1]) + best[j + 1] for j in dag[i])
    return best[0]


def misheard_reading(chars: str, start: int, keyword: str) -> bool:
    """Is reading `chars[start:start + len(keyword)]` as `keyword` no worse a cut of the
    caller's sentence than the words as written? 帮我查一下鱼额 reads better with 余额 (鱼额
    is no word); 说话飞快 does not read as 说 话费 快, nor 主人公 as 主 人工, nor 往宿舍 as 网速
    舍: a sound made of the end of one word and the start of the next is those words. The
    keyword counts as at least a common word (Zipf 3): the caller is talking to its dialplan,
    and some keywords are rarer in jieba's dictionary than on the telephone (断网)."""
    n = len(keyword)
    prior = max(_log_p(keyword), math.log(10 ** (COMMON_ZIPF - 9)))  # 断网 is rare in print
    as_keyword = _best_cut(chars[:start]) + prior + _best_cut(chars[start + n:])
    return as_keyword >= _best_cut(chars)


def sound_evidence(text: str, keyword: str, tones: bool,
                   vocabulary: frozenset[str] = frozenset()) -> bool:
    """Does `text` hold Chinese `keyword` by sound (pinyin, with or without tones) as a
    recogniser's mishearing of it (鱼额, 于额 for 余额; 冲值 for 充值)? A stretch that sounds
    like it is no evidence when it is another real word (花费 for 话费: `heard_as_word`), when
    the sentence reads better as written than with the keyword there (说话飞快, 主人公, 往宿舍:
    `misheard_reading`), or when it ends in a final particle the keyword does not have (下雨啊,
    钓鱼啊)."""
    if not sounds_contain(text, keyword, tones):  # the usual case, as cheap as before
        return False
    starts = sound_starts(text, keyword, tones)
    n = len(syllables(keyword, tones))
    chars = han(text)
    spans = [chars[i : i + n] for i in starts
             if (chars[i + n - 1] not in _PARTICLES or keyword.endswith(chars[i + n - 1]))
             and misheard_reading(chars, i, keyword)]
    return bool(spans) and not heard_as_word(spans, keyword, vocabulary)


def warm(intents: Mapping[str, Intent], languages: Iterable[str]) -> None:
    """Load the common words and the dialplan's vocabulary of `languages` now (about 1 s the
    first time), so that no caller waits for them."""
    for language in languages:
        common_words(language)
        plan_words(intents, language)
        if is_chinese(language):
            _jieba()  # the dictionary the sound's reading is weighed with (about 1 s)
