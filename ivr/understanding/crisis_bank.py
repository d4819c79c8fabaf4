"""A built-in bank of crisis wordings for the recall by meaning (issue 17, round 10).

The recall classifier of `crisis_recall.crisis_by_meaning` learns what a crisis sounds like
from the crisis intents' own example sentences: a dozen per intent on the hotline, six
words on clinic.yaml, none on a dialplan written by someone else. Rounds 4-8 added wordings
to those examples from development misses; development sets rose 15-25 points, check sets
2-4. This bank (crisis_bank.yaml, next to this module) holds generic wordings of each crisis
kind (self-harm, chest pain, breathing / choking / collapse, stroke) in Mandarin and English,
written from how people in distress speak rather than from any set's misses, and adds them as
rows of the recall classifier to ANY dialplan's crisis intent of that kind.

Which intent is of which kind is read from the dialplan's own phrase rules, not its names:
the kind's wordings are run through the crisis intents' rules (`match_intents`, as the call
would be), and the intent that catches most of them (at least MIN_CAUGHT) gets the kind. A
dialplan whose breathing intent also covers someone collapsing catches the collapse rows too;
one with no stroke intent catches no stroke rows, and they are left out (a row of a kind no
intent takes would pull an unrelated crisis class towards it).

The bank's figures of speech (累死我了, "this queue is killing me") are rows of a class of
their own, FIGURATIVE: never a crisis, it only takes probability away from the crisis classes
for the hyperbole that shares their words. A dialplan with a short off-topic list gets no
bank rows (`bank_rows`): its recall classifier has too little that is not a crisis.
Pure; the bank is read once.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import yaml

from ivr.dialplan.models import Dialplan
from ivr.understanding.everyday_requests import TOP_UP_TO
from ivr.understanding.intents import _for_language, match_intents
from ivr.understanding.language_codes import base_language
from ivr.understanding.semantic import PHRASE_CLASS

__all__ = ["BANK_PATH", "FIGURATIVE", "MATCHED_ROWS", "MIN_CAUGHT", "bank", "bank_rows",
           "crisis_intents", "kinds_of"]

BANK_PATH = Path(__file__).with_name("crisis_bank.yaml")
# the recall class of the bank's figures of speech: not an intent name (a "~" never is one)
FIGURATIVE = "~figurative"
# least number of a kind's wordings an intent's rules must catch to take the kind
MIN_CAUGHT = 2
# ... of the first this many wordings of each kind and language (the rules are slow to run)
MATCHED_ROWS = 8


@functools.cache
def bank() -> tuple[dict[str, dict[str, tuple[str, ...]]], dict[str, tuple[str, ...]]]:
    """(kind -> language -> wordings, language -> figures of speech) of crisis_bank.yaml."""
    raw = yaml.safe_load(BANK_PATH.read_text(encoding="utf-8"))
    kinds = {kind: {lang: tuple(rows) for lang, rows in per.items()}
             for kind, per in raw["kinds"].items()}
    figurative = {lang: tuple(rows) for lang, rows in raw["figurative"].items()}
    return kinds, figurative


def crisis_intents(plan: Dialplan) -> list[str]:
    """The global choices' intents never matched by meaning (crisis phrases): those the
    recall classifier learns (`recognition.semantic_examples`) and the bank's kinds go to."""
    urgent = {c.intent for c in plan.global_choices if c.intent}
    return [name for name, intent in plan.intents.items()
            if name in urgent and not intent.semantic]


def kinds_of(plan: Dialplan) -> dict[str, str]:
    """kind -> the dialplan's crisis intent whose phrase rules catch most of the kind's
    first MATCHED_ROWS wordings (at least MIN_CAUGHT, over the bank languages the dialplan
    speaks). Once per content of those intents in a process (`_kinds`: ~1 s on the hotline,
    whose crisis rules are long)."""
    crisis = crisis_intents(plan)
    if not crisis:
        return {}
    key = json.dumps([plan.languages, plan.defaults.intent_threshold, crisis,
                      [plan.intents[n].model_dump(mode="json") for n in crisis]], sort_keys=True)
    if key not in _KINDS:
        _KINDS[key] = _kinds(crisis, plan)
    return dict(_KINDS[key])


_KINDS: dict[str, dict[str, str]] = {}  # `kinds_of` by the content of the crisis intents


def _kinds(crisis: list[str], plan: Dialplan) -> dict[str, str]:
    kinds, _ = bank()
    found: dict[str, str] = {}
    for kind, per in kinds.items():
        caught = dict.fromkeys(crisis, 0)
        for language in plan.languages:
            for text in per.get(base_language(language), ())[:MATCHED_ROWS]:
                best = match_intents(text, plan.intents, language, crisis)
                if best and best[0].score >= plan.defaults.intent_threshold:
                    caught[best[0].intent] += 1
        top = max(crisis, key=lambda name: caught[name])
        if caught[top] >= MIN_CAUGHT:
            found[kind] = top
    return found


def bank_rows(plan: Dialplan, language: str) -> list[tuple[str, str]]:
    """Rows (PHRASE_CLASS + intent, text) of the recall classifier for `language`: the bank's
    wordings of each kind an intent of the dialplan takes (`kinds_of`), not already among
    its examples, and, when there are any, the figures of speech as PHRASE_CLASS +
    FIGURATIVE. Only for a dialplan with an off-topic list of its own of TOP_UP_TO or more
    in `language`: against a short one the hundred extra crisis rows outweigh what is not a
    crisis (clinic.yaml, none: "给我推荐一首歌" leaned to self-harm at 0.66, and one of its
    check set's requests was taken for a crisis; with the everyday requests as FIGURATIVE
    rows too, still one near-crisis false alarm more, and on the hotline they cost recall).
    Empty for a language the bank does not hold."""
    if len(_for_language(plan.semantic.off_topic, language)) < TOP_UP_TO:
        return []
    taken = kinds_of(plan)
    if not taken:
        return []
    kinds, figurative = bank()
    base = base_language(language)
    own = {t for name in set(taken.values())
           for t in _for_language(plan.intents[name].examples, language)}
    rows = [(PHRASE_CLASS + intent, text) for kind, intent in taken.items()
            for text in kinds[kind].get(base, ()) if text not in own]
    if rows:  # ... balanced by figures of speech that are never a crisis
        rows += [(PHRASE_CLASS + FIGURATIVE, text) for text in figurative.get(base, ())]
    return rows
