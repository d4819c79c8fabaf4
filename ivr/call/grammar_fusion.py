"""Which to believe: the free transcript or what the question's grammar recognised (issue 19).

The recogniser returns both from one encoder pass: the free `Transcript` and, asked with the
question's grammar (`Listen.grammar`, see `ivr.dialplan.grammars`), `Transcript.grammar`.
`GrammarFusion.believe` decides what the dialogue is given, in this order:

1. A global choice the free transcript says clearly ("转人工", "agent", a crisis phrase:
   keyword strength, `GLOBAL_WINS`) always wins: a grammar never hides a request for a person
   or a crisis. The free transcript goes on unchanged (`global`).
2. The recogniser heard no speech (`no_speech_prob` above `asr.max_no_speech_prob`): a
   grammar forced to choose would guess; the free transcript goes on (`no_speech`).
3. Digits (`DigitGrammar`): a value of the grammar's length is `agree` when the free
   transcript's digits are the same (the better confidence of the two), else believed from
   `asr.grammar_digits_confidence` on (`confident`: the dialogue gets the digits, with the
   grammar's confidence). Below it the free transcript goes on with its confidence at most
   1 - the grammar's (`unsure`: the two disagree; a doubtful one is read back or asked
   again). A free transcript naming an ID card's check letter (X) goes on: digits cannot
   say it (`check_letter`).
4. A choice (`ChoiceGrammar`: yes/no, a menu): when the free transcript already says a choice
   (yes/no words; a menu intent matched by words at the dialplan's `intent_threshold`), it is
   `agree` for the same one; for another choice of the grammar the two disagree
   (`disagree`: the free transcript goes on with its confidence at most 1 - the grammar's);
   for a request the grammar does not hold ("other questions", a new question) it goes on
   unchanged (`other_choice`). Otherwise a short answer (`MAX_WORDS` English words,
   `MAX_CHARS` Chinese characters; a long one is a sentence no choice was: `long`) is believed
   from `asr.grammar_choice_confidence` on: the dialogue gets the choice's first phrasing,
   which it matches, with the grammar's confidence (`confident`); below, `unsure`.

Pure: no I/O; the call emits the `grammar_result` event from the `Belief`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from audio_models.grammar import ChoiceGrammar, DigitGrammar, GrammarResult
from audio_models.protocols import Transcript
from ivr.dialplan.actions import Listen
from ivr.dialplan.grammars import MAX_CHARS, MAX_WORDS, NO, YES, grammar_kind
from ivr.dialplan.models import Dialplan
from ivr.dialplan.recognition import GLOBAL_WINS, choices_at, global_match, ranked
from ivr.understanding.intents import extract_digits, extract_yes_no, is_chinese, normalise
from ivr.understanding.profiles import LanguageProfile

__all__ = ["Belief", "GrammarFusion", "GrammarRules"]

CHECK_LETTERS = ("x", "叉", "艾克斯")  # an ID card's last character may be X


@dataclass(frozen=True, slots=True)
class GrammarRules:
    """The settings fusion follows (`asr.grammar_*`, `asr.max_no_speech_prob`)."""

    digits_confidence: float = 0.6
    choice_confidence: float = 0.7
    max_no_speech_prob: float = 0.7

    @classmethod
    def from_settings(cls, settings: Any) -> GrammarRules:
        a = settings.asr
        return cls(a.grammar_digits_confidence, a.grammar_choice_confidence,
                   a.max_no_speech_prob)


@dataclass(frozen=True, slots=True)
class Belief:
    """What the dialogue is given for one utterance, and why."""

    transcript: Transcript  # the free transcript, or the grammar's answer in its place
    result: GrammarResult  # what the grammar recognised
    kind: str  # digits, yes_no, menu
    used: bool  # the grammar's answer (or its agreement) is what the dialogue gets
    why: str  # see the module docstring


class GrammarFusion:
    """Fusion for the questions of one dialplan (see the module docstring)."""

    def __init__(self, plan: Dialplan, rules: GrammarRules) -> None:
        self.plan = plan
        self.rules = rules

    def believe(self, t: Transcript, listen: Listen | None,
                profile: LanguageProfile | None = None) -> Belief | None:
        """What the dialogue is given for `t`, heard in answer to `listen`; None when no
        grammar was asked or recognised nothing."""
        r, g = t.grammar, listen.grammar if listen is not None else None
        if r is None or g is None or listen is None:
            return None
        kind = grammar_kind(g) or ""

        def keep(why: str, confidence: float | None = None) -> Belief:
            out = t if confidence is None else replace(t, confidence=_unit(confidence))
            return Belief(out, r, kind, False, why)

        def take(text: str, confidence: float, why: str) -> Belief:
            return Belief(_believed(t, text, confidence), r, kind, True, why)

        language = listen.language
        if self._global(t.text, language, profile):
            return keep("global")
        if t.no_speech_prob > self.rules.max_no_speech_prob:
            return keep("no_speech")
        if isinstance(g, DigitGrammar):
            if not (r.value.isdigit() and g.min_len <= len(r.value) <= g.max_len):
                return keep("invalid")
            if r.value == extract_digits(t.text, language):
                return take(t.text, max(t.confidence, r.confidence), "agree")
            if any(x in t.text.lower() for x in CHECK_LETTERS):
                return keep("check_letter")
            if r.confidence >= self.rules.digits_confidence:
                return take(r.value, r.confidence, "confident")
            return keep("unsure", min(t.confidence, 1.0 - r.confidence))
        assert isinstance(g, ChoiceGrammar)
        phrasings = dict(g.choices)
        if r.value not in phrasings or not phrasings[r.value]:
            return keep("invalid")
        said = self._said(t.text, listen, g, profile)
        if said == r.value:
            return take(t.text, max(t.confidence, r.confidence), "agree")
        if said is not None and said in phrasings:
            return keep("disagree", min(t.confidence, 1.0 - r.confidence))
        if said is not None:
            return keep("other_choice")
        if not brief(t.text, language):
            return keep("long")
        if r.confidence >= self.rules.choice_confidence:
            return take(phrasings[r.value][0], r.confidence, "confident")
        return keep("unsure")

    # ------------------------------------------------------------ what the free words say
    def _global(self, text: str, language: str, profile: LanguageProfile | None) -> bool:
        """The free transcript says a global choice clearly (an agent, a crisis)."""
        glob = list(self.plan.global_choices)
        return bool(text.strip()) and bool(glob) and global_match(
            self.plan, ranked(self.plan, text, language, profile, glob)) is not None

    def _said(self, text: str, listen: Listen, g: ChoiceGrammar,
              profile: LanguageProfile | None) -> str | None:
        """The choice the free words say: yes or no (a yes/no grammar), an intent matched
        at the node at `intent_threshold` or better; None: no choice."""
        if not text.strip():
            return None
        if g.ids() == (YES, NO):
            answer = extract_yes_no(text, listen.language)
            if answer is not None:
                return YES if answer else NO
        node = self.plan.nodes.get(listen.node)
        if node is None:
            return None
        matches = ranked(self.plan, text, listen.language, profile, choices_at(self.plan, node))
        if matches and matches[0].score >= min(self.plan.defaults.intent_threshold, GLOBAL_WINS):
            return matches[0].intent
        return None


def brief(text: str, language: str) -> bool:
    """Short enough to be the answer to a closed question (nothing said counts)."""
    norm = normalise(text, language)
    return len(norm) <= MAX_CHARS if is_chinese(language) else len(norm.split()) <= MAX_WORDS


def _unit(confidence: float) -> float:
    return round(min(1.0, max(0.0, confidence)), 3)


def _believed(t: Transcript, text: str, confidence: float) -> Transcript:
    """`t` saying `text` with `confidence`, its log-probability at least as high: the call's
    judgement of speech (`judge_speech`) reads a believed answer as speech, not as noise."""
    confidence = _unit(confidence)
    return replace(t, text=text, confidence=confidence,
                   avg_logprob=max(t.avg_logprob, math.log(max(confidence, 1e-6))))
