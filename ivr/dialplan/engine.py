"""The dialogue engine: pure `step(state, event) -> (state, actions)`. No I/O, no clocks.

The engine walks nodes until one needs caller input (menu, gather) or the call ends
(transfer, hangup), emitting the actions the call must perform on the way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from ivr.dialplan.actions import (
    Action,
    CallerInput,
    DialogEvent,
    Hangup,
    Listen,
    NoInput,
    Say,
    SetLanguage,
    Transfer,
    Understanding,
)
from ivr.dialplan.models import Choice, Dialplan, Gather, Menu, Node, Prompt, Slot
from ivr.understanding import extract_digits, extract_number, extract_yes_no, match_intents

_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MAX_HOPS = 100  # guards against say-loops without input


@dataclass(frozen=True)
class DialogState:
    node: str
    language: str
    variables: dict[str, Any] = field(default_factory=dict)
    no_input: int = 0
    no_match: int = 0
    ended: bool = False


@dataclass(frozen=True)
class Step:
    state: DialogState
    actions: list[Action]
    understanding: Understanding | None = None


class DialogEngine:
    """Stateless over one dialplan; the state travels in `DialogState`."""

    def __init__(self, plan: Dialplan) -> None:
        self.plan = plan

    # ------------------------------------------------------------ public
    def start(self, variables: dict[str, Any] | None = None) -> Step:
        state = DialogState(self.plan.start, self.plan.default_language, dict(variables or {}))
        return self._run(state, [], None)

    def step(self, state: DialogState, event: DialogEvent) -> Step:
        if state.ended:
            return Step(state, [])
        node = self.plan.nodes[state.node]
        listener = node.menu or node.gather
        if listener is None:  # not waiting for input: nothing to do
            return Step(state, [])
        if isinstance(event, NoInput):
            return self._failure(state, node, "no_input")
        if not isinstance(event, CallerInput):
            return self._failure(state, node, "unintelligible")
        choice, understanding = self._understand(state, node, event)
        if choice is None and understanding.outcome == "match" and node.gather:
            state = replace(state, variables={**state.variables, **understanding.slots})
            return self._run(self._moved(state, node.gather.next), [], understanding)
        if choice is None:
            return self._failure(state, node, "no_match", event)
        actions: list[Action] = []
        variables = {**state.variables, **choice.set}
        if choice.language:
            state = replace(state, language=choice.language)
            actions.append(SetLanguage(choice.language))
        state = replace(state, variables=variables)
        if choice.say is not None:
            actions.append(self._say(state, choice.say, node))
        return self._run(self._moved(state, choice.goto), actions, understanding)

    def static_prompts(self) -> set[tuple[str, str]]:
        """(text, language) of every prompt without variables, for pre-rendering."""
        out: set[tuple[str, str]] = set()

        def add(p: Prompt | None, node_lang: str | None = None) -> None:
            if p is None:
                return
            for lang in [node_lang] if node_lang else self.plan.languages:
                text = self._text(p, lang)
                if text and not _VAR.search(text) and not text.startswith("file:"):
                    out.add((text, lang))

        d = self.plan.defaults
        for p in (d.no_input or []) + (d.no_match or []):
            add(p)
        for c in self.plan.global_choices:
            add(c.say)
        for node in self.plan.nodes.values():
            add(node.say, node.prompt_language)
            for sub in (node.menu, node.gather):
                if sub:
                    add(sub.prompt)
                    for p in (sub.no_input or []) + (sub.no_match or []):
                        add(p)
            for c in node.menu.choices if node.menu else []:
                add(c.say)
            add(node.transfer.say if node.transfer else None)
            add(node.hangup.say if node.hangup else None)
        return out

    # ------------------------------------------------------------ walking
    def _moved(self, state: DialogState, node: str) -> DialogState:
        return replace(state, node=node, no_input=0, no_match=0)

    def _run(
        self, state: DialogState, actions: list[Action], understanding: Understanding | None
    ) -> Step:
        for _ in range(_MAX_HOPS):
            node = self.plan.nodes[state.node]
            if node.say is not None:
                actions.append(self._say(state, node.say, node))
                state = self._moved(state, node.next or "")
                continue
            if node.menu or node.gather:
                listener = node.menu or node.gather
                assert listener is not None
                actions.append(self._say(state, listener.prompt, node))
                actions.append(self._listen(state, node))
                return Step(state, actions, understanding)
            if node.transfer:
                if node.transfer.say is not None:
                    actions.append(self._say(state, node.transfer.say, node))
                actions.append(Transfer(node.transfer.target, node.transfer.reason))
                return Step(replace(state, ended=True), actions, understanding)
            assert node.hangup is not None
            if node.hangup.say is not None:
                actions.append(self._say(state, node.hangup.say, node))
            actions.append(Hangup(node.hangup.reason))
            return Step(replace(state, ended=True), actions, understanding)
        actions.append(Hangup("dialplan_loop"))
        return Step(replace(state, ended=True), actions, understanding)

    def _listen(self, state: DialogState, node: Node) -> Listen:
        listener: Menu | Gather = node.menu or node.gather  # type: ignore[assignment]
        timeout = listener.timeout_s or self.plan.defaults.timeout_s
        if node.gather and node.gather.slot.type in ("digits", "number"):
            slot = node.gather.slot
            return Listen(state.node, state.language, timeout, slot.max_length, slot.min_length,
                          digits_slot=True)
        keys = tuple(c.dtmf for c in self._choices(node) if c.dtmf)
        longest = max((len(k) for k in keys), default=1)
        return Listen(state.node, state.language, timeout, max(1, longest), 1,
                      dtmf_choices=keys)

    def _failure(
        self, state: DialogState, node: Node, kind: str, event: CallerInput | None = None
    ) -> Step:
        listener: Menu | Gather = node.menu or node.gather  # type: ignore[assignment]
        d = self.plan.defaults
        max_attempts = listener.max_attempts or d.max_attempts or 3
        count_no_input = state.no_input + (kind == "no_input")
        count_no_match = state.no_match + (kind != "no_input")
        state = replace(state, no_input=count_no_input, no_match=count_no_match)
        outcome = "no_input" if kind == "no_input" else kind
        understanding = Understanding(outcome)  # type: ignore[arg-type]
        if count_no_input + count_no_match >= max_attempts:
            target = listener.on_failure or d.on_failure
            state = replace(state, variables={**state.variables, "failure_reason": outcome})
            if target is None:
                return Step(replace(state, ended=True), [Hangup("max_attempts")], understanding)
            return self._run(self._moved(state, target), [], understanding)
        prompts = (listener.no_input or d.no_input) if kind == "no_input" else (
            listener.no_match or d.no_match)
        actions: list[Action] = []
        if prompts:
            n = (count_no_input if kind == "no_input" else count_no_match) - 1
            actions.append(self._say(state, prompts[min(n, len(prompts) - 1)], node))
        actions.append(self._say(state, listener.prompt, node))
        actions.append(self._listen(state, node))
        return Step(state, actions, understanding)

    # ------------------------------------------------------------ understanding
    def _choices(self, node: Node) -> list[Choice]:
        return (node.menu.choices if node.menu else []) + list(self.plan.global_choices)

    def _understand(
        self, state: DialogState, node: Node, event: CallerInput
    ) -> tuple[Choice | None, Understanding]:
        choices = self._choices(node)
        if event.kind == "dtmf":
            for c in choices:
                if c.dtmf is not None and c.dtmf == event.text:
                    return c, Understanding("match", c.intent, 1.0, choice=c.goto)
            if node.gather and node.gather.slot.type in ("digits", "number"):
                return None, self._digits(node.gather, event.text)
            return None, Understanding("no_match")
        threshold = self.plan.defaults.intent_threshold
        names = [c.intent for c in choices if c.intent]
        matches = match_intents(event.text, self.plan.intents, state.language, names)
        if node.gather:
            slot = node.gather.slot
            if slot.type == "digits":
                filled = self._digits(node.gather, extract_digits(event.text, state.language))
                if filled.outcome == "match":
                    return None, filled
            elif slot.type == "number":
                value = extract_number(event.text, state.language)
                if value is not None and self._in_range(slot, value):
                    return None, Understanding("match", score=1.0, slots={slot.name: value})
            elif slot.type == "yes_no":
                yn = extract_yes_no(event.text, state.language)
                if yn is not None:
                    return None, Understanding("match", score=1.0, slots={slot.name: yn})
            elif event.text.strip():
                return None, Understanding("match", score=event.confidence,
                                           slots={slot.name: event.text.strip()})
        if matches and matches[0].score >= threshold:
            best = matches[0]
            choice = next(c for c in choices if c.intent == best.intent)
            return choice, Understanding("match", best.intent, best.score, choice=choice.goto)
        top = matches[0] if matches else None
        return None, Understanding("no_match", top.intent if top else None,
                                   top.score if top else 0.0)

    @staticmethod
    def _digits(gather: Gather, digits: str) -> Understanding:
        slot = gather.slot
        digits = digits.rstrip("#")
        if digits.isdigit() and slot.min_length <= len(digits) <= slot.max_length:
            value: str | int = int(digits) if slot.type == "number" else digits
            if slot.type != "number" or DialogEngine._in_range(slot, int(digits)):
                return Understanding("match", score=1.0, slots={slot.name: value})
        return Understanding("no_match")

    @staticmethod
    def _in_range(slot: Slot, value: float) -> bool:
        return (slot.min_value is None or value >= slot.min_value) and (
            slot.max_value is None or value <= slot.max_value)

    # ------------------------------------------------------------ prompts
    def _text(self, prompt: Prompt, language: str) -> str:
        if isinstance(prompt, str):
            return prompt
        if language in prompt:
            return prompt[language]
        base = language.split("-")[0]
        for lang, text in prompt.items():
            if lang.split("-")[0] == base:
                return text
        return prompt.get(self.plan.default_language) or next(iter(prompt.values()))

    def _say(self, state: DialogState, prompt: Prompt, node: Node) -> Say:
        barge = node.barge_in
        language = node.prompt_language or state.language
        text = _VAR.sub(lambda m: str(state.variables.get(m.group(1), m.group(0))),
                        self._text(prompt, language))
        return Say(text, language, barge, state.node)
