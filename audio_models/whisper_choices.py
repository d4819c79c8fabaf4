"""Closed answers (`ChoiceGrammar`: yes/no, menu choices, intents' examples) recognised on
Whisper's encoder output: which expected phrasing did the caller say, and how sure is that
against "none of these" (issue 19).

How: one beam search over the encoder output the free transcript already has, where only
the tokens of the phrasings (any case, with or without a leading space), punctuation and the
end of text may be produced. With at least as many beams as phrasings (up to `MAX_BEAM`),
the finished hypotheses hold the phrasings the decoder finds likely, each with its log-
probability; a hypothesis that is not a phrasing (a mix of their tokens) is dropped. Why not
score every phrasing by forced decoding (`align`) instead: CTranslate2 computes the decoder's
cross-attention keys and values once per batch item, about 40 ms each for whisper-base's full
window, so 20-60 phrasings would cost more than the whole free recognition; beams share them.

Confidence: the best choice's share of a softmax over the choices (each the log-sum-exp of
its phrasings' hypotheses), times the probability that the caller said a choice at all
rather than "something else": 1 when the free transcript is one of the phrasings; when it is
not, a sigmoid of the difference between the best choice's and the free text's
log-probabilities, both scored unconstrained by forced decoding (the beam's scores are
renormalised over the allowed tokens and cannot be compared with the free transcript's);
`EMPTY_TRANSCRIPT_IN_GRAMMAR` when the free transcript is empty. Measured on FSDD digits as a
menu (see `EMPTY_TRANSCRIPT_IN_GRAMMAR`): every choice at >= 0.9 was right, and no word
outside the menu reached 0.9.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from typing import Any

from audio_models.grammar import ChoiceGrammar, GrammarResult
from audio_models.whisper_grammar import DIGIT_PIECE as _DIGIT_PIECE
from audio_models.whisper_grammar import posteriors, spoken_digits

__all__ = ["CHOICE_TEMPERATURE", "choice_key", "choice_posteriors", "in_grammar",
           "phrasing_forms", "recognise_choice"]

CHOICE_TEMPERATURE = 1.0
# An empty free transcript: Whisper heard nothing it would write, a choice or not. Measured
# (43 FSDD single digits through mu-law, whisper-base, a 10-word menu with and without the
# word said): 6 empty, the choice right in 3 of them, and as sure (0.4-0.8) when the word
# said was not in the menu: count it as even odds of "something else".
EMPTY_TRANSCRIPT_IN_GRAMMAR = 0.5
MAX_BEAM = 16
OTHER = ""  # the "something else" alternative's id in `choice_posteriors`
_PUNCTUATION = [".", ",", "!", "?", "。", "，", "！", "？", "、", " "]
_NOT_WORD = re.compile(r"[\W_]+")


def choice_key(text: str) -> str:
    """What two spellings of one phrasing share: lower case, no spaces or punctuation
    ("Yes." and " yes" -> "yes"; "是的。" -> "是的")."""
    return _NOT_WORD.sub("", text.lower())


def phrasing_forms(phrasing: str) -> list[str]:
    """Surface forms Whisper may write a phrasing in: as given, lower case and capitalised,
    each with and without the leading space Whisper puts before a word."""
    base = phrasing.strip()
    forms = {base, base.lower(), base[:1].upper() + base[1:]}
    return sorted({f for form in forms for f in (form, " " + form)})


def choice_posteriors(scores: dict[str, float], other: float | None,
                      temperature: float = CHOICE_TEMPERATURE) -> dict[str, float]:
    """Probability of each choice id (and of `OTHER`, "something else", when `other`, its
    log-probability, is given) from log-probabilities, largest first."""
    logits = dict(scores)
    if other is not None:
        logits[OTHER] = max(other, logits.get(OTHER, -math.inf))
    return posteriors(logits, temperature)


def _is_phrasing(text: str, owner: dict[str, tuple[str, str]]) -> bool:
    """`text` says one of the phrasings (keyed by `choice_key`); a text of nothing but
    digits is compared as digits ("5" says "five", "幺" says "一")."""
    key = choice_key(text)
    if key in owner:
        return True
    if not key or _DIGIT_PIECE.sub("", key):
        return False
    digits = spoken_digits(key)
    return any(not _DIGIT_PIECE.sub("", k) and spoken_digits(k) == digits for k in owner)


def _logsumexp(values: Iterable[float]) -> float:
    vals = list(values)
    top = max(vals)
    return top + math.log(sum(math.exp(v - top) for v in vals))


def recognise_choice(decoder: Any, encoded: Any, prompt: list[int], grammar: ChoiceGrammar,
                     free_text: str) -> GrammarResult:
    """The choice of `grammar` said in the utterance whose encoder output is `encoded`.

    `decoder`: a `whisper_grammar.GrammarDecoder` (model, tokenizer, end of text);
    `free_text`: the free transcript of the same output ("something else" when it is none of
    the phrasings). `value` is the choice id ("" when the grammar has no phrasing or the
    decoder found none), `text` its phrasing heard, `alternatives` the other choices."""
    t0 = time.perf_counter()
    owner: dict[str, tuple[str, str]] = {}  # phrasing key -> (choice id, phrasing)
    allowed: set[int] = {decoder.eot}
    longest = 1
    for cid, phrasings in grammar.choices:
        for phrasing in phrasings:
            key = choice_key(phrasing)
            if not key:
                continue
            owner.setdefault(key, (cid, phrasing))
            for form in phrasing_forms(phrasing):
                ids = decoder.encode_text(form)
                allowed.update(ids)
                longest = max(longest, len(ids))
    if not owner:
        return GrammarResult("", "", 0.0, (), time.perf_counter() - t0)
    for mark in _PUNCTUATION:
        allowed.update(decoder.encode_text(mark))
    suppress = [i for i in range(decoder.vocab_size) if i not in allowed]
    beam = max(4, min(MAX_BEAM, len(owner)))
    result = decoder.model.generate(
        encoded, [prompt], beam_size=beam, num_hypotheses=beam, return_scores=True,
        suppress_tokens=suppress, max_length=len(prompt) + longest + 4)[0]  # prompt counts
    found: dict[str, list[float]] = {}
    heard: dict[str, tuple[float, str, list[int]]] = {}
    for ids, score in zip(result.sequences_ids, result.scores, strict=True):
        key = choice_key(decoder.hf.decode(ids))
        if key not in owner:
            continue
        cid, phrasing = owner[key]
        logp = score * max(len(ids), 1)
        found.setdefault(cid, []).append(logp)
        if logp > heard.get(cid, (-math.inf, "", []))[0]:
            heard[cid] = (logp, phrasing, list(ids))
    ranked = list(choice_posteriors(
        {cid: _logsumexp(v) for cid, v in found.items()}, None).items())
    if not ranked:  # the decoder found no phrasing at all: something else was said
        return GrammarResult("", "", 0.0, (), time.perf_counter() - t0)
    value, share = ranked[0]
    inside = 1.0
    if not free_text.strip():
        inside = EMPTY_TRANSCRIPT_IN_GRAMMAR
    elif not _is_phrasing(free_text, owner):
        inside = _said_in_grammar(decoder, encoded, prompt, heard[value][2], free_text)
    return GrammarResult(value, heard[value][1], round(share * inside, 4),
                         tuple((k, round(p * inside, 4)) for k, p in ranked[1:]),
                         time.perf_counter() - t0)


def in_grammar(choice_logp: float, free_logp: float,
               temperature: float = CHOICE_TEMPERATURE) -> float:
    """Probability that the caller said the best choice rather than the free transcript's
    something else, from both texts' log-probabilities under the same decoder."""
    z = (choice_logp - free_logp) / temperature
    return 1.0 / (1.0 + math.exp(-z)) if z > -50 else 0.0


def _said_in_grammar(decoder: Any, encoded: Any, prompt: list[int], choice_ids: list[int],
                     free_text: str) -> float:
    """`in_grammar` for a free transcript that is none of the phrasings. The beam's scores
    are renormalised over the allowed tokens (CTranslate2 suppresses before the softmax), so
    the best choice and the free text are scored again, unconstrained, by forced decoding
    (one `align` batch of two). The free transcript arrives stripped: words get their
    leading space back, as Whisper decoded them."""
    text = free_text.strip()
    if text[:1].isascii():
        text = " " + text  # as Whisper writes it: a word starts with its space
    choice, free = decoder.score_ids(encoded, prompt, [choice_ids, decoder.encode_text(text)])
    return in_grammar(choice, free)
