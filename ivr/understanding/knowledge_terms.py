"""Terms of the knowledge base's lexical score: what callers' words and the entries' words
have in common once wording that does not matter is taken away.

- Chinese: the jieba words (particles dropped) and the character pairs (开通 / 关闭 tell
  entries apart even where jieba cuts differently).
- English: lower-case words without the function words (EN_STOPWORDS: "how", "do", "my" match
  every entry), each reduced to a light stem (`stem`: roaming/roamed -> roam, charges -> charg)
  and to the telecom domain's one name for things callers call differently (EN_SYNONYMS:
  the box / modem / hub -> router, junk / scam / nuisance -> spam, overseas / trip / a
  country -> abroad; package / bundle / tariff / "SIM only" -> plan; cell -> phone), with
  the way ASR writes what was said ("five g" -> 5g, LTE -> 4g, "answering machine" ->
  voicemail). Callers say "the box", documents say "modem": without this, a word score only
  rewards callers who already speak the operator's language.

The lists are about the domain (telecom callers), not about one knowledge base: an operator's
own product names belong in the entries' questions.
"""

from __future__ import annotations

import logging
import re

from ivr.understanding.intents import is_chinese

EN_STOPWORDS = frozenset(
    "i a an the to my me please want would like can you could of for is it do with about your "
    "some need um uh er erm what how when where why which this that there are be have has im "
    "get just tell know hi hello so and in on am was were been if or but at from by as will "
    "does did should we our us they them their he she his her its any all then than too very "
    "also i'm i've i'd it's don't can't what's how's there's wondering possible okay ok well "
    "yeah yes actually basically really way thing something got gotta gonna wanna guys guy "
    "kindly let's lets sure make think thinking going".split())
# multi-word names first (matched on the lower-cased text before it is cut into words)
EN_PHRASES = (
    (r"\bwi[- ]?fi\b", "wifi"), (r"\bsim\s*card", "sim"), (r"\be[- ]?sim\b", "esim"),
    (r"\b(?:5|five)\s*g\b", "5g"), (r"\b(?:4|four)\s*g\b|\blte\b", "4g"),
    (r"\bcell\s*phone\b", "phone"), (r"\bsim[- ]only\b", "plan"),
    (r"\bvoice\s*mail\b|\banswer(?:ing)?\s*(?:machine|phone)\b", "voicemail"),
    (r"\btext messages?\b", "text"), (r"\bmobile data\b", "data"),
    (r"\bcall divert\w*", "forwarding"), (r"\bcall forward\w*", "forwarding"),
    (r"\bpin code\b", "pin"), (r"\bhome internet\b", "broadband"),
    (r"\bcut off\b", "suspended"), (r"\bcalls? only\b", "service"),
)
_SYNONYM_GROUPS = {
    "router": "modem router box hub",
    "wifi": "wireless wlan",
    "abroad": "overseas foreign international travel travelling traveling trip holiday "
              "vacation",
    "text": "sms texts texting",
    "gigabyte": "gigabytes gig gigs gb",
    "invoice": "invoices receipt receipts e-invoice",
    "broadband": "fibre fiber",
    "spam": "junk scam scams nuisance telemarketing robocall robocalls marketing sales",
    "lost": "lose stolen steal stole missing",
    "hall": "halls shop shops store stores branch branches",
    "fault": "outage outages disruption",
    "pay": "paid paying payment payments",
    "price": "cost costs prices rate rates fee fees expensive cheap",
    "cancel": "unsubscribe",
    "off": "deactivate disable",
    "activate": "enable activation",
    "turn": "switch",
    "password": "passcode",
    "suspended": "suspend suspension disconnected barred",
    "phone": "mobile cellphone handset cell",
    "plan": "package packages bundle bundles tariff tariffs deal deals",
}
EN_SYNONYMS = {w: name for name, words in _SYNONYM_GROUPS.items() for w in words.split()}
# places a caller goes to: "abroad" for the lexical score (the place itself stays a term)
EN_ABROAD = frozenset(
    "japan tokyo korea seoul thailand bangkok europe america usa us uk britain england london "
    "paris france italy spain germany canada australia singapore malaysia vietnam dubai "
    "bali hongkong macao macau taiwan".split())
_EN_WORD = re.compile(r"[a-z0-9']+")
_ZH_SKIP = set("的了吗呢吧啊呀嘛么哦我你您们是在有和就都也要想请问一下怎么个")


def stem(word: str) -> str:
    """A light English stem (plural, -ing, -ed, final e, doubled consonant): enough that a
    caller's "charged" meets a document's "charges"; not a linguist's stemmer."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsaeiou":
        word = word[:-1]
    return word


def english_terms(text: str) -> list[str]:
    """The terms of an English text: phrases named once, function words dropped, synonyms to
    the domain's name, stemmed; a place abroad adds the term "abroad"."""
    said = text.lower().replace("’", "'")
    for pattern, name in EN_PHRASES:
        said = re.sub(pattern, f" {name} ", said)
    out: list[str] = []
    for w in _EN_WORD.findall(said):
        if w in EN_STOPWORDS:
            continue
        if w in EN_ABROAD:
            out.append("abroad")
        out.append(stem(EN_SYNONYMS.get(w, w)))
    return out


def chinese_terms(text: str) -> list[str]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    words = [t for t in jieba.lcut(text) if t.strip() and not re.fullmatch(r"\W+", t)
             and t not in _ZH_SKIP]
    chars = re.sub(r"\W+", "", text)
    return words + [f"~{chars[i:i + 2]}" for i in range(len(chars) - 1)]


def tokens(text: str, language: str) -> list[str]:
    """Terms for the lexical score of `text` in `language` (see the module's docstring)."""
    return chinese_terms(text) if is_chinese(language) else english_terms(text)
