"""Lint of how well matching by meaning can work on a dialplan's intents (issue 17, round 8):

- `few-examples` (warning): with matching by meaning on (the default), an intent a menu offers (one
  of its choices or a global choice) and matched by meaning has fewer than FEW_EXAMPLES
  examples in a language of the dialplan. The meaning's classifier learns an intent from its
  examples only: the shipped hotline cut to its first 4 / 6 / 10 / 15 examples per intent and
  language decided 55.6% / 75.0% / 87.8% / 93.9% of its development requests right against
  98.5% with all of them (25 or more; benchmarks/intent_variants_dev.yaml, off-topic requests
  left alone 97.9% / 97.9% / 95.8% / 95.8% / 100%), and two integrator-style dialplans with
  3-5 examples (benchmarks/dialplans/utility.yaml, parcel.yaml) understood 50-65% of their
  colloquial development requests. Not for crisis intents (`semantic: false`), routing
  phrases matched only as said (`fuzzy: false`) or intents with no examples at all (keyword
  intents: yes, no, a language's name).
"""

from __future__ import annotations

from ivr.dialplan.loader import Issue, LoadedDialplan
from ivr.understanding.intents import _for_language

__all__ = ["FEW_EXAMPLES", "meaning_issues"]

FEW_EXAMPLES = 10


def _offered(loaded: LoadedDialplan) -> list[str]:
    """The intents some menu offers or a global choice names, in the dialplan's order."""
    plan = loaded.plan
    names = {c.intent for c in plan.global_choices if c.intent}
    for node in plan.nodes.values():
        if node.menu is not None:
            names |= {c.intent for c in node.menu.choices if c.intent}
    return [n for n in plan.intents if n in names]


def meaning_issues(loaded: LoadedDialplan) -> list[Issue]:
    plan, pos = loaded.plan, loaded.positions
    if not plan.semantic.enabled:
        return []
    out: list[Issue] = []
    for name in _offered(loaded):
        intent = plan.intents[name]
        if not intent.semantic or not intent.fuzzy or not intent.examples:
            continue  # crisis phrases, phrases matched as said, keyword-only intents
        for language in plan.languages:
            n = len(_for_language(intent.examples, language))
            if n >= FEW_EXAMPLES:
                continue
            out.append(pos.issue(
                ("intents", name, "examples"),
                f"intent {name!r} has {n} example(s) in {language}: matching by meaning "
                f"learns an intent from its examples, and with fewer than {FEW_EXAMPLES} "
                "it understands far fewer callers (write 10-25, as callers speak: "
                "colloquial, indirect, in dialect)", "warning", "few-examples"))
    return out
