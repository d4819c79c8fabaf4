"""The words of an English request that carry its meaning, for likeness to an intent's examples.

English callers wrap the same request in very different words: "I'd like to check my bill",
"could you tell me what I owe, please", "hi yes I was just wondering how much my bill came
to". The example likeness of `intents.similarity` is a Dice overlap of content words, so
whatever is not content must drop out on both sides alike:

- politeness, hedges and fillers ("please", "could you", "I was wondering", "actually");
- the pieces a contraction leaves once `intents.normalise` has turned its apostrophe into
  a space: "I've" -> "i ve", "what's" -> "what s", "we'll" -> "we ll". The negation stays,
  as one word: "can't", "isn't", "won't" (-> "can t", "isn t", "won t") all give "not", as do
  "cannot" and "not" itself, so "it isn't working" and "it is not working" agree;
- inflection: "drops", "dropping" and "dropped" are one word, as are "charges" / "charged"
  and "buffering" / "buffers" (a light suffix rule, not a dictionary: it only has to map
  both sides of a comparison to the same key, never to produce a real word).

Only likeness uses this: keywords are still matched as written (`intents._keyword_hit`) and
negation of crisis phrases keeps its own reading (`negation`).
"""

from __future__ import annotations

import functools

__all__ = ["STOP_WORDS", "content_words", "word_key"]

# Words that say nothing about which service the caller wants (the function words of a
# request, the politeness and the fillers around it). Not "no", "not", "off", "down", "out",
# "more", "all": "no internet", "cut off", "down", "run out", "more credit" carry meaning.
STOP_WORDS = frozenset({
    "i", "a", "an", "the", "to", "my", "me", "please", "want", "would", "like", "can", "you",
    "could", "of", "for", "is", "it", "do", "with", "about", "your", "some", "need", "um", "uh",
    "what", "how", "when", "where", "why", "which", "this", "that", "there", "are", "be",
    "have", "has", "im", "get", "just", "tell", "know", "hi", "hello", "so", "and", "in", "on",
    # politeness, hedges and fillers
    "hey", "yes", "yeah", "okay", "ok", "oh", "well", "right", "thanks", "thank", "kindly",
    "actually", "really", "wondering", "wonder", "was", "were", "am", "been", "being",
    "will", "shall", "may", "might", "should", "if", "at", "or", "any", "we", "our", "us",
    "had", "got", "since",
    "its", "did", "does", "let", "mind", "sorry", "dear", "sir", "madam", "love", "mate",
    "quick", "quickly", "maybe", "also", "now", "then", "here", "guys",
})
# What a contraction leaves after its apostrophe became a space ("i ve", "what s"); "t" is
# the negation of "n't" and is read as "not" instead.
_CONTRACTION_PIECES = frozenset({"s", "ve", "ll", "d", "m", "re"})
_NEGATIONS = frozenset({"t", "not", "cannot", "nt"})
_NEGATED_STEMS = {"don": "do", "doesn": "does", "didn": "did", "isn": "is", "aren": "are",
                  "wasn": "was", "weren": "were", "won": "will", "wouldn": "would",
                  "couldn": "could", "shouldn": "should", "haven": "have", "hasn": "has",
                  "hadn": "had", "ain": "is"}


@functools.lru_cache(maxsize=65536)
def word_key(word: str) -> str:
    """One key for the inflections of `word`: plural and third-person -s, -es, -ies; -ing;
    -ed. Short words are left alone ("bus", "is", "red", "sing" keep their letters)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return _undouble(word[:-3])
    if len(word) > 4 and word.endswith("ed"):
        return _undouble(word[:-2])
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _undouble(stem: str) -> str:
    """A doubled final consonant undone: "dropp" (dropping, dropped) -> "drop"."""
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
        return stem[:-1]
    return stem


@functools.lru_cache(maxsize=65536)  # the dialplan's examples come back at every turn
def content_words(normalised: str) -> frozenset[str]:
    """The content words of an English text already through `intents.normalise` (lower
    case, punctuation as spaces), each as its `word_key` without a final e ("charge",
    "charges", "charged" -> "charg"); every negation as "not"."""
    out: set[str] = set()
    for w in normalised.split():
        if w in _NEGATIONS:
            out.add("not")
        elif w in _CONTRACTION_PIECES or w in _NEGATED_STEMS or w in STOP_WORDS:
            continue  # (the verb of "don't", "isn't": its "t" adds the "not")
        else:
            key = word_key(w)
            if key not in STOP_WORDS:  # "needs" is "need"
                out.add(key[:-1] if len(key) > 4 and key.endswith("e") else key)
    return frozenset(out)
