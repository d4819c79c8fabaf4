"""An intent named in passing, as part of something the hotline does not do (issue 17).

"how do I pay my gas bill" hears the bill's keyword, "银行卡的余额怎么查" the balance's, and
"交通卡怎么在手机上充值" may reach the top-up by its meaning or by a likeness to one of its
examples rather than by a keyword. Whichever way the intent was reached, the request is
refused (asked about: "did you mean ...?", when the intent has a label) when either

- it names something only the dialplan's off-topic requests talk about (a foreign word:
  gas, 银行卡: `off_topic.heard_foreign`) or, in Chinese, another kind of business (淘宝,
  银行, 会员, 公积金) or its card in a money request (饭卡, 油卡, 电卡: `off_topic_cards`), or
- one of the intent's own keywords heard in it belongs to a noun no intent uses ("electricity
  bill", 公交卡余额: `off_topic.owner_elsewhere`); for a match by keyword, that keyword; or
- (Chinese, none of its keywords said as written) it names a noun of the same kind as one
  of them that no intent uses: 电费 or 物业费 beside 话费 (`off_topic.kindred_elsewhere`).

`said_in_passing` (a match by words) also lets a clearly off-topic meaning overrule a keyword
heard as written; `named_in_passing` (a match by meaning or by agreement of weak words and
meaning) has no such test: the meaning chose the intent. Never for an intent not matched by
meaning (crisis phrases); not with `semantic.overrule_words_below: null`. Pure.
"""

from __future__ import annotations

import functools
from typing import Any

from ivr.dialplan.models import Dialplan
from ivr.understanding.crisis_recall import plan_texts
from ivr.understanding.intents import IntentMatch, _for_language, is_chinese, normalise
from ivr.understanding.off_topic import (
    foreign_words,
    heard_foreign,
    kindred_elsewhere,
    owner_elsewhere,
)
from ivr.understanding.off_topic_cards import other_business, other_card
from ivr.understanding.profiles import LanguageProfile, normalise_for
from ivr.understanding.semantic import SemanticIndex

__all__ = ["OFF_TOPIC", "OFF_TOPIC_LEADS", "OFF_TOPIC_SURE", "named_in_passing", "said_in_passing"]

OFF_TOPIC = "@off_topic"  # the meaning index's rows of requests the dialplan does not handle
OFF_TOPIC_LEADS = 0.6  # the off-topic class this probable overrules keyword-strength words
# ... and this probable a keyword heard only by its sound or with a slip of spelling: such a
# sentence is odd to the encoder too (查一下话妃), so only a near-certain meaning counts; the
# weather asked in Cantonese (听日会唔会落雨啊: 落雨 sounds like 余额) is 0.96 off-topic, a
# misheard broadband fault (我家款待坏了: 款待 for 宽带) 0.92, so the bar is between them
OFF_TOPIC_SURE = 0.95


def _applies(plan: Dialplan, intent: str) -> bool:
    return (plan.semantic.overrule_words_below is not None
            and intent in plan.intents and plan.intents[intent].semantic)


def _normalised(text: str, language: str, profile: LanguageProfile | None) -> str:
    return normalise(normalise_for(profile, text) if profile else text, language)


def _heard(norm: str, phrase: str, chinese: bool) -> bool:
    return bool(phrase) and (phrase in norm if chinese else f" {phrase} " in f" {norm} ")


def _owned_elsewhere(plan: Dialplan, language: str, profile: LanguageProfile | None,
                     norm: str, intent: str, first: str | None = None) -> bool:
    """Does a keyword of `intent` heard in `norm` (`first` when it is one heard as written,
    else any plain keyword of the intent said as written) belong to a noun no intent of the
    dialplan uses? Chinese, none said: does it name a noun of their kind no intent uses?"""
    chinese = is_chinese(language)
    pid = profile.id if profile else None
    keywords = [normalise(k, language)
                for k in _for_language(plan.intents[intent].keywords, language, pid)
                if "*" not in k]
    if first and _heard(norm, first, chinese) and first in keywords:
        keywords = [first]  # the keyword that was heard, as before this round
    texts = plan_texts(plan, language)
    if any(owner_elsewhere(norm, kw, texts, chinese) is not None
           for kw in dict.fromkeys(keywords) if _heard(norm, kw, chinese)):
        return True
    # no keyword said as written (a likeness or a meaning): another provider's kind of thing
    return chinese and not any(_heard(norm, kw, chinese) for kw in keywords) and (
        kindred_elsewhere(norm, keywords, texts) is not None)


def foreign_heard(plan: Dialplan, language: str, norm: str) -> str | None:
    """The first word of the dialplan's off-topic requests that no intent uses, said in
    normalised `norm`, or (Chinese) another kind of business (淘宝, 银行, 会员:
    `off_topic_cards.other_business`) or another business's card named in a money request
    (饭卡没钱了怎么充: `off_topic_cards.other_card`); None: none."""
    chinese = is_chinese(language)
    texts = plan_texts(plan, language)
    words = foreign_words(tuple(_for_language(plan.semantic.off_topic, language)), texts,
                          chinese)
    heard = heard_foreign(norm, words, chinese)
    if heard is None and chinese:
        joined = _joined(texts)
        return other_business(norm, joined) or other_card(norm, joined)
    return heard


@functools.lru_cache(maxsize=16)
def _joined(texts: tuple[str, ...]) -> str:
    return "\n".join(texts)


def named_in_passing(plan: Dialplan, language: str, profile: LanguageProfile | None,
                     text: str, intent: str) -> bool:
    """Was `intent`, reached by meaning (or by weak words and meaning agreeing), named in
    passing in `text`: a foreign word said, or one of its keywords owned by another noun?"""
    if not _applies(plan, intent):
        return False
    norm = _normalised(text, language, profile)
    if foreign_heard(plan, language, norm) is not None:
        return True
    return _owned_elsewhere(plan, language, profile, norm, intent)


def said_in_passing(plan: Dialplan, index: SemanticIndex, meaning: Any, language: str,
                    profile: LanguageProfile | None, text: str, words: IntentMatch) -> bool:
    """The words' intent is named in passing: "how do I pay my gas bill" hears the bill's
    keyword, "银行卡的余额怎么查" the balance's. Either the request also names a foreign word
    (gas, 银行卡), or the keyword heard (or, for an example's likeness, any plain keyword of
    the intent said as written) belongs to a noun no intent uses ("electricity bill",
    公交卡余额), or the meaning puts at least OFF_TOPIC_LEADS on the off-topic class and
    leads the words' intent by `semantic.probability_margin` (only for a keyword heard as
    written: one heard by sound or misspelt, 课服, 话妃, makes the sentence odd to the encoder
    as well)."""
    if not _applies(plan, words.intent):
        return False
    chinese = is_chinese(language)
    norm = _normalised(text, language, profile)
    keyword = normalise(words.evidence, language)
    p = dict(index.probabilities(meaning, language)) if (
        plan.semantic.method == "classifier") else {}
    off, mine = p.get(OFF_TOPIC, 0.0), p.get(words.intent, 0.0)
    as_written = _heard(norm, keyword, chinese)
    ahead = off - mine >= plan.semantic.probability_margin
    if ahead and off >= (OFF_TOPIC_LEADS if as_written else OFF_TOPIC_SURE):
        return True
    if foreign_heard(plan, language, norm) is not None:
        return True
    return "*" not in words.evidence and _owned_elsewhere(
        plan, language, profile, norm, words.intent, keyword or None)
