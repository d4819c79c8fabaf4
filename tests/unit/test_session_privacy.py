"""CallSession and personal data: sensitive gathers (keys masked, recording paused, values
masked wherever stored or logged), the disclosure and the consent question. Real store, real
recorder, fake media and ASR (tests/unit/call_runner.py)."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.unit.call_runner import Call, run_call, speech_clip
from tests.unit.fakes import transcript

ID_X = "11010519491231002X"  # valid checksum (computed, not a real person)
LAST4 = "4821"
PLAN = """
name: privacy-test
languages: [zh-CN, en-US]
default_language: zh-CN
start: ask_id
{consent}
nodes:
  ask_intro:
    say: 为了核实身份，需要您的证件号码。
    next: ask_id
  ask_id:
    gather:
      prompt: {{zh-CN: 请输入您的十八位身份证号码。, en-US: Please key in your ID.}}
      slot: {{name: id_number, type: id_card, sensitive: true}}
      next: ask_last4
  ask_last4:
    gather:
      prompt: {{zh-CN: 请输入卡号最后四位。, en-US: "The last four digits, please."}}
      slot: {{name: card_last4, type: digits, min_length: 4, max_length: 4, sensitive: true}}
      confirm: true
      next: done
  done:
    hangup:
      say: {{zh-CN: "好的，证件{{id_number}}，尾号{{card_last4}}已核实，再见。",
            en-US: "Thanks, {{card_last4}} is verified. Goodbye."}}
      reason: done
"""
CONSENT = """consent:
  prompt: {zh-CN: 同意录音请按1，不同意请按2。, en-US: "Press 1 to agree to recording, 2 if not."}
  refuse: REFUSE
  timeout_s: 0.3
  refused_say: {zh-CN: 好的，本次通话不录音。, en-US: This call will not be recorded.}"""
DISCLOSURE = {"zh": "您好，您正在与智能语音助手通话，本次通话将被录音。",
              "en": "You are speaking with an automated assistant; this call is recorded."}


def plan(tmp_path: Path, consent: str | None = None) -> Path:
    path = tmp_path / "privacy.yaml"
    block = CONSENT.replace("REFUSE", consent) if consent else ""
    path.write_text(PLAN.format(consent=block), encoding="utf-8")
    return path


def dump(c: Call) -> str:
    """Every text of every table of the call's database."""
    db = sqlite3.connect(c.settings.db_path)
    out = []
    for (table,) in db.execute("select name from sqlite_master where type='table'"):
        for row in db.execute(f'select * from "{table}"'):  # noqa: S608 - table names of ours
            out.append(json.dumps(row, ensure_ascii=False, default=str))
    return "\n".join(out)


async def key_in_both(c: Call) -> None:
    await c.wait_event("listen", node="ask_id")
    c.dtmf(ID_X.replace("X", "*") + "#")
    await c.wait_event("listen", node="ask_last4")
    c.dtmf(LAST4)
    await c.wait_event("listen", node="ask_last4", count=2)  # the read-back question
    c.dtmf("1")


def test_sensitive_keys_leave_no_digits_in_the_store_or_the_log(tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO)
    c = run_call(tmp_path, key_in_both, plan_path=plan(tmp_path))
    assert c.row()["end_reason"] == "done"
    everything = dump(c) + caplog.text
    for secret in (ID_X, ID_X[:-1], "110105194912", LAST4):
        # as a number of its own: "4821" inside a timestamp like 1795265886.4821203 is not it
        assert not re.search(rf"(?<!\d){secret}(?!\d)", everything), secret
    assert {e["digit"] for e in c.events("dtmf")} == {"*"}
    turns = c.row()["turns"]
    assert [t["dtmf"] for t in turns] == ["****", "****", "****"]  # ID, last 4, "1" (yes)
    assert turns[0]["slots"] == {"id_number": "****"}
    assert "好的，证件****，尾号****已核实，再见。" in [e["text"] for e in c.events("prompt")]
    # the caller heard the values (digit by digit, 幺 for 1): only what is stored is masked
    heard = "证件幺幺零幺零五幺九四九幺二三幺零零二 X，尾号四八二幺"
    assert any(heard in text for text, _ in c.prompts.requests)


def test_recording_is_paused_from_the_sensitive_prompt_until_the_input(tmp_path) -> None:
    c = run_call(tmp_path, key_in_both, plan_path=plan(tmp_path))
    types = c.event_types()
    paused = [e for e in c.events("recording_paused")]
    assert paused[0] == {"reason": "sensitive_input", "node": "ask_id"}
    assert {p["node"] for p in paused} == {"ask_id", "ask_last4"}
    assert types.count("recording_paused") == types.count("recording_resumed") >= 3
    # paused before the prompt asking for the ID started, resumed after the keys were taken
    first = types.index("recording_paused")
    assert types[first + 1] == "prompt" and c.events("prompt")[0]["node"] == "ask_id"
    assert types.index("recording_resumed") > types.index("dtmf")


def test_speech_in_a_sensitive_gather_is_masked(tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO)
    said = "我的身份证号是一一零一零五一九四九一二三一零零二叉"

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="ask_id")
        await c.wait_event("recording_paused")
        c.say(speech_clip())
        await c.wait_event("listen", node="ask_last4")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, plan_path=plan(tmp_path),
                 asr_script=[transcript(said, "zh", 0.9, 0.02, audio_duration=8.0)], speed=0.05)
    assert c.events("utterance")[0]["text"] == "****"
    assert c.row()["turns"][0]["caller_text"] == "****"
    assert c.row()["turns"][0]["slots"] == {"id_number": "****"}
    everything = dump(c) + caplog.text
    assert "一一零一零五" not in everything and ID_X not in everything


def test_without_redaction_nothing_is_masked(tmp_path) -> None:
    c = run_call(tmp_path, key_in_both, plan_path=plan(tmp_path), privacy={"redact": False})
    assert ID_X in dump(c)


def test_disclosure_comes_first_in_the_callers_language(tmp_path) -> None:
    c = run_call(tmp_path, key_in_both, plan_path=plan(tmp_path),
                 privacy={"disclosure": DISCLOSURE})
    first = c.events("prompt")[0]
    assert first == {"node": "disclosure", "language": "zh-CN", "text": DISCLOSURE["zh"],
                     "barge_in": False}
    assert c.prompts.requests[0] == (DISCLOSURE["zh"], "zh-CN")


def consent_call(tmp_path: Path, refuse: str, key: str | None) -> Call:
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="consent")
        if key is None:
            await c.wait_event("listen", node="consent", count=2)
        else:
            c.dtmf(key)
        if refuse == "continue" or key == "1":
            await key_in_both(c)

    return run_call(tmp_path, scenario, plan_path=plan(tmp_path, refuse),
                    privacy={"disclosure": DISCLOSURE})


def test_consent_given_starts_the_recording(tmp_path) -> None:
    c = consent_call(tmp_path, "continue", "1")
    row = c.row()
    assert row["recording_path"] and Path(row["recording_path"]).exists()
    assert "recording_consented" in c.event_types()
    said = [(e["node"], e["language"]) for e in c.events("prompt")]
    assert said[:3] == [("disclosure", "zh-CN"), ("disclosure", "en-US"), ("consent", "zh-CN")]


@pytest.mark.parametrize(("key", "refuse", "end"), [
    ("2", "continue", "done"), ("2", "hangup", "consent_declined"),
    (None, "hangup", "consent_declined")])
def test_consent_refused_means_no_recording(tmp_path, key: str | None, refuse: str,
                                            end: str) -> None:
    c = consent_call(tmp_path, refuse, key)
    row: dict[str, Any] = c.row()
    assert row["recording_path"] is None and row["end_reason"] == end
    assert not list(c.settings.recordings_dir.glob(f"{c.session.call_id}*"))
    declined = c.events("recording_declined")
    assert declined == [{"answer": "no" if key else "none", "then": refuse}]
    assert "recording_paused" not in c.event_types()


def test_a_key_pressed_over_the_disclosure_answers_the_first_question(tmp_path) -> None:
    """No caller input is lost (issue 18): the disclosure plays to its end, then the key is
    the answer to the consent question, whose prompt it cuts."""
    async def scenario(c: Call) -> None:
        await c.wait_event("prompt", node="disclosure")
        c.dtmf("1")  # over the disclosure: kept for the first question, the consent
        await key_in_both(c)

    c = run_call(tmp_path, scenario, plan_path=plan(tmp_path, "continue"),
                 privacy={"disclosure": DISCLOSURE}, speed=0.2)
    assert [e["interrupted"] for e in c.events("prompt_end", node="disclosure")] == [False] * 2
    assert [t["node"] for t in c.row()["turns"]][:2] == ["consent", "ask_id"]
    assert c.row()["turns"][0]["dtmf"] == "1"
    assert "recording_consented" in c.event_types()
    assert c.events("barge_in", deferred=True) == [
        {"cause": "dtmf", "node": "consent", "latency_ms": None, "deferred": True}]
    assert c.row()["end_reason"] == "done"
