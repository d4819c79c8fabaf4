"""What an English caller says is *not* the request, taken out before matching.

Callers tell the story around their request, and the story names other services: "my wifi
is out, and I called last week about my bill but this is different", "I paid my bill on
time so why have I got no internet", "I'm not calling about the bill, I just want to add
some credit". A keyword is heard wherever it is said, so the bill's "about my bill" (0.99)
took the first and tied the third; the words of such an aside are evidence against the
intent they name, not for it. `without_asides` removes three kinds of aside:

- a **negated mention**: "I'm not calling about X", "it's not about X", "nothing to do
  with X", "not X, ..." before the request ("not the bill, the internet");
- an **earlier call** said to be another matter: "I called / rang / phoned (you) (last week)
  about X but this is different / but that's not it" (without such an ending an earlier call
  is the same matter again, "I rang yesterday about the internet and it's still down", and
  stays);
- a **done payment** with a time, then "so" or "but": "I paid my bill on time so why ...",
  "I topped up last week but now ..." (a time or "already" and the turn are required: "I
  paid my bill twice" is a bill question and stays).

Only whole clauses go, never single words, and only while a request of two words or more
(one a content word) is left: "I'm not calling about the bill" alone stays as it was. It
runs in `english_dialect.standard_english`, for every English profile, before the opening is
taken off (`english_openers`), so an opening the aside uncovers goes too.
"""

from __future__ import annotations

import functools
import re

from ivr.understanding.english_wording import STOP_WORDS

__all__ = ["ASIDES", "without_asides"]

# a short noun phrase ("my bill", "the internet thing", "a top up"), ended by punctuation,
# the end, or a word that starts the next clause
_END = (r"(?=\s*(?:[,.;:!?]|$)|\s+(?:but|and|so|because|cause|i|i'm|i've|i'd|i\s+just|just|"
        r"this|that|it's|it|now|can|could|please|though)\b)")
_NP = r"(?:(?:the|my|a|an|your|our|me)\s+)?[\w'-]+(?:\s+[\w'-]+){0,2}?" + _END
_TIME = (r"(?:\s+(?:on\s+time|already|in\s+full|yesterday|earlier(?:\s+today)?|before|recently"
         r"|last\s+\w+|this\s+(?:morning|week|month)|the\s+other\s+day|today"
         r"|(?:a\s+(?:few|couple\s+of)\s+|\w+\s+)?(?:days?|weeks?|months?)\s+ago))")
_NOT_IT = (r"(?:[\s,]+(?:but|and)\s+(?:this|that|it)(?:'s|\s+is)\s+(?:(?:something\s+)?"
           r"(?:different|else|separate)|not\s+(?:it|the\s+problem|the\s+issue|why\s+i'm\s+"
           r"(?:calling|ringing|phoning))|another\s+(?:thing|matter|problem)))")
_PAID = (r"(?:paid|topped\s+up|topped\s+it\s+up)"
         r"(?:\s+(?:the|my|our)\s+(?:bill|phone|mobile|account|credit|balance))?")
_CALL = r"(?:called|rang|rung|phoned|rang\s+up|called\s+up|phoned\s+up|contacted\s+you)"
ASIDES: tuple[str, ...] = (
    # a negated mention: "I'm not calling about the bill", "it's not about my bill"
    r"(?:i'm|i\s+am|we're|we\s+are)\s+not\s+(?:calling|ringing|phoning|here|after\s+help)"
    r"\s+(?:about|for|regarding|with)\s+" + _NP,
    r"(?:(?:it's|it\s+is|this\s+is|that's|that\s+is)\s+not|(?:it|this|that)\s+isn't)"
    r"(?:\s+really)?\s+(?:about|regarding|for)\s+" + _NP,
    r"(?:it's\s+|this\s+is\s+)?nothing\s+to\s+do\s+with\s+" + _NP,
    # an earlier call about something: "I called last week about my bill but this is different"
    r"(?:i|we)\s+(?:already\s+|just\s+)?" + _CALL + r"(?:\s+you)?" + _TIME + r"?"
    r"\s+(?:about|regarding|for|over)\s+" + _NP + _TIME + r"?" + _NOT_IT,
    # a payment done, with a time: "I paid my bill on time so", "I topped up last week but"
    r"(?:i|we)(?:'ve|\s+have)?\s+(?:already\s+" + _PAID + _TIME + r"?|" + _PAID + _TIME + r")"
    r"(?:" + _NOT_IT + r"|[\s,]+(?:so|but))",
)
_ASIDE = re.compile(r"(?<![\w'])(?:" + "|".join(ASIDES) + r")(?![\w'])[\s,.;:!?-]*",
                    re.IGNORECASE)
_WORD = re.compile(r"[a-z']+")


@functools.lru_cache(maxsize=8192)
def without_asides(text: str) -> str:
    """`text` without its negated mentions, earlier calls and done payments ("my wifi is out
    and I called last week about my bill but this is different" -> "my wifi is out and"), as
    long as a request of two words or more, one of them a content word, is left; else `text`
    unchanged."""
    out = _ASIDE.sub(" ", text)
    if out == text:
        return text
    out = " ".join(out.split()).strip(" ,.;:!?-")
    return out if _is_request(out) else text


def _is_request(text: str) -> bool:
    words = _WORD.findall(text.lower())
    return len(words) >= 2 and any(w.split("'")[0] not in STOP_WORDS for w in words)
