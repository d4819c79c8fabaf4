"""What a question expects, for recognition by grammar (issue 19): the contract between the
call, which knows what it asked, and the recogniser, which decodes under the grammar.

Classic IVRs do not transcribe freely where the answer is constrained: they recognise against
a grammar (SRGS in VoiceXML). A Whisper decoder can do the same from the one encoder output it
already has for the free transcript: decoding restricted to digit tokens (`DigitGrammar`), or
scoring each expected answer (`ChoiceGrammar`). The recogniser returns both, the free
`Transcript` with its `grammar` result, and the call decides which to believe.

Pure data: no model is loaded here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ChoiceGrammar", "DigitGrammar", "Grammar", "GrammarResult"]


@dataclass(frozen=True, slots=True)
class DigitGrammar:
    """Only digits may be recognised (and the words callers say them with: 幺, 两, "oh",
    "double"...); the expected length guides where the string ends."""

    min_len: int = 1
    max_len: int = 18


@dataclass(frozen=True, slots=True)
class ChoiceGrammar:
    """One of a closed set of answers. Each choice has an id and the phrasings callers use
    for it, in the question's language (yes: 是/对/好的/是的...)."""

    choices: tuple[tuple[str, tuple[str, ...]], ...]  # (choice id, phrasings)

    def ids(self) -> tuple[str, ...]:
        return tuple(cid for cid, _ in self.choices)


Grammar = DigitGrammar | ChoiceGrammar


@dataclass(frozen=True, slots=True)
class GrammarResult:
    """What the grammar recognised in one utterance."""

    value: str  # the digits ("69832548"), or the id of the choice
    text: str  # what was decoded under the grammar: the digits, or the best phrasing
    confidence: float  # calibrated 0..1: the probability that `value` is what was said
    alternatives: tuple[tuple[str, float], ...] = ()  # next best values, best first
    processing_time: float = 0.0  # seconds spent on the grammar beyond the free transcript
