"""`ivr simulate --audio`: files transcribed in the call's language (a scripted ASR and the
real one), then typing when a person is there; the fixture clips are speech."""

from __future__ import annotations

import numpy as np

from audio_models.tts import load_audio_file
from tests.unit.simulate_console import AUDIO, HOTLINE, Script, ScriptedASR, simulate


def test_audio_files_are_transcribed_in_the_call_language() -> None:
    asr = ScriptedASR("English", "I want to check my bill.")
    s = Script("should not be read")
    wav = str(AUDIO / "check_my_bill.wav")
    assert simulate(s, str(HOTLINE), "--audio", wav, wav, asr_factory=lambda spec: asr) == 0
    assert asr.languages == ["zh", "en"]  # the first answer switched the call to English
    assert asr.closed
    text = s.text
    assert "caller (check_my_bill.wav): English    [confidence 0.87]\n" in text
    assert "caller (check_my_bill.wav): I want to check my bill.    [confidence 0.87]\n" \
           "  understood: bill_enquiry" in text
    assert "IVR [en-US]: Your bill for this month is 98 yuan" in text
    assert "caller>" not in text  # not interactive: stop after the files


def test_audio_then_interactive_when_a_person_types() -> None:
    asr = ScriptedASR("转人工")
    s = Script("never", interactive=True)
    wav = str(AUDIO / "no_thanks.wav")
    assert simulate(s, str(HOTLINE), "--audio", wav, wav, asr_factory=lambda spec: asr) == 0
    assert "*** transfer to queue:general" in s.text
    assert "(the call has ended; no_thanks.wav and later files not played)" in s.text
    # a person may start again after the end
    assert "  (the call has ended: /restart for a new call, /quit to leave)\ncaller> never\n" \
        in s.text
    s = Script("#1", interactive=True)
    asr = ScriptedASR("")
    assert simulate(s, str(HOTLINE), "--audio", wav, asr_factory=lambda spec: asr) == 0
    assert "(nothing recognised)" in s.text and "  no input\n" in s.text
    assert "caller> #1\n" in s.text


def test_audio_with_the_real_asr() -> None:
    s = Script()
    wav = str(AUDIO / "check_my_bill.wav")
    assert simulate(s, str(HOTLINE), "--language", "en-US", "--audio", wav) == 0, \
        s.err.getvalue()
    assert "caller (check_my_bill.wav): I want to check my bill." in s.text
    assert "understood: bill_enquiry" in s.text


def test_fixture_clips_are_speech() -> None:
    for name in ("check_my_bill.wav", "no_thanks.wav"):
        audio = load_audio_file(AUDIO / name)
        level = float(np.abs(audio.to_float32()).max())
        assert audio.sample_rate == 8000 and 1.0 < audio.duration < 3.0 and level > 0.1
