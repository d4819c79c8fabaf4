""""Did you want to check your bill, or is it about: change the invoice title?" (issue 17,
round 9): the menu's two-way question when a service and a knowledge entry are close.

`question_service.over_service` sends a question a service intent heard to the knowledge
base only when the entry's meaning leads the service's nearest example by LEAD (or
STATEMENT_LEAD); a service heard below its threshold is asked about ("did you mean
<service>?"), and the caller who meant the entry said no and asked again, or heard the bill.
Where the menu would ask that and the base answers the question confidently with an entry
not far behind the service (`question_service.offer_over_unsure`, UNSURE_BAND; or an entry
just short of its lead, `over_service` with OFFER_BAND, off by default), the engine asks, as
a contact-center agent would, "您是要查询话费，还是想了解「自动缴费」？" / "Did you want to
check your bill, or is it about: change the invoice title?", with the service's `label` and
the entry's `title` (the menu's `offer_prompt`, a template with `{service}` and `{entry}`,
or the built-in wording below). The answer:
- key 1, "the first", a word of the service's label and none of the entry's title, or else
  the menu's intents hearing the service and the base not hearing the entry: the service's
  choice is taken;
- key 2, "the second", a word of the entry's title and none of the label ("the roaming one",
  漫游那个), or else the base's nearest entry being it and the menu not hearing the service:
  the entry is answered at the answer node, then "did that answer your question?" as after
  any answer;
- no / neither: a failed attempt at the menu, as after "did you mean X or Y?";
- another request of the menu, a global choice (转人工, a crisis), a key of another choice or
  a question the base answers with another entry: heard as that new request;
- silence, or an answer that is none of these (a bare "yes"): the question once more, then
  the service as before round 9.
The offer and the choice made are call variables (`offered`: "<intent>|<entry id>",
`offer_taken`: the intent or the entry id), stored and emitted with the turn's variables.
While it is open, `DialogState.confirming` is (OFFER, (intent, entry id, tries, question)).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ivr.dialplan.actions import CallerInput, DialogEvent, NoInput, Say, SetVariables, Understanding
from ivr.dialplan.answering import NEITHER, Answering, decide
from ivr.dialplan.confirmation import ORDINALS
from ivr.dialplan.nodes import Node
from ivr.dialplan.recognition import choices_at, global_match, ranked
from ivr.dialplan.rendering import fill
from ivr.dialplan.state import DialogState, Step
from ivr.dialplan.verbs import NodeWalker
from ivr.understanding.intents import extract_yes_no, is_chinese
from ivr.understanding.knowledge import KnowledgeLibrary

OFFER = "@offer"  # `confirming` marker: (OFFER, (intent, entry id, tries, question))
OFFER_PROMPT = {
    "zh": "请问您是要{service}，还是想了解「{entry}」？{service}请按1，了解{entry}请按2。",
    "en": "Did you want to {service}, or is it about: {entry}? Press 1 to {service}, or 2 "
          "for {entry}."}
_EN_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# title words that name no topic: never enough to choose an entry by
_EN_COMMON = {"and", "or", "the", "a", "an", "of", "on", "off", "to", "for", "your", "my",
              "turn", "set", "up", "change", "check", "new", "ways"}
_ZH_COMMON = {"查询", "开通", "取消", "设置", "和的", "变更"}


def spoken_title(title: str, language: str) -> str:
    """An entry's title inside an English sentence: its first word in lower case unless it
    is an acronym or a brand ("International roaming prices" -> "international roaming
    prices"; "5G", "eSIM", "APN settings", "Wi-Fi password" unchanged)."""
    if is_chinese(language) or not title:
        return title
    first, _, rest = title.partition(" ")
    if first[:1].isupper() and first[1:].islower():
        first = first.lower()
    return f"{first} {rest}".strip()


def _words(text: str, language: str) -> set[str]:
    """The topic words of a title or a label: English words of three letters or more, or
    Chinese character pairs (漫游 of 国际漫游资费), without the ones that name no topic."""
    text = text.lower()
    if is_chinese(language):
        han = "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff" or ch.isalnum())
        return {han[i:i + 2] for i in range(len(han) - 1)} - _ZH_COMMON
    return {w for w in _EN_WORD.findall(text) if len(w) >= 3} - _EN_COMMON


class ServiceOrAnswer:
    """The two-way question of the menus with `questions` (see the module)."""

    def __init__(self, walker: NodeWalker, answering: Answering,
                 library: KnowledgeLibrary | None) -> None:
        self.walker = walker
        self.plan = walker.plan
        self.render = walker.render
        self.answering = answering
        self.library = library

    def ask(self, state: DialogState, node: Node, u: Understanding, question: str,
            tries: int = 0) -> Step:
        """Ask which of the service `u.intent` and the entry `u.answer` was meant."""
        assert u.intent is not None and u.answer is not None and node.menu is not None
        service = self.render.text(self.plan.intents[u.intent].label or u.intent,
                                   state.language)
        entry = self._title(node, u.answer, state.language)
        base = "zh" if is_chinese(state.language) else "en"
        prompt = node.menu.offer_prompt or OFFER_PROMPT[base]
        env = {**self.render.env(state, {}), "service": service, "entry": entry}
        text = fill(self.render.text(prompt, state.language), env, state.language,
                    self.render.filters)
        offered = {"offered": f"{u.intent}|{u.answer}"}
        state = replace(state, confirming=(OFFER, (u.intent, u.answer, tries, question)),
                        variables={**state.variables, **offered})
        say = Say(text, state.language, node.barge_in, state.node, dynamic=True)
        listen = replace(self.render.listen(state, node), dtmf_choices=("1", "2"),
                         max_digits=1, digits_slot=False)
        return Step(state, [SetVariables(offered), say, listen],
                    Understanding("no_match", u.intent, u.score))

    def answered(self, state: DialogState, node: Node, event: DialogEvent,
                 facts: Mapping[str, Any]) -> Step | None:
        """The caller's answer (see the module); None: a new request, to be heard as such."""
        assert state.confirming is not None
        intent, entry_id, tries, question = state.confirming[1]
        state = replace(state, confirming=None)
        if isinstance(event, CallerInput):
            chosen = self._chosen(intent, entry_id, event, state, node, facts)
        else:
            chosen = None if not isinstance(event, NoInput) else "?"
        if chosen is None:
            return None
        if chosen == "":
            return self.walker.failed(state, node, "no_match", facts,
                                      Understanding("no_match", "deny", 1.0))
        if chosen == "?":
            if tries == 0:  # once more, then the service as before
                u = Understanding("no_match", intent, 0.0, answer=entry_id)
                return self.ask(state, node, u, question, tries=1)
            chosen = intent
        state = replace(state, variables={**state.variables, "offer_taken": chosen})
        record = SetVariables({"offer_taken": chosen})
        if chosen == intent:
            assert node.menu is not None
            choice = next(c for c in node.menu.choices if c.intent == intent)
            u = Understanding("match", intent, 1.0, choice=choice.goto)
            step = self.walker.chosen(state, node, choice, u, facts)
        else:
            step = self.answering.answer_entry(state, node, entry_id, question)
        return replace(step, actions=[record, *step.actions])

    def _chosen(self, intent: str, entry_id: str, event: CallerInput, state: DialogState,
                node: Node, facts: Mapping[str, Any]) -> str | None:
        """`intent`, `entry_id`, "" (neither), "?" (unclear) or None (a new request)."""
        if event.kind == "dtmf":
            return {"1": intent, "2": entry_id}.get(event.text)  # another key: its choice
        language = state.language
        base = "zh" if is_chinese(language) else "en"
        text = event.text.lower()
        profile = self.walker.profile(state)
        if global_match(self.plan, ranked(self.plan, event.text, language, profile,
                                          list(self.plan.global_choices))) is not None:
            return None  # "转人工", "我喘不上气": heard as the request it is
        if any(w in text for w in NEITHER[base]):
            return ""
        for chosen, words in zip((intent, entry_id), ORDINALS[base], strict=True):
            if any(w in text for w in words):
                return chosen
        said = _words(event.text, language)
        label = self.render.text(self.plan.intents[intent].label or intent, language)
        by_service = bool(said & _words(label, language))
        by_entry = bool(said & _words(self._title(node, entry_id, language), language))
        if by_service != by_entry:  # one of the two named by a word of its own
            return intent if by_service else entry_id
        heard = ranked(self.plan, event.text, language, profile, choices_at(self.plan, node))
        d = self.plan.defaults
        floor = d.confirm_threshold if d.confirm_threshold is not None else d.intent_threshold
        top = heard[0] if heard and heard[0].score >= floor else None
        by_service = top is not None and top.intent == intent
        nearest = self._nearest(node, event, language, facts)
        by_entry = nearest is not None and nearest[0] == entry_id
        if by_service != by_entry:
            return intent if by_service else entry_id
        if top is not None and top.intent != intent and top.score >= d.intent_threshold:
            return None  # another request of this menu
        if nearest is not None and nearest[0] != entry_id and nearest[1]:
            return None  # a question another entry answers
        if extract_yes_no(event.text, language) is False:
            return ""
        return "?"

    def _nearest(self, node: Node, event: CallerInput, language: str,
                 facts: Mapping[str, Any]) -> tuple[str, bool] | None:
        """The base's nearest entry to the reply, and whether the base answers it."""
        target = self.plan.nodes.get(node.menu.questions or "") if node.menu else None
        if target is None or target.answer is None or self.library is None:
            return None
        spec = target.answer
        hits = self.library.index(spec.knowledge, language).search(
            event.text, facts.get("meaning"), k=2)
        if not hits:
            return None
        confident = decide(hits, spec.threshold(language), language).kind == "answer"
        return hits[0].entry.id, confident

    def _title(self, node: Node, entry_id: str, language: str) -> str:
        target = self.plan.nodes.get(node.menu.questions or "") if node.menu else None
        entry = (self.library.entry(target.answer.knowledge, language, entry_id)
                 if target is not None and target.answer is not None and self.library
                 else None)
        return spoken_title(entry.title if entry is not None else entry_id, language)
