"""Crisis wording no phrase rule lists, recalled by meaning (issue 17).

The crisis intents (`semantic: false`) are reached by their phrase rules; no list can hold
every way of saying it ("我活着就是给家里添麻烦", "my nan's on the floor and not answering").
Their example sentences train a second classifier (`SemanticIndex.recall`, beside the one
that decides between the service intents, which is trained without them), and
`crisis_by_meaning` takes a crisis intent that classifier is sure of, unless the utterance is
a figure of speech, laughter or a denial (`said_otherwise`). Measured on the development set
and benchmarks/intent_variants_fresh.yaml (README, issue 17 round 4): fresh crisis wording
73.9% -> 95.7%, no near-crisis utterance reaching a crisis intent that did not before.

Round 5: the classifier's probabilities are spread over every class, so each example added
to a service intent or to the off-topic requests lowers the crisis classes' share of a real
crisis ("I don't see the point in carrying on" fell from 0.54 to 0.27 when the service
intents got 30 more English examples). Being sure is therefore also a clear lead over every
other class (CRISIS_RECALL_LEADING, CRISIS_RECALL_LEAD), and a crisis the classifier only
leans to (CRISIS_ASK) is asked about ("Did you mean risk of self-harm?": a no-match naming
it just below the threshold, see `confirmation`) rather than dropped: recall first.
"""

from __future__ import annotations

from typing import Any

from ivr.dialplan.actions import Understanding
from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Choice
from ivr.understanding.crisis_bank import FIGURATIVE
from ivr.understanding.crisis_thinned import crisis_thinned
from ivr.understanding.intents import _for_language, _keyword_hit, is_chinese, normalise
from ivr.understanding.language_codes import base_language
from ivr.understanding.negation import figurative, heard_plainly
from ivr.understanding.profiles import LanguageProfile, normalise_for
from ivr.understanding.semantic import PHRASE_CLASS, SemanticIndex

__all__ = ["CRISIS_ASK", "CRISIS_ASK_LEAD", "CRISIS_LEAD_MIN_CHARS", "CRISIS_LEAD_MIN_WORDS",
           "CRISIS_RECALL", "CRISIS_RECALL_LEAD",
           "CRISIS_RECALL_LEADING", "CRISIS_RECALL_MIN_ASR", "CRISIS_RECALL_OVER_WORDS",
           "crisis_by_meaning", "plan_texts", "said_otherwise"]

CRISIS_RECALL = 0.7  # the crisis classes' summed probability that takes one
CRISIS_RECALL_LEADING = 0.6  # ... or this much, ahead of every other class by
CRISIS_RECALL_LEAD = 0.45  # ... this much (the share of a crisis falls as classes grow)
CRISIS_ASK = 0.45  # leaning to a crisis this much (and leading by CRISIS_ASK_LEAD): asked
CRISIS_ASK_LEAD = 0.2
# ... only for an utterance that says something: a digit, "嗯" or "hello" spreads its
# probability thinly and can lean towards the three crisis classes together ("9" in a
# Mandarin call: 0.34 self-harm)
CRISIS_LEAD_MIN_CHARS = 3  # Chinese characters
CRISIS_LEAD_MIN_WORDS = 3  # English words
CRISIS_RECALL_OVER_WORDS = 0.85  # ... when a service intent's keyword was heard ("airtime")
# Never from a doubtful transcript: misheard speech ("The Latin League of them I shrunk!", an
# angry German caller at ASR confidence 0.43) can lean towards a crisis class; the phrase
# rules still hear a crisis said again. Clear speech on CI's real calls: 0.59-0.92.
CRISIS_RECALL_MIN_ASR = 0.6
_LAUGHING_ZH = ("笑",)
_LAUGHING_EN = ("laugh",)


def plan_texts(plan: Dialplan, language: str) -> tuple[str, ...]:
    """The texts of the dialplan's intents in `language`: examples, keywords and labels."""
    texts: list[str] = []
    base = base_language(language)
    for intent in plan.intents.values():
        texts += _for_language(intent.examples, language)
        texts += [k.replace("*", " ") for k in _for_language(intent.keywords, language)]
        if isinstance(intent.label, dict):
            texts += [v for k, v in intent.label.items() if base_language(k) == base]
    return tuple(texts)


def crisis_by_meaning(plan: Dialplan, index: SemanticIndex, meaning: Any, language: str,
                      profile: LanguageProfile | None, text: str, choices: list[Choice],
                      least: float = CRISIS_RECALL
                      ) -> tuple[Choice | None, Understanding] | None:
    """A recall aid for the phrase rules of crisis intents (`semantic: false`), whose words
    can never list every way of saying it ("我活着就是给家里添麻烦", "my nan's on the floor
    and not answering"). Their examples are classes (PHRASE_CLASS, see `semantic_examples`)
    of a second classifier only (`SemanticIndex.recall`: the intents', the off-topic class and
    these), never candidates of `by_meaning`. When their words matched nothing, their classes
    there together at `least` or more (CRISIS_RECALL; CRISIS_RECALL_OVER_WORDS when a
    service keyword was heard: "I ran out of airtime" leans that way at 0.65), the most
    probable of all classes being one of them, take the most probable one, unless
    `said_otherwise` (a figure of speech, laughter, a denial). Without a service keyword,
    CRISIS_RECALL_LEADING with a lead of CRISIS_RECALL_LEAD over every other class is as
    sure, and CRISIS_ASK with a lead of CRISIS_ASK_LEAD comes back as a no-match naming the
    crisis intent just below `intent_threshold`: the caller is asked whether they meant it
    (both only for an utterance of CRISIS_LEAD_MIN_CHARS / CRISIS_LEAD_MIN_WORDS or more).
    Only with the classifier method and `overrule_words_below` set."""
    cfg = plan.semantic
    if cfg.method != "classifier" or cfg.overrule_words_below is None:
        return None
    ranked_meaning = index.recall_probabilities(meaning, language)
    if not ranked_meaning or not _crisis_class(ranked_meaning[0][0]):
        return None
    phrase = {k.removeprefix(PHRASE_CLASS): p for k, p in ranked_meaning if _crisis_class(k)}
    total = sum(phrase.values())
    lead = total - max((p for k, p in ranked_meaning if not _crisis_class(k)), default=0.0)
    intent = ranked_meaning[0][0].removeprefix(PHRASE_CLASS)
    choice = next((c for c in choices if c.intent == intent), None)
    # a service keyword heard: only a sure meaning overrules; too short: only the bar
    words_heard = least > CRISIS_RECALL or not _says_enough(text, is_chinese(language))
    sure = total >= least or (not words_heard and total >= CRISIS_RECALL_LEADING
                              and lead >= CRISIS_RECALL_LEAD)
    leaning = not words_heard and total >= CRISIS_ASK and lead >= CRISIS_ASK_LEAD
    if choice is None or not (sure or leaning):
        return None
    if said_otherwise(plan, language, profile, text):
        return None
    if not sure:  # "Did you mean risk of self-harm?" (confirmation): asked, not dropped
        unsure = plan.defaults.intent_threshold - 0.001
        return None, Understanding("no_match", intent, round(unsure, 3))
    return choice, Understanding("match", intent, round(min(0.99, total), 3),
                                 choice=choice.goto)


def crisis_heard_thinned(plan: Dialplan, language: str, profile: LanguageProfile | None,
                         text: str, choices: list[Choice]
                         ) -> tuple[Choice | None, Understanding] | None:
    """A crisis phrase rule heard once the words a caller slips in are taken out (叫她也不
    答应, "my chest is, er, sort of squeezing": `crisis_thinned`), unless said otherwise.
    Recognition tries it when no crisis rule matched the text as heard, before (and with or
    without) `crisis_by_meaning`."""
    urgent = {c.intent for c in plan.global_choices if c.intent}  # as `semantic_examples`
    crisis = [c.intent for c in choices if c.intent in urgent
              and c.intent in plan.intents and not plan.intents[c.intent].semantic]
    match = crisis_thinned(plan, language, profile, text, list(dict.fromkeys(crisis)))
    if match is None or said_otherwise(plan, language, profile, text):
        return None
    choice = next(c for c in choices if c.intent == match.intent)
    return choice, Understanding("match", match.intent, match.score, choice=choice.goto)


def _crisis_class(name: str) -> bool:
    """A recall class of a crisis intent: not the service intents', nor the built-in
    figures of speech (`crisis_bank.FIGURATIVE`), which only take probability from it."""
    return name.startswith(PHRASE_CLASS) and name != PHRASE_CLASS + FIGURATIVE


def _says_enough(text: str, chinese: bool) -> bool:
    """Is `text` long enough for its meaning's lean to count (see CRISIS_LEAD_MIN_*)?"""
    if chinese:
        return sum("\u4e00" <= ch <= "\u9fff" for ch in text) >= CRISIS_LEAD_MIN_CHARS
    return sum(any(c.isalpha() for c in w) for w in text.split()) >= CRISIS_LEAD_MIN_WORDS


def said_otherwise(plan: Dialplan, language: str, profile: LanguageProfile | None,
                   text: str) -> bool:
    """Is `text` a figure of speech or a denial rather than a crisis? It holds an excluded
    phrase of an intent never matched by meaning (累死, "bored to death"; not one that is
    also the service intents' wording: 麻烦 is cut from chest pain's words, yet callers say
    it politely), says it laughing (笑, "laugh": 笑得喘不过气, "died laughing"), says it by an
    everyday cause's degree complement (急得我心脏都要跳出来了: `negation.figurative`), or holds a
    keyword or example of such an intent heard only after a negation ("我不是想自杀")."""
    chinese = is_chinese(language)
    pid = profile.id if profile else None
    norm = normalise(normalise_for(profile, text) if profile else text, language)
    if any(cue in norm for cue in (_LAUGHING_ZH if chinese else _LAUGHING_EN)):
        return True
    if figurative(norm, chinese):  # 急得我心脏都要跳出来了
        return True
    service = "\n".join(normalise(t, language) for t in plan_texts(plan, language))
    for intent in plan.intents.values():
        if intent.semantic:
            continue
        for phrase in _for_language(intent.exclude, language, pid):
            cut = normalise(phrase, language)
            if cut and cut not in service and _keyword_hit(norm, cut, language):
                return True
        for kw in [*_for_language(intent.keywords, language, pid),
                   *_for_language(intent.examples, language, pid)]:
            if "*" in kw:
                continue
            said = normalise(kw, language)
            if said and _keyword_hit(norm, said, language) and not heard_plainly(
                    norm, said, chinese):
                return True
    return False
