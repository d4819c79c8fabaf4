"""The grammar each question gets (issue 19): what the recogniser may hear in the answer.

Whisper transcribes freely where an IVR needs certainty (spoken digits, a bare "yes"); where
the answer is a closed set the call also asks the recogniser to decode it under a grammar
(`audio_models.grammar`) and then decides which to believe (`ivr.call.grammar_fusion`):

- a digit slot (`digits`, `phone`, `id_card`; a card's last 4 is a `digits` slot of length
  4) -> `DigitGrammar(min_length, max_length)` (`id_card`: 18). `number` and `amount` stay
  free: "两千五" and "fifty" are not digit strings;
- a read-back being confirmed, any other yes/no question (a consent, "did that answer your
  question?", "did you mean ...?") and a `yes_no` slot -> `yes_no_grammar`: `yes` and `no`
  with the words callers say them with, in the call's language;
- a menu -> `ChoiceGrammar` of the intents reachable from it (its choices, a language choice
  included, and the global ones): ids are intent names, phrasings their keywords and short
  examples in the call's language, at most `MAX_PHRASINGS` short ones. Intents matched only
  as written (`fuzzy: false`: crisis phrases, routing phrases) are never offered to a
  grammar: a guess must not route a caller there; the free transcript still does;
- anything else (an open question, a date, an amount, free text) -> None: free only.

The first phrasing of a choice is its canonical text: what the dialogue is given when the
grammar's answer is believed, and a phrasing the dialogue matches (tested on the shipped
dialplans). Pure.
"""

from __future__ import annotations

from audio_models.grammar import ChoiceGrammar, DigitGrammar, Grammar
from ivr.dialplan.models import Dialplan, PerLanguageList
from ivr.dialplan.nodes import Node, Slot
from ivr.dialplan.recognition import choices_at
from ivr.understanding.intents import _for_language, is_chinese, normalise

__all__ = ["DIGIT_SLOTS", "MAX_PHRASINGS", "NO", "YES", "MenuGrammars", "digit_grammar",
           "grammar_kind", "yes_no_grammar"]

DIGIT_SLOTS = ("digits", "phone", "id_card")  # slot types said as a string of digits
ID_CARD_LENGTH = 18
MAX_PHRASINGS = 60  # of a menu's grammar: the decoder scores each one
MAX_WORDS = 4  # an English phrasing longer than this is a sentence, not an answer
MAX_CHARS = 8  # a Chinese one longer than this
YES, NO = "yes", "no"  # the ids of a yes/no grammar's choices
# How callers say yes and no; the first is the canonical text. Every one is read as yes (or
# no) by `extract_yes_no`, which the dialogue's yes/no questions use (tested).
YES_NO_PHRASINGS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "zh": ((YES, ("是的", "是", "对", "对的", "好的", "可以", "没错", "好")),
           (NO, ("不是", "不对", "不要", "不用", "没有", "不"))),
    "en": ((YES, ("yes", "yeah", "yep", "correct", "that's right", "right", "sure", "okay")),
           (NO, ("no", "nope", "wrong", "no thanks", "not right"))),
}


def yes_no_grammar(language: str) -> ChoiceGrammar:
    """Yes or no, as callers of `language` say them."""
    return ChoiceGrammar(YES_NO_PHRASINGS["zh" if is_chinese(language) else "en"])


def digit_grammar(slot: Slot) -> DigitGrammar | None:
    """The digits a slot collects, or None when it is not said as a digit string."""
    if slot.type not in DIGIT_SLOTS:
        return None
    if slot.type == "id_card":
        return DigitGrammar(ID_CARD_LENGTH, ID_CARD_LENGTH)
    return DigitGrammar(slot.min_length, max(slot.min_length, slot.max_length))


def short(text: str, language: str) -> bool:
    """A phrasing short enough to be an answer (an English one of at most MAX_WORDS words,
    a Chinese one of at most MAX_CHARS characters)."""
    norm = normalise(text, language)
    return bool(norm) and (len(norm) <= MAX_CHARS if is_chinese(language)
                           else len(norm.split()) <= MAX_WORDS)


def _entries(values: PerLanguageList, language: str, profile: str | None) -> list[str]:
    return _for_language(values, language, profile)  # (a dialect profile's own words too)


class MenuGrammars:
    """The choice grammars of one dialplan's menus, built once per (node, language, profile)."""

    def __init__(self, plan: Dialplan) -> None:
        self.plan = plan
        self._built: dict[tuple[str, str, str | None], ChoiceGrammar | None] = {}

    def for_node(self, name: str, node: Node, language: str,
                 profile: str | None = None) -> ChoiceGrammar | None:
        """The intents reachable from `node` and their phrasings; None without any."""
        key = (name, language, profile)
        if key not in self._built:
            self._built[key] = self._build(node, language, profile)
        return self._built[key]

    def phrasings(self, intent: str, language: str, profile: str | None) -> list[str]:
        """An intent's short phrasings in `language`: keywords (gaps left out), then examples."""
        spec = self.plan.intents[intent]
        out: list[str] = []
        for text in [*_entries(spec.keywords, language, profile),
                     *_entries(spec.examples, language, profile)]:
            if "*" not in text and short(text, language) and text not in out:
                out.append(text)
        return out

    def _build(self, node: Node, language: str, profile: str | None) -> ChoiceGrammar | None:
        intents = list(dict.fromkeys(
            c.intent for c in choices_at(self.plan, node)
            if c.intent and self.plan.intents[c.intent].fuzzy))
        found = [(i, self.phrasings(i, language, profile)) for i in intents]
        found = [(i, p) for i, p in found if p]
        if not found:
            return None
        each = max(1, MAX_PHRASINGS // len(found))
        return ChoiceGrammar(tuple((i, tuple(p[:each])) for i, p in found[:MAX_PHRASINGS]))


def grammar_kind(grammar: Grammar | None) -> str | None:
    """How a grammar is named in call events: digits, yes_no or menu."""
    if grammar is None:
        return None
    if isinstance(grammar, DigitGrammar):
        return "digits"
    return "yes_no" if grammar.ids() == (YES, NO) else "menu"
