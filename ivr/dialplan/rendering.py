"""What a node says and waits for, rendered for one call state: its prompt in the call's
language with `{name}` templates filled from the call's variables (`Say`), the keys, digits
and timeout it listens with (`Listen`), its webhook request (`Webhook`), and the values a
`set` assigns. Pure: the time comes from `facts["now"]`, the clock only when it is absent.

In prompts a value is read aloud the way its say-as filter (`{card_last4|digits}`) or, without
one, its slot type says (say_as.py); webhooks and `set` values get the value as written.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from audio_models.grammar import Grammar
from ivr.dialplan.actions import Listen, Say, Webhook
from ivr.dialplan.expr import compile_expr
from ivr.dialplan.grammars import MenuGrammars, digit_grammar, yes_no_grammar
from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Node, Prompt, pick_text
from ivr.dialplan.recognition import choices_at
from ivr.dialplan.say_as import DEFAULT_FILTERS, say_as, spoken
from ivr.dialplan.say_as import TEMPLATE as VARIABLE  # `{name}`, `{a.b}`, `{name|filter}`
from ivr.dialplan.state import DialogState


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path (`account.balance`, `items.0.name`); None when absent."""
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


def fill(text: str, env: Mapping[str, Any], language: str | None = None,
         filters: Mapping[str, str | None] | None = None) -> str:
    """`text` with every `{name}` replaced by its value (nothing when unset). With `language`
    (a prompt) the value is read as its filter says, else as `filters[name]` (the slot type's
    default) says; without (a webhook, a `set`) it is the value as written."""
    def sub(m: re.Match[str]) -> str:
        value = lookup(env, m.group(1))
        if value is None:
            return ""  # never speak "{balance}"
        if language is None:
            return spoken(value)
        words = say_as(value, m.group(2) or (filters or {}).get(m.group(1)), language)
        if not text[:m.start()].strip() or text[:m.start()].rstrip()[-1] in ".!?":
            words = words[:1].upper() + words[1:]  # "Fifty yuan has been added."
        return words

    return VARIABLE.sub(sub, text)


def slot_filters(plan: Dialplan) -> dict[str, str | None]:
    """Variable -> the say-as filter its `gather` slot type implies (`DEFAULT_FILTERS`); a
    variable two slots of different readings fill gets none (said as written)."""
    out: dict[str, str | None] = {}
    for node in plan.nodes.values():
        if node.gather is not None:
            slot = node.gather.slot
            how = DEFAULT_FILTERS.get(slot.type)
            out[slot.name] = how if out.get(slot.name, how) == how else None
    return out


def _fill_json(value: Any, fill: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fill(value)
    if isinstance(value, dict):
        return {k: _fill_json(v, fill) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_json(v, fill) for v in value]
    return value


class NodeRenderer:
    """Renders the nodes of one dialplan; stateless, the call's state is an argument."""

    def __init__(self, plan: Dialplan) -> None:
        self.plan = plan
        self._tz = ZoneInfo(plan.timezone)
        self.filters = slot_filters(plan)  # how a slot's variable is read without a filter
        self.menus = MenuGrammars(plan)

    def now(self, facts: Mapping[str, Any]) -> dt.datetime:
        """The facts' time (or the clock), in the dialplan's time zone."""
        return (facts.get("now") or utcnow()).astimezone(self._tz)

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

    def text(self, prompt: Prompt, language: str) -> str:
        """The prompt's text in `language`, else the dialplan's default language, else any."""
        if isinstance(prompt, str):
            return prompt
        return (pick_text(prompt, language) or prompt.get(self.plan.default_language)
                or next(iter(prompt.values())))

    def say(self, state: DialogState, prompt: Prompt, node: Node,
            facts: Mapping[str, Any] | None = None) -> Say:
        main = node.say if node.say is not None else node.listener
        if state.soothing and node.soothing is not None and (
                prompt is node.say or prompt is getattr(main, "prompt", None)):
            prompt = node.soothing  # the calmer wording of this node's prompt
        language = node.prompt_language or state.language
        text = self.text(prompt, language)
        dynamic = bool(VARIABLE.search(text))
        if dynamic:
            text = fill(text, self.env(state, facts or {}), language, self.filters)
        return Say(text, language, node.barge_in, state.node, dynamic=dynamic)

    def listen(self, state: DialogState, node: Node) -> Listen:
        """What `node` waits for: keys, digits, its timeout, and the grammar its answer is
        recognised under (`grammar`)."""
        listener = node.listener
        assert listener is not None
        timeout = listener.timeout_s or self.plan.defaults.timeout_s
        sensitive = bool(node.gather and node.gather.slot.sensitive)
        grammar = self.grammar(state, node)
        if node.gather and state.confirming is None and node.gather.slot.type in (
                "digits", "number", "amount", "phone", "id_card"):
            slot = node.gather.slot
            longest = 18 if slot.type == "id_card" else max(slot.max_length, 1)
            return Listen(state.node, state.language, timeout, longest, slot.min_length,
                          digits_slot=True, sensitive=sensitive, grammar=grammar)
        keys = (tuple(c.dtmf for c in choices_at(self.plan, node) if c.dtmf) if node.menu
                else ("1", "2"))
        longest = max((len(k) for k in keys), default=1)
        return Listen(state.node, state.language, timeout, max(1, longest), 1, dtmf_choices=keys,
                      sensitive=sensitive, grammar=grammar)

    def grammar(self, state: DialogState, node: Node) -> Grammar | None:
        """What the answer to `node`'s question may be (`ivr.dialplan.grammars`): yes or no
        while a read-back (or any yes/no question) is open, a digit slot's digits, a menu's
        choices; None: an open question, recognised freely only."""
        if state.confirming is not None or (node.gather and node.gather.slot.type == "yes_no"):
            return yes_no_grammar(state.language)
        if node.gather:
            return digit_grammar(node.gather.slot)
        if node.menu:
            return self.menus.for_node(state.node, node, state.language, state.profile)
        return None

    def yes_no_listen(self, state: DialogState, node: Node) -> Listen:
        """A yes/no question asked at `node` ("did you mean ...?", "did that answer your
        question?"): key 1 or 2, or yes or no said (the yes/no grammar)."""
        return replace(self.listen(state, node), dtmf_choices=("1", "2"), max_digits=1,
                       digits_slot=False, grammar=yes_no_grammar(state.language))

    def webhook(self, state: DialogState, node: Node, facts: Mapping[str, Any]) -> Webhook:
        hook = node.webhook
        assert hook is not None
        env = self.env(state, facts)
        url = VARIABLE.sub(
            lambda m: urllib.parse.quote(str(lookup(env, m.group(1)) or ""), safe=""), hook.url)
        headers = {k: fill(v, env) for k, v in hook.headers.items()}
        body = _fill_json(hook.body, lambda s: fill(s, env)) if hook.body else None
        return Webhook(state.node, hook.method, url, headers, body, hook.timeout_s, hook.retries)

    def values(self, raw: Mapping[str, Any], state: DialogState,
               facts: Mapping[str, Any]) -> dict[str, Any]:
        """What a `set` assigns: `=expression` evaluated, other strings filled in."""
        env = self.env(state, facts)
        out: dict[str, Any] = {}
        for name, value in raw.items():
            if isinstance(value, str) and value.startswith("="):
                out[name] = compile_expr(value[1:])(env)
            elif isinstance(value, str):
                out[name] = fill(value, env)
            else:
                out[name] = value
        return out

    def static_prompts(self) -> set[tuple[str, str]]:
        """(text, language) of every prompt without variables, for pre-rendering."""
        out: set[tuple[str, str]] = set()

        def add(p: Prompt | None, node_lang: str | None = None) -> None:
            if p is None:
                return
            for lang in [node_lang] if node_lang else self.plan.languages:
                text = self.text(p, lang)
                if text and not VARIABLE.search(text) and not text.startswith("file:"):
                    out.add((text, lang))

        d = self.plan.defaults
        for p in (d.no_input or []) + (d.no_match or []):
            add(p)
        for c in self.plan.global_choices:
            add(c.say)
        for node in self.plan.nodes.values():
            add(node.say, node.prompt_language)
            if sub := node.listener:
                add(sub.prompt, node.prompt_language)
                for p in (sub.no_input or []) + (sub.no_match or []):
                    add(p)
            if node.answer:
                add(node.answer.check_prompt(self.plan.languages), node.prompt_language)
            for c in node.menu.choices if node.menu else []:
                add(c.say)
            add(node.transfer.say if node.transfer else None)
            add(node.hangup.say if node.hangup else None)
            add(node.callback.say if node.callback else None)
            add(node.voicemail.prompt if node.voicemail else None)
            if sv := node.survey:
                for p in [sv.question, sv.comment, sv.thanks, *(sv.no_input or []),
                          *(sv.no_match or [])]:
                    add(p, node.prompt_language)
            if node.consent:
                add(node.consent.prompt, node.prompt_language)
                add(node.consent.refused_say, node.prompt_language)
        if self.plan.consent:  # (the engine makes it a node; a plan as written has it here)
            add(self.plan.consent.prompt, self.plan.default_language)
            add(self.plan.consent.refused_say, self.plan.default_language)
        return out
