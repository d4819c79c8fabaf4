"""The `survey` verb: a satisfaction score (1-5) at the end of a call, and an optional comment.

Reaching a survey node the call says the question and listens for a key 1-5 or a spoken score
(`score_of`: 五 / 五分 / 非常满意, "five" / "very satisfied"; under `survey_grammar` the
recogniser scores exactly those answers). Then, when the node has a `comment` prompt, the
caller may say a comment (recognised like any speech: the call's ASR; '#' or silence skips
it). Then `thanks`, and `next`. No score after `max_attempts` questions (silence, or words
that are no score) ends the survey politely: `thanks`, `next`; never `on_failure`, never a
hang-up for failed attempts: a survey must not turn a served call into a failed one.

What the caller answered travels as call variables (`SetVariables`, stored as the call's
``variables`` events): ``survey`` (its name) and ``survey_status`` = ``offered`` on arrival,
then ``answered`` with ``survey_score`` and ``survey_answered_by`` (dtmf / speech), then
``survey_comment``; ``no_answer`` when the attempts ran out. When the call ends the store
derives the survey row and its counters from them (`ivr.storage.surveys`), the way it derives
the call's outcome: whatever the transport (a phone call, `ivr simulate`, `ivr test`), the
dialogue only says what was answered. Pure, like the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from audio_models.grammar import ChoiceGrammar
from ivr.dialplan.actions import Action, CallerInput, DialogEvent, Listen, NoInput, SetVariables
from ivr.dialplan.actions import Understanding as U
from ivr.dialplan.nodes import Node, Survey
from ivr.dialplan.state import DialogState, Step, moved
from ivr.understanding.intents import is_chinese, normalise

if TYPE_CHECKING:  # the walker performs `ask` when a call arrives (verbs.py imports this)
    from ivr.dialplan.rendering import NodeRenderer
    from ivr.dialplan.verbs import NodeWalker

__all__ = ["COMMENT", "SCORE_KEYS", "SURVEY_PHRASINGS", "Surveying", "ask", "score_of",
           "survey_grammar"]

COMMENT = "@survey_comment"  # `confirming` marker: (COMMENT, score) awaits the comment
SCORE_KEYS = ("1", "2", "3", "4", "5")
SKIP_KEY = "#"
# How callers give each score; the first phrasing is the canonical text (what the dialogue
# is given when the grammar's answer is believed; `score_of` reads every one back: tested).
SURVEY_PHRASINGS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "zh": (("5", ("五", "五分", "非常满意", "很满意")),
           ("4", ("四", "四分", "满意", "比较满意")),
           ("3", ("三", "三分", "一般", "还行")),
           ("2", ("二", "两分", "不满意", "不太满意")),
           ("1", ("一", "一分", "非常不满意", "很不满意"))),
    "en": (("5", ("five", "very satisfied", "excellent")),
           ("4", ("four", "satisfied", "good")),
           ("3", ("three", "neutral", "okay")),
           ("2", ("two", "dissatisfied", "poor")),
           ("1", ("one", "very dissatisfied", "terrible"))),
}
# Words in a longer answer, longest first (非常不满意 holds 不满意 holds 满意).
_ZH_WORDS = (("非常不满意", 1), ("很不满意", 1), ("不太满意", 2), ("不满意", 2),
             ("非常满意", 5), ("很满意", 5), ("比较满意", 4), ("满意", 4), ("一般", 3),
             ("还行", 3))
_ZH_DIGITS = {"一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_EN_WORDS = (("very dissatisfied", 1), ("very unsatisfied", 1), ("not satisfied", 2),
             ("dissatisfied", 2), ("unsatisfied", 2), ("very satisfied", 5),
             ("extremely satisfied", 5), ("satisfied", 4), ("excellent", 5), ("terrible", 1),
             ("neutral", 3), ("okay", 3), ("good", 4), ("poor", 2))
_EN_DIGITS = {"one": 1, "two": 2, "to": 2, "too": 2, "three": 3, "four": 4, "for": 4,
              "five": 5}


def survey_grammar(language: str) -> ChoiceGrammar:
    """The five scores, as callers of `language` say them."""
    return ChoiceGrammar(SURVEY_PHRASINGS["zh" if is_chinese(language) else "en"])


def score_of(text: str, language: str) -> int | None:
    """The score 1-5 in what the caller said, None when it holds none (or several)."""
    said = normalise(text, language)
    if not said:
        return None
    digits = {int(c) for c in said if c in "12345"}
    if any(c.isdigit() for c in said if c not in "12345"):
        return None  # "10", "0": not on the scale
    if len(digits) == 1:
        return digits.pop()
    if is_chinese(language):
        for word, score in _ZH_WORDS:
            if word in said:
                return score
        found = {_ZH_DIGITS[c] for c in said if c in _ZH_DIGITS}
        return found.pop() if len(found) == 1 else None
    padded = f" {said} "
    for word, score in _EN_WORDS:
        if f" {word} " in padded:
            return score
    found = {_EN_DIGITS[w] for w in said.split() if w in _EN_DIGITS}
    return found.pop() if len(found) == 1 else None


class Surveying:
    """The `survey` nodes of one dialplan, through its `NodeWalker`."""

    def __init__(self, walker: NodeWalker) -> None:
        self.walker = walker
        self.plan = walker.plan
        self.render = walker.render

    def answered(self, state: DialogState, node: Node, event: DialogEvent,
                 facts: Mapping[str, Any]) -> Step:
        """The caller's answer: to the score question, or (`confirming`) the comment."""
        spec = _spec(node)
        if state.confirming is not None and state.confirming[0] == COMMENT:
            return self._commented(state, node, event, facts)
        score = None
        if isinstance(event, CallerInput):
            score = (int(event.text) if event.kind == "dtmf" and event.text in SCORE_KEYS
                     else score_of(event.text, state.language) if event.kind == "speech"
                     else None)
        if score is None:
            return self._retry(state, node, "no_input" if isinstance(event, NoInput)
                               else "no_match", facts)
        assert isinstance(event, CallerInput)
        values = {"survey": spec.name, "survey_status": "answered", "survey_score": score,
                  "survey_answered_by": event.kind}
        state = replace(state, variables={**state.variables, **values})
        u = U("match", score=1.0, slots={"survey_score": score})
        actions: list[Action] = [SetVariables(values)]
        if spec.comment is None:
            return self._done(state, node, actions, u, facts)
        state = replace(state, confirming=(COMMENT, score))
        actions += [self.render.say(state, spec.comment, node), self.comment_listen(state, node)]
        return Step(state, actions, replace(u, choice=None))

    def score_listen(self, state: DialogState, node: Node) -> Listen:
        return score_listen(self.render, state, node)

    @staticmethod
    def comment_listen(state: DialogState, node: Node) -> Listen:
        """Free speech (no grammar); '#' skips."""
        return Listen(state.node, state.language, _spec(node).comment_timeout_s, 1, 1,
                      dtmf_choices=(SKIP_KEY,))

    # ------------------------------------------------------------ the parts
    def _commented(self, state: DialogState, node: Node, event: DialogEvent,
                   facts: Mapping[str, Any]) -> Step:
        comment = (event.text.strip() if isinstance(event, CallerInput)
                   and event.kind == "speech" else "")
        values = {"survey_comment": comment[:1000]}
        state = replace(state, confirming=None,
                        variables={**state.variables, **values})
        u = U("match" if comment else "no_input", score=1.0 if comment else 0.0)
        return self._done(state, node, [SetVariables(values)], u, facts)

    def _retry(self, state: DialogState, node: Node, kind: str,
               facts: Mapping[str, Any]) -> Step:
        """A failed attempt: the escalating retry prompt and the question again; after
        `max_attempts` the survey ends unanswered (never `on_failure`)."""
        spec = _spec(node)
        no_input = kind == "no_input"
        state = replace(state, no_input=state.no_input + no_input,
                        no_match=state.no_match + (not no_input))
        u = U(kind)  # type: ignore[arg-type]
        if state.no_input + state.no_match >= spec.max_attempts:
            values = {"survey_status": "no_answer"}
            state = replace(state, variables={**state.variables, **values})
            return self._done(state, node, [SetVariables(values)], u, facts)
        prompts = (spec.no_input or self.plan.defaults.no_input) if no_input else (
            spec.no_match or self.plan.defaults.no_match)
        actions: list[Action] = []
        if prompts:
            n = (state.no_input if no_input else state.no_match) - 1
            actions.append(self.render.say(state, prompts[min(n, len(prompts) - 1)], node))
        actions += [self.render.say(state, spec.question, node), self.score_listen(state, node)]
        return Step(state, actions, u)

    def _done(self, state: DialogState, node: Node, actions: list[Action], u: U,
              facts: Mapping[str, Any]) -> Step:
        spec = _spec(node)
        if spec.thanks is not None:
            actions.append(self.render.say(state, spec.thanks, node))
        target = node.next or ""
        return self.walker.run(moved(state, target), actions, replace(u, choice=target), facts)


def ask(render: NodeRenderer, state: DialogState,
        node: Node) -> tuple[DialogState, list[Action]]:
    """Arriving at a survey node: offered (its variables), the question, the listen."""
    spec = _spec(node)
    offered = {"survey": spec.name, "survey_status": "offered", "survey_score": None}
    state = replace(state, variables={**state.variables, **offered})
    return state, [SetVariables(offered), render.say(state, spec.question, node),
                   score_listen(render, state, node)]


def score_listen(render: NodeRenderer, state: DialogState, node: Node) -> Listen:
    """Keys 1-5, or a score said (the survey grammar)."""
    timeout = _spec(node).timeout_s or render.plan.defaults.timeout_s
    return Listen(state.node, state.language, timeout, 1, 1, dtmf_choices=SCORE_KEYS,
                  grammar=survey_grammar(state.language))


def _spec(node: Node) -> Survey:
    assert node.survey is not None
    return node.survey
