"""Recognition by grammar on the encoder output Whisper already computed for the free
transcript (issue 19): digits by constrained decoding, closed answers by scoring.

Why: free transcription with whisper-base drops and merges repeated digits ('69832548' ->
'683548') and turns a lone "three" into "Thank you."; an IVR that knows the answer is a digit
string or one of a few choices can ask the decoder only about those. CTranslate2's Whisper
`generate` and `align` accept the output of `encode`, so the grammar costs decoder time only.

- Digits (`DigitGrammar`): beam search where every token that is not a digit, a digit word
  (English and Mandarin), a separator or the end of text is suppressed; the n-best
  hypotheses, read as digit strings, are ranked with the expected length (`min_len` ..
  `max_len`): Whisper's n-best usually holds the right count of a repeated digit when its best
  guess has one too many or too few. When none of them has the expected length: a 16-beam
  search, then variants that double (or undouble) a digit scored by forced decoding
  (`align`). A lone digit (`max_len` 1) is a choice among ten instead
  (`single_digit_choices`).
- Closed answers (`ChoiceGrammar`): see `whisper_choices.py`.

Confidence of digits: the softmax, over the n-best read as digit strings, of the chosen
string's summed log-probability (out-of-length strings count in the denominator). Measured
(FSDD strings of one speaker, 150-300 ms pauses, mu-law; 60 strings each model): every
result at >= 0.9 was exact (base 41 of 41, tiny.en 38 of 38). In the fallbacks the scores
come from different searches (renormalised beam scores against unconstrained forced ones),
which keeps the confidence low there: a reprompt, as intended.

Pure helpers (token sets, normalisation, variants, calibration) are separate from the model
calls so that they are tested without a model.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from audio_models.grammar import ChoiceGrammar, DigitGrammar, Grammar, GrammarResult
from audio_models.protocols import ModelError

__all__ = [
    "DIGIT_TEMPERATURE", "GrammarDecoder", "GrammarRecogniser", "allowed_digit_tokens",
    "digit_variants", "in_digit_grammar", "posteriors", "spoken_digits",
]

_EN_DIGITS = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3",
              "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_ZH_DIGITS = {"零": "0", "〇": "0", "幺": "1", "一": "1", "二": "2", "两": "2", "兩": "2",
              "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_REPEATS = {"double": 2, "triple": 3}
_SEPARATORS = " ,.-、，。"
# "oh" and "o" read as 0 but are not decoded: for a lone word Whisper is unsure of, "Oh." was
# its sink (80 FSDD single digits, whisper-base: "four", "five" -> "Oh." -> 0 at 1.0), and in
# a string of digits it writes a spoken "oh" as 0 anyway.
_DECODED_EN = [w for w in _EN_DIGITS if w not in ("oh", "o")]
# 两/兩 read as 2 but are not decoded either: a digit string is read with 二 (两 is a quantity
# word), and líng (零) was heard as 两/兩 under the grammar (12 runs of digits read in AISHELL
# news, whisper-base: "二零一六" -> "二两一六" = 2216, "零零" -> "兩兩" = 22, 3 of 12).
_DECODED_ZH = [c for c in _ZH_DIGITS if c not in ("两", "兩")]
_ALLOWED_WORD = re.compile(
    r"(\d+|" + "|".join(sorted([*_DECODED_EN, *_REPEATS], key=len, reverse=True))
    + r"|[" + "".join(_DECODED_ZH) + r"]+|[" + re.escape(_SEPARATORS) + r"]+)")
# A whole hypothesis the grammar can say: CJK digits that the tokenizer splits into byte pieces
# (零〇幺: two tokens each) let those pieces combine into other characters (雇雇雇雇 under a
# Mandarin digit grammar), and English word pieces into non-words; such a hypothesis is not a
# shorter digit string, it is outside the grammar.
_IN_GRAMMAR = re.compile(r"(?:" + _ALLOWED_WORD.pattern + r"|\s)*")
_PIECE = re.compile(r"\d|[a-z]+|[" + "".join(_ZH_DIGITS) + "]")
DIGIT_PIECE = re.compile(  # a digit or digit word, e.g. to tell whether a text is only those
    r"\d|" + "|".join(sorted([*_EN_DIGITS, *_REPEATS], key=len, reverse=True))
    + "|[" + "".join(_ZH_DIGITS) + "]")

DIGIT_TEMPERATURE = 1.0  # scales n-best log-probabilities into the reported confidence
DIGIT_BEAM = 5
DIGIT_WIDE_BEAM = 16  # when no hypothesis of DIGIT_BEAM has the expected length (beams share
# the cross-attention keys and values: 16 beams cost ~1.5x one, measured on whisper-base)
MAX_VARIANTS = 8  # forced-decoding candidates when still none has it (~40 ms each, base)


def spoken_digits(text: str) -> str:
    """The digit string in `text` as a caller says it: "6 9 8", "six nine eight",
    "double five" (55), "triple oh" (000), 幺三八 (138), 两 (2). Anything else is ignored."""
    out: list[str] = []
    repeat = 1
    for piece in _PIECE.findall(text.lower()):
        if piece in _REPEATS:
            repeat = _REPEATS[piece]
            continue
        digit = _EN_DIGITS.get(piece) or _ZH_DIGITS.get(piece)
        if digit is None and piece.isdigit():
            digit = piece
        if digit is None:
            repeat = 1  # "double" must be followed by its digit
            continue
        out.append(digit * repeat)
        repeat = 1
    return "".join(out)


def in_digit_grammar(text: str) -> bool:
    """`text` (a decoded hypothesis) is only digits, decoded digit words and separators."""
    return "\ufffd" not in text and _IN_GRAMMAR.fullmatch(text.lower()) is not None


def allowed_digit_tokens(texts: Sequence[str], word_pieces: Iterable[int], eot: int
                         ) -> frozenset[int]:
    """Ids of the tokens a digit string may be decoded with: `texts[i]` is the text of
    regular token i (below `eot`); a token is allowed when its text, without surrounding
    spaces and case, is digits, a digit word or separators. `word_pieces` adds the
    tokens of digit words that the tokenizer splits (" two" is " " + "two", 零 two byte
    pieces). The end of text is allowed."""
    allowed = {eot, *word_pieces}
    for i, text in enumerate(texts[:eot]):
        word = text.strip().lower()
        if (word == "" and text) or (word and _ALLOWED_WORD.fullmatch(word)):
            allowed.add(i)
    return frozenset(allowed)


def digit_word_forms() -> list[str]:
    """The surface forms whose tokens `allowed_digit_tokens` adds as word pieces."""
    words = [*_DECODED_EN, *_REPEATS]
    forms = [f for w in words for f in (w, " " + w, w.capitalize(), " " + w.capitalize())]
    return forms + [f for c in _DECODED_ZH for f in (c, " " + c)]


def digit_variants(digits: str, min_len: int, max_len: int, limit: int = MAX_VARIANTS
                   ) -> list[str]:
    """Digit strings of the expected length that Whisper's habit of merging or splitting a
    repeated digit may have turned into `digits`: one or two digits doubled when it is too
    short ('683548' -> '6683548', '6833548'...), one of a doubled pair undone when too long.
    Doubling a digit next to its twin gives the same string once."""
    out: dict[str, None] = {}
    if len(digits) < min_len:
        need = min_len - len(digits)
        if need > 2:
            return []
        for where in itertools.combinations_with_replacement(range(len(digits)), need):
            s = "".join(d * (1 + where.count(i)) for i, d in enumerate(digits))
            out[s] = None
    elif len(digits) > max_len:
        if len(digits) - max_len > 1:
            return []
        for i in range(1, len(digits)):
            if digits[i] == digits[i - 1]:
                out[digits[:i] + digits[i + 1:]] = None
    return list(out)[:limit]


def posteriors(scores: dict[str, float], temperature: float = 1.0) -> dict[str, float]:
    """Softmax of log-scores (`temperature` > 1 flattens it), largest first."""
    if not scores:
        return {}
    top = max(scores.values())
    weights = {k: math.exp((v - top) / temperature) for k, v in scores.items()}
    total = sum(weights.values())
    return dict(sorted(((k, w / total) for k, w in weights.items()),
                       key=lambda kv: kv[1], reverse=True))


def _logsumexp(values: Iterable[float]) -> float:
    vals = list(values)
    top = max(vals)
    return top + math.log(sum(math.exp(v - top) for v in vals))


class GrammarDecoder:
    """Decodes one encoder output under a grammar, with one Whisper model's tokenizer.
    Built once per model (the allowed token sets take ~50 ms to compute)."""

    def __init__(self, model: Any, tokenizer: Any, vocab_size: int) -> None:
        """`model`: the `ctranslate2.models.Whisper`; `tokenizer`: faster-whisper's
        `Tokenizer` (its `tokenizer` attribute is the Hugging Face tokenizer);
        `vocab_size`: the model's vocabulary (timestamps included)."""
        self.model = model
        self.hf = tokenizer.tokenizer if hasattr(tokenizer, "tokenizer") else tokenizer
        self.eot = tokenizer.eot
        self.vocab_size = vocab_size
        texts = [self.hf.decode([i]) for i in range(self.eot)]
        self.texts = texts
        pieces = {t for f in digit_word_forms()
                  for t in self.hf.encode(f, add_special_tokens=False).ids}
        allowed = allowed_digit_tokens(texts, pieces, self.eot)
        self.digit_tokens = allowed
        self.digit_suppress = [i for i in range(vocab_size) if i not in allowed]

    def encode_text(self, text: str) -> list[int]:
        return list(self.hf.encode(text, add_special_tokens=False).ids)

    def digits(self, encoded: Any, prompt: list[int], grammar: DigitGrammar
               ) -> GrammarResult:
        """The digit string in the utterance whose encoder output is `encoded` (batch 1),
        decoded after `prompt` (start of transcript, language, task, no timestamps)."""
        t0 = time.perf_counter()
        scores = self._nbest(encoded, prompt, grammar, DIGIT_BEAM)
        fitting = {v: s for v, s in scores.items()
                   if grammar.min_len <= len(v) <= grammar.max_len}
        if not fitting:  # a wider search: a dropped first digit often comes back
            scores = self._nbest(encoded, prompt, grammar, DIGIT_WIDE_BEAM)
            fitting = {v: s for v, s in scores.items()
                       if grammar.min_len <= len(v) <= grammar.max_len}
        if not fitting:
            fitting = self._variants(encoded, prompt, scores, grammar)
        if not fitting:
            best = max(scores, key=lambda v: scores[v]) if scores else ""
            return GrammarResult(best, best, 0.0, (),
                                 time.perf_counter() - t0)
        ranked = list(posteriors(scores | fitting, DIGIT_TEMPERATURE).items())
        ranked = [(v, p) for v, p in ranked if v in fitting]
        value, confidence = ranked[0]
        return GrammarResult(value, value, round(confidence, 4), tuple(ranked[1:5]),
                             time.perf_counter() - t0)

    def _nbest(self, encoded: Any, prompt: list[int], grammar: DigitGrammar, beam: int
               ) -> dict[str, float]:
        """Digit strings of the `beam` best hypotheses, each with its log-probability
        (summed over hypotheses that read as the same digits: "5 5" and "five five")."""
        result = self.model.generate(
            encoded, [prompt], beam_size=beam, num_hypotheses=beam,
            return_scores=True, suppress_tokens=self.digit_suppress,
            max_length=len(prompt) + 3 * grammar.max_len + 8)[0]  # the prompt counts
        hyps: dict[str, list[float]] = {}
        for ids, score in zip(result.sequences_ids, result.scores, strict=True):
            text = self.hf.decode(ids)
            if not in_digit_grammar(text):
                continue  # pieces that formed another character or word (see _IN_GRAMMAR)
            value = spoken_digits(text)
            hyps.setdefault(value, []).append(score * max(len(ids), 1))  # cumulative log-p
        return {v: _logsumexp(s) for v, s in hyps.items()}

    def _variants(self, encoded: Any, prompt: list[int], scores: dict[str, float],
                  grammar: DigitGrammar) -> dict[str, float]:
        """Forced-decoding scores of the expected-length variants of the hypotheses
        (`digit_variants`), with the hypotheses themselves scored the same way so that
        the two are comparable."""
        cands: dict[str, None] = {}
        for value in sorted(scores, key=lambda v: -scores[v]):
            for v in digit_variants(value, grammar.min_len, grammar.max_len):
                cands[v] = None
        if not cands:
            return {}
        texts = list(cands)[:MAX_VARIANTS]
        forced = self.score_texts(encoded, prompt, [" " + " ".join(v) for v in texts])
        return dict(zip(texts, forced, strict=True))

    def score_texts(self, encoded: Any, prompt: list[int], texts: Sequence[str]
                    ) -> list[float]:
        """Log-probability of each text (its tokens; `align` has no end of text) given the
        utterance: teacher-forced decoding of the whole batch in one `align` call."""
        return self.score_ids(encoded, prompt, [self.encode_text(t) for t in texts])

    def score_ids(self, encoded: Any, prompt: list[int], tokens: Sequence[Sequence[int]]
                  ) -> list[float]:
        """`score_texts` of token ids (without the end of text: `align` gives none).
        Each batch item costs its own cross-attention keys and values (~40 ms for
        whisper-base's full window): keep batches small."""
        import ctranslate2
        import numpy as np

        batch = encoded
        if len(tokens) > 1:
            batch = ctranslate2.StorageView.from_array(
                np.repeat(np.asarray(encoded), len(tokens), axis=0))
        frames = int(encoded.shape[1])
        aligned = self.model.align(batch, prompt, [list(t) for t in tokens], frames)
        return [float(np.sum(np.log(np.maximum(a.text_token_probs, 1e-12))))
                for a in aligned]


def single_digit_choices() -> ChoiceGrammar:
    """A lone digit as a choice among ten (each said as its numeral, its English word or its
    Mandarin characters): scoring ten answers beat decoding one digit (80 FSDD single
    digits through mu-law, whisper-base: 11% wrong against 16%), and the decoder cannot
    end before saying any digit."""
    said: dict[str, list[str]] = {str(d): [str(d)] for d in range(10)}
    for word, digit in [*((w, _EN_DIGITS[w]) for w in _DECODED_EN),
                        *((c, _ZH_DIGITS[c]) for c in _DECODED_ZH)]:
        said[digit].append(word)
    return ChoiceGrammar(tuple((d, tuple(words)) for d, words in said.items()))


class GrammarRecogniser:
    """The grammar side of one `WhisperASR`: builds its `GrammarDecoder` on first use and
    recognises an encoder output under a grammar in the language recognised."""

    def __init__(self, model: Any, model_dir: Path) -> None:
        """`model`: the faster-whisper `WhisperModel`; `model_dir`: its directory (the
        vocabulary size is the length of its vocabulary file)."""
        self._fw = model
        self._model_dir = Path(model_dir)
        self._lock = threading.Lock()
        self._decoder: GrammarDecoder | None = None

    def decoder(self) -> GrammarDecoder:
        with self._lock:
            if self._decoder is None:
                from faster_whisper.tokenizer import Tokenizer

                vocab = [p for p in (self._model_dir / "vocabulary.txt",
                                     self._model_dir / "vocabulary.json") if p.exists()]
                text = vocab[0].read_text(encoding="utf-8") if vocab else ""
                size = (text.count('",') + 1 if vocab[0].suffix == ".json"
                        else len(text.splitlines())) if vocab else 51865
                tok = Tokenizer(self._fw.hf_tokenizer, self._fw.model.is_multilingual,
                                task="transcribe", language="en")
                self._decoder = GrammarDecoder(self._fw.model, tok, size)
            return self._decoder

    def prompt(self, lang: str) -> list[int]:
        """Start of transcript, language and task (multilingual models), no timestamps."""
        from faster_whisper.tokenizer import Tokenizer

        multilingual = self._fw.model.is_multilingual
        tok = Tokenizer(self._fw.hf_tokenizer, multilingual, task="transcribe",
                        language=lang if multilingual else None)
        return [*tok.sot_sequence, tok.no_timestamps]

    def recognise(self, encoded: Any, lang: str, grammar: Grammar, text: str
                  ) -> GrammarResult:
        """`grammar` applied to `encoded` (batch 1); `text` is the free transcript of the
        same encoder output (a choice is weighed against it)."""
        decoder = self.decoder()
        prompt = self.prompt(lang)
        try:
            from audio_models.whisper_choices import recognise_choice

            if isinstance(grammar, DigitGrammar) and grammar.max_len == 1:
                heard = recognise_choice(decoder, encoded, prompt, _SINGLE_DIGIT, text)
                return dataclasses.replace(heard, text=heard.value)
            if isinstance(grammar, DigitGrammar):
                return decoder.digits(encoded, prompt, grammar)
            if isinstance(grammar, ChoiceGrammar):
                return recognise_choice(decoder, encoded, prompt, grammar, text)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"recognition by grammar failed: {exc}", retryable=True) from exc
        raise TypeError(f"not a grammar: {grammar!r}")


_SINGLE_DIGIT = single_digit_choices()
