"""What the caller chose at a listening node: a key, an intent said clearly enough, or a
slot value. The node's own choices and the dialplan's global ones (agent, crisis) compete;
a global choice said clearly ("转人工", "我胸口疼") wins over a slot value. An intent with
`confirm: always` heard in speech is never taken at once: it comes back unsure (a no-match
naming it) for the caller to confirm (confirmation.py). Pure.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ivr.dialplan.actions import CallerInput, Understanding
from ivr.dialplan.clause_choice import by_clauses
from ivr.dialplan.complaints import grievance_choice
from ivr.dialplan.in_passing import OFF_TOPIC, named_in_passing, said_in_passing
from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Choice, Node
from ivr.dialplan.question_service import over_service
from ivr.understanding.crisis_bank import bank_rows, crisis_intents
from ivr.understanding.crisis_recall import (
    CRISIS_RECALL,
    CRISIS_RECALL_MIN_ASR,
    CRISIS_RECALL_OVER_WORDS,
    crisis_by_meaning,
    crisis_heard_thinned,
)
from ivr.understanding.everyday_requests import EVERYDAY, everyday_for
from ivr.understanding.intents import IntentMatch, match_intents
from ivr.understanding.knowledge import KnowledgeLibrary
from ivr.understanding.profiles import LanguageProfile, normalise_for
from ivr.understanding.semantic import PHRASE_CLASS, Decision, SemanticIndex, decide
from ivr.understanding.slots import extract_slot, keyed_slot

GLOBAL_WINS = 0.85  # a global choice scoring this high beats slot values and read-backs
OVERRULE = 0.8  # the least probability of a meaning that overrules weak words
VETO_WORDS_BELOW = 0.6  # words this weak give way to a clearly off-topic meaning (asked)
WORDS_TIE = 0.03  # two intents' words this close: the meaning decides between them
AGREE_WORDS = 0.3  # words and meaning agreeing: the least words' score ...
AGREE_PROBABILITY = 0.3  # ... and the least probability (the meaning's top class)


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


def needs_confirming(plan: Dialplan, intent: str | None, event: CallerInput) -> bool:
    """Must the caller confirm this intent before it is acted on (`confirm: always`, heard
    in speech)?"""
    return (event.kind == "speech" and intent is not None
            and plan.intents[intent].confirm == "always")


def understand(plan: Dialplan, node: Node, event: CallerInput, language: str,
               profile: LanguageProfile | None, now: dt.datetime,
               meaning: Any = None, index: SemanticIndex | None = None,
               library: KnowledgeLibrary | None = None,
               ) -> tuple[Choice | None, Understanding]:
    """The choice taken (None: a slot value, or nothing understood) and what was heard.
    `meaning` (the utterance's vector) and `index` (the dialplan's) add matching by meaning
    when no intent's words match well enough. An intent to be confirmed first comes back as
    a no-match naming it, with its score (except at an `answer` node, whose question would
    take it instead). At a menu with `questions`, a question a service intent heard goes to
    the answer node when the dialplan's knowledge base (`library`) answers it better
    (`question_service`)."""
    choice, u = _understand(plan, node, event, language, profile, now, meaning, index)
    if event.kind == "speech" and index is not None:  # a long request: by its parts
        said = normalise_for(profile, event.text) if profile is not None else event.text
        choice, u = by_clauses(plan, (choice, u), said, meaning, lambda text, vector: (
            _understand(plan, node, CallerInput("speech", text, event.confidence), language,
                        profile, now, vector, index)))
    asked = over_service(plan, node, event, language, meaning, index, library, choice, u)
    if asked is not None:
        return asked
    if choice is not None and node.answer is None and needs_confirming(plan, u.intent, event):
        return None, Understanding("no_match", u.intent, u.score)
    return choice, u


def _understand(plan: Dialplan, node: Node, event: CallerInput, language: str,
                profile: LanguageProfile | None, now: dt.datetime,
                meaning: Any = None, index: SemanticIndex | None = None,
                ) -> tuple[Choice | None, Understanding]:
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
    sense = meaning is not None and index is not None and not node.gather
    recall = (not node.gather and event.confidence >= CRISIS_RECALL_MIN_ASR and not any(
        m.score >= threshold for m in matches if not plan.intents[m.intent].semantic))
    if recall:  # no crisis rule matched as heard: once more without a slipped-in word
        urgent = crisis_heard_thinned(plan, language, profile, event.text, choices)
        if urgent is None and sense:  # then by meaning
            assert index is not None
            service = max((m.score for m in matches if plan.intents[m.intent].semantic),
                          default=0.0)
            urgent = crisis_by_meaning(plan, index, meaning, language, profile, event.text,
                                       choices, CRISIS_RECALL_OVER_WORDS
                                       if service >= GLOBAL_WINS else CRISIS_RECALL)
        if urgent is not None:
            return urgent
    if not node.gather:  # a grievance naming another intent's object: the complaint intent
        grieved = grievance_choice(plan, event.text, language, choices, matches,
                                   meaning if sense else None, index, GLOBAL_WINS)
        if grieved is not None:  # ... unless another business is named (燃气, "gas")
            return unless_in_passing(plan, language, profile, event.text, grieved)
    if matches and matches[0].score >= threshold:
        best = matches[0]
        if sense:
            assert index is not None
            tie = tie_broken_by_meaning(plan, index, meaning, language, choices, matches)
            if tie is not None:
                best = tie
            elif tie_undecided(plan, index, meaning, language, matches):
                # "did you mean X or Y?" (ivr.dialplan.confirmation) rather than a coin toss
                return None, Understanding("no_match", best.intent,
                                           round(threshold - 0.001, 3))
            else:
                overruled = overruled_by_meaning(plan, index, meaning, language, choices, best)
                if overruled is not None:
                    return overruled
                if vetoed_as_off_topic(plan, index, meaning, language, best) or (
                        said_in_passing(plan, index, meaning, language, profile, event.text,
                                        best)):
                    # not taken; asked about ("did you mean ...?") when it has a label
                    unsure = min(best.score, threshold - 0.001)
                    return None, Understanding("no_match", best.intent, round(unsure, 3))
        choice = next(c for c in choices if c.intent == best.intent)
        return choice, Understanding("match", best.intent, best.score, choice=choice.goto)
    if sense:
        assert index is not None
        meant = by_meaning(plan, index, meaning, language, choices)
        if meant is None and matches:
            meant = agreed(plan, index, meaning, language, choices, matches[0])
        if meant is not None and not meant_elsewhere(index, meaning, language):
            return unless_in_passing(plan, language, profile, event.text, meant)
    top = matches[0] if matches else None
    return None, Understanding("no_match", top.intent if top else None,
                               top.score if top else 0.0)


def unless_in_passing(plan: Dialplan, language: str, profile: LanguageProfile | None,
                      text: str, taken: tuple[Choice | None, Understanding]
                      ) -> tuple[Choice | None, Understanding]:
    """`taken` (a match by meaning or by agreement), unless its intent was named in passing
    (`in_passing.named_in_passing`: "交通卡怎么在手机上充值"): then a no-match naming it just
    below the threshold, asked about ("did you mean ...?") when it has a label."""
    choice, u = taken
    if choice is None or u.intent is None or not named_in_passing(
            plan, language, profile, text, u.intent):
        return taken
    unsure = min(u.score, plan.defaults.intent_threshold - 0.001)
    return None, Understanding("no_match", u.intent, round(unsure, 3))


def by_meaning(plan: Dialplan, index: SemanticIndex, meaning: Any, language: str,
               choices: list[Choice]) -> tuple[Choice, Understanding] | None:
    """The choice whose intent the utterance means, clearly ahead of the others; intents
    marked `semantic: false` (crisis phrases) are never reached this way."""
    decision = meant(plan, index, meaning, language, choices)
    if decision is None or decision.intent is None:
        return None
    cfg = plan.semantic
    floor = cfg.min_probability if cfg.method == "classifier" else cfg.threshold(language)
    threshold = plan.defaults.intent_threshold
    strength = (decision.similarity - floor) / max(1e-6, 1.0 - floor)
    score = round(min(0.99, threshold + (1.0 - threshold) * strength), 3)
    choice = next(c for c in choices if c.intent == decision.intent)
    return choice, Understanding("match", decision.intent, score, choice=choice.goto)


def meant(plan: Dialplan, index: SemanticIndex, meaning: Any, language: str,
          choices: list[Choice]) -> Decision | None:
    """What the meaning decides among the choices' intents matched by meaning (None, or a
    Decision whose `intent` is None: nothing near enough, too close a call, an off-topic
    request, or with the classifier an intent not offered here). A language without a
    classifier (its examples name a single intent) is decided by its nearest example."""
    names = [c.intent for c in choices if c.intent and plan.intents[c.intent].semantic]
    cfg = plan.semantic
    if cfg.method == "classifier" and language in index.classifiers:
        decision = decide(index.probabilities(meaning, language), cfg.min_probability,
                          cfg.probability_margin)
    else:
        decision = decide(index.scores(meaning, language, [*names, OFF_TOPIC]),
                          cfg.threshold(language), cfg.margin)
    if decision is None or decision.intent in (None, OFF_TOPIC) or decision.intent not in names:
        return None
    return decision


def overruled_by_meaning(plan: Dialplan, index: SemanticIndex, meaning: Any, language: str,
                         choices: list[Choice], words: IntentMatch,
                         ) -> tuple[Choice, Understanding] | None:
    """Another intent the caller clearly means (probability >= OVERRULE) when the words'
    match is weak (below `semantic.overrule_words_below`): "手机没钱了，整点话费" matches the
    bill's keyword 话费 (0.89) but means a top-up. The words of intents never matched by
    meaning (crisis phrases) are never overruled."""
    cfg = plan.semantic
    below = cfg.overrule_words_below
    if (cfg.method != "classifier" or below is None or words.score >= below
            or not plan.intents[words.intent].semantic):
        return None
    decision = meant(plan, index, meaning, language, choices)
    if decision is None or decision.intent in (None, words.intent) or (
            decision.similarity < OVERRULE):
        return None
    return by_meaning(plan, index, meaning, language, choices)


def _probability(plan: Dialplan, index: SemanticIndex, meaning: Any, language: str
                 ) -> dict[str, float]:
    """intent -> the classifier's probability (empty: no classifier for `language`)."""
    if plan.semantic.method != "classifier":
        return {}
    return dict(index.probabilities(meaning, language))


def tie_broken_by_meaning(plan: Dialplan, index: SemanticIndex, meaning: Any, language: str,
                          choices: list[Choice], matches: list[IntentMatch]
                          ) -> IntentMatch | None:
    """When the words hear two intents about equally (within WORDS_TIE: 话费 names the bill,
    预存 asks for a top-up, both 0.89), the meaning decides between those two: the runner-up
    is taken when its probability leads by `semantic.probability_margin`. None: the words'
    order stands. Never between intents not matched by meaning (crisis phrases)."""
    if len(matches) < 2 or matches[1].score < matches[0].score - WORDS_TIE:
        return None
    first, second = matches[0], matches[1]
    if not (plan.intents[first.intent].semantic and plan.intents[second.intent].semantic):
        return None
    p = _probability(plan, index, meaning, language)
    if p.get(second.intent, 0.0) - p.get(first.intent, 0.0) >= plan.semantic.probability_margin:
        return second
    return None


def tie_undecided(plan: Dialplan, index: SemanticIndex, meaning: Any, language: str,
                  matches: list[IntentMatch]) -> bool:
    """The words hear two intents about equally and the meaning leads neither way by
    `semantic.probability_margin` ("我想问一下话费和充值"): the caller is asked which, when both
    can be asked about (labelled, not `confirm: never`, matched by meaning, and the plan asks
    at all: `confirm_threshold`)."""
    if (len(matches) < 2 or matches[1].score < matches[0].score - WORDS_TIE
            or plan.defaults.confirm_threshold is None):
        return False
    specs = [plan.intents[m.intent] for m in matches[:2]]
    if not all(s.semantic and s.fuzzy and s.label is not None and s.confirm != "never"
               for s in specs):
        return False
    p = _probability(plan, index, meaning, language)
    lead = p.get(matches[0].intent, 0.0) - p.get(matches[1].intent, 0.0)
    return abs(lead) < plan.semantic.probability_margin


def vetoed_as_off_topic(plan: Dialplan, index: SemanticIndex, meaning: Any, language: str,
                        words: IntentMatch) -> bool:
    """Weak words (below VETO_WORDS_BELOW: a partial likeness to an example) are not taken
    when the meaning is clearly one of the dialplan's off-topic requests (probability >=
    OVERRULE): "帮我查一下明天的航班" is like "帮我查一下账单" by its characters only. The
    caller is asked instead (a misheard "can you check my pill" looks the same). Never for
    an intent not matched by meaning; not with `overrule_words_below: null`."""
    if (plan.semantic.overrule_words_below is None or words.score >= VETO_WORDS_BELOW
            or not plan.intents[words.intent].semantic):
        return False
    return _probability(plan, index, meaning, language).get(OFF_TOPIC, 0.0) >= OVERRULE or (
        meant_elsewhere(index, meaning, language))


def meant_elsewhere(index: SemanticIndex, meaning: Any, language: str) -> bool:
    """Does the utterance clearly (OVERRULE) mean something no intent does, by the classifier
    that also learnt everyday requests (weather, jokes, taxis: `everyday_requests`)? Only a
    dialplan with a short off-topic list has that classifier: "明儿个下不下雨啊" had reached a
    utility's outage intent by meaning at 0.63 (issue 17, round 8). A match by meaning, or
    by weak words and meaning agreeing, is then not taken; weak words are asked about."""
    return index.elsewhere(meaning, language, OFF_TOPIC) >= OVERRULE


def agreed(plan: Dialplan, index: SemanticIndex, meaning: Any, language: str,
           choices: list[Choice], words: IntentMatch
           ) -> tuple[Choice | None, Understanding] | None:
    """Words and meaning each too weak alone but pointing the same way: the words' best
    intent (at least AGREE_WORDS) is also the meaning's most probable class, at
    AGREE_PROBABILITY or more ("给我闺女手机冲个五十": the words 0.38 and the meaning 0.35
    both say top_up). Ahead of the runner-up class (often the off-topic one) by
    `semantic.probability_margin`, it is taken (scored as the mean of the two, at least the
    threshold); closer, the caller is asked "did you mean ...?" (a no-match naming it, at
    the mean, at least `confirm_threshold`)."""
    if words.score < AGREE_WORDS or not plan.intents[words.intent].semantic:
        return None
    ranked_meaning = index.probabilities(meaning, language) if (
        plan.semantic.method == "classifier") else []
    if not ranked_meaning or ranked_meaning[0][0] != words.intent or (
            ranked_meaning[0][1] < AGREE_PROBABILITY):
        return None
    choice = next((c for c in choices if c.intent == words.intent), None)
    if choice is None:
        return None
    d = plan.defaults
    mean = (words.score + ranked_meaning[0][1]) / 2
    runner_up = ranked_meaning[1][1] if len(ranked_meaning) > 1 else 0.0
    if ranked_meaning[0][1] - runner_up < plan.semantic.probability_margin:
        unsure = min(max(mean, d.confirm_threshold or 0.0), d.intent_threshold - 0.001)
        return None, Understanding("no_match", words.intent, round(unsure, 3))
    score = round(max(d.intent_threshold, mean), 3)
    return choice, Understanding("match", words.intent, score, choice=choice.goto)


def semantic_examples(plan: Dialplan) -> dict[str, list[tuple[str, str]]]:
    """language -> [(intent, text)]: the examples and keywords of intents matched by meaning,
    the dialplan's off-topic requests (as `OFF_TOPIC`; topped up with everyday requests, as
    EVERYDAY + `OFF_TOPIC`, when it lists fewer than `everyday_requests.TOP_UP_TO`) and the
    examples of the global intents never matched by meaning (crisis, as PHRASE_CLASS + name:
    `crisis_by_meaning`)."""
    from ivr.understanding.intents import _for_language

    out: dict[str, list[tuple[str, str]]] = {}
    for language in plan.languages:
        out[language] = [(name, text) for name, intent in plan.intents.items()
                         if intent.semantic
                         for text in [*_for_language(intent.examples, language),
                                      *(k.replace("*", " ") for k in
                                        _for_language(intent.keywords, language))]]
        own = _for_language(plan.semantic.off_topic, language)
        out[language] += [(OFF_TOPIC, text) for text in own]
        # a short or missing off-topic list: everyday requests too (dropped in
        # SemanticIndex.build when near one of the dialplan's examples)
        out[language] += [(EVERYDAY + OFF_TOPIC, text)
                          for text in everyday_for(language, len(own))]
        out[language] += [(PHRASE_CLASS + name, text) for name in crisis_intents(plan)
                          for text in _for_language(plan.intents[name].examples, language)]
        out[language] += bank_rows(plan, language)  # built-in crisis wordings (crisis_bank)
    return out


def vocabulary(plan: Dialplan, language: str) -> list[str]:
    """The dialplan's own words for `language` (keywords, then examples): hotwords."""
    from ivr.understanding.intents import _for_language

    words: list[str] = []
    for intent in plan.intents.values():  # (a gap's parts, written together)
        words += [k.replace("*", "") for k in _for_language(intent.keywords, language)]
    for intent in plan.intents.values():
        words += _for_language(intent.examples, language)
    return words
