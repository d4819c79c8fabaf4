"""Crisis phrases heard with a word slipped in (issue 17, round 8).

The crisis intents' phrase rules are written as callers say them plainly: 叫也不答应,
"chest * squeezing", "if i was gone". Callers in distress insert what carries no meaning:
a pronoun (叫她也不答应, 喊他都不应), a particle (透不过气啊), a hesitation or a hedge
("my chest is, er, sort of squeezing", "I've been, um, you know, hurting myself"), and a
recogniser writes the hesitation as a clause of its own, which a gap never spans. Adding
every such form to every rule would double the lists; instead the caller's text is
*thinned* (those words taken out, with the commas around a hesitation) and the crisis
intents' own rules are tried once more on what is left, with their exclusions and their
negation check as before. Only the words listed here go: none of them can turn a complaint
into a crisis (a pronoun, a modal particle, "um", "sort of", "just"), so the rules decide
as they would have on the plain wording.

Used by recognition (`crisis_recall.crisis_heard_thinned`) when no crisis rule matched the
text as heard, before the recall by meaning and in a dialplan without it (clinic.yaml);
`said_otherwise` (laughter, figures of speech, denials) still applies. Pure.
"""

from __future__ import annotations

import re

from ivr.dialplan.models import Dialplan
from ivr.understanding.intents import IntentMatch, is_chinese, match_intents
from ivr.understanding.negation import EN_HESITATIONS
from ivr.understanding.profiles import LanguageProfile, normalise_for

__all__ = ["EN_SLIPPED_IN", "ZH_SLIPPED_IN", "crisis_thinned", "thinned"]

# Chinese: third-person pronouns (whose breath is said by the sentence already) and modal
# particles; never 我, 不, 没, 了 (they carry the meaning of a phrase)
ZH_SLIPPED_IN = frozenset("他她它佢啊呀哇嘛呢吧哦喔嗯噢唉哎")
# English: hesitations, hedges and intensifiers that qualify nothing a rule looks at
EN_SLIPPED_IN = ("you know", "i mean", "sort of", "kind of", "kinda", "sorta",
                 *sorted(EN_HESITATIONS), "like", "just", "really", "honestly", "actually",
                 "basically", "literally", "properly", "again")
_EN_SLIPPED = re.compile(r"[,;]?\s*\b(?:" + "|".join(
    re.escape(w) for w in sorted(EN_SLIPPED_IN, key=len, reverse=True)) + r")\b\s*[,;]?",
    re.IGNORECASE)


def thinned(text: str, chinese: bool) -> str:
    """`text` without the words a caller slips in (ZH_SLIPPED_IN, EN_SLIPPED_IN); in
    English a comma around such a word goes with it ("is, er, sort of squeezing")."""
    if chinese:
        return "".join(ch for ch in text if ch not in ZH_SLIPPED_IN)
    return " ".join(_EN_SLIPPED.sub(" ", text).split())


def crisis_thinned(plan: Dialplan, language: str, profile: LanguageProfile | None,
                   text: str, crisis: list[str]) -> IntentMatch | None:
    """The best of the `crisis` intents (phrase rules: `semantic: false`) matched at the
    dialplan's `intent_threshold` on `text` thinned, when thinning took something out;
    None otherwise. The caller checks `said_otherwise` on the text as heard."""
    if not crisis:
        return None
    chinese = is_chinese(language)
    plain = normalise_for(profile, text) if profile else text
    thin = thinned(plain, chinese)
    if not thin or thin == plain:
        return None
    matches = match_intents(thin, plan.intents, language, crisis, profile)
    if matches and matches[0].score >= plan.defaults.intent_threshold:
        return matches[0]
    return None
