"""What the caller chose at a listening node: a key, an intent said clearly enough, or a
slot value. The node's own choices and the dialplan's global ones (agent, crisis) compete;
a global choice said clearly ("转人工", "我胸口疼") wins over a slot value. Pure.
"""

from __future__ import annotations

import datetime as dt

from ivr.dialplan.actions import CallerInput, Understanding
from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Choice, Node
from ivr.understanding.intents import IntentMatch, match_intents
from ivr.understanding.profiles import LanguageProfile
from ivr.understanding.slots import extract_slot, keyed_slot

GLOBAL_WINS = 0.85  # a global choice scoring this high beats slot values and read-backs


def choices_at(plan: Dialplan, node: Node) -> list[Choice]:
    """What the caller can choose at `node`: its menu's choices, then the global ones."""
    return (node.menu.choices if node.menu else []) + list(plan.global_choices)


def ranked(plan: Dialplan, text: str, language: str, profile: LanguageProfile | None,
           choices: list[Choice]) -> list[IntentMatch]:
    """Intent scores of the choices, best first; on a tie a global choice (agent,
    crisis) comes before the node's own."""
    names = list(dict.fromkeys(c.intent for c in choices if c.intent))
    glob = {c.intent for c in plan.global_choices}
    matches = match_intents(text, plan.intents, language, names, profile)
    return sorted(matches, key=lambda m: (m.score, m.intent in glob), reverse=True)


def global_match(plan: Dialplan, matches: list[IntentMatch]) -> Choice | None:
    """The global choice said clearly (keyword-strength score), if any."""
    if matches and matches[0].score >= GLOBAL_WINS:
        return next((c for c in plan.global_choices if c.intent == matches[0].intent), None)
    return None


def understand(plan: Dialplan, node: Node, event: CallerInput, language: str,
               profile: LanguageProfile | None,
               now: dt.datetime) -> tuple[Choice | None, Understanding]:
    """The choice taken (None: a slot value, or nothing understood) and what was heard."""
    choices = choices_at(plan, node)
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
    threshold = plan.defaults.intent_threshold
    matches = ranked(plan, event.text, language, profile, choices)
    if node.gather:
        value = extract_slot(node.gather.slot, event.text, language, now)
        # a global choice said clearly ("转人工", "我胸口疼") wins over any slot value
        urgent = global_match(plan, matches)
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


def vocabulary(plan: Dialplan, language: str) -> list[str]:
    """The dialplan's own words for `language` (keywords, then examples): hotwords."""
    from ivr.understanding.intents import _for_language

    words: list[str] = []
    for intent in plan.intents.values():
        words += _for_language(intent.keywords, language)
    for intent in plan.intents.values():
        words += _for_language(intent.examples, language)
    return words
