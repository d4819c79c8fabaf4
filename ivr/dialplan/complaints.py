"""A grievance naming another intent's object goes to the dialplan's complaint intent
(issue 17, round 10).

"停电三天了都没人管" holds the outage's keyword 停电, "the man who read the meter damaged my
gate" the meter reading's "meter": the words hear those intents, yet the caller complains.
When the utterance is a grievance by its form (`ivr.understanding.grievance.is_grievance`)
and the node offers an intent that takes complaints (`complaint_intent`: most of its label
and examples are grievances by the same test; not found by its name), that intent is taken
instead of the object's. Not taken over:
- an intent never matched by meaning (crisis phrases) said clearly: it keeps its priority.
  The agent's words do not: in a grievance 客服 or "your staff" names who did wrong
  ("客服说给退，一个多月了也没退"), it does not ask for a person;
- an utterance the meaning calls clearly off-topic or about another business ("the gas man
  was rude": `meant_elsewhere`, the dialplan's off-topic class), or that holds nothing of the
  dialplan at all (no intent's words at AGREE_WORDS and the meaning's best class not one of
  its intents): a grievance about someone else is not this company's complaint.
A plain fault report or a question carries no grievance form and is left as it was. Pure.
"""

from __future__ import annotations

from typing import Any

from ivr.dialplan.actions import Understanding
from ivr.dialplan.in_passing import OFF_TOPIC
from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Choice
from ivr.understanding.grievance import complaint_intent, is_grievance
from ivr.understanding.intents import IntentMatch, _for_language
from ivr.understanding.semantic import SemanticIndex

GRIEVANCE_WORDS = 0.3  # the least words' score that says the grievance is about this trade
GRIEVANCE_SCORE = 0.85  # the score a grievance taken for the complaint intent is given


def plan_complaint_intent(plan: Dialplan, language: str, names: list[str]) -> str | None:
    """Which of `names` (intents offered at a node) takes complaints, by its label and
    examples in `language` (`grievance.complaint_intent`)."""
    texts: dict[str, tuple[str, ...]] = {}
    for name in names:
        intent = plan.intents.get(name)
        if intent is None or not intent.semantic:
            continue
        label = intent.label
        said = label.get(language) if isinstance(label, dict) else label
        texts[name] = tuple(t for t in [said, *_for_language(intent.examples, language)] if t)
    return complaint_intent(texts, language)


def grievance_choice(plan: Dialplan, text: str, language: str, choices: list[Choice],
                     matches: list[IntentMatch], meaning: Any = None,
                     index: SemanticIndex | None = None, global_wins: float = 0.85,
                     ) -> tuple[Choice, Understanding] | None:
    """The complaint intent's choice when `text` is a grievance about this dialplan's trade
    (see the module); None: recognition goes on as before."""
    if not is_grievance(text, language):
        return None
    names = list(dict.fromkeys(c.intent for c in choices if c.intent))
    target = plan_complaint_intent(plan, language, names)
    if target is None:
        return None
    if matches and matches[0].score >= global_wins and (
            not plan.intents[matches[0].intent].semantic):
        return None  # a crisis phrase said clearly keeps its priority
    if matches and matches[0].intent == target and (
            matches[0].score >= plan.defaults.intent_threshold):
        return None  # already heard: the usual path takes it
    if not _about_this_trade(plan, language, matches, meaning, index):
        return None
    choice = next(c for c in choices if c.intent == target)
    return choice, Understanding("match", target, GRIEVANCE_SCORE, choice=choice.goto)


def _about_this_trade(plan: Dialplan, language: str, matches: list[IntentMatch],
                      meaning: Any, index: SemanticIndex | None) -> bool:
    """Does the grievance concern something this dialplan deals with: some intent's words
    heard (GRIEVANCE_WORDS) or the meaning's best class one of its intents, and the meaning
    not clearly elsewhere (another business, the off-topic class)?"""
    words = bool(matches) and matches[0].score >= GRIEVANCE_WORDS
    if meaning is None or index is None:
        return words
    from ivr.dialplan.recognition import OVERRULE, meant_elsewhere

    if meant_elsewhere(index, meaning, language):
        return False
    ranked = index.probabilities(meaning, language) if (
        plan.semantic.method == "classifier") else []
    if ranked and ranked[0][0] == OFF_TOPIC and ranked[0][1] >= OVERRULE:
        return False
    return words or bool(ranked and ranked[0][0] in plan.intents)
