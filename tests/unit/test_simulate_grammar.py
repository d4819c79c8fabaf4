"""`ivr simulate --audio` hears a recording as a call would: under the question's grammar
(issue 19). Real speech: an 8-digit account number joined from Free Spoken Digit Dataset
clips (tests/integration/test_grammar_call.py builds it), said at the shipped hotline's
`broadband_account` question, recognised by the real Whisper model."""

from __future__ import annotations

from pathlib import Path

from ivr.call.grammar_fusion import GrammarRules
from ivr.config import Settings
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.simulate import Simulator, _Options, real_asr
from tests.integration.test_grammar_call import ACCOUNT, account_clip
from tests.unit.simulate_console import HOTLINE, Script, ScriptedASR


def simulator(script: Script, *, grammar: bool, asr: object | None = None) -> Simulator:
    settings = Settings()
    options = _Options(load_dialplan(HOTLINE), "13800138000", None, "en-US",
                       settings.asr.min_confidence, settings.asr.max_no_speech_prob,
                       grammar=GrammarRules.from_settings(settings) if grammar else None)
    factory = real_asr if asr is None else (lambda spec: asr)
    return Simulator(script.console, options, asr_model="base", asr_factory=factory)


def test_a_spoken_account_number_is_heard_under_the_digit_grammar(tmp_path: Path) -> None:
    s = Script()
    sim = simulator(s, grammar=True)
    try:
        sim.start()
        sim.conv.press("2")  # broadband: the 8-digit account question
        assert sim.conv.listening is not None and sim.conv.listening.grammar is not None
        turn = sim.feed_audio(account_clip(tmp_path / "account.wav"))
    finally:
        sim.close()
    assert f"grammar (digits): {ACCOUNT} [confidence" in s.text, s.text
    assert ACCOUNT in [str(v) for v in turn.variables.values()], turn.variables
    assert "five five two zero three three one eight" in turn.said[0]


def test_without_the_grammar_setting_the_free_transcript_is_heard(tmp_path: Path) -> None:
    s = Script()
    asr = ScriptedASR("one two three four five six seven eight")
    sim = simulator(s, grammar=False, asr=asr)
    try:
        sim.start()
        sim.conv.press("2")
        sim.feed_audio(account_clip(tmp_path / "account.wav"))
    finally:
        sim.close()
    assert asr.grammars == [None] and "grammar (" not in s.text
    assert "caller (account.wav): one two three four five six seven eight" in s.text
