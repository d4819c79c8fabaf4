"""Understanding caller text: normalisation, intent matching and number extraction.

Intents are matched on examples and keywords per language (and per dialect profile). The text
is first normalised for the caller's profile (dialect words, Traditional -> Simplified). Chinese
compares characters and, to survive recognition errors, pinyin (a homophone such as 茶话费 for
查话费 still matches); English compares words and tolerates misspelt keywords ("bell" for
"bill", "broad band" for "broadband"). Every match carries a score in [0, 1]; the dialplan's
threshold decides. Keywords may have gaps (`想*死`) and an intent may exclude phrases (累死)
from the text it is matched on: see `phrases`. An intent with `fuzzy: false` takes its
keywords and examples only as written (no sound, misspelling or likeness): crisis phrases,
where 想死 must not fire on 想四点.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from ivr.dialplan.models import Intent, PerLanguageList
from ivr.understanding.chinese_text import to_simplified
from ivr.understanding.english_wording import content_words
from ivr.understanding.fuzzy import edit_distance as edit_distance  # (re-exported)
from ivr.understanding.fuzzy import (
    fuzzy_keyword_hit,
    fuzzy_word,
    joined_compound,
    masked,
    plan_words,
    sound_evidence,
)
from ivr.understanding.language_codes import is_chinese as is_chinese  # (re-exported)
from ivr.understanding.negation import heard_plainly, negated_at
from ivr.understanding.phrases import GAP, clauses, cut, gap_hit, gap_parts
from ivr.understanding.pinyin import sound_similarity
from ivr.understanding.profiles import BUILTIN_PROFILES, LanguageProfile, normalise_for

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_fuzzy_word = fuzzy_word  # (the older private name)


@functools.lru_cache(maxsize=65536)  # the dialplans' own texts come back at every turn
def normalise(text: str, language: str) -> str:
    """Lower-case, NFKC, Traditional->Simplified; Chinese loses spaces and punctuation."""
    text = unicodedata.normalize("NFKC", text).lower().strip()
    if is_chinese(language):
        return _PUNCT.sub("", to_simplified(text))
    return " ".join(_PUNCT.sub(" ", text).split())


def _bigrams(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1)} or ({s} if s else set())


def _words(s: str) -> frozenset[str]:
    """The content words of normalised English (`english_wording`: no politeness, fillers
    or contraction pieces; inflections and negations folded)."""
    return content_words(s)


def similarity(a: str, b: str, language: str, vocabulary: frozenset[str] = frozenset()
               ) -> float:
    """Similarity of two normalised texts in [0, 1]. In English the likeness of characters
    counts only in words of `a` that `b` has or that are no real words (see `fuzzy`)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if is_chinese(language):
        if b in a:  # the example is said inside a longer request
            return 0.95
        x, y = _bigrams(a), _bigrams(b)
        dice = 2 * len(x & y) / (len(x) + len(y))
        return _at_least(dice, a, b, 0.9)
    if f" {b} " in f" {a} ":
        return 0.95
    x, y = _words(a), _words(b)
    dice = 2 * len(x & y) / (len(x) + len(y)) if x and y else 0.0
    return _at_least(dice, masked(a, b, vocabulary, language), b, 0.75)


def _at_least(score: float, a: str, b: str, weight: float) -> float:
    """max(score, weight * the character likeness of a and b); the likeness (slow) is
    computed only when its cheap upper bounds could beat `score`."""
    matcher = SequenceMatcher(None, a, b)
    if matcher.real_quick_ratio() * weight <= score or matcher.quick_ratio() * weight <= score:
        return score
    return max(score, matcher.ratio() * weight)


def _for_language(values: PerLanguageList, language: str, profile_id: str | None = None
                  ) -> list[str]:
    """Entries for `language`, its variants (zh-CN also takes zh-TW lists) and the caller's
    dialect profile (e.g. examples listed under `zh-sichuan`)."""
    if isinstance(values, list):
        return values
    base = language.split("-")[0]
    out = list(values.get(language, []))
    for lang, items in values.items():
        if lang == language:
            continue
        dialect = lang in BUILTIN_PROFILES and lang != language  # zh-sichuan, yue, en-GB...
        if lang == profile_id or (not dialect and lang.split("-")[0] == base):
            out += items
    return out


def _keyword_hit(text: str, keyword: str, language: str, negatable: bool = False) -> bool:
    """Is `keyword` in `text`? With `negatable`, only where no negation comes right
    before it (`negation`: 我不是想自杀, "not suicidal")."""
    chinese = is_chinese(language)
    heard = keyword in text if chinese else f" {keyword} " in f" {text} "
    return heard and (not negatable or heard_plainly(text, keyword, chinese))


@dataclass(frozen=True, slots=True)
class IntentMatch:
    intent: str
    score: float
    evidence: str  # the example or keyword that matched


def _exact_score(kw_norm: str) -> float:
    """An exact keyword hit: 0.85-0.99, longer is more specific ("不是" beats "是")."""
    return min(0.99, 0.85 + 0.02 * len(kw_norm))


def _keyword_score(norm: str, kw_norm: str, language: str, fuzzy: bool = True,
                   vocabulary: frozenset[str] = frozenset(), negatable: bool = False
                   ) -> float:
    """Keyword evidence: exact hits score 0.85-0.99 (longer is more specific: "不是" beats
    "是"); a hit by sound (Chinese) or with misspelt words (English) a little less, unless
    the intent is not `fuzzy` or what was heard is another real word (花费 is not 话费,
    "last" is not "lost": see `fuzzy`)."""
    exact = _exact_score(kw_norm)
    if _keyword_hit(norm, kw_norm, language, negatable):
        return exact
    if negatable and _keyword_hit(norm, kw_norm, language):
        return 0.0  # heard, but negated
    if not fuzzy:
        return 0.0
    if is_chinese(language):
        for tones, score in ((True, exact - 0.005),  # a true homophone: 冲值 for 充值
                             (False, min(0.93, 0.80 + 0.02 * len(kw_norm)))):
            if sound_evidence(norm, kw_norm, tones, vocabulary):
                return score
        return 0.0
    if joined_compound(norm, kw_norm):
        return exact - 0.005  # a compound split or joined: "broad band", "topup"
    hit = fuzzy_keyword_hit(norm, kw_norm, vocabulary, language)
    return min(0.9, 0.75 + 0.01 * len(kw_norm)) if hit else 0.0


def score_intent(text: str, intent: Intent, language: str,
                 profile: LanguageProfile | None = None,
                 vocabulary: frozenset[str] | None = None) -> tuple[float, str]:
    """Best evidence that `text` asks for `intent`: (score, the keyword or example).
    `vocabulary`: the dialplan's words (`plan_words`), real words that never match another
    keyword fuzzily; default: the intent's own."""
    if vocabulary is None:
        vocabulary = plan_words(intent, language)
    if profile is not None:
        text = normalise_for(profile, text)
    pid = profile.id if profile else None
    norm = normalise(text, language)

    def prepared(entry: str) -> str:  # entries get the caller's text's normalisation
        return normalise(normalise_for(profile, entry) if profile else entry, language)

    chinese = is_chinese(language)
    negatable = not intent.semantic  # phrase rules (crisis): a negated phrase is no evidence
    excluded = [prepared(p) for p in _for_language(intent.exclude, language, pid)]
    # the text left once the excluded phrases are cut out (all of it when there are none)
    pieces = cut(norm, excluded, chinese) if excluded else [norm]
    clause_pieces: list[str] | None = None  # the same, clause by clause, for gapped keywords

    best, evidence = 0.0, ""
    for kw in _for_language(intent.keywords, language, pid):
        if GAP in kw:
            if clause_pieces is None:
                clause_pieces = [p for c in clauses(text)
                                 for p in cut(normalise(c, language), excluded, chinese)]
            score = _gap_score(clause_pieces, [prepared(p) for p in gap_parts(kw)], language,
                               negatable)
        else:
            kw_norm = prepared(kw)
            score = max((_keyword_score(p, kw_norm, language, intent.fuzzy, vocabulary,
                                        negatable)
                          for p in pieces),
                        default=0.0) if kw_norm else 0.0
        if score > best:
            best, evidence = score, kw
    if best:
        return best, evidence
    for ex in _for_language(intent.examples, language, pid):
        ex_norm = prepared(ex)
        s = max((_example_score(p, ex_norm, language, intent.fuzzy, vocabulary, negatable)
                 for p in pieces), default=0.0)
        if s > best:
            best, evidence = s, ex
    return best, evidence


def _gap_score(pieces: list[str], parts: list[str], language: str,
               negatable: bool = False) -> float:
    """A keyword with gaps, heard as written in one piece of a clause: scored like the
    keyword without its gaps (with `negatable`, not where a negation comes right before it)."""
    chinese = is_chinese(language)
    if not any(gap_hit(p, parts, chinese,
                       (lambda i, p=p: not negated_at(p, i, chinese)) if negatable else None)
               for p in pieces):
        return 0.0
    return _exact_score(("" if chinese else " ").join(parts))


def _example_score(norm: str, ex_norm: str, language: str, fuzzy: bool,
                   vocabulary: frozenset[str] = frozenset(), negatable: bool = False) -> float:
    if not fuzzy:  # as written: the whole utterance, or inside it
        if not ex_norm:
            return 0.0
        return 1.0 if norm == ex_norm else 0.95 if _keyword_hit(
            norm, ex_norm, language, negatable) else 0.0
    s = similarity(norm, ex_norm, language, vocabulary)
    if is_chinese(language):
        s = max(s, 0.97 * sound_similarity(norm, ex_norm))
    return s


def match_intents(
    text: str, intents: dict[str, Intent], language: str, candidates: list[str] | None = None,
    profile: LanguageProfile | None = None,
) -> list[IntentMatch]:
    """Scores of `candidates` (default: all intents), best first."""
    names = candidates if candidates is not None else list(intents)
    words = plan_words(intents, language)
    scored = [IntentMatch(n, *score_intent(text, intents[n], language, profile, words))
              for n in names]
    return sorted(scored, key=lambda m: m.score, reverse=True)


# ---------------------------------------------------------------- slots
_ZH_DIGITS = {"零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
              "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_EN_DIGITS = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "to": "2", "too": "2",
              "three": "3", "four": "4", "for": "4", "five": "5", "six": "6", "seven": "7",
              "eight": "8", "nine": "9"}
_EN_MULT = {"double": 2, "triple": 3}


def extract_digits(text: str, language: str) -> str:
    """Digits spoken or written in `text` ("one three eight", "幺三八", "138" -> "138")."""
    text = unicodedata.normalize("NFKC", text).lower()
    if is_chinese(language):
        text = to_simplified(text)
        return "".join(_ZH_DIGITS.get(ch, ch if ch.isdigit() else "") for ch in text)
    out: list[str] = []
    repeat = 1
    for tok in re.findall(r"[a-z]+|\d+", text):
        if tok in _EN_MULT:
            repeat = _EN_MULT[tok]
            continue
        digit = tok if tok.isdigit() else _EN_DIGITS.get(tok, "")
        if digit:
            out.append(digit * repeat if len(digit) == 1 else digit)
        repeat = 1
    return "".join(out)


_YES = {"zh": ["是的", "是", "对", "对的", "好的", "好", "可以", "没错", "要得", "行", "嗯"],
        "en": ["yes", "yeah", "yep", "correct", "right", "sure", "ok", "okay", "that's right"]}
_NO = {"zh": ["不是", "不对", "不用", "不要", "没有", "没了", "不", "否"],
       "en": ["no", "nope", "not", "wrong", "nothing", "that's all", "no thanks"]}


def extract_yes_no(text: str, language: str) -> bool | None:
    """True for yes, False for no, None when unclear. Negatives win ("不是" is no)."""
    base = "zh" if is_chinese(language) else "en"
    norm = normalise(text, language)
    if any(_keyword_hit(norm, normalise(w, language), language) for w in _NO[base]):
        return False
    if any(_keyword_hit(norm, normalise(w, language), language) for w in _YES[base]):
        return True
    return None


_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_EN_SMALL = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen"
        " fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_EN_TENS = {w: 10 * (i + 2) for i, w in enumerate(
    ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])}
_EN_SCALE = {"hundred": 100, "thousand": 1000, "million": 1_000_000}


def _zh_number(s: str) -> int | None:
    """Parse a Chinese numeral: 五十, 一百二十, 两千零五, 3千, and the spoken short forms
    一千五 (1500), 三百五 (350), 一万二 (12000) (None if there is no number)."""
    total, section, digit, seen = 0, 0, None, False
    last_unit, after_unit, short_form = 0, False, False
    for ch in s:
        if ch in _ZH_DIGITS or ch.isdigit():
            value = int(ch) if ch.isdigit() else int(_ZH_DIGITS[ch])
            digit = (digit or 0) * 10 + value if ch.isdigit() and digit is not None else value
            # a lone digit right after a unit (no 零) is the next lower unit: 一千五 = 1500
            short_form = after_unit and ch != "零"
            after_unit = False
            seen = True
        elif ch in _ZH_UNITS:
            unit = _ZH_UNITS[ch]
            seen = True
            if unit >= 10_000:
                total = (total + section + (digit or 0)) * unit
                section = 0
            else:
                section += (1 if digit is None else digit) * unit
            digit, last_unit, after_unit, short_form = None, unit, True, False
        elif seen:
            break
    if not seen:
        return None
    tail = digit or 0
    if short_form and last_unit >= 100:
        tail *= last_unit // 10
    return total + section + tail


def _en_number(text: str) -> int | None:
    """An English cardinal: "one hundred and five", "2 thousand", and the spoken short forms
    where a number under 100 before a tens or teen word counts hundreds ("three fifty" = 350,
    "two twenty five" = 225, "nineteen ninety" = 1990; "fifty three" stays 53)."""
    total, current, seen = 0, 0, False
    last: int | None = None  # the number word just before, while no scale word followed it
    for tok in re.findall(r"[a-z]+|\d+", text.replace(",", "")):
        value = _EN_SMALL.get(tok, _EN_TENS.get(tok))
        if tok.isdigit():
            current += int(tok)
            last = None
        elif value is not None:
            if value >= 10 and last is not None and 1 <= last <= 99:
                current += last * 99 + value  # "three" then "fifty": 3 -> 350
                last = None
            else:
                current += value
                last = value
        elif tok in _EN_SCALE:
            last = None
            scale = _EN_SCALE[tok]
            if scale == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * scale
                current = 0
        elif tok == "and" and seen:
            continue
        elif seen:
            break
        else:
            continue
        seen = True
    return total + current if seen else None


def extract_number(text: str, language: str) -> int | None:
    """A cardinal number said or written in `text` ("五十" -> 50, "one hundred" -> 100)."""
    text = unicodedata.normalize("NFKC", text).lower()
    if is_chinese(language):
        return _zh_number(to_simplified(text))
    return _en_number(text)
