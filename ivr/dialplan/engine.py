"""The dialogue engine: pure `step(state, event, facts) -> Step`. No I/O, no clocks.

The engine walks nodes until one needs something from outside (caller input for `menu` and
`gather`, an HTTP answer for `webhook`) or the call ends (`transfer`, `hangup`), emitting the
actions the call must perform on the way. `facts` brings what the engine may not fetch itself:
the current time (for `hours`) and the caller's emotion (for conditions).
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from ivr.dialplan.actions import (
    Action,
    CallerInput,
    DialogEvent,
    Hangup,
    Listen,
    NoInput,
    Say,
    SetLanguage,
    SetVariables,
    Transfer,
    Understanding,
    Webhook,
    WebhookResult,
)
from ivr.dialplan.expr import compile_expr
from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Choice, Gather, Menu, Node, Prompt, pick_text
from ivr.profiles import LanguageProfile, resolve_profiles
from ivr.slots import extract_slot, keyed_slot
from ivr.understanding import IntentMatch, extract_yes_no, match_intents

_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_MAX_HOPS = 200  # guards against loops that never wait for input
GLOBAL_WINS = 0.85  # a global choice scoring this high beats slot values and read-backs
CONFIRM_MARGIN = 0.1  # an unsure intent is asked about only when clearly ahead of the next
INTENT = "@intent"  # `confirming` marker: (INTENT, intent name) awaits yes/no
CONFIRM_INTENT_PROMPT = {"zh": "您是要{label}吗？", "en": "Did you want to {label}?"}
CONFIRM_PROMPT = {"zh": "您说的是{value}，对吗？", "en": "I heard {value}. Is that right?"}


@dataclass(frozen=True)
class History:
    """What happened so far in the call, readable by conditions as `turns.*`."""

    count: int = 0  # caller inputs handled
    failures: int = 0  # consecutive no-input / no-match, across nodes
    no_match: int = 0  # totals for the call
    no_input: int = 0
    last_intent: str | None = None


@dataclass(frozen=True)
class DialogState:
    node: str
    language: str
    variables: dict[str, Any] = field(default_factory=dict)
    no_input: int = 0  # at the current node
    no_match: int = 0
    ended: bool = False
    history: History = field(default_factory=History)
    stack: tuple[str, ...] = ()  # return nodes of the sub-flows we are in
    confirming: tuple[str, Any] | None = None  # (slot name, value) awaiting yes/no
    profile: str | None = None  # the caller's language/dialect profile, e.g. zh-sichuan
    soothing: bool = False  # the caller is upset: calmer prompts, optional steps skipped
    escalated: bool = False  # the emotion policy already handed the call over


@dataclass(frozen=True)
class Step:
    state: DialogState
    actions: list[Action]
    understanding: Understanding | None = None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DialogEngine:
    """Stateless over one dialplan; the state travels in `DialogState`."""

    def __init__(self, plan: Dialplan,
                 profiles: Mapping[str, LanguageProfile] | None = None) -> None:
        self.plan = plan
        base = dict(profiles) if profiles is not None else resolve_profiles()
        self.profiles = resolve_profiles(plan.profiles, base)
        self._exprs = {case.if_: compile_expr(case.if_)
                       for node in plan.nodes.values() for case in node.branch or []}
        self._tz = ZoneInfo(plan.timezone)

    # ------------------------------------------------------------ public
    def start(self, variables: dict[str, Any] | None = None,
              facts: Mapping[str, Any] | None = None, language: str | None = None) -> Step:
        """The call's first step; `language` may preset a language or profile."""
        lang = self.plan.default_language
        state = DialogState(self.plan.start, lang, {**self.plan.variables, **(variables or {})},
                            profile=lang if lang in self.profiles else None)
        if language:
            state, _ = self.switch(state, language)
        return self._run(state, [], None, facts or {})

    def profile(self, state: DialogState) -> LanguageProfile | None:
        return self.profiles.get(state.profile or state.language)

    def switch(self, state: DialogState, target: str) -> tuple[DialogState, SetLanguage]:
        """Change the call's language or profile: a dialplan language (en-US) or a profile
        (zh-sichuan, yue) whose prompts are in one of the dialplan's languages."""
        if target in self.plan.languages:
            language, profile = target, target if target in self.profiles else None
        elif target in self.profiles:
            profile, language = target, self.profiles[target].prompt_language
            if language not in self.plan.languages:
                language = next((lang for lang in self.plan.languages
                                 if lang.split("-")[0] == language.split("-")[0]),
                                state.language)
        else:
            return state, SetLanguage(state.language, state.profile)
        state = replace(state, language=language, profile=profile)
        return state, SetLanguage(language, profile)

    def _soothe(self, state: DialogState, facts: Mapping[str, Any]) -> tuple[DialogState,
                                                                            list[Action]]:
        """Enter soothing mode when the call says the caller is upset (once)."""
        if state.soothing or not (facts.get("emotion") or {}).get("soothing"):
            return state, []
        state = replace(state, soothing=True)
        apology = self.plan.emotion.apology
        node = self.plan.nodes[state.node]
        return state, ([self._say(state, apology, node)] if apology is not None else [])

    def _adopt(self, state: DialogState, facts: Mapping[str, Any]) -> tuple[DialogState,
                                                                           list[Action]]:
        """The call may have detected the caller's profile (first utterance)."""
        detected = facts.get("profile")
        if detected and detected != state.profile and detected in self.profiles:
            state, action = self.switch(state, detected)
            return state, [action]
        return state, []

    def step(self, state: DialogState, event: DialogEvent,
             facts: Mapping[str, Any] | None = None) -> Step:
        facts = facts or {}
        if state.ended:
            return Step(state, [])
        state, switched = self._adopt(state, facts)
        state, soothed = self._soothe(state, facts)
        if switched or soothed:
            step = self.step(state, event, facts)
            return replace(step, actions=[*switched, *soothed, *step.actions])
        emotion = facts.get("emotion") or {}
        target = self.plan.emotion.escalate_to
        if emotion.get("escalate") and target and not state.escalated:
            why = {"escalation_reason": "dissatisfaction" if emotion.get("escalate_why")
                   == "dissatisfaction" else "emotion"}  # anger (or no reason given)
            state = replace(state, escalated=True, confirming=None,
                            variables={**state.variables, **why})
            u = Understanding("match", "emotion_escalation", 1.0, choice=target)
            return self._run(self._moved(state, target), [SetVariables(why)], u, facts)
        node = self.plan.nodes[state.node]
        if node.webhook is not None:
            return self._webhook_done(state, node, event, facts)
        listener = node.menu or node.gather
        if listener is None or isinstance(event, WebhookResult):
            return Step(state, [])  # nothing is waiting for this event
        if state.confirming is not None and state.confirming[0] == INTENT:
            return self._intent_confirmed(state, node, event, facts)
        if state.confirming is not None:
            return self._confirmed(state, node, event, facts)
        if isinstance(event, NoInput):
            return self._failure(state, node, "no_input", facts)
        if not isinstance(event, CallerInput):
            return self._failure(state, node, "unintelligible", facts)
        choice, understanding = self._understand(state, node, event, facts)
        if choice is None and understanding.outcome == "match" and node.gather:
            return self._slot_filled(state, node.gather, understanding, facts)
        if choice is None:
            unsure = self._unsure_intent(understanding, event, state, node)
            if unsure is not None:
                return self._ask_intent(state, node, unsure, understanding)
            return self._failure(state, node, "no_match", facts, understanding)
        return self._chosen(state, node, choice, understanding, facts)

    # ------------------------------------------------------------ unsure intents
    def _unsure_intent(self, u: Understanding, event: CallerInput, state: DialogState,
                       node: Node) -> str | None:
        """The intent to ask about: scored below the threshold but at least
        confirm_threshold, clearly ahead of the next one, and labelled."""
        d = self.plan.defaults
        if not (event.kind == "speech" and u.outcome == "no_match" and u.intent
                and d.confirm_threshold is not None
                and d.confirm_threshold <= u.score < d.intent_threshold
                and self.plan.intents[u.intent].label is not None):
            return None
        ranked = self._ranked(event.text, state, self._choices(node))
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        return u.intent if u.score - runner_up >= CONFIRM_MARGIN else None

    def _ask_intent(self, state: DialogState, node: Node, intent: str,
                    u: Understanding) -> Step:
        label = self._text(self.plan.intents[intent].label or intent, state.language)
        prompt = self.plan.defaults.confirm_intent_prompt or {
            lang: CONFIRM_INTENT_PROMPT["zh" if lang.startswith(("zh", "yue")) else "en"]
            for lang in self.plan.languages}
        text = self._text(prompt, state.language).replace("{label}", label)
        state = replace(state, confirming=(INTENT, intent))
        say = Say(text, state.language, node.barge_in, state.node, dynamic=True)
        listen = replace(self._listen(state, node), dtmf_choices=("1", "2"), max_digits=1,
                         digits_slot=False)
        return Step(state, [say, listen], replace(u, outcome="no_match"))

    def _intent_confirmed(self, state: DialogState, node: Node, event: DialogEvent,
                          facts: Mapping[str, Any]) -> Step:
        intent = state.confirming[1] if state.confirming else ""
        state = replace(state, confirming=None)
        answer = None
        if isinstance(event, CallerInput):
            answer = ({"1": True, "2": False}.get(event.text) if event.kind == "dtmf"
                      else extract_yes_no(event.text, state.language))
        if answer is True:
            choice = next(c for c in self._choices(node) if c.intent == intent)
            u = Understanding("match", intent, 1.0, choice=choice.goto)
            return self._chosen(state, node, choice, u, facts)
        if answer is False or not isinstance(event, CallerInput):
            kind = "no_input" if isinstance(event, NoInput) else "no_match"
            return self._failure(state, node, kind, facts)
        return self.step(state, event, facts)  # the caller said something else: hear it

    def _chosen(self, state: DialogState, node: Node, choice: Choice, understanding: Understanding,
                facts: Mapping[str, Any]) -> Step:
        state = self._succeeded(state, understanding.intent)
        if choice in self.plan.global_choices:
            state = replace(state, stack=())  # a global jump leaves any sub-flow
        actions: list[Action] = []
        if choice.language:
            state, action = self.switch(state, choice.language)
            actions.append(action)
        if choice.set:
            values = self._values(choice.set, state, facts)
            state = replace(state, variables={**state.variables, **values})
            actions.append(SetVariables(values))
        if choice.say is not None:
            actions.append(self._say(state, choice.say, node))
        return self._run(self._moved(state, choice.goto), actions, understanding, facts)

    def now(self, facts: Mapping[str, Any]) -> dt.datetime:
        """The facts' time (or the clock), in the dialplan's time zone."""
        return (facts.get("now") or _utcnow()).astimezone(self._tz)

    def env(self, state: DialogState, facts: Mapping[str, Any]) -> dict[str, Any]:
        """What conditions and `{name}` templates can read."""
        now = self.now(facts)
        h = state.history
        return {
            **state.variables,
            "language": state.language,
            "node": state.node,
            "turns": {"count": h.count, "failures": h.failures, "no_match": h.no_match,
                      "no_input": h.no_input, "last_intent": h.last_intent},
            "emotion": dict(facts.get("emotion") or {}),
            "now": {"hour": now.hour, "minute": now.minute, "weekday": now.isoweekday(),
                    "date": now.date().isoformat()},
        }

    def vocabulary(self, language: str) -> list[str]:
        """The dialplan's own words for `language` (keywords, then examples): hotwords."""
        from ivr.understanding import _for_language

        words: list[str] = []
        for intent in self.plan.intents.values():
            words += _for_language(intent.keywords, language)
        for intent in self.plan.intents.values():
            words += _for_language(intent.examples, language)
        return words

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
                    add(sub.prompt, node.prompt_language)
                    for p in (sub.no_input or []) + (sub.no_match or []):
                        add(p)
            for c in node.menu.choices if node.menu else []:
                add(c.say)
            add(node.transfer.say if node.transfer else None)
            add(node.hangup.say if node.hangup else None)
        if self.plan.consent:
            add(self.plan.consent.prompt, self.plan.default_language)
            add(self.plan.consent.refused_say, self.plan.default_language)
        return out

    # ------------------------------------------------------------ walking
    def _moved(self, state: DialogState, node: str) -> DialogState:
        return replace(state, node=node, no_input=0, no_match=0, confirming=None)

    def _run(self, state: DialogState, actions: list[Action],
             understanding: Understanding | None, facts: Mapping[str, Any]) -> Step:
        for _ in range(_MAX_HOPS):
            node = self.plan.nodes[state.node]
            verb = node.verb
            if verb == "say":
                if not (state.soothing and node.optional):
                    actions.append(self._say(state, node.say, node))  # type: ignore[arg-type]
                state = self._moved(state, node.next or "")
            elif verb == "set":
                values = self._values(node.set or {}, state, facts)
                state = replace(state, variables={**state.variables, **values})
                actions.append(SetVariables(values))
                state = self._moved(state, node.next or "")
            elif verb == "branch":
                env = self.env(state, facts)
                target = next((c.goto for c in node.branch or [] if self._exprs[c.if_].truthy(env)),
                              node.next)
                state = self._moved(state, target or "")
            elif verb == "language":
                state, action = self.switch(state, node.language or state.language)
                actions.append(action)
                state = self._moved(state, node.next or "")
            elif verb == "hours":
                assert node.hours is not None
                now = facts.get("now") or _utcnow()
                is_open = self.plan.calendars[node.hours.calendar].is_open(now)
                state = self._moved(state, node.hours.open if is_open else node.hours.closed)
            elif verb == "flow":
                state = replace(state, stack=(*state.stack, node.next or ""))
                state = self._moved(state, node.flow or "")
            elif verb == "return":
                if not state.stack:
                    actions.append(Hangup("return_outside_flow"))
                    return Step(replace(state, ended=True), actions, understanding)
                back = state.stack[-1]
                state = self._moved(replace(state, stack=state.stack[:-1]), back)
            elif verb == "webhook":
                actions.append(self._webhook(state, node, facts))
                return Step(state, actions, understanding)
            elif verb in ("menu", "gather"):
                listener: Menu | Gather = node.menu or node.gather  # type: ignore[assignment]
                actions.append(self._say(state, listener.prompt, node))
                actions.append(self._listen(state, node))
                return Step(state, actions, understanding)
            elif verb == "transfer":
                assert node.transfer is not None
                if node.transfer.say is not None:
                    actions.append(self._say(state, node.transfer.say, node))
                actions.append(Transfer(node.transfer.target, node.transfer.reason))
                return Step(replace(state, ended=True), actions, understanding)
            else:
                assert node.hangup is not None
                if node.hangup.say is not None:
                    actions.append(self._say(state, node.hangup.say, node))
                actions.append(Hangup(node.hangup.reason))
                return Step(replace(state, ended=True), actions, understanding)
        actions.append(Hangup("dialplan_loop"))
        return Step(replace(state, ended=True), actions, understanding)

    def _values(self, raw: Mapping[str, Any], state: DialogState,
                facts: Mapping[str, Any]) -> dict[str, Any]:
        env = self.env(state, facts)
        out: dict[str, Any] = {}
        for name, value in raw.items():
            if isinstance(value, str) and value.startswith("="):
                out[name] = compile_expr(value[1:])(env)
            elif isinstance(value, str):
                out[name] = self._fill(value, env)
            else:
                out[name] = value
        return out

    def _listen(self, state: DialogState, node: Node) -> Listen:
        listener: Menu | Gather = node.menu or node.gather  # type: ignore[assignment]
        timeout = listener.timeout_s or self.plan.defaults.timeout_s
        sensitive = bool(node.gather and node.gather.slot.sensitive)
        if node.gather and state.confirming is None and node.gather.slot.type in (
                "digits", "number", "amount", "phone", "id_card"):
            slot = node.gather.slot
            longest = 18 if slot.type == "id_card" else max(slot.max_length, 1)
            return Listen(state.node, state.language, timeout, longest, slot.min_length,
                          digits_slot=True, sensitive=sensitive)
        keys = tuple(c.dtmf for c in self._choices(node) if c.dtmf) if node.menu else ("1", "2")
        longest = max((len(k) for k in keys), default=1)
        return Listen(state.node, state.language, timeout, max(1, longest), 1, dtmf_choices=keys,
                      sensitive=sensitive)

    def sensitive_slots(self) -> set[str]:
        """Names of the slots marked `sensitive` (their values are masked when stored)."""
        return {n.gather.slot.name for n in self.plan.nodes.values()
                if n.gather and n.gather.slot.sensitive}

    def _succeeded(self, state: DialogState, intent: str | None) -> DialogState:
        h = state.history
        return replace(state, history=replace(h, count=h.count + 1, failures=0,
                                              last_intent=intent or h.last_intent))

    def _failure(self, state: DialogState, node: Node, kind: str, facts: Mapping[str, Any],
                 understanding: Understanding | None = None) -> Step:
        listener: Menu | Gather = node.menu or node.gather  # type: ignore[assignment]
        d = self.plan.defaults
        max_attempts = listener.max_attempts or d.max_attempts or 3
        no_input = kind == "no_input"
        h = state.history
        state = replace(
            state, no_input=state.no_input + no_input, no_match=state.no_match + (not no_input),
            confirming=None,
            history=replace(h, count=h.count + 1, failures=h.failures + 1,
                            no_input=h.no_input + no_input, no_match=h.no_match + (not no_input)))
        outcome = "no_input" if no_input else kind
        u = understanding or Understanding(outcome)  # type: ignore[arg-type]
        if u.outcome != outcome:
            u = replace(u, outcome=outcome)  # type: ignore[arg-type]
        if state.no_input + state.no_match >= max_attempts:
            target = listener.on_failure or d.on_failure
            state = replace(state, variables={**state.variables, "failure_reason": outcome})
            if target is None:
                return Step(replace(state, ended=True), [Hangup("max_attempts")], u)
            return self._run(self._moved(state, target), [], u, facts)
        prompts = (listener.no_input or d.no_input) if no_input else (
            listener.no_match or d.no_match)
        actions: list[Action] = []
        if prompts:
            n = (state.no_input if no_input else state.no_match) - 1
            actions.append(self._say(state, prompts[min(n, len(prompts) - 1)], node))
        actions.append(self._say(state, listener.prompt, node))
        actions.append(self._listen(state, node))
        return Step(state, actions, u)

    # ------------------------------------------------------------ slots and confirmation
    def _slot_filled(self, state: DialogState, gather: Gather, u: Understanding,
                     facts: Mapping[str, Any]) -> Step:
        name = gather.slot.name
        if gather.confirm:
            value = u.slots[name]
            state = replace(self._succeeded(state, None), confirming=(name, value))
            node = self.plan.nodes[state.node]
            prompt = gather.confirm_prompt or {
                lang: CONFIRM_PROMPT["zh" if lang.startswith(("zh", "yue")) else "en"]
                for lang in self.plan.languages}
            env = {**self.env(state, facts), "value": _spoken(value)}
            say = Say(self._fill(self._text(prompt, state.language), env), state.language,
                      node.barge_in, state.node, dynamic=True)
            return Step(state, [say, self._listen(state, node)], u)
        state = replace(self._succeeded(state, None),
                        variables={**state.variables, **u.slots})
        return self._run(self._moved(state, gather.next), [SetVariables(dict(u.slots))], u, facts)

    def _confirmed(self, state: DialogState, node: Node, event: DialogEvent,
                   facts: Mapping[str, Any]) -> Step:
        assert node.gather is not None and state.confirming is not None
        name, value = state.confirming
        answer = None
        if isinstance(event, CallerInput):
            glob: Choice | None = None
            if event.kind == "dtmf" and event.text not in ("1", "2"):
                glob = next((c for c in self.plan.global_choices if c.dtmf == event.text), None)
            elif event.kind == "speech":
                ranked = self._ranked(event.text, state, list(self.plan.global_choices))
                glob = self._global_match(ranked)
            if glob is not None:  # "0", "转人工", "我胸口疼" during a read-back
                u = Understanding("match", glob.intent, 1.0, choice=glob.goto)
                return self._chosen(replace(state, confirming=None), node, glob, u, facts)
            answer = ({"1": True, "2": False}.get(event.text) if event.kind == "dtmf"
                      else extract_yes_no(event.text, state.language))
        if answer is True:
            u = Understanding("match", score=1.0, slots={name: value})
            state = replace(self._succeeded(state, None), confirming=None,
                            variables={**state.variables, name: value})
            return self._run(self._moved(state, node.gather.next),
                             [SetVariables({name: value})], u, facts)
        if answer is False:  # ask for the value again
            state = replace(self._succeeded(state, None), confirming=None)
            actions: list[Action] = [self._say(state, node.gather.prompt, node),
                                     self._listen(state, node)]
            return Step(state, actions, Understanding("match", "deny", 1.0))
        kind = "no_input" if isinstance(event, NoInput) else "no_match"
        step = self._failure(state, node, kind, facts)
        if step.state.node != state.node or step.state.ended:
            return step  # attempts exhausted: on_failure
        # ask the read-back question again rather than the original prompt
        again = self._slot_filled(replace(step.state, confirming=None), node.gather,
                                  Understanding("match", slots={name: value}), facts)
        retry = [a for a in step.actions if isinstance(a, Say)][:-1]  # the no-input message
        return Step(replace(again.state, history=step.state.history, no_input=step.state.no_input,
                            no_match=step.state.no_match),
                    [*retry, *again.actions], step.understanding)

    # ------------------------------------------------------------ webhooks
    def _webhook(self, state: DialogState, node: Node, facts: Mapping[str, Any]) -> Webhook:
        hook = node.webhook
        assert hook is not None
        env = self.env(state, facts)
        url = _VAR.sub(lambda m: urllib.parse.quote(str(_lookup(env, m.group(1)) or ""), safe=""),
                       hook.url)
        headers = {k: self._fill(v, env) for k, v in hook.headers.items()}
        body = _fill_json(hook.body, lambda s: self._fill(s, env)) if hook.body else None
        return Webhook(state.node, hook.method, url, headers, body, hook.timeout_s, hook.retries)

    def _webhook_done(self, state: DialogState, node: Node, event: DialogEvent,
                      facts: Mapping[str, Any]) -> Step:
        hook = node.webhook
        assert hook is not None
        if not isinstance(event, WebhookResult):
            return Step(state, [])
        if event.ok:
            values = {var: _lookup(event.data, path) for var, path in hook.save.items()}
            values["webhook_status"] = event.status
            values["webhook_error"] = None  # a success clears an earlier failure
            state = replace(state, variables={**state.variables, **values})
            return self._run(self._moved(state, node.next or ""), [SetVariables(values)],
                             None, facts)
        values = {"webhook_status": event.status, "webhook_error": event.error}
        state = replace(state, variables={**state.variables, **values})
        target = hook.on_failure or node.next or ""
        return self._run(self._moved(state, target), [SetVariables(values)], None, facts)

    # ------------------------------------------------------------ understanding
    def _choices(self, node: Node) -> list[Choice]:
        return (node.menu.choices if node.menu else []) + list(self.plan.global_choices)

    def _understand(self, state: DialogState, node: Node, event: CallerInput,
                    facts: Mapping[str, Any]) -> tuple[Choice | None, Understanding]:
        choices = self._choices(node)
        if event.kind == "dtmf":
            for c in choices:
                if c.dtmf is not None and c.dtmf == event.text:
                    return c, Understanding("match", c.intent, 1.0, choice=c.goto)
            if node.gather:
                value = keyed_slot(node.gather.slot, event.text.rstrip("#"))
                if value is not None:
                    return None, Understanding("match", score=1.0,
                                               slots={node.gather.slot.name: value})
            return None, Understanding("no_match")
        threshold = self.plan.defaults.intent_threshold
        matches = self._ranked(event.text, state, choices)
        if node.gather:
            value = extract_slot(node.gather.slot, event.text, state.language, self.now(facts))
            # a global choice said clearly ("转人工", "我胸口疼") wins over any slot value
            urgent = self._global_match(matches)
            if value is not None and urgent is None:
                score = event.confidence if node.gather.slot.type == "text" else 1.0
                return None, Understanding("match", score=score,
                                           slots={node.gather.slot.name: value})
        if matches and matches[0].score >= threshold:
            best = matches[0]
            choice = next(c for c in choices if c.intent == best.intent)
            return choice, Understanding("match", best.intent, best.score, choice=choice.goto)
        top = matches[0] if matches else None
        return None, Understanding("no_match", top.intent if top else None,
                                   top.score if top else 0.0)

    def _ranked(self, text: str, state: DialogState, choices: list[Choice]) -> list[IntentMatch]:
        """Intent scores of the choices, best first; on a tie a global choice (agent,
        crisis) comes before the node's own."""
        names = list(dict.fromkeys(c.intent for c in choices if c.intent))
        glob = {c.intent for c in self.plan.global_choices}
        matches = match_intents(text, self.plan.intents, state.language, names,
                                self.profile(state))
        return sorted(matches, key=lambda m: (m.score, m.intent in glob), reverse=True)

    def _global_match(self, matches: list[IntentMatch]) -> Choice | None:
        """The global choice said clearly (keyword-strength score), if any."""
        if matches and matches[0].score >= GLOBAL_WINS:
            return next((c for c in self.plan.global_choices
                         if c.intent == matches[0].intent), None)
        return None

    # ------------------------------------------------------------ prompts
    def _text(self, prompt: Prompt, language: str) -> str:
        if isinstance(prompt, str):
            return prompt
        return (pick_text(prompt, language) or prompt.get(self.plan.default_language)
                or next(iter(prompt.values())))

    @staticmethod
    def _fill(text: str, env: Mapping[str, Any]) -> str:
        def sub(m: re.Match[str]) -> str:
            value = _lookup(env, m.group(1))
            return "" if value is None else _spoken(value)  # never speak "{balance}"

        return _VAR.sub(sub, text)

    def _say(self, state: DialogState, prompt: Prompt, node: Node,
             facts: Mapping[str, Any] | None = None) -> Say:
        main = node.say if node.say is not None else (node.menu or node.gather)
        if state.soothing and node.soothing is not None and (
                prompt is node.say or prompt is getattr(main, "prompt", None)):
            prompt = node.soothing  # the calmer wording of this node's prompt
        language = node.prompt_language or state.language
        text = self._text(prompt, language)
        dynamic = bool(_VAR.search(text))
        if dynamic:
            text = self._fill(text, self.env(state, facts or {}))
        return Say(text, language, node.barge_in, state.node, dynamic=dynamic)


def _lookup(data: Any, path: str) -> Any:
    cur = data
    for part in path.split("."):
        if isinstance(cur, Mapping):
            cur = cur.get(part)
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
        if cur is None:
            return None
    return cur


def _spoken(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _fill_json(value: Any, fill: Any) -> Any:
    if isinstance(value, str):
        return fill(value)
    if isinstance(value, dict):
        return {k: _fill_json(v, fill) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_json(v, fill) for v in value]
    return value
