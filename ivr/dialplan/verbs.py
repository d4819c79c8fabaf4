"""What each node verb does when a call reaches it, and the ways out of a listening node.

`NodeWalker.run` walks nodes until one needs something from outside (caller input for `menu`
and `gather`, an HTTP answer for `webhook`) or the call ends (`transfer`, `hangup`),
collecting the actions the call must perform on the way. From a listening node the call
leaves by a choice (`chosen`) or by too many failed attempts (`failed`); a webhook node by its
answer (`webhook_answered`). Pure, like the engine that drives it (`engine.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ivr.dialplan.actions import (
    Action,
    BookCallback,
    CallerInput,
    DialogEvent,
    Hangup,
    Listen,
    MessageRecorded,
    NoInput,
    RecordingConsent,
    RecordMessage,
    SetLanguage,
    SetVariables,
    Transfer,
    TransferFailed,
    Understanding,
    WebhookResult,
)
from ivr.dialplan.expr import compile_expr
from ivr.dialplan.grammars import yes_no_grammar
from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Choice, Node
from ivr.dialplan.rendering import NodeRenderer, fill, lookup, utcnow
from ivr.dialplan.state import DialogState, Step, moved, succeeded
from ivr.dialplan.survey import ask as survey_ask
from ivr.understanding.intents import extract_yes_no
from ivr.understanding.profiles import LanguageProfile

MAX_HOPS = 200  # guards against loops that never wait for input
CONSENT_KEYS = {"1": True, "2": False}
CONSENT_ASKS = 2  # a consent question is asked at most this often


class NodeWalker:
    """Performs the verbs of one dialplan; stateless, the call's state is an argument."""

    def __init__(self, plan: Dialplan, profiles: Mapping[str, LanguageProfile]) -> None:
        self.plan = plan
        self.profiles = profiles
        self.render = NodeRenderer(plan)
        self._exprs = {case.if_: compile_expr(case.if_)
                       for node in plan.nodes.values() for case in node.branch or []}

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

    def run(self, state: DialogState, actions: list[Action],
            understanding: Understanding | None, facts: Mapping[str, Any]) -> Step:
        """Walk from `state.node` until a node waits or the call ends."""
        render = self.render
        for _ in range(MAX_HOPS):
            node = self.plan.nodes[state.node]
            verb = node.verb
            if verb == "say":
                if not (state.soothing and node.optional):
                    actions.append(render.say(state, node.say, node))  # type: ignore[arg-type]
                state = moved(state, node.next or "")
            elif verb == "set":
                values = render.values(node.set or {}, state, facts)
                state = replace(state, variables={**state.variables, **values})
                actions.append(SetVariables(values))
                state = moved(state, node.next or "")
            elif verb == "branch":
                env = render.env(state, facts)
                target = next((c.goto for c in node.branch or [] if self._exprs[c.if_].truthy(env)),
                              node.next)
                state = moved(state, target or "")
            elif verb == "language":
                state, action = self.switch(state, node.language or state.language)
                actions.append(action)
                state = moved(state, node.next or "")
            elif verb == "hours":
                assert node.hours is not None
                now = facts.get("now") or utcnow()
                is_open = self.plan.calendars[node.hours.calendar].is_open(now)
                state = moved(state, node.hours.open if is_open else node.hours.closed)
            elif verb == "flow":
                state = replace(state, stack=(*state.stack, node.next or ""))
                state = moved(state, node.flow or "")
            elif verb == "return":
                if not state.stack:
                    actions.append(Hangup("return_outside_flow"))
                    return Step(replace(state, ended=True), actions, understanding)
                back = state.stack[-1]
                state = moved(replace(state, stack=state.stack[:-1]), back)
            elif verb == "webhook":
                actions.append(render.webhook(state, node, facts))
                return Step(state, actions, understanding)
            elif verb in ("menu", "gather", "answer"):
                listener = node.listener
                assert listener is not None
                actions.append(render.say(state, listener.prompt, node))
                actions.append(render.listen(state, node))
                return Step(state, actions, understanding)
            elif verb == "consent":
                assert node.consent is not None
                actions += [render.say(state, node.consent.prompt, node),
                            consent_listen(state, node)]
                return Step(state, actions, understanding)
            elif verb == "callback":
                state = self._book(state, node, actions, facts)
            elif verb == "voicemail":
                assert node.voicemail is not None
                v = node.voicemail
                actions += [render.say(state, v.prompt, node),
                            RecordMessage(state.node, v.max_s, v.queue)]
                return Step(state, actions, understanding)
            elif verb == "survey":
                state, asked = survey_ask(render, state, node)
                actions += asked
                return Step(state, actions, understanding)
            elif verb == "transfer":
                assert node.transfer is not None
                t = node.transfer
                if t.say is not None:
                    actions.append(render.say(state, t.say, node))
                fallback, after = t.on_unavailable is not None, t.after_agent is not None
                actions.append(Transfer(t.target, t.reason, fallback, after))
                return Step(replace(state, ended=not (fallback or after)), actions,
                            understanding)
            else:
                assert node.hangup is not None
                if node.hangup.say is not None:
                    actions.append(render.say(state, node.hangup.say, node))
                actions.append(Hangup(node.hangup.reason))
                return Step(replace(state, ended=True), actions, understanding)
        actions.append(Hangup("dialplan_loop"))
        return Step(replace(state, ended=True), actions, understanding)

    def chosen(self, state: DialogState, node: Node, choice: Choice,
               understanding: Understanding, facts: Mapping[str, Any]) -> Step:
        """The caller took `choice`: its language, variables and prompt, then its node."""
        state = succeeded(state, understanding.intent)
        if choice in self.plan.global_choices:
            state = replace(state, stack=())  # a global jump leaves any sub-flow
        actions: list[Action] = []
        if choice.language:
            state, action = self.switch(state, choice.language)
            actions.append(action)
        if choice.set:
            values = self.render.values(choice.set, state, facts)
            state = replace(state, variables={**state.variables, **values})
            actions.append(SetVariables(values))
        if choice.say is not None:
            actions.append(self.render.say(state, choice.say, node))
        return self.run(moved(state, choice.goto), actions, understanding, facts)

    def failed(self, state: DialogState, node: Node, kind: str, facts: Mapping[str, Any],
               understanding: Understanding | None = None) -> Step:
        """A failed attempt (no input, no match, unintelligible): the escalating retry
        prompt and the question again, or `on_failure` once the attempts are used up."""
        listener = node.listener
        assert listener is not None
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
            return self.run(moved(state, target), [], u, facts)
        prompts = (listener.no_input or d.no_input) if no_input else (
            listener.no_match or d.no_match)
        actions: list[Action] = []
        if prompts:
            n = (state.no_input if no_input else state.no_match) - 1
            actions.append(self.render.say(state, prompts[min(n, len(prompts) - 1)], node))
        actions.append(self.render.say(state, listener.prompt, node))
        actions.append(self.render.listen(state, node))
        return Step(state, actions, u)

    def webhook_answered(self, state: DialogState, node: Node, event: DialogEvent,
                         facts: Mapping[str, Any]) -> Step:
        """The webhook's answer: `save` its values and go on, or `on_failure`."""
        hook = node.webhook
        assert hook is not None
        if not isinstance(event, WebhookResult):
            return Step(state, [])
        if event.ok:
            values = {var: lookup(event.data, path) for var, path in hook.save.items()}
            values["webhook_status"] = event.status
            values["webhook_error"] = None  # a success clears an earlier failure
            state = replace(state, variables={**state.variables, **values})
            return self.run(moved(state, node.next or ""), [SetVariables(values)], None, facts)
        values = {"webhook_status": event.status, "webhook_error": event.error}
        state = replace(state, variables={**state.variables, **values})
        target = hook.on_failure or node.next or ""
        return self.run(moved(state, target), [SetVariables(values)], None, facts)

    # ------------------------------------------------------------ consent, call back, message
    def _book(self, state: DialogState, node: Node, actions: list[Action],
              facts: Mapping[str, Any]) -> DialogState:
        """A `callback` node: book it (digits of `number`), say so, go on."""
        cb = node.callback
        assert cb is not None
        number = "".join(c for c in fill(cb.number, self.render.env(state, facts)) if c.isdigit())
        values = {"callback_number": number}
        state = replace(state, variables={**state.variables, **values})
        actions += [SetVariables(values), BookCallback(state.node, number, cb.queue, cb.reason)]
        if cb.say is not None:
            actions.append(self.render.say(state, cb.say, node))
        return moved(state, node.next or "")

    def consent_answered(self, state: DialogState, node: Node, event: DialogEvent,
                         facts: Mapping[str, Any]) -> Step:
        """The answer to a `consent` question: record from now on, or not (after a refusal,
        or no answer understood twice: `refuse` says whether the call goes on)."""
        c = node.consent
        assert c is not None
        answer = None
        if isinstance(event, CallerInput):
            answer = (CONSENT_KEYS.get(event.text) if event.kind == "dtmf"
                      else extract_yes_no(event.text, state.language))
        if answer is None and state.no_match + state.no_input + 1 < CONSENT_ASKS:
            outcome = "no_input" if isinstance(event, NoInput) else "no_match"
            state = replace(state, no_input=state.no_input + (outcome == "no_input"),
                            no_match=state.no_match + (outcome == "no_match"))
            return Step(state, [self.render.say(state, c.prompt, node),
                                consent_listen(state, node)], Understanding(outcome))
        said = "yes" if answer else "no" if answer is False else "none"
        u = Understanding("match" if answer is not None else "no_match",
                          {"yes": "affirm", "no": "deny"}.get(said), 1.0 if answer is not None
                          else 0.0)
        actions: list[Action] = [RecordingConsent(state.node, bool(answer), said, c.refuse)]
        state = replace(state, variables={**state.variables, "recording_consent": bool(answer)})
        if answer:
            return self.run(moved(state, node.next or ""), actions, u, facts)
        if c.refused_say is not None:
            actions.append(self.render.say(state, c.refused_say, node))
        if c.refuse == "hangup":
            actions.append(Hangup("consent_declined"))
            return Step(replace(state, ended=True), actions, u)
        return self.run(moved(state, node.next or ""), actions, u, facts)

    def message_recorded(self, state: DialogState, node: Node, event: MessageRecorded,
                         facts: Mapping[str, Any]) -> Step:
        """A `voicemail` node's message: `next`, or `on_empty` when nothing was said."""
        v = node.voicemail
        assert v is not None
        values = {"voicemail_seconds": event.seconds, "voicemail_text": event.text}
        state = replace(state, variables={**state.variables, **values})
        target = node.next if event.seconds > 0 else (v.on_empty or node.next)
        return self.run(moved(state, target or ""), [SetVariables(values)], None, facts)

    def agent_left(self, state: DialogState, node: Node, facts: Mapping[str, Any]) -> Step:
        """The agent hung up first on a transfer with `after_agent`: the caller goes on
        there (a survey), with the variable `agent_left`."""
        t = node.transfer
        assert t is not None and t.after_agent is not None
        values = {"agent_left": True}
        state = replace(state, variables={**state.variables, **values})
        return self.run(moved(state, t.after_agent), [SetVariables(values)], None, facts)

    def transfer_failed(self, state: DialogState, node: Node, event: TransferFailed,
                        facts: Mapping[str, Any]) -> Step:
        """Nobody could take a transfer with `on_unavailable`: the dialplan goes on there."""
        t = node.transfer
        assert t is not None and t.on_unavailable is not None
        values = {"transfer_failed": event.reason}
        state = replace(state, variables={**state.variables, **values})
        return self.run(moved(state, t.on_unavailable), [SetVariables(values)], None, facts)


def consent_listen(state: DialogState, node: Node) -> Listen:
    """The consent question waits for key 1 or 2, or yes or no (the yes/no grammar)."""
    assert node.consent is not None
    return Listen(state.node, state.language, node.consent.timeout_s,
                  dtmf_choices=tuple(CONSENT_KEYS), grammar=yes_no_grammar(state.language))
