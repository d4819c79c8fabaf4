"""Recognition by grammar with the shipped models (whisper-base, tiny.en) on real speech
through G.711 mu-law: FSDD speakers' digits joined into a string, a "no" cut from a real
LJSpeech sentence. Few cases on purpose (each costs a full encoder pass); the figures over
many strings come from the benchmarks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from audio_models.frames import AudioFrame, concat
from audio_models.grammar import ChoiceGrammar, DigitGrammar
from audio_models.telephone import telephone_channel
from audio_models.whisper_asr import WhisperASR
from tests.audio_data import load_clip

MODEL_DIR = Path(__file__).resolve().parents[2] / "var" / "cache" / "models"
YES_NO = ChoiceGrammar((
    ("yes", ("yes", "yeah", "yes please", "correct", "that's right")),
    ("no", ("no", "nope", "no thanks", "wrong", "that's wrong")),
))


@pytest.fixture(scope="module")
def base() -> Iterator[WhisperASR]:
    from audio_models.model_store import resolve_asr_model

    asr = WhisperASR(resolve_asr_model("base", MODEL_DIR), name="base", short_window_s=10.0)
    yield asr
    asr.close()


@pytest.fixture(scope="module")
def tiny() -> Iterator[WhisperASR]:
    from audio_models.model_store import tiny_en_dir

    asr = WhisperASR(tiny_en_dir(), name="tiny.en", short_window_s=10.0)
    yield asr
    asr.close()


def spoken_digits(digits: str, speaker: str, first: int = 20) -> AudioFrame:
    """One FSDD speaker saying `digits` (their recordings number `first` on), 150-300 ms
    apart, 300 ms of silence around, as heard over a mu-law call."""
    rate = 8000
    parts = [AudioFrame.silence(0.3, rate)]
    for i, d in enumerate(digits):
        if i:
            parts.append(AudioFrame.silence((0.15, 0.3, 0.2)[i % 3], rate))
        parts.append(load_clip("asr_en_digits", f"audio/{speaker}/{d}_{speaker}_{first + i}.flac"))
    parts.append(AudioFrame.silence(0.3, rate))
    return telephone_channel(concat(parts))


def test_eight_digits_with_repeats_exact_on_base(base: WhisperASR) -> None:
    audio = spoken_digits("16613186", "jackson")
    t = base.transcribe_sync(audio, "en", grammar=DigitGrammar(8, 8))
    assert t.grammar is not None and t.grammar.value == "16613186", (t.text, t.grammar)
    assert t.grammar.confidence >= 0.5
    assert 0 < t.grammar.processing_time < t.processing_time
    assert t.text  # the free transcript is still there


def test_eight_digits_exact_on_tiny_en(tiny: WhisperASR) -> None:
    """tiny.en has no language tokens: the grammar's prompt has none either."""
    t = tiny.transcribe_sync(spoken_digits("69832548", "george"), "en",
                             grammar=DigitGrammar(8, 8))
    assert t.grammar is not None and t.grammar.value == "69832548", (t.text, t.grammar)


def test_yes_no_hears_a_real_no(base: WhisperASR) -> None:
    lj = load_clip("asr_en_misc", "audio/ljspeech/LJ001-0012.flac")
    rate = lj.sample_rate  # "especially as no more time...": "no" at 0.92-1.14 s
    no = AudioFrame(lj.pcm[int(0.90 * rate) * 2:int(1.16 * rate) * 2], rate)
    silence = AudioFrame.silence(0.3, rate)
    t = base.transcribe_sync(telephone_channel(concat([silence, no, silence])), "en",
                             grammar=YES_NO)
    assert t.grammar is not None and t.grammar.value == "no", t.grammar
    assert t.grammar.confidence >= 0.9
    assert t.grammar.alternatives == () or t.grammar.alternatives[0][0] == "yes"


def test_yes_no_is_unsure_of_something_else(base: WhisperASR) -> None:
    """A caller who says "seven" to a yes/no question: some choice is best, but the
    confidence says it is none of them."""
    seven = telephone_channel(load_clip("asr_en_digits", "audio/lucas/7_lucas_20.flac"))
    t = base.transcribe_sync(seven, "en", grammar=YES_NO)
    assert t.grammar is not None and t.grammar.confidence < 0.1, (t.text, t.grammar)


def test_a_menu_choice_on_tiny_en(tiny: WhisperASR) -> None:
    menu = ChoiceGrammar((("billing", ("one", "billing", "my bill")),
                          ("cards", ("two", "cards", "lost card")),
                          ("agent", ("three", "agent", "a person"))))
    three = telephone_channel(load_clip("asr_en_digits", "audio/nicolas/3_nicolas_20.flac"))
    t = tiny.transcribe_sync(three, "en", grammar=menu)
    assert t.grammar is not None and (t.grammar.value, t.grammar.text) == ("agent", "three")
    # tiny.en's free transcript of this "three" is empty (even odds of something else)
    assert t.grammar.confidence > 2 * max((p for _, p in t.grammar.alternatives), default=0)
