"""Recognition by grammar in a real call (issue 19): a baresip caller phones the real
`ivr serve` (shipped hotline) and speaks an 8-digit broadband account number, then answers a
yes/no question by voice.

Caller speech is real human speech: the account number is eight Free Spoken Digit Dataset
clips (speaker george, CC BY-SA 4.0) joined with 150-300 ms of silence; the yes is "correct",
cut from Asterisk's recorded prompt "If this is correct, press..." (Allison, CC BY-SA 3.0):
no recording of a bare "yes" exists here, and "correct" is one of the hotline's `affirm`
keywords and of the yes/no grammar's yes phrasings.

The hotline's account question (`broadband_account`, a `digits` slot of exactly 8) has no read-back
with `confirm`: the IVR says the account back ("I have logged a broadband fault for account
5 5 2 ...") and asks "Is there anything else?", a yes/no menu (`affirm`/`deny`), answered here
by voice. Both answers are recognised under their grammar (`grammar_result` events).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from testkit.harness import ASTERISK_SOUNDS, IvrProcess, ScriptedCaller
from tests.audio_data import shared_data_dir

pytestmark = pytest.mark.integration

ACCOUNT = "55203318"  # repeated digits: free Whisper merges them, the 8-digit grammar not
GAPS_S = (0.2, 0.25, 0.15, 0.3, 0.2, 0.25, 0.18)
SPEAKER, TAKE = "george", 5
IF_CORRECT = ASTERISK_SOUNDS / "if-correct-press.wav"
CORRECT_S = (0.58, 1.14)  # "correct" in "If this is correct, press..."


def account_clip(path: Path) -> Path:
    """The account number said digit by digit, from real recordings, as one 8 kHz wav."""
    digits = shared_data_dir() / "asr_en_digits" / "audio" / SPEAKER
    parts = [np.zeros(2400)]
    for i, d in enumerate(ACCOUNT):
        x, rate = sf.read(digits / f"{d}_{SPEAKER}_{TAKE}.flac")
        assert rate == 8000
        parts.append(x)
        if i < len(GAPS_S):
            parts.append(np.zeros(int(rate * GAPS_S[i])))
    sf.write(path, np.concatenate(parts), 8000)
    return path


def correct_clip(path: Path) -> Path:
    x, rate = sf.read(IF_CORRECT)
    sf.write(path, x[int(CORRECT_S[0] * rate):int(CORRECT_S[1] * rate)], rate)
    return path


def test_a_spoken_account_number_and_a_spoken_yes(ivr: IvrProcess, tmp_path: Path) -> None:
    if not IF_CORRECT.exists():
        pytest.skip("asterisk-core-sounds-en-wav is not installed (run scripts/setup)")
    if not (shared_data_dir() / "asr_en_digits").exists():
        pytest.skip("the shared FSDD recordings are not here")
    account, correct = account_clip(tmp_path / "account.wav"), correct_clip(tmp_path / "yes.wav")
    began = time.monotonic()
    with ScriptedCaller(ivr, tmp_path) as c:
        c.dial()
        c.wait("prompt_end", node="welcome_english_offer", interrupted=False)
        c.press("9")
        c.wait("language", language="en-US")
        c.wait("prompt", node="main_menu", language="en-US")
        c.press("2")  # broadband fault
        c.wait("prompt_end", node="broadband_account", interrupted=False, timeout=30)
        spoken = time.monotonic()
        c.say(account)
        digits = c.wait("grammar_result", node="broadband_account", timeout=30)["data"]
        c.wait("prompt_end", node="anything_else", interrupted=False, timeout=40)
        c.say(correct)
        yes = c.wait("grammar_result", node="anything_else", timeout=30)["data"]
        c.wait("prompt", node="main_menu", timeout=20)  # yes: back to the menu
        answered = time.monotonic()
        c.hangup()
        c.wait_closed(20)
        call = ivr.wait_call_ended(c.call_id, 30)
    turns = [t for t in call["turns"] if t["input_mode"] == "speech"]
    assert [t["node"] for t in turns] == ["broadband_account", "anything_else"], call["turns"]
    assert turns[0]["slots"] == {"account": ACCOUNT}, (turns[0], digits)
    assert digits["kind"] == "digits" and digits["value"] == ACCOUNT and digits["used"], digits
    assert turns[1]["intent"] == "affirm" and turns[1]["outcome"] == "match", turns[1]
    assert yes["kind"] == "menu" and yes["value"] == "affirm" and yes["used"], yes
    said = " ".join(e["data"]["text"] for e in call["events"] if e["type"] == "prompt")
    assert "5 5 2 0 3 3 1 8" in said or "five five two zero three three" in said.lower(), said
    print(f"\ncall {answered - began:.1f} s; from the account spoken to the yes answered "
          f"{answered - spoken:.1f} s; grammar {digits['ms']} ms (digits, why={digits['why']}, "
          f"confidence {digits['confidence']}), {yes['ms']} ms (yes, why={yes['why']}, "
          f"confidence {yes['confidence']})")
