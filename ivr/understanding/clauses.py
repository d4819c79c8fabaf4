"""A long, rambling request in its clauses: which part is the request, which part is story.

Callers tell a story around the request, before or after it, and the story names other
services: "the internet at home is working great, no complaints there, but I need to load up
my pay as you go", "我刚才看了一下账单没什么问题就是手机里没多少钱了我想再充一百块进去". The whole
utterance is one vector and its words are heard wherever they are said, so the request is
diluted by the story and pulled to whatever the story names (issue 17, round 10). Here the
normalised text is cut into clauses at punctuation, discourse words ("but", "so", "anyway",
"the thing is" / 但是, 所以, 结果, 就是, 反正) and request openings ("can you", "I'd like" / 帮我,
我想, 麻烦), and two narrower texts are derived from it:

- the text **kept**: without the clauses the caller *dismisses* ("the bill is fine", "it's
  nothing like that", "no complaints there", 账单没什么问题, 话费都交过了, 不是查话费); a
  dismissal with no content of its own ("so that's fine") dismisses the clause before it;
- the **request clauses**: those opening with a request ("so I'd like to add some money to
  her number", 我想再充一百); one pointing back at the story ("where do I top it up") keeps the
  clause before it, which says what "it" is.

`meaning_of` embeds the whole and these texts in one encoder call (only for a long utterance
of two clauses or more: a short one costs nothing more) and hands them on with the whole's
vector (`Meaning.parts`), so the pure engine can decide on them without an encoder
(`ivr.dialplan.clause_choice`). Closed lists of discourse words, not of requests: they are
the same for every dialplan.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ivr.understanding.english_wording import STOP_WORDS
from ivr.understanding.text_vectors import embed

__all__ = ["Meaning", "Parts", "clauses", "dismissed", "long_enough", "meaning_of", "parts_heard",
           "parts_of", "request"]

MIN_EN_WORDS = 10  # shorter utterances are not split
MIN_ZH_CHARS = 16
MAX_REQUESTS = 3  # request clauses embedded at most (the last ones)

_EN_CONNECTIVES = (r"but|so|and\s+then|because|cause|anyway|anyhow|the\s+thing\s+is|thing\s+is|"
                   r"though|however|except|although")
# request openings a clause is cut before (the rest are only recognised at a clause's start)
_EN_CUT_REQUESTS = (r"i\s+(?:just\s+|only\s+|really\s+)?(?:want|wanted|need|would\s+like|'d\s+like|"
                    r"was\s+hoping|was\s+wondering)|(?:can|could|would)\s+(?:you|i|someone|somebody|"
                    r"anyone)|how\s+(?:do|can)\s+i|where\s+do\s+i|what\s+(?:do|should)\s+i|is\s+there")
_EN_CUT = re.compile(r"(?P<p>\s*[,.;:!?]+\s*)|(?<![\w'])(?:" + _EN_CONNECTIVES + "|"
                     + _EN_CUT_REQUESTS + r")(?![\w'])", re.IGNORECASE)
_EN_REQUEST = (r"(?:i\s+(?:just\s+|only\s+|really\s+)?(?:want|wanted|need|needed|would\s+like|"
               r"'d\s+like|d\s+like|wanna|was\s+hoping|was\s+wondering|'d\s+rather|'d\s+prefer)"
               r"|i'd\s+(?:like|rather|prefer)|(?:can|could|would|will)\s+(?:you|i|someone|"
               r"somebody|anyone|anybody|one\s+of\s+you)|please|is\s+there|are\s+there|"
               r"how\s+(?:do|can|would|much|long|come)|why|what(?:'s|\s+is|\s+do|\s+should|"
               r"\s+does)|where\s+(?:do|can|is)|tell\s+me|help\s+me|put\s+me|get\s+me|give\s+me|"
               r"let\s+me|send\s+(?:someone|somebody|an?\s+)|i'm\s+(?:trying|looking)\s+to)")
_EN_REQUEST_AT = re.compile(r"(?<![\w'])" + _EN_REQUEST + r"(?![\w'])", re.IGNORECASE)
_EN_REQUEST_START = re.compile(r"^(?:(?:so|but|and|just|well|now|then|anyway|basically|"
                               r"actually|really|yeah|yes|right|ok|okay|um|erm|look)\s+)*"
                               + _EN_REQUEST + r"(?![\w'])", re.IGNORECASE)
_EN_FINE = (r"\s+(?:all\s+|absolutely\s+|perfectly\s+|completely\s+|really\s+)?(?:fine|ok|okay|"
            r"great|grand|sorted|good|paid(?:\s+up)?|in\s+order)(?![\w'])")
_EN_DISMISS = re.compile(
    # "the bill is fine", "the internet's working great", "that's sorted"
    r"(?:(?<![\w'])(?:is|are|s|was|been|seems?|working|works|looks?)|'s)" + _EN_FINE + "|"
    r"(?<![\w'])(?:(?:all|thats|that\s+is)\s+(?:fine|sorted|ok|okay|good)|no\s+(?:complaints?"
    r"|problems?|issues?|worries)|nothing\s+(?:like\s+that|wrong)|not\s+(?:about|that|it|the\s+"
    r"problem|why)|(?:it's|it\s+is|isn't|its)\s+not|(?:i'm|i\s+am)\s+not\s+(?:calling|ringing|"
    r"phoning)|don't\s+worry\s+about|thanks\s+for\s+that|got\s+(?:sorted|fixed))(?![\w'])",
    re.IGNORECASE)
_WORD = re.compile(r"[a-z']+")

_ZH_SPLIT_WORDS = ("然后", "所以", "但是", "可是", "不过", "结果", "就是", "反正", "你说", "因为",
                   "而且", "只是", "后来", "现在")
_ZH_REQUESTS = ("我想", "我要", "想要", "帮我", "给我", "你帮", "你给", "麻烦", "能不能", "能否",
                "可不可以", "可以帮", "请你", "请帮", "就想", "想问", "问问", "你们赶紧", "赶紧",
                "快点", "叫个", "找个", "转个", "派个", "告诉我", "我该", "怎么办")
_ZH_CUT = re.compile(r"(?P<p>[，。,.;；:：!！?？、\s]+)|" + "|".join(
    sorted(_ZH_SPLIT_WORDS + _ZH_REQUESTS, key=len, reverse=True)))
_ZH_REQUEST_START = re.compile(r"^(?:我|你|就|那|再)?(?:" + "|".join(_ZH_REQUESTS) + ")")
_ZH_DISMISS = re.compile(
    r"没(?:什么|啥)?(?:问题|毛病|事)|挺好|好着呢|好好的|都好|不是(?:这个|那个)?(?:事|问题)"
    r"|^(?:也)?不是|也不是|(?:交|充|缴)(?:过|好|完)了|都交了|都(?:交|充)过|不用管|没关系")


# a request that points back at the story ("where do I top it up", "can someone look at it")
_BACK = re.compile(r"(?<![\w'])(?:it|that|them|those|this\s+one)(?![\w'])|它", re.IGNORECASE)
_LONE = re.compile(r"(?:(?:" + _EN_CONNECTIVES + r"|and|now|then|" + "|".join(_ZH_SPLIT_WORDS)
                   + r")\W*)+|.{0,2}", re.IGNORECASE)  # a part too small to be a clause


class Meaning(np.ndarray):
    """The whole utterance's vector (what every consumer of the fact `meaning` reads), with
    the vectors of its kept text and request clauses riding along as `parts` (text ->
    vector): the engine is pure and has no encoder of its own."""

    parts: dict[str, np.ndarray]

    def __array_finalize__(self, obj: Any) -> None:
        # an array computed from it (a product, a slice) carries no parts
        self.parts = {}


Parts = tuple[str | None, list[str]]  # (kept text or None, request clauses)


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def clauses(text: str) -> list[str]:
    """`text` cut at punctuation, discourse words and request openings (empty parts
    dropped)."""
    cuts: list[str] = []
    start = 0
    for m in (_ZH_CUT if _chinese(text) else _EN_CUT).finditer(text):
        cuts.append(text[start:m.start()])
        start = m.end() if m.group("p") else m.start()
    cuts.append(text[start:])
    out: list[str] = []
    for part in (c.strip() for c in cuts):
        if not part:
            continue
        if out and _LONE.fullmatch(out[-1]):  # a lone discourse word opens the next clause
            out[-1] = f"{out[-1]}{'' if _chinese(part) else ' '}{part}"
        else:
            out.append(part)
    if len(out) > 1 and _LONE.fullmatch(out[-1]):
        out[-2:] = [f"{out[-2]}{'' if _chinese(out[-1]) else ' '}{out[-1]}"]
    return out


def _content(clause: str) -> int:
    """How much a clause says: its characters (Chinese) or its words not stop words."""
    if _chinese(clause):
        return len(clause) if len(clause) > 2 else 0
    return sum(1 for w in _WORD.findall(clause.lower()) if w.split("'")[0] not in STOP_WORDS)


def dismissed(clause: str) -> bool:
    """Does the clause say a thing is fine, paid, or not the matter ("my bill is all sorted",
    "it's nothing like that", 账单没什么问题, 不是查话费)?"""
    return bool((_ZH_DISMISS if _chinese(clause) else _EN_DISMISS).search(clause))


def request(clause: str) -> bool:
    """Does the clause open with a request or a question ("can you ...", "I'd like ...",
    帮我, 我想 ...)?"""
    if _chinese(clause):
        return bool(_ZH_REQUEST_START.match(clause))
    return bool(_EN_REQUEST_START.match(clause))


def long_enough(text: str) -> bool:
    if _chinese(text):
        return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff") >= MIN_ZH_CHARS
    return len(_WORD.findall(text.lower())) >= MIN_EN_WORDS


def parts_of(text: str) -> Parts:
    """(the text kept without its dismissed clauses, or None when nothing is dismissed or
    nothing with content is left; the request clauses with content, the last MAX_REQUESTS),
    of a long utterance of two clauses or more; (None, []) otherwise."""
    if not long_enough(text):
        return None, []
    cut = clauses(text)
    if len(cut) < 2:
        return None, []
    drop = [dismissed(c) for c in cut]
    for i, c in enumerate(cut):  # "..., so that's fine": the dismissal is of the clause before
        if drop[i] and i > 0 and _content(c) <= (2 if not _chinese(c) else 4):
            drop[i - 1] = True
    joiner = "" if _chinese(text) else " "
    kept_parts = [c for c, d in zip(cut, drop, strict=True) if not d]
    kept = joiner.join(kept_parts) if any(drop) and kept_parts else None
    if kept is not None and _content(kept) < (2 if not _chinese(kept) else 4):
        kept = None
    asks = []
    for i, (c, d) in enumerate(zip(cut, drop, strict=True)):
        if d or not request(c) or _content(c) < (2 if not _chinese(c) else 4):
            continue
        if i > 0 and not drop[i - 1] and _BACK.search(c):  # "where do I top it up": what?
            c = f"{cut[i - 1]}{joiner}{c}"  # the clause before says what "it" is
        asks.append(c)
    asks = [a for a in asks if a != text][-MAX_REQUESTS:]
    return kept, asks


def meaning_of(encoder: Any, said: str) -> np.ndarray:
    """The vector of the normalised utterance `said`; for a long one of several clauses a
    `Meaning` that carries its kept text's and request clauses' vectors too, all embedded in
    one encoder call."""
    kept, asks = parts_of(said)
    texts = list(dict.fromkeys([said, *([kept] if kept else []), *asks]))
    rows = embed(encoder, texts)
    if len(texts) == 1:
        return rows[0]
    whole = rows[0].view(Meaning)
    whole.parts = dict(zip(texts[1:], rows[1:], strict=True))
    return whole


def parts_heard(meaning: Any) -> dict[str, np.ndarray]:
    """The clause vectors a `Meaning` carries (empty for a plain vector or None)."""
    return getattr(meaning, "parts", None) or {}
