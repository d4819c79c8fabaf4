"""The dialogue engine: pure `step(state, event, facts) -> Step`. No I/O, no clocks.

The engine walks nodes until one needs something from outside (caller input for `menu` and
`gather`, an HTTP answer for `webhook`) or the call ends (`transfer`, `hangup`), emitting the
actions the call must perform on the way. `facts` brings what the engine may not fetch itself:
the current time (for `hours`) and the caller's emotion (for conditions).

This module decides what an event means for the call (a profile detected, the caller upset,
an answer, a choice, a failed attempt); the parts live next to it: the state (`state.py`),
the verbs (`verbs.py`), recognising a choice (`recognition.py`), yes/no questions and slot
filling (`confirmation.py`), and prompts, templates and values (`rendering.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ivr.dialplan.actions import (
    CALL_RESULTS,
    Action,
    AgentLeft,
    CallerInput,
    DialogEvent,
    MessageRecorded,
    NoInput,
    SetLanguage,
    SetVariables,
    TransferFailed,
    Understanding,
)
from ivr.dialplan.answering import ANSWER, Answering
from ivr.dialplan.confirmation import INTENT, Confirmation
from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Consent, Node
from ivr.dialplan.question_service import offer_over_unsure
from ivr.dialplan.recognition import GLOBAL_WINS, semantic_examples, understand, vocabulary
from ivr.dialplan.service_or_answer import OFFER, ServiceOrAnswer
from ivr.dialplan.state import DialogState, History, Step, moved
from ivr.dialplan.survey import Surveying
from ivr.dialplan.verbs import NodeWalker
from ivr.understanding.clauses import meaning_of
from ivr.understanding.knowledge import KnowledgeLibrary
from ivr.understanding.profiles import LanguageProfile, normalise_for, resolve_profiles
from ivr.understanding.semantic import Encoder, SemanticIndex, default_encoder

__all__ = ["INTENT", "DialogEngine", "DialogState", "History", "Step"]


class DialogEngine:
    """Stateless over one dialplan; the state travels in `DialogState`."""

    def __init__(self, plan: Dialplan,
                 profiles: Mapping[str, LanguageProfile] | None = None,
                 encoder: Encoder | None = None) -> None:
        plan = with_consent_node(plan)
        self.plan = plan
        base = dict(profiles) if profiles is not None else resolve_profiles()
        self.profiles = resolve_profiles(plan.profiles, base)
        self._walker = NodeWalker(plan, self.profiles)
        self._render = self._walker.render
        self._confirmation = Confirmation(self._walker)
        # the intents' examples as vectors (embedded once per dialplan content)
        self.semantic = (SemanticIndex.build(semantic_examples(plan), encoder,
                                             plan.semantic.method == "classifier")
                         if plan.semantic.enabled else None)
        self._encoder = encoder
        folders = [n.answer.knowledge for n in plan.nodes.values() if n.answer is not None]
        self.knowledge = KnowledgeLibrary(folders, encoder) if folders else None
        self._answering = Answering(self._walker, self.knowledge)
        self._surveying = Surveying(self._walker)
        self._offer = ServiceOrAnswer(self._walker, self._answering, self.knowledge)

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
            return self._run(moved(state, target), [SetVariables(why)], u, facts)
        node = self.plan.nodes[state.node]
        if node.webhook is not None:
            return self._walker.webhook_answered(state, node, event, facts)
        if node.consent is not None and not isinstance(event, CALL_RESULTS):
            return self._walker.consent_answered(state, node, event, facts)
        if node.survey is not None and not isinstance(event, CALL_RESULTS):
            return self._surveying.answered(state, node, event, facts)
        if node.voicemail is not None and isinstance(event, MessageRecorded):
            return self._walker.message_recorded(state, node, event, facts)
        if node.transfer is not None and isinstance(event, AgentLeft) and (
                node.transfer.after_agent is not None):
            return self._walker.agent_left(state, node, facts)
        if node.transfer is not None and isinstance(event, TransferFailed) and (
                node.transfer.on_unavailable is not None):
            return self._walker.transfer_failed(state, node, event, facts)
        if node.listener is None or isinstance(event, CALL_RESULTS):
            return Step(state, [])  # nothing is waiting for this event
        confirm = self._confirmation
        if state.confirming is not None and state.confirming[0] == ANSWER:
            checked = self._answering.checked(state, node, event, facts)
            if checked is not None:
                return checked
            return self.step(replace(state, confirming=None), event, facts)  # a new question
        if state.confirming is not None and state.confirming[0] == OFFER:
            offered = self._offer.answered(state, node, event, facts)
            if offered is not None:
                return offered
            return self.step(replace(state, confirming=None), event, facts)  # a new request
        if state.confirming is not None and state.confirming[0] == INTENT:
            answered = confirm.intent_answered(state, node, event, facts)
            if answered is not None:
                return answered
            # the caller said something else: hear it
            return self.step(replace(state, confirming=None), event, facts)
        if state.confirming is not None:
            return confirm.read_back_answered(state, node, event, facts)
        if isinstance(event, NoInput):
            return self._walker.failed(state, node, "no_input", facts)
        if not isinstance(event, CallerInput):
            return self._walker.failed(state, node, "unintelligible", facts)
        asking = node.answer is not None  # a free question: global choices by words only
        choice, understanding = understand(self.plan, node, event, state.language,
                                           self.profile(state), self.now(facts),
                                           None if asking else facts.get("meaning"),
                                           None if asking else self.semantic, self.knowledge)
        if asking and (choice is None or understanding.score < GLOBAL_WINS):
            # only a global choice said clearly (0, 转人工, a crisis phrase) beats the question
            return self._answering.asked(state, node, event, facts, understanding)
        if choice is None and understanding.outcome == "match" and node.gather:
            return confirm.slot_filled(state, node.gather, understanding, facts)
        if choice is None and understanding.answer and node.menu is not None:
            # a service and an entry close: "<service>, or <entry>?" (question_service)
            return self._offer.ask(state, node, understanding, event.text.strip())
        if choice is None:
            unsure = confirm.unsure_intent(understanding, event, state, node)
            offer = self._offer_over_unsure(state, node, event, facts, unsure, understanding)
            if offer is not None:
                return self._offer.ask(state, node, offer, event.text.strip())
            carried = self._carried(state, node, event, facts, unsure)
            if carried is not None:
                return carried
            if unsure is not None:
                return confirm.ask_intent(state, node, unsure, understanding)
            return self._walker.failed(state, node, "no_match", facts, understanding)
        if node.menu is not None and choice.goto == node.menu.questions:
            carried = self._carried(state, node, event, facts, None, choice.intent)
            if carried is not None:
                return carried
        return self._walker.chosen(state, node, choice, understanding, facts)

    def _carried(self, state: DialogState, node: Node, event: CallerInput,
                 facts: Mapping[str, Any], unsure: tuple[str, ...] | None,
                 intent: str | None = None) -> Step | None:
        """A question asked at a menu with `questions` (no choice taken, or `intent`'s choice
        going to that answer node), answered there at once when its knowledge base answers
        it confidently (`Answering.carried`); None: the menu goes on as without it. When the
        menu would ask "did you mean ...?" (`unsure`) about an intent of another route (a
        service, a crisis), that question comes first: on the hotline's development sets an
        answer there was wrong more often than right ("what's the balance on my count"
        answered with data usage)."""
        menu = node.menu
        if menu is None or menu.questions is None or event.kind != "speech":
            return None
        routes = {c.intent for c in menu.choices if c.goto == menu.questions}
        if unsure and not set(unsure) <= routes:
            return None
        return self._answering.carried(state, menu.questions, event, facts, intent)

    def _offer_over_unsure(self, state: DialogState, node: Node, event: CallerInput,
                           facts: Mapping[str, Any], unsure: tuple[str, ...] | None,
                           u: Understanding) -> Understanding | None:
        """"<service>, or <entry>?" instead of "did you mean <service>?" when the base
        answers the question (`question_service.offer_over_unsure`)."""
        if unsure is None or len(unsure) != 1 or event.kind != "speech":
            return None
        return offer_over_unsure(self.plan, node, event, state.language, facts.get("meaning"),
                                 self.semantic, self.knowledge, unsure[0], u.score)

    def profile(self, state: DialogState) -> LanguageProfile | None:
        return self._walker.profile(state)

    def switch(self, state: DialogState, target: str) -> tuple[DialogState, SetLanguage]:
        """Change the call's language or profile: a dialplan language (en-US) or a profile
        (zh-sichuan, yue) whose prompts are in one of the dialplan's languages."""
        return self._walker.switch(state, target)

    def now(self, facts: Mapping[str, Any]) -> dt.datetime:
        """The facts' time (or the clock), in the dialplan's time zone."""
        return self._render.now(facts)

    def env(self, state: DialogState, facts: Mapping[str, Any]) -> dict[str, Any]:
        """What conditions and `{name}` templates can read."""
        return self._render.env(state, facts)

    def vocabulary(self, language: str) -> list[str]:
        """The dialplan's own words for `language` (keywords, then examples): hotwords."""
        return vocabulary(self.plan, language)

    def static_prompts(self) -> set[tuple[str, str]]:  # (knowledge answers: said on demand)
        """(text, language) of every prompt without variables, for pre-rendering."""
        return self._render.static_prompts()

    def wants_meaning(self, state: DialogState) -> bool:
        """Does what the caller says next need its vector (the fact `meaning`): intents
        matched by meaning, a question at an `answer` node, or at a menu with `questions`
        (looked up when the menu does not take it)?"""
        node = self.plan.nodes.get(state.node)
        return self.semantic is not None or node is not None and (
            node.answer is not None or (node.menu is not None and bool(node.menu.questions)))

    def meaning(self, text: str, state: DialogState) -> Any:
        """The vector of what the caller said, for matching by meaning and answering
        questions (the fact `meaning`); None when nothing needs it. Costs ~15 ms of one core:
        the call driver runs it off the event loop."""
        if not self.wants_meaning(state):
            return None
        profile = self.profile(state)
        said = normalise_for(profile, text) if profile is not None else text
        return meaning_of(self._encoder or default_encoder(), said)

    def asks_consent(self) -> bool:
        """A `consent` node decides whether the call is recorded (not from the answer)."""
        return any(n.consent is not None for n in self.plan.nodes.values())

    def sensitive_slots(self) -> set[str]:
        """Names of the slots marked `sensitive` (their values are masked when stored)."""
        return {n.gather.slot.name for n in self.plan.nodes.values()
                if n.gather and n.gather.slot.sensitive}

    # ------------------------------------------------------------ what the call feels
    def _adopt(self, state: DialogState, facts: Mapping[str, Any]) -> tuple[DialogState,
                                                                           list[Action]]:
        """The call may have detected the caller's profile (first utterance)."""
        detected = facts.get("profile")
        if detected and detected != state.profile and detected in self.profiles:
            state, action = self.switch(state, detected)
            return state, [action]
        return state, []

    def _soothe(self, state: DialogState, facts: Mapping[str, Any]) -> tuple[DialogState,
                                                                            list[Action]]:
        """Enter soothing mode when the call says the caller is upset (once)."""
        if state.soothing or not (facts.get("emotion") or {}).get("soothing"):
            return state, []
        state = replace(state, soothing=True)
        apology = self.plan.emotion.apology
        node = self.plan.nodes[state.node]
        return state, ([self._render.say(state, apology, node)] if apology is not None else [])

    def _run(self, state: DialogState, actions: list[Action],
             understanding: Understanding | None, facts: Mapping[str, Any]) -> Step:
        return self._walker.run(state, actions, understanding, facts)


def with_consent_node(plan: Dialplan) -> Dialplan:
    """The dialplan-wide `consent` question as the call's first node (named `consent`, or
    `_consent` when the dialplan has a node of that name), followed by `start`."""
    if plan.consent is None:
        return plan
    nid = "consent" if "consent" not in plan.nodes else "_consent"
    node = Node(consent=Consent.model_validate(plan.consent.model_dump()), next=plan.start)
    return plan.model_copy(update={"nodes": {nid: node, **plan.nodes}, "start": nid})
