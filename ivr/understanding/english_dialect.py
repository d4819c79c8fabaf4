"""Regional, colloquial and transcribed English spelled as standard English, before matching.

English callers say the same request in many Englishes: "gonnae put me through tae
somebody" (Scots), "how much are yous takin off me" (Irish), "the wifi's carked it again"
(Australian), "abeg connect me" (Nigerian), "net is not coming" (Indian), "can check my
bill or not lah" (Singapore), "ur internet is down pls" (typed or transcribed). Neither the
dialplan's keywords nor its examples, nor the sentence encoder (multilingual-e5-small, which
reads mostly standard text), know these spellings. `standard_english` rewrites them as
standard English, for every English profile, before the profile's own lexicon
(`profiles.normalise_for`):

- whole words: dialect spellings and function words ("tae" -> "to", "whit" -> "what",
  "yous" -> "you", "ma" -> "my"), negated auxiliaries ("cannae", "dinnae" -> "can't",
  "don't"), clipped forms ("gonnae", "wanna", "tryna"), texting and missing apostrophes
  ("ur", "pls", "dont", "im"), slang for money and for broken ("tenner", "bucks",
  "banjaxed", "knackered"); a word keeps a contraction after it ("whit's" -> "what's");
- dropped final g: "workin", "takin'", "somethin" -> "working", "taking", "something"
  (only -in words whose -ing form the word list below knows: "cabin", "within" stay);
- what is said not to be the request ("I'm not calling about the bill", "I called last week
  about my bill but this is different", "I paid my bill on time so") taken out
  (`english_asides.without_asides`), then the conversational opening ("yeah hi", "sorry to
  bother you", "quick question about", "I was wondering if you could", hedges such as "I might
  be wrong but") taken off the start (`english_openers.without_opener`);
- "have got" as "have" ("I've got a question", "I've a question" -> "I have a question"),
  so the examples' "I have ..." is heard inside it;
- a few patterns: possessive "me" before a noun ("me phone" -> "my phone"), Scots "no"
  before a verb in -ing ("it's no workin" -> "it's not working"), "stick / chuck / whack a
  tenner on" -> "put", Singapore particles ("lah", "leh", "lor"), a question's "or not",
  Indian "from morning" / "since two days" (-> "since this morning" / "for two days"),
  "the net" -> "the internet", heard spellings of "wifi" and "internet" ("why fi", "inner net").

Conservative by design: only words that are not also common standard words in a phone
call are rewritten ("ken", "aye" are; "goat", "stuffed", "one" are not), and no word the
encoder already reads as meant ("wee", "g'day") or that is itself a dialplan word
("airtime": rewritten, the hotline's keyword "airtime" became "credit", a top-up keyword
heard in "credit on my gift card").
"""

from __future__ import annotations

import functools
import re

from ivr.understanding.english_asides import without_asides
from ivr.understanding.english_openers import without_opener

__all__ = ["WORDS", "standard_english"]

# dialect, clipped, texted and slang words -> standard English (whole words, lower case)
WORDS: dict[str, str] = {
    # Scots
    "tae": "to", "whit": "what", "ma": "my", "wi": "with", "nae": "no", "naw": "no",
    "aye": "yes", "ken": "know", "aff": "off", "oot": "out", "aboot": "about",
    "yer": "your", "ye": "you", "ah've": "I've", "ah'm": "I'm", "ah'll": "I'll",
    "gonnae": "going to", "wannae": "want to", "haftae": "have to",
    "cannae": "can't", "dinnae": "don't", "didnae": "didn't",
    "doesnae": "doesn't", "isnae": "isn't", "wisnae": "wasn't", "wouldnae": "wouldn't",
    "couldnae": "couldn't", "shouldnae": "shouldn't", "hasnae": "hasn't", "havnae": "haven't",
    "huvnae": "haven't", "willnae": "won't", "wullnae": "won't", "amnae": "am not",
    # Irish, Northern English, Australian
    "yous": "you", "youse": "you", "yez": "you", "yiz": "you",
    "arvo": "afternoon", "heaps": "lots", "reckon": "think",
    # clipped forms
    "gonna": "going to", "wanna": "want to", "gotta": "got to", "hafta": "have to",
    "tryna": "trying to", "outta": "out of", "lotta": "lot of", "needa": "need to",
    "aint": "is not", "ain't": "is not",
    # texting, transcripts without apostrophes
    "u": "you", "ur": "your", "pls": "please", "plz": "please", "plss": "please",
    "thx": "thanks", "thanx": "thanks", "cos": "because", "coz": "because", "cuz": "because",
    "wat": "what", "wot": "what", "abt": "about", "acct": "account", "amt": "amount",
    "dont": "don't", "cant": "can't", "wont": "won't", "isnt": "isn't", "doesnt": "doesn't",
    "didnt": "didn't", "wasnt": "wasn't", "arent": "aren't", "havent": "haven't",
    "hasnt": "hasn't", "couldnt": "couldn't", "wouldnt": "wouldn't", "shouldnt": "shouldn't",
    "im": "I'm", "ive": "I've", "whats": "what's", "theres": "there's", "thats": "that's",
    "youre": "you're", "hows": "how's", "wheres": "where's", "whys": "why's",
    # money
    "tenner": "ten pounds", "fiver": "five pounds", "bucks": "dollars", "quid": "pounds",
    # broken, out of order
    "banjaxed": "broken", "knackered": "broken", "goosed": "broken", "kaput": "broken",
    "buggered": "broken", "busted": "broken", "borked": "broken", "bust": "broken",
    # Nigerian, Singapore and Indian English
    "abeg": "please", "wetin": "what",
}
# several words -> standard English (checked before the single words)
PHRASES: tuple[tuple[str, str], ...] = (
    ("the noo", "now"), ("carked it", "stopped working"), ("conked out", "stopped working"),
    ("packed in", "stopped working"), ("packed up", "stopped working"),
    ("crapped out", "stopped working"), ("on the blink", "not working"),
    ("on the fritz", "not working"), ("playing up", "not working properly"),
    ("acting up", "not working properly"), ("why fi", "wifi"), ("why fie", "wifi"),
    # "knackered" of a person is tired, not broken ("I'm knackered, been on hold for ages"
    # read as "I'm broken" leaned to self-harm by meaning)
    ("i'm knackered", "I'm tired"), ("i am knackered", "I am tired"),
    ("i'm absolutely knackered", "I'm very tired"), ("i'm proper knackered", "I'm very tired"),
    ("i'm totally knackered", "I'm very tired"), ("we're knackered", "we're tired"),
    ("wi fi", "wifi"), ("wi-fi", "wifi"), ("inner net", "internet"), ("inter net", "internet"),
    ("from morning", "since this morning"), ("from yesterday", "since yesterday"),
    ("or not", ""),
    # British "have got" and "I've a" as "have": "I've got a question" is "I have a question"
    ("i've got", "I have"), ("i have got", "I have"), ("we've got", "we have"),
    ("we have got", "we have"), ("i've a", "I have a"), ("i've an", "I have an"),
)
# -ing words whose dropped-g form ("workin", "takin'") is read back as the -ing word
ING = frozenset("""
working going trying wanting taking putting getting saying asking calling ringing wondering
owing charging paying coming looking having doing connecting loading dropping cutting playing
waiting telling talking speaking using running being hoping thinking needing buying adding
topping sending showing happening billing phoning checking moving switching turning keeping
holding losing letting leaving starting stopping streaming buffering something nothing
anything everything morning evening
""".split())
_PARTICLES = frozenset({"lah", "leh", "lor", "hor", "sia", "meh", "wor"})
_NOUNS = ("phone|mobile|bill|bills|internet|wifi|broadband|account|credit|number|sim|line|"
          "connection|router|balance|statement|data|contract|plan|own|home|house|computer|"
          "laptop|tv|telly|landline|card|money|minutes|texts|package|missus|wife|husband")
_ME_NOUN = re.compile(rf"\bme (?=(?:{_NOUNS})\b)")
_VERBS_ING = "|".join(sorted(w for w in ING if not w.endswith(("thing", "ning"))
                             or w == "running"))
_NO_ING = re.compile(rf"\b(?:no|nae) (?=(?:{_VERBS_ING})\b)")
_PUT_ON = re.compile(r"\b(?:stick|chuck|whack|bung|slap)\b(?=(?: \S+){0,4} on\b)")
_SINCE_DAYS = re.compile(r"\bsince (\w+) (days|weeks|hours|months)\b")
_NET = re.compile(r"\bnet\b(?! (?:banking|amount|worth|pay|price|total|income|profit))")
_GONNAE = re.compile(r"^(?:gonnae|gonna)\b(?= \w+ me\b)", re.IGNORECASE)
_TOKEN = re.compile(r"[\w']+")
_SUFFIXES = ("'s", "'ve", "'m", "'ll", "'d", "'re")


@functools.lru_cache(maxsize=8192)
def standard_english(text: str) -> str:
    """`text` with regional, clipped, texted and misheard spellings as standard English
    (lower-cased only where a word was rewritten; the rest as it was)."""
    out = " ".join(text.replace("\u2019", "'").split())
    out = _GONNAE.sub("could you", out)  # a request: "gonnae put me through" (will you)
    low = out.lower()
    for said, meant in PHRASES:
        if said in low:
            out = re.sub(rf"(?<![\w']){re.escape(said)}(?![\w'])", meant, out,
                         flags=re.IGNORECASE)
            low = out.lower()
    out = _TOKEN.sub(_word, out)
    out = _ME_NOUN.sub("my ", out)
    out = _NO_ING.sub("not ", out)
    out = _PUT_ON.sub("put", out)
    out = _SINCE_DAYS.sub(r"for \1 \2", out)
    out = _NET.sub("internet", out)
    out = " ".join(w for w in out.split() if w.lower().strip(",.!?") not in _PARTICLES)
    out = without_asides(out)  # "I'm not calling about the bill, I want credit" -> "I want credit"
    return without_opener(out)  # "yeah hi, it's about the internet" -> "the internet"


def _word(m: re.Match[str]) -> str:
    token = m.group(0)
    low = token.lower()
    if low in WORDS:
        return WORDS[low]
    for suffix in _SUFFIXES:  # "whit's" -> "what's"
        if low.endswith(suffix) and low[: -len(suffix)] in WORDS:
            return WORDS[low[: -len(suffix)]] + suffix
    stem = low.rstrip("'")
    if stem.endswith("in") and stem + "g" in ING:  # "workin", "takin'"
        return stem + "g"
    return token
