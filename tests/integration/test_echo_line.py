"""Echoing lines (issue 20): the IVR's own prompts come back from the caller's line.

Two real calls to one `ivr serve` (the shipped hotline, embedded defaults except the opening
disclosure, switched off to keep the calls short: over it, a protected prompt, the echo would
be a deferred barge-in instead), placed at the same time:
- SIPp (`uac -rtp_echo`) returns every RTP packet the IVR sends at once and at full level (a
  0 dB echo), and says nothing: the greeting, the English offer and the main menu play to
  their ends; no barge-in, no utterance, no no-match is counted;
- `testkit.echo_line.EchoLineCaller` returns what the IVR sent 120 ms later and 10 dB quieter,
  and 1.5 s into the main menu speaks real recorded speech over it (LJSpeech LJ001-0002, "in
  being comparatively modern."): that barges in, on the menu, and is recognised.

The IVR's log says what echo path it found on each line (delay, echo return loss) and what
the gate cost per frame."""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from telephony.ports import free_udp_port
from testkit.echo_line import EchoLineCaller
from testkit.harness import IvrProcess
from tests.audio_data import shared_file
from tests.integration.conftest import serve_checked

pytestmark = pytest.mark.integration
SIPP = Path("/usr/bin/sipp")
SPEECH = ("asr_en_misc", "audio/ljspeech/LJ001-0002.flac")  # "in being comparatively modern."
MENU_S = 37  # answer -> end of the Mandarin main menu (26.5 s long): ~34 s without disclosure


@pytest.fixture(scope="module")
def ivr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IvrProcess]:
    if not SIPP.exists():
        pytest.skip("SIPp is not installed (Debian sip-tester; run scripts/setup)")
    yield from serve_checked(IvrProcess(tmp_path_factory.mktemp("ivr-echo"),
                                        env={"IVR_PRIVACY__DISCLOSURE": "{}"}))


@pytest.fixture(scope="module")
def calls(ivr: IvrProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both calls, concurrently; their ended call records (events, turns)."""
    work = tmp_path_factory.mktemp("sipp")
    speech, rate = sf.read(str(shared_file(*SPEECH)), dtype="int16")
    assert rate == 8000
    sipp_id = f"sipp-echo-{secrets.token_hex(4)}"
    sipp = subprocess.Popen(
        [str(SIPP), "-sn", "uac", "-rtp_echo", "-m", "1", "-d", str(MENU_S * 1000),
         "-s", "hotline", "-i", "127.0.0.1", "-p", str(free_udp_port()),
         "-mp", str(free_udp_port()), "-cid_str", f"{sipp_id}-%u@%s", "-nostdin",
         "-timeout", "60", "-timeout_error", f"127.0.0.1:{ivr.sip_port}"],
        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    caller = EchoLineCaller("127.0.0.1", ivr.sip_port, delay_ms=120, gain_db=-10)
    try:
        speaker = ivr.call_id_for(caller.dial())
        ivr.wait_call_event(speaker, lambda e: e["type"] == "prompt"
                            and e["data"]["node"] == "main_menu", 40)
        time.sleep(1.5)
        caller.say(speech)
        spoke_at = time.time()
        ivr.wait_call_event(speaker, lambda e: e["type"] == "utterance", 30)
        caller.hangup()
        assert sipp.wait(60) == 0, "SIPp's call failed"
    finally:
        caller.close()
        if sipp.poll() is None:
            sipp.kill()
            sipp.wait(5)
    echoed = ivr.call_id_for(f"{sipp_id}-1@127.0.0.1")
    return {"sipp": ivr.wait_call_ended(echoed, 30), "speaker": ivr.wait_call_ended(speaker, 30),
            "spoke_at": spoke_at, "log": ivr.log(), "ids": (echoed, speaker)}


def types(call: dict[str, Any], *names: str) -> list[dict[str, Any]]:
    return [dict(e["data"], type=e["type"]) for e in call["events"] if e["type"] in names]


def echo_paths(log: str, call_id: str) -> list[tuple[float, float]]:
    """(delay ms, echo return loss dB) of every echo path the IVR logged for the call."""
    return [(float(d), float(erl)) for d, erl in re.findall(
        rf"call={call_id} echo on the line: delay (\d+) ms, echo return loss ([-\d.]+) dB", log)]


def test_a_full_level_echo_lets_the_menu_play_to_its_end(calls: dict[str, Any]) -> None:
    call = calls["sipp"]
    ends = {d["node"]: d["interrupted"] for d in types(call, "prompt_end")}
    assert ends.get("main_menu") is False, types(call, "prompt", "prompt_end", "barge_in")
    assert ends.get("welcome") is False and ends.get("welcome_english_offer") is False, ends
    assert types(call, "barge_in", "utterance", "speech_during_protected_prompt") == []
    assert all(t["outcome"] != "no_match" for t in call["turns"]), call["turns"]
    assert call["outcome"] != "transferred", call["outcome"]
    paths = echo_paths(calls["log"], calls["ids"][0])
    assert paths, "the IVR found no echo on SIPp's line: the test proves nothing"
    assert all(0 <= d <= 200 and erl < 3 for d, erl in paths), paths  # at once, full level


def test_speech_over_a_delayed_attenuated_echo_still_barges_in(calls: dict[str, Any]) -> None:
    call = calls["speaker"]
    barges = types(call, "barge_in")
    assert len(barges) >= 1, types(call, "prompt", "prompt_end", "utterance")
    first = barges[0]
    assert (first["cause"], first["node"]) == ("speech", "main_menu"), barges
    assert first.get("deferred") is None and first["latency_ms"] < 1000, first
    ends = [(d["node"], d["interrupted"]) for d in types(call, "prompt_end")]
    assert ends[:3] == [("welcome", False), ("welcome_english_offer", False),
                        ("main_menu", True)], ends
    said = types(call, "utterance")[0]["text"].lower()
    assert "modern" in said or "comparative" in said, said
    paths = echo_paths(calls["log"], calls["ids"][1])
    assert paths, "the IVR found no echo on the line"
    delays = np.array([d for d, _ in paths])
    erls = np.array([erl for _, erl in paths])
    # 120 ms on the line, plus the IVR's jitter buffer and conference bridge
    assert np.all((delays >= 120) & (delays <= 400)), paths
    assert abs(float(np.median(erls)) - 10) <= 3, paths
