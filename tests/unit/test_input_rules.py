"""Hallucination guards and speech verdicts shared by calls and conversations."""

from __future__ import annotations

import pytest

from audio_models.protocols import Transcript
from ivr.understanding.input_rules import hallucination, judge_speech


def tr(text: str, *, seconds: float = 2.0, conf: float = 0.8, logprob: float = -0.3,
       nsp: float = 0.05) -> Transcript:
    return Transcript(text, "zh", conf, logprob, nsp, seconds, 0.5)


@pytest.mark.parametrize(("t", "why"), [
    (tr(""), "empty"),
    (tr("   "), "empty"),
    (tr("谢谢观看", nsp=0.5), "stock phrase"),
    (tr("Thank you.", seconds=0.8), "stock phrase"),
    (tr("我想查话费", nsp=0.8, logprob=-1.2), "no speech"),
    (tr("我想查一下这个月的话费账单还有余额是多少", seconds=0.5), "too much text for the audio"),
    (tr("please connect me to an agent right now thank you", seconds=0.6),
     "too much text for the audio"),
    (tr("谢谢大家谢谢大家谢谢大家谢谢大家", seconds=4.0), "repetition loop"),
    (tr("thank you, thank you, thank you, thank you", seconds=4.0), "repetition loop"),
])
def test_hallucinations_are_recognised(t: Transcript, why: str) -> None:
    assert hallucination(t) == why
    assert judge_speech(t, 0.25, 0.7) == "noise"


@pytest.mark.parametrize("t", [
    tr("我想查话费"),
    tr("Thank you.", seconds=2.0, nsp=0.1),  # said clearly at length: a real "thank you"
    tr("幺三八零零幺三八零零零", seconds=4.0),  # eleven digits in four seconds
    tr("five five five five", seconds=2.5),  # digits may repeat
    tr("我想查话费", nsp=0.8, logprob=-0.3),  # likely no speech, but decoded confidently
])
def test_real_speech_is_kept(t: Transcript) -> None:
    assert hallucination(t) is None


def test_low_confidence_is_unintelligible_not_noise() -> None:
    assert judge_speech(tr("嗯那个", conf=0.1), 0.25, 0.7) == "unintelligible"
    assert judge_speech(tr("嗯那个", conf=0.4, nsp=0.75), 0.25, 0.7) == "unintelligible"
    assert judge_speech(tr("我想查话费"), 0.25, 0.7) == "speech"
