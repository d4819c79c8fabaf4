"""Recognition by grammar, the logic without a model: which tokens a digit string may be
decoded with, how spoken digits read, which variants of a merged repeat are tried, how
scores become confidences, and how hypotheses become choices (a fake decoder)."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from audio_models.grammar import ChoiceGrammar, DigitGrammar
from audio_models.whisper_choices import (
    EMPTY_TRANSCRIPT_IN_GRAMMAR,
    OTHER,
    choice_key,
    choice_posteriors,
    in_grammar,
    phrasing_forms,
    recognise_choice,
)
from audio_models.whisper_grammar import (
    GrammarDecoder,
    allowed_digit_tokens,
    digit_variants,
    in_digit_grammar,
    posteriors,
    single_digit_choices,
    spoken_digits,
)


@pytest.mark.parametrize(("text", "digits"), [
    (" 6 9 8 3 2 5 4 8", "69832548"),
    (" 6, 9, 8-3.", "6983"),
    (" 69832548", "69832548"),
    ("six nine eight three", "6983"),
    (" Five oh three, double five", "50355"),
    ("triple O one", "0001"),
    ("double", ""),  # "double" with nothing after it
    ("double thank you 5", "5"),  # only a digit right after it is doubled
    ("幺三八两零〇", "138200"),
    ("六九八三二五四八", "69832548"),
    ("Thank you.", ""),
    ("", ""),
])
def test_spoken_digits(text: str, digits: str) -> None:
    assert spoken_digits(text) == digits


def test_allowed_digit_tokens() -> None:
    texts = [" 5", "5", "69", " seven", "Seven", " Oh", ",", " -", ".", " ", "幺", "两",
             " thank", "you", "5th", "\ufffd", " o", "ten", "、", " double"]
    allowed = allowed_digit_tokens(texts, word_pieces={15}, eot=len(texts))
    names = {texts[i] for i in allowed if i < len(texts)}
    assert names == {" 5", "5", "69", " seven", "Seven", ",", " -", ".", " ", "幺",
                     "、", " double", "\ufffd"}  # 15: a byte piece of a digit word
    # "oh" reads as 0 (spoken_digits) but is not decoded: the sink of unclear words; 两 reads
    # as 2 but is not decoded either (líng, 零, was heard as 两 under the grammar)
    assert len(texts) in allowed  # the end of text
    assert 12 not in allowed and 13 not in allowed and 14 not in allowed and 17 not in allowed


@pytest.mark.parametrize(("text", "inside"), [
    (" 6 9 8 3", True), (" Six, nine, 8.", True), ("二零一六", True), ("1990", True),
    (" 二〇〇三", True), ("", True),
    ("雇雇雇雇", False),  # byte pieces of 零 formed another character
    ("\ufffd\ufffd", False), ("二两一六", False),  # 两 is not decoded
    ("ZZ 。", False), (" Five oh", False), ("- t", False),
])
def test_in_digit_grammar(text: str, inside: bool) -> None:
    assert in_digit_grammar(text) is inside


def test_a_single_digit_is_a_choice_among_ten() -> None:
    grammar = single_digit_choices()
    assert grammar.ids() == tuple("0123456789")
    said = dict(grammar.choices)
    assert said["1"] == ("1", "one", "幺", "一") and said["2"] == ("2", "two", "二")
    assert not any("oh" in words for words in said.values())


@pytest.mark.parametrize(("digits", "lo", "hi", "expected"), [
    ("683548", 7, 7, {"6683548", "6883548", "6833548", "6835548", "6835448", "6835488"}),
    ("1223", 5, 5, {"11223", "12223", "12233"}),  # doubling either 2 gives 12223 once
    ("12345678", 8, 8, []),  # already fits: nothing to try
    ("122334", 5, 5, {"12334", "12234"}),  # too long: undo one doubled pair
    ("123456", 5, 5, []),  # too long and no doubled digit
    ("12", 8, 8, []),  # far too short: not a merged repeat
])
def test_digit_variants(digits: str, lo: int, hi: int, expected: Any) -> None:
    assert set(digit_variants(digits, lo, hi)) == set(expected)


def test_digit_variants_two_short_and_limit() -> None:
    out = digit_variants("123", 5, 5)
    assert "11223" in out and "11123" in out and "12333" in out
    assert all(len(v) == 5 for v in out)
    assert len(digit_variants("1234567", 9, 9, limit=4)) == 4


def test_posteriors_are_a_softmax() -> None:
    p = posteriors({"a": math.log(3), "b": math.log(1)})
    assert list(p) == ["a", "b"] and p["a"] == pytest.approx(0.75)
    flat = posteriors({"a": math.log(3), "b": math.log(1)}, temperature=2.0)
    assert 0.5 < flat["a"] < 0.75
    assert posteriors({}) == {}


def test_choice_posteriors_weigh_something_else() -> None:
    p = choice_posteriors({"yes": -1.0, "no": -5.0}, other=None)
    assert list(p) == ["yes", "no"] and sum(p.values()) == pytest.approx(1.0)
    q = choice_posteriors({"yes": -6.0, "no": -9.0}, other=-1.0)
    assert next(iter(q)) == OTHER and q["yes"] < 0.01


def test_choice_key_and_forms() -> None:
    assert choice_key(" Yes.") == choice_key("yes") == "yes"
    assert choice_key("是的。") == "是的"
    assert choice_key("Press two!") == "presstwo"
    assert set(phrasing_forms("yes")) == {"yes", " yes", "Yes", " Yes"}
    assert " 是的" in phrasing_forms("是的")


# ------------------------------------------------------------ with a fake decoder
class _Tokenizer:
    """Characters as tokens: id = code point + 1 (0 is the end of text)."""

    def encode(self, text: str, add_special_tokens: bool = False) -> Any:
        return SimpleNamespace(ids=[ord(c) + 1 for c in text])

    def decode(self, ids: list[int]) -> str:
        return "".join(chr(i - 1) for i in ids if i)


class _Model:
    """A Whisper `generate` that returns fixed hypotheses (text, mean log-probability) and
    records what was suppressed."""

    def __init__(self, hyps: list[tuple[str, float]]) -> None:
        self.hyps = hyps
        self.calls: list[dict[str, Any]] = []

    def generate(self, encoded: Any, prompts: list[list[int]], **kw: Any) -> list[Any]:
        self.calls.append(kw)
        tok = _Tokenizer()
        ids = [tok.encode(t).ids for t, _ in self.hyps]
        return [SimpleNamespace(sequences_ids=ids, scores=[s for _, s in self.hyps])]


def _decoder(hyps: list[tuple[str, float]], forced: dict[str, float] | None = None) -> Any:
    """A fake `GrammarDecoder`: `forced` maps a text to its unconstrained log-probability
    (`score_ids`, which records the texts it was asked about)."""
    model = _Model(hyps)
    asked: list[str] = []

    def score_ids(encoded: Any, prompt: list[int], batch: list[list[int]]) -> list[float]:
        texts = [_Tokenizer().decode(ids) for ids in batch]
        asked.extend(texts)
        return [(forced or {}).get(t, -1.0) for t in texts]

    return SimpleNamespace(model=model, hf=_Tokenizer(), eot=0, vocab_size=70000,
                           encode_text=lambda t: _Tokenizer().encode(t).ids,
                           score_ids=score_ids, asked=asked)


YES_NO = ChoiceGrammar((("yes", ("yes", "yeah", "correct")), ("no", ("no", "nope"))))


def test_choice_picks_the_best_phrasing_and_sums_a_choice() -> None:
    dec = _decoder([(" Yes.", -0.1), (" no", -1.0), (" nope", -1.0), (" yes no", -0.05)])
    r = recognise_choice(dec, None, [1], YES_NO, " Yes.")
    assert (r.value, r.text) == ("yes", "yes")
    assert r.alternatives and r.alternatives[0][0] == "no"
    assert r.confidence > 0.5
    kw = dec.model.calls[0]
    suppressed = set(kw["suppress_tokens"])
    assert ord("y") + 1 not in suppressed and ord("N") + 1 not in suppressed
    assert ord("z") + 1 in suppressed  # no phrasing has a z
    assert kw["beam_size"] >= 4 and kw["num_hypotheses"] == kw["beam_size"]


def test_choice_said_nothing_of_the_grammar_has_low_confidence() -> None:
    dec = _decoder([(" yes", -0.1), (" no", -0.5)],  # renormalised over the phrasings' tokens
                   forced={" yes": -12.0, " I want an agent": -2.0})
    r = recognise_choice(dec, None, [1], YES_NO, "I want an agent")
    assert r.value == "yes" and r.confidence < 0.01
    assert dec.asked == [" yes", " I want an agent"]  # both rescored, the space put back
    assert all(p < 0.01 for _, p in r.alternatives)


def test_choice_a_free_transcript_that_is_a_phrasing_is_not_rescored() -> None:
    dec = _decoder([(" five", -0.1), (" nine", -2.0)])
    menu = ChoiceGrammar((("5", ("five",)), ("9", ("nine",))))
    r = recognise_choice(dec, None, [1], menu, "5.")  # digits say the digit word
    assert r.value == "5" and r.confidence > 0.8 and dec.asked == []
    r = recognise_choice(dec, None, [1], menu, "Bye.")  # misheard: rescored
    assert dec.asked == [" five", " Bye."] and r.confidence == pytest.approx(0.5, abs=0.2)


def test_in_grammar() -> None:
    assert in_grammar(-1.0, -1.0) == pytest.approx(0.5)
    assert in_grammar(-1.0, -9.0) > 0.99 and in_grammar(-9.0, -1.0) < 0.01
    assert in_grammar(-500.0, 0.0) == 0.0


def test_choice_nothing_found() -> None:
    r = recognise_choice(_decoder([(" yesno", -0.2)]), None, [1], YES_NO, "")
    assert (r.value, r.confidence) == ("", 0.0)
    empty = recognise_choice(_decoder([]), None, [1], ChoiceGrammar((("a", ("",)),)), "")
    assert empty.value == ""


def test_choice_with_an_empty_free_transcript_is_even_odds() -> None:
    dec = _decoder([(" no", -0.01)])
    r = recognise_choice(dec, None, [1], YES_NO, "")
    assert r.value == "no" and r.confidence == pytest.approx(EMPTY_TRANSCRIPT_IN_GRAMMAR,
                                                             abs=0.01)
    assert dec.asked == []


class _DigitModel(_Model):
    def align(self, encoded: Any, prompt: list[int], tokens: list[list[int]], frames: int
              ) -> list[Any]:
        self.aligned = [_Tokenizer().decode(t) for t in tokens]
        # the variant with the doubled 7 is by far the likeliest
        return [SimpleNamespace(text_token_probs=[0.9 if "7 7" in _Tokenizer().decode(t)
                                                  else 0.1] * len(t)) for t in tokens]


def _digit_decoder(model: _Model) -> GrammarDecoder:
    dec = object.__new__(GrammarDecoder)
    dec.model, dec.hf, dec.eot, dec.vocab_size = model, _Tokenizer(), 0, 100
    dec.digit_suppress = [1, 2, 3]
    return dec


def test_digits_take_the_likeliest_hypothesis_of_the_expected_length() -> None:
    model = _Model([(" 5 0 0 0 0 0 0 6 3", -0.2), (" 5 0 0 0 0 0 6 3", -0.3),
                    (" five zero zero zero zero zero six three", -0.35)])
    r = _digit_decoder(model).digits(None, [1], DigitGrammar(8, 8))
    assert r.value == "50000063" and r.text == "50000063"
    assert 0.0 < r.confidence <= 1.0
    assert model.calls[0]["suppress_tokens"] == [1, 2, 3]


def test_digits_try_a_doubled_digit_when_no_hypothesis_fits() -> None:
    model = _DigitModel([(" 2 9 1 7", -0.2), (" 2 9 1", -0.4)])
    r = _digit_decoder(model).digits(np.zeros((1, 4, 2), np.float32), [1], DigitGrammar(5, 5))
    assert r.value == "29177"
    assert " 2 2 9 1 7" in model.aligned  # the variants were scored by forced decoding


def test_digits_nothing_fits_nor_varies() -> None:
    r = _digit_decoder(_Model([(" 1", -0.1)])).digits(None, [1], DigitGrammar(8, 8))
    assert r.value == "1" and r.confidence == 0.0
