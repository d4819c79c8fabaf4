"""A long utterance decided by its request, not by its story (issue 17, round 10).

`recognition.understand` hears the whole utterance first. When the call driver embedded the
parts of a long, rambling one too (`ivr.understanding.clauses.meaning_of`: the text kept
without the clauses the caller dismisses, and the clauses that open with a request), they
are heard the same way (words, then meaning) and decide:

1. the **kept** text replaces the whole: what the caller says is fine ("the bill is all
   sorted, thanks, but ...", 账单没什么问题就是 ...) is not what they want, whether the rest
   then names a service or nothing at all (an off-topic request);
2. a **request clause** heard clearly as a service (ASK_CLEAR: "... so could you put fifty
   pounds of credit on", 我想再充一百块进去) wins over a story that named another one, or
   named nothing clearly; the most confident of them is taken.

Safety: when the whole is heard as an intent never matched by meaning (a crisis phrase, or
a "did you mean ...?" about one), the whole stands; a part never brings such an intent that
the whole did not hear (figures of speech in a story stay figures of speech). A short
utterance (no parts embedded) is decided as before, at no extra cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ivr.dialplan.actions import Understanding
from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Choice
from ivr.understanding.clauses import parts_heard, parts_of

__all__ = ["by_clauses"]

Heard = tuple[Choice | None, Understanding]

# A request clause heard only at the floor of meaning ("can someone look at it", "派个人来看看":
# agent at 0.50-0.53 on the development set, the clause alone has lost the story's "it")
# overrules nothing; the requests that said what they wanted scored 0.74-0.99 there.
ASK_CLEAR = 0.6


def _phrase_only(plan: Dialplan, intent: str | None) -> bool:
    """An intent never matched by meaning (crisis phrases, language switches)."""
    return intent is not None and intent in plan.intents and not plan.intents[intent].semantic


def by_clauses(plan: Dialplan, whole: Heard, said: str, meaning: Any,
               hear: Callable[[str, np.ndarray], Heard]) -> Heard:
    """What a long utterance (`said`, normalised, heard as `whole`) asks for, by its kept
    text and request clauses when `meaning` carries their vectors; `hear(text, vector)`
    understands a part as the whole was."""
    parts = parts_heard(meaning)
    if not parts or _phrase_only(plan, whole[1].intent):
        return whole
    kept, asks = parts_of(said)
    current = whole
    if kept is not None and kept in parts:
        heard = hear(kept, parts[kept])
        if not _phrase_only(plan, heard[1].intent):
            current = heard
    best: Heard | None = None
    for ask in asks:
        if ask not in parts:
            continue
        heard = hear(ask, parts[ask])
        choice, u = heard
        if (choice is None or u.outcome != "match" or u.score < ASK_CLEAR
                or _phrase_only(plan, u.intent)):
            continue
        if best is None or u.score > best[1].score:
            best = heard
    if best is not None and (current[0] is None or current[1].intent != best[1].intent):
        return best
    return current
