"""Questions the caller answers with yes or no (1 or 2, or speech), and filling a slot.

- "Did you mean ...?": an intent heard below `intent_threshold` but at least
  `confirm_threshold`, clearly ahead of the next one and with a `label`, is asked about
  rather than failed; yes takes its choice, no counts as a failed attempt.
- "Did you mean X or Y?": when the next one is not clearly behind (within `CONFIRM_MARGIN`),
  is labelled and heard at `confirm_threshold` too, both are offered (`ask_either`): key 1 or
  2, "the first"/"第二个", or the words of one of them choose; no counts as a failed
  attempt; anything else is heard as a new request. Intents matched by their phrases only
  (`fuzzy: false` or `semantic: false`: crisis) are never offered this way. An intent with
  `confirm: always` is asked about whenever it is heard in speech, whatever its score (also
  said during a read-back); `confirm: never` is never asked about.
- A `gather` with `confirm` reads the value back ("您说的是…，对吗？"); yes stores it, no asks
  for it again, and a global choice said clearly ("0", "转人工") still wins.

While a question is open, `DialogState.confirming` holds what it is about: (slot name,
value), (`INTENT`, intent name), or (`INTENT`, "first|second") for the two-way question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ivr.dialplan.actions import (
    Action,
    CallerInput,
    DialogEvent,
    NoInput,
    Say,
    SetVariables,
    Understanding,
)
from ivr.dialplan.nodes import Choice, Gather, Node
from ivr.dialplan.recognition import choices_at, global_match, needs_confirming, ranked
from ivr.dialplan.rendering import fill
from ivr.dialplan.say_as import DEFAULT_FILTERS
from ivr.dialplan.state import DialogState, Step, moved, succeeded
from ivr.dialplan.verbs import NodeWalker
from ivr.understanding import off_topic
from ivr.understanding.fuzzy import warm
from ivr.understanding.intents import extract_yes_no

INTENT = "@intent"  # `confirming` marker: (INTENT, intent name) awaits yes/no
CONFIRM_MARGIN = 0.1  # an unsure intent is asked about only when clearly ahead of the next
CONFIRM_INTENT_PROMPT = {"zh": "您是要{label}吗？", "en": "Did you want to {label}?"}
CONFIRM_PROMPT = {"zh": "您说的是{value}，对吗？", "en": "I heard {value}. Is that right?"}
CONFIRM_EITHER_PROMPT = {
    "zh": "请问您是要{first}，还是{second}？{first}请按1，{second}请按2。",
    "en": "Did you want to {first}, or to {second}? Press 1 to {first}, or 2 to {second}."}
ORDINALS = {"zh": (("第一", "前面", "前一个", "头一个"), ("第二", "后面", "后一个")),
            "en": (("first", "former"), ("second", "latter"))}


def _yes_no(event: CallerInput, language: str) -> bool | None:
    """1 or yes: True; 2 or no: False; anything else: None."""
    return ({"1": True, "2": False}.get(event.text) if event.kind == "dtmf"
            else extract_yes_no(event.text, language))


class Confirmation:
    """The yes/no questions of one dialplan, asked and answered through its `NodeWalker`."""

    def __init__(self, walker: NodeWalker) -> None:
        self.walker = walker
        self.plan = walker.plan
        self.render = walker.render
        # the words that tell a safe fuzzy match, loaded now rather than at the first caller
        warm(self.plan.intents, self.plan.languages)
        off_topic.warm(self.plan.languages)  # (its Chinese tagger: not at a caller's turn)

    # ------------------------------------------------------------ did you mean
    def unsure_intent(self, u: Understanding, event: CallerInput, state: DialogState,
                      node: Node) -> tuple[str, ...] | None:
        """The intent to ask about: one with `confirm: always` heard well enough (which
        `understand` held back), or one scored below the threshold but at least
        confirm_threshold, clearly ahead of the next one, and labelled (not `never`); or the
        two to choose between when the next one is close behind (see the module docstring)."""
        d = self.plan.defaults
        if not (event.kind == "speech" and u.outcome == "no_match" and u.intent):
            return None
        confirm = self.plan.intents[u.intent].confirm
        if confirm == "always" and u.score >= d.intent_threshold:
            return (u.intent,)
        if not (self._askable(u.intent) and d.confirm_threshold is not None
                and d.confirm_threshold <= u.score < d.intent_threshold):
            return None
        scores = ranked(self.plan, event.text, state.language, self.walker.profile(state),
                        choices_at(self.plan, node))
        runner_up = scores[1].score if len(scores) > 1 else 0.0
        if u.score - runner_up >= CONFIRM_MARGIN:
            return (u.intent,)
        other = next((m for m in scores if m.intent != u.intent), None)
        if (other is not None and other.score >= d.confirm_threshold
                and self._askable(other.intent) and self._either_way(u.intent)
                and self._either_way(other.intent)):
            return (u.intent, other.intent)
        return None

    def _askable(self, intent: str) -> bool:
        spec = self.plan.intents[intent]
        return spec.confirm != "never" and spec.label is not None

    def _either_way(self, intent: str) -> bool:
        """May be offered in "X or Y?": not an intent heard by its phrases only (crisis)."""
        spec = self.plan.intents[intent]
        return spec.fuzzy and spec.semantic

    def ask_intent(self, state: DialogState, node: Node, intent: str | tuple[str, ...],
                   u: Understanding) -> Step:
        if isinstance(intent, tuple) and len(intent) == 2:
            return self.ask_either(state, node, intent, u)
        if isinstance(intent, tuple):
            intent = intent[0]
        spec = self.plan.intents[intent]
        label = self.render.text(spec.label or intent, state.language)
        prompt = spec.confirm_question or self.plan.defaults.confirm_intent_prompt or {
            lang: CONFIRM_INTENT_PROMPT["zh" if lang.startswith(("zh", "yue")) else "en"]
            for lang in self.plan.languages}
        text = self.render.text(prompt, state.language).replace("{label}", label)
        state = replace(state, confirming=(INTENT, intent))
        say = Say(text, state.language, node.barge_in, state.node, dynamic=True)
        listen = replace(self.render.listen(state, node), dtmf_choices=("1", "2"), max_digits=1,
                         digits_slot=False)
        return Step(state, [say, listen], replace(u, outcome="no_match"))

    def ask_either(self, state: DialogState, node: Node, pair: tuple[str, ...],
                   u: Understanding) -> Step:
        """"Did you mean X or Y?" (see the module docstring)."""
        first, second = (self.render.text(self.plan.intents[i].label or i, state.language)
                         for i in pair)
        prompt = self.plan.defaults.confirm_either_prompt or {
            lang: CONFIRM_EITHER_PROMPT["zh" if lang.startswith(("zh", "yue")) else "en"]
            for lang in self.plan.languages}
        text = (self.render.text(prompt, state.language).replace("{first}", first)
                .replace("{second}", second))
        state = replace(state, confirming=(INTENT, "|".join(pair)))
        say = Say(text, state.language, node.barge_in, state.node, dynamic=True)
        listen = replace(self.render.listen(state, node), dtmf_choices=("1", "2"), max_digits=1,
                         digits_slot=False)
        return Step(state, [say, listen], replace(u, outcome="no_match"))

    def _either_answer(self, pair: list[str], event: CallerInput, state: DialogState,
                       node: Node) -> str | bool | None:
        """The intent chosen of `pair`, False for neither, None when the answer is neither."""
        if event.kind == "dtmf":
            return {"1": pair[0], "2": pair[1]}.get(event.text)
        if global_match(self.plan, ranked(self.plan, event.text, state.language,
                                          self.walker.profile(state),
                                          list(self.plan.global_choices))) is not None:
            return None  # "转人工", "我喘不上气": heard as the request it is
        text = event.text.lower()
        for intent, words in zip(pair, ORDINALS["zh" if state.language.startswith(
                ("zh", "yue")) else "en"], strict=True):
            if any(w in text for w in words):
                return intent
        heard = ranked(self.plan, event.text, state.language, self.walker.profile(state),
                       choices_at(self.plan, node))
        scores = [m for m in heard if m.intent in pair]
        d = self.plan.defaults
        floor = d.confirm_threshold if d.confirm_threshold is not None else d.intent_threshold
        if heard and heard[0].intent not in pair and heard[0].score >= floor:
            return None  # another request of this menu: heard as such
        if scores and scores[0].score >= floor and (
                len(scores) < 2 or scores[0].score - scores[1].score >= CONFIRM_MARGIN):
            return scores[0].intent
        return False if _yes_no(event, state.language) is False else None

    def intent_answered(self, state: DialogState, node: Node, event: DialogEvent,
                        facts: Mapping[str, Any]) -> Step | None:
        """The answer to "did you mean ...?"; None: the caller said something else, to be
        heard as a new request (with nothing awaiting yes/no)."""
        intent = state.confirming[1] if state.confirming else ""
        state = replace(state, confirming=None)
        if "|" in intent and isinstance(event, CallerInput):
            chosen = self._either_answer(intent.split("|"), event, state, node)
            if chosen is None:
                return None
            if chosen is False:
                return self.walker.failed(state, node, "no_match", facts)
            return self._take(state, node, str(chosen), facts)
        answer = _yes_no(event, state.language) if isinstance(event, CallerInput) else None
        if answer is True:
            return self._take(state, node, intent, facts)
        if answer is False or not isinstance(event, CallerInput):
            kind = "no_input" if isinstance(event, NoInput) else "no_match"
            return self.walker.failed(state, node, kind, facts)
        return None

    def _take(self, state: DialogState, node: Node, intent: str,
              facts: Mapping[str, Any]) -> Step:
        choice = next(c for c in choices_at(self.plan, node) if c.intent == intent)
        u = Understanding("match", intent, 1.0, choice=choice.goto)
        return self.walker.chosen(state, node, choice, u, facts)

    # ------------------------------------------------------------ slots and read-backs
    def slot_filled(self, state: DialogState, gather: Gather, u: Understanding,
                    facts: Mapping[str, Any]) -> Step:
        """A gathered value: read back for yes/no (`confirm`), or stored and on to `next`."""
        name = gather.slot.name
        if gather.confirm:
            value = u.slots[name]
            state = replace(succeeded(state, None), confirming=(name, value))
            node = self.plan.nodes[state.node]
            prompt = gather.confirm_prompt or {
                lang: CONFIRM_PROMPT["zh" if lang.startswith(("zh", "yue")) else "en"]
                for lang in self.plan.languages}
            env = {**self.render.env(state, facts), "value": value}
            filters = {**self.render.filters, "value": DEFAULT_FILTERS.get(gather.slot.type)}
            text = fill(self.render.text(prompt, state.language), env, state.language, filters)
            say = Say(text, state.language, node.barge_in, state.node, dynamic=True)
            return Step(state, [say, self.render.listen(state, node)], u)
        state = replace(succeeded(state, None), variables={**state.variables, **u.slots})
        return self.walker.run(moved(state, gather.next), [SetVariables(dict(u.slots))], u,
                               facts)

    def read_back_answered(self, state: DialogState, node: Node, event: DialogEvent,
                           facts: Mapping[str, Any]) -> Step:
        """The answer to a read-back: the value stored, asked again, or the question
        repeated after a failed attempt; a global choice said clearly is taken instead."""
        assert node.gather is not None and state.confirming is not None
        name, value = state.confirming
        answer = None
        if isinstance(event, CallerInput):
            glob: Choice | None = None
            if event.kind == "dtmf" and event.text not in ("1", "2"):
                glob = next((c for c in self.plan.global_choices if c.dtmf == event.text), None)
            elif event.kind == "speech":
                glob = global_match(self.plan, ranked(
                    self.plan, event.text, state.language, self.walker.profile(state),
                    list(self.plan.global_choices)))
            if glob is not None and needs_confirming(self.plan, glob.intent, event):
                u = Understanding("no_match", glob.intent, 1.0)
                return self.ask_intent(replace(state, confirming=None), node, glob.intent, u)
            if glob is not None:  # "0", "转人工", "我胸口疼" during a read-back
                u = Understanding("match", glob.intent, 1.0, choice=glob.goto)
                return self.walker.chosen(replace(state, confirming=None), node, glob, u, facts)
            answer = _yes_no(event, state.language)
        if answer is True:
            u = Understanding("match", score=1.0, slots={name: value})
            state = replace(succeeded(state, None), confirming=None,
                            variables={**state.variables, name: value})
            return self.walker.run(moved(state, node.gather.next),
                                   [SetVariables({name: value})], u, facts)
        if answer is False:  # ask for the value again
            state = replace(succeeded(state, None), confirming=None)
            actions: list[Action] = [self.render.say(state, node.gather.prompt, node),
                                     self.render.listen(state, node)]
            return Step(state, actions, Understanding("match", "deny", 1.0))
        kind = "no_input" if isinstance(event, NoInput) else "no_match"
        step = self.walker.failed(state, node, kind, facts)
        if step.state.node != state.node or step.state.ended:
            return step  # attempts exhausted: on_failure
        # ask the read-back question again rather than the original prompt
        again = self.slot_filled(replace(step.state, confirming=None), node.gather,
                                 Understanding("match", slots={name: value}), facts)
        retry = [a for a in step.actions if isinstance(a, Say)][:-1]  # the no-input message
        return Step(replace(again.state, history=step.state.history, no_input=step.state.no_input,
                            no_match=step.state.no_match),
                    [*retry, *again.actions], step.understanding)
