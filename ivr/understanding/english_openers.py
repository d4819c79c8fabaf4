"""The conversational opening of an English request, taken off before it is matched.

English callers seldom start with their request. They greet ("yeah hi", "hello love", "good
morning"), apologise ("sorry to bother you"), hesitate ("um", "er", "right so", "so
basically"), hedge ("I might be wrong but", "not sure if this is the right option but", "I
think"), announce it ("quick question about...", "it's about...", "I'm calling
about...", "I was wondering if you could...") and only then say what they want. The words of
the dialplan skip such openings anyway (`english_wording.STOP_WORDS`), but the sentence encoder
does not: the opening shares the utterance's vector with the request, so the vector of "yeah
hi, it's about the internet thing" lies between the request and every other chatty call,
and the intent classifier's lead shrinks.

`without_opener` removes openings from the start of the text, one after another, as long as
a request is left: at least two words, one of them not a function word. Only the start is
touched (a "sorry" or "basically" in the middle of a story stays), nothing is rewritten, and a
text that is only an opening ("quick question for ya", "hello?") stays as it was. It runs in
`english_dialect.standard_english`, for every English profile, before the profile's lexicon.
"""

from __future__ import annotations

import functools
import re

from ivr.understanding.english_wording import STOP_WORDS

__all__ = ["OPENERS", "without_opener"]

# An opening at the start of the text (lower case, after `standard_english`'s spellings);
# each ends at a word boundary and takes the punctuation and spaces after it.
_ADDRESS = r"(?:\s+(?:there|love|dear|mate|sir|madam|miss|guys|folks|pet|darling|hun))?"
# what a hedge doubts: the menu option, who is at fault, what happened ("if this is the
# right option", "if it's you or me", "what's happened"), then "but"
_DOUBT = (r"(?:(?:if|whether)\s+(?:(?:this|that|it)(?:'s|\s+is)\s+|i'm\s+|i\s+am\s+|i've\s+"
          r"(?:got|pressed|picked|chosen)\s+)?(?:in\s+|on\s+)?(?:the\s+)?(?:right|correct|"
          r"best)(?:\s+(?:option|place|number|department|menu|one|line|button|choice))?"
          r"|(?:if|whether)\s+(?:it's|it\s+is)\s+(?:you|me|my\s+end|your\s+end)"
          r"(?:\s+or\s+(?:you|me|my\s+end|your\s+end))?"
          r"|what(?:'s|\s+has|\s+is)\s+(?:happened|going\s+on|wrong))[\s,]+but")
OPENERS: tuple[str, ...] = (
    # hesitation and discourse markers
    r"(?:um+|uh+|er+|erm+|ah+|hm+|mm+)",
    r"(?:yeah|yes|yep|yup|ok|okay|right|so|well|look(?!\s+(?:at|for|into)\b)"
    r"|listen(?!\s+to\b)|oh(?![\s,-]+(?:(?:oh|zero|one|two|three|four|five|six|seven|eight|nine"
    r"|double|triple)\b|\d))|alright|now then)",
    r"(?:so\s+)?basically",
    r"(?:long story short|to cut a long story short|the thing is)",
    # greetings, with a form of address ("hello love", "hi there")
    rf"(?:hi|hiya|hello|hey|hallo|howdy|g'day|greetings){_ADDRESS}",
    rf"good\s+(?:morning|afternoon|evening|day){_ADDRESS}",
    r"how are you(?: doing)?(?: today)?",
    # apologies
    rf"(?:i'm\s+)?sorry\s+to\s+(?:bother|trouble|disturb)\s+you{_ADDRESS}"
    r"(?:[\s,]+(?:but|and))?",
    rf"(?:sorry|apologies|excuse me|pardon me){_ADDRESS}(?:\s+but)?",
    # announcing a request
    r"(?:i've\s+got\s+|i\s+have\s+|just\s+)?(?:a\s+)?quick\s+(?:question|one|query)"
    r"(?=\s*(?:[,.:;!?-]|\s(?:about|regarding|on|re)\b))(?:\s+(?:about|regarding|on|re))?",
    r"(?:it's|it\s+is|this\s+is|i'm\s+ringing|i'm\s+calling|i'm\s+phoning|i'm\s+ringing\s+up"
    r"|i'm\s+calling\s+up|just\s+ringing|just\s+calling|ringing|calling|phoning)"
    r"\s+(?:about|regarding|in\s+regards?\s+to|with\s+regards?\s+to|concerning)",
    r"(?:i\s+was|i'm|i\s+am)\s+(?:just\s+)?wondering\s+(?:if|whether)(?:\s+you\s+(?:could|can|"
    r"would|might))?",
    r"i\s+wonder\s+if\s+you\s+(?:could|can)",
    # hedges: the caller doubts the request or the menu before saying it ("I might be wrong
    # but", "not sure if this is the right option but", "this may be a silly question but");
    # what a hedge doubts is spelled out, never any words up to a "but" (a caller's "I don't
    # know if I can go on but" must keep its words)
    r"(?:i\s+)?(?:might|may|could)\s+be\s+(?:wrong|mistaken)(?:\s+(?:here|about\s+this))?"
    r"(?:[\s,]+but)?",
    rf"(?:(?:i'm|i\s+am)\s+)?not\s+(?:really\s+|quite\s+|too\s+|very\s+)?sure\s+{_DOUBT}",
    rf"i\s+(?:don't|do\s+not)\s+(?:really\s+)?know\s+{_DOUBT}",
    r"(?:this|it)\s+(?:might|may|could|will)\s+(?:be|sound)\s+(?:like\s+)?(?:a\s+)?"
    r"(?:silly|stupid|daft|dumb|strange|odd|weird)(?:\s+(?:question|one|thing))?(?:[\s,]+but)?",
    r"i\s+(?:think|guess|suppose|believe|reckon)(?!\s+(?:so|not)\b)",
)
_OPENER = re.compile(r"^(?:" + "|".join(OPENERS) + r")(?![\w'])[\s,.:;!?-]*", re.IGNORECASE)
_WORD = re.compile(r"[a-z']+")


@functools.lru_cache(maxsize=8192)
def without_opener(text: str) -> str:
    """`text` without the greetings, apologies, hesitations and announcements it starts with
    ("yeah hi, it's about the internet thing" -> "the internet thing"), as long as a request
    of two words or more, one of them a content word, is left; else `text` unchanged."""
    out = text.strip()
    while True:
        m = _OPENER.match(out)
        if m is None or m.end() == 0:
            return out
        rest = out[m.end():].lstrip(" ,.:;!?-")
        if not _is_request(rest):
            return out
        out = rest


def _is_request(text: str) -> bool:
    """Two words or more, one of them not a function word ("the internet thing": yes; "for
    ya", "you", "there": no)."""
    words = _WORD.findall(text.lower())
    return len(words) >= 2 and any(w.split("'")[0] not in STOP_WORDS for w in words)
