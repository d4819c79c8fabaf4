"""A real call with the media clock at 8 kHz (`sip.clock_rate: 8000`, issue 22).

At 8 kHz a PCMU call is never resampled by pjmedia's conference bridge; everything the call
touches then runs at 8 kHz: prompts rendered at that rate, DTMF, the echo gate and the
endpointer, recognition (Whisper resamples the utterance once), the call recording and
live listen. One baresip caller (PCMU) presses 9 for English and asks for an agent over the
English menu; the test reads the IVR's own record of the call, its recording and the live
stream a supervisor would hear.
"""

from __future__ import annotations

import asyncio
import threading
import wave
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import soundfile as sf

from testkit.harness import ASTERISK_SOUNDS, TOKEN, IvrProcess, ScriptedCaller
from tests.integration.conftest import serve_checked

pytestmark = pytest.mark.integration

NARROW = 8000
REPRESENTATIVE = ASTERISK_SOUNDS / "queue-callswaiting.wav"  # "waiting to speak with a rep..."


@pytest.fixture(scope="module")
def ivr(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if not REPRESENTATIVE.exists():
        pytest.skip("asterisk-core-sounds-en-wav is not installed (run scripts/setup)")
    from tests.integration.conftest import _require_tools

    _require_tools()
    proc = IvrProcess(tmp_path_factory.mktemp("ivr-8k"), env={"IVR_SIP__CLOCK_RATE": "8000"})
    yield from serve_checked(proc)


def _listen(port: int, call_id: str, got: dict[str, Any], stop: threading.Event) -> None:
    """Live listen as a supervisor's browser does: the format message, then stereo PCM."""
    async def run() -> None:
        url = f"http://127.0.0.1:{port}/dash/api/live/{call_id}/listen"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession() as http, http.ws_connect(url, headers=headers) as ws:
            got["format"] = await ws.receive_json(timeout=10)
            got["bytes"] = 0
            while not stop.is_set() and got["bytes"] < NARROW * 2 * 2 * 2:  # 2 s of stereo
                msg = await ws.receive(timeout=10)
                if msg.type != aiohttp.WSMsgType.BINARY:
                    break
                got["bytes"] += len(msg.data)

    try:
        asyncio.run(run())
    except Exception as e:  # noqa: BLE001 - reported by the test's assertion
        got["error"] = repr(e)


def test_a_pcmu_call_at_an_8k_clock(ivr: IvrProcess, tmp_path: Path) -> None:
    assert "media clock 8000 Hz" in ivr.log()
    live: dict[str, Any] = {}
    stop = threading.Event()
    with ScriptedCaller(ivr, tmp_path) as c:
        c.dial()
        listener = threading.Thread(target=_listen, args=(ivr.http_port, c.call_id, live, stop))
        listener.start()
        c.wait("listen", node="main_menu", timeout=40)
        c.press("9")  # RFC 4733, during the Mandarin menu
        c.wait("language", language="en-US")
        c.wait("prompt", node="main_menu", language="en-US")
        c.say(REPRESENTATIVE)  # over the English menu: barge-in by speech
        c.wait("turn", node="main_menu", intent="agent", timeout=40)
        c.hangup()
        c.wait_closed(20)
        heard, _sent = c.recordings()
        stop.set()
        listener.join(15)
    call = ivr.wait_call_ended(c.call_id, 30)

    # the caller's speech, cut by the 8 kHz endpointer, recognised and understood
    turn = next(t for t in call["turns"] if t["intent"] == "agent")
    assert (turn["node"], turn["input_mode"]) == ("main_menu", "speech"), turn
    assert any(e["type"] == "barge_in" and e["data"].get("cause") == "speech"
               for e in call["events"])

    # what the caller heard: the prompts (rendered at 8 kHz, sent without resampling)
    audio, rate = sf.read(str(heard), dtype="int16")
    assert rate == NARROW
    prompts = [e["data"] for e in call["events"] if e["type"] == "prompt_end"]
    assert any(not p["interrupted"] for p in prompts), prompts  # (the disclosure)
    loud = np.abs(audio.astype(np.int32)) > 1000
    assert loud.mean() > 0.1, "the caller heard (almost) nothing"

    # the recording, both channels at the clock rate
    with wave.open(call["recording_path"], "rb") as w:
        assert (w.getnchannels(), w.getframerate()) == (2, NARROW)
        rec = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    assert np.abs(rec[:, 0]).max() > 1000 and np.abs(rec[:, 1]).max() > 1000

    # live listen streamed the call at the clock rate
    assert "error" not in live, live
    assert live["format"]["sample_rate"] == NARROW and live["format"]["channels"] == 2
    assert live["bytes"] > 0 and live["bytes"] % 4 == 0
