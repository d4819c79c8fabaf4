"""Real SIP calls on loopback: scripts/telephony_smoke.py (pjsua2) <-> baresip softphones.

pjsua is a per-process singleton, so the endpoint runs in a subprocess, as users run it.
Every process is started on free ports and stopped by PID.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from telephony.ports import free_udp_port
from telephony.softphone import Baresip
from tests.integration.telephony_smoke import Smoke, peak_hz, start

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip not installed"),
]


def test_call_tone_and_caller_audio_both_ways(
    procs: list[Any], speech_wav: Path, tmp_path: Path
) -> None:
    smoke = start(
        procs,
        Smoke(
            "--greeting", "tone", "--greeting-seconds", "3", "--record-dir", str(tmp_path / "rec")
        ),
    )
    phone = start(procs, Baresip(play=speech_wav))
    phone.dial(smoke.uri)
    phone.wait_event("CALL_ESTABLISHED", 5)
    incoming = smoke.wait("incoming")[0]
    assert incoming["caller"] == "caller" and incoming["callee"] == "ivr"
    smoke.wait("playback_done", timeout=6)
    time.sleep(3.0)
    phone.hangup()
    phone.wait_event("CALL_CLOSED", 5)
    ev = smoke.wait("disconnected")[0]
    assert ev["by_remote"] is True

    heard, _sent = phone.recordings()  # what the caller heard: the IVR's 440 Hz tone
    x, rate = sf.read(heard)
    x = x if x.ndim == 1 else x[:, 0]
    loud = np.flatnonzero(np.abs(x) > 0.05)
    assert len(loud) > rate * 2.5, "caller heard less than 2.5 s of tone"
    seg = x[loud[0] + rate // 4 : loud[0] + rate // 4 + rate]
    assert abs(peak_hz(seg, rate) - 440) < 10

    audio, media = ev["audio"], ev["media"]  # what the IVR heard: the caller's speech
    assert audio["frames"] > 250 and audio["voiced_frames"] > 100 and audio["rms"] > 0.01
    rec, rec_rate = sf.read(ev["recording"])
    caller_ch = rec[:, 0]
    src, src_rate = sf.read(speech_wav)
    src16 = np.interp(np.arange(len(src) * 2) / 2, np.arange(len(src)), src)
    n = min(len(caller_ch), len(src16), 6 * rec_rate)
    env = lambda s: np.convolve(np.abs(s[:n]), np.ones(320) / 320, "valid")[::160]  # noqa: E731
    a, b = env(caller_ch), env(src16)
    lags = range(0, 150)  # the IVR's recording may start up to 1.5 s before the caller's file
    corr, lag = max((np.corrcoef(a[k:], b[: len(b) - k])[0, 1], k) for k in lags)
    assert corr > 0.8, f"caller audio does not match the source (r={corr:.2f}, lag {lag}0 ms)"
    assert abs(peak_hz(rec[rec_rate // 2 : rec_rate * 2, 1], rec_rate) - 440) < 10
    print(f"\nmedia stats: {json.dumps(media)}\nenvelope r={corr:.3f} at lag {lag}0 ms")
    assert media["tx_spacing_ms_mean"] == pytest.approx(20.0, abs=0.5)
    assert media["dropped_in"] == 0


def test_caller_hangs_up_mid_prompt_and_the_next_calls_reuse_the_port(
    procs: list[Any], speech_wav: Path
) -> None:
    """The crash this guards against: destroying a call's media port while pjmedia's
    asynchronous conference bridge may still call it (pjsua >= 2.15.1). Each caller hangs
    up in the middle of a prompt; the next call gets the same, disconnected port back, and
    audio still flows both ways in every call."""
    smoke = start(procs, Smoke("--greeting", "tone", "--greeting-seconds", "20"))
    for i in range(3):
        phone = start(procs, Baresip(play=speech_wav))
        phone.dial(smoke.uri)
        phone.wait_event("CALL_ESTABLISHED", 5)
        smoke.wait("playback_start", count=i + 1, timeout=5)
        time.sleep(1.5)
        phone.hangup()  # mid-prompt: 18 s of tone still queued
        phone.wait_event("CALL_CLOSED", 5)
        ev = smoke.wait("disconnected", count=i + 1, timeout=5)[i]
        assert ev["by_remote"] is True
        assert ev["audio"]["frames"] > 40, f"call {i + 1}: the IVR heard no caller audio"
        heard, _sent = phone.recordings()
        x, rate = sf.read(heard)
        x = x if x.ndim == 1 else x[:, 0]
        assert np.count_nonzero(np.abs(x) > 0.05) > rate // 2, f"call {i + 1}: no tone heard"
    assert smoke.terminate() == 0, smoke.stderr
    stopped = [e for e in smoke.events if e["event"] == "stopped"]
    assert stopped and stopped[0]["media_ports"] == 1, stopped


def test_dtmf_digits_in_order(procs: list[Any]) -> None:
    smoke = start(procs, Smoke())
    phone = start(procs, Baresip())
    phone.dial(smoke.uri)
    phone.wait_event("CALL_ESTABLISHED", 5)
    time.sleep(0.5)
    phone.send_dtmf("123#")
    digits = [e["digit"] for e in smoke.wait("dtmf", count=4, timeout=5)]
    assert digits == list("123#")


def test_ivr_hangup_seen_by_caller(procs: list[Any]) -> None:
    smoke = start(procs, Smoke("--hangup-after", "1.5"))
    phone = start(procs, Baresip())
    phone.dial(smoke.uri)
    phone.wait_event("CALL_ESTABLISHED", 5)
    closed = phone.wait_event("CALL_CLOSED", 6)
    ev = smoke.wait("disconnected")[0]
    assert ev["by_remote"] is False
    print(f"\ncaller saw: {closed.get('param')!r}")


def test_fifth_caller_rejected_by_hard_cap(procs: list[Any]) -> None:
    smoke = start(procs, Smoke("--greeting-seconds", "30"))
    phones = [start(procs, Baresip(user=f"c{i}")) for i in range(5)]
    for ph in phones[:4]:
        ph.dial(smoke.uri)
    for ph in phones[:4]:
        ph.wait_event("CALL_ESTABLISHED", 8)
    phones[4].dial(smoke.uri)
    closed = phones[4].wait_event("CALL_CLOSED", 5)
    assert closed["param"].startswith("486")
    rej = smoke.wait("rejected")[0]
    assert rej["code"] == 486 and "c4" in rej["remote_uri"]
    assert not any(e["event"] == "incoming" and e["caller"] == "c4" for e in smoke.events)
    assert smoke.terminate() == 0
    assert "pjsua itself rejected an INVITE from sip:c4@127.0.0.1: 486" in smoke.stderr


def test_admission_limit_503_with_retry_after(procs: list[Any]) -> None:
    smoke = start(procs, Smoke("--max-calls", "1", "--greeting-seconds", "30"))
    first = start(procs, Baresip(user="first"))
    second = start(procs, Baresip(user="second", sip_trace=True))
    first.dial(smoke.uri)
    first.wait_event("CALL_ESTABLISHED", 5)
    second.dial(smoke.uri)
    assert second.wait_event("CALL_CLOSED", 5)["param"] == "503 IVR at capacity"
    trace = second.log_text()
    response = trace[trace.index("SIP/2.0 503 IVR at capacity") :][:600]
    assert "Retry-After: 30" in response
    assert smoke.wait("rejected")[0]["code"] == 503


def test_sigterm_with_call_up_exits_cleanly(procs: list[Any]) -> None:
    smoke = start(procs, Smoke("--greeting-seconds", "30"))
    phone = start(procs, Baresip())
    phone.dial(smoke.uri)
    phone.wait_event("CALL_ESTABLISHED", 5)
    smoke.wait("playback_start")
    t0 = time.monotonic()
    assert smoke.terminate() == 0
    took = time.monotonic() - t0
    phone.wait_event("CALL_CLOSED", 5)
    assert smoke.wait("disconnected")[0]["by_remote"] is False
    assert smoke.wait("stopped")[0]["active"] == 0
    for bad in ("pj_thread_this", "Assertion", "Aborted", "Traceback"):
        assert bad not in smoke.stderr
    print(f"\nSIGTERM to exit: {took:.2f} s")


def test_blind_transfer_to_agent(procs: list[Any]) -> None:
    agent = start(procs, Baresip(user="agent", auto_answer=True))
    smoke = start(procs, Smoke("--transfer-to", agent.uri, "--transfer-after", "1"))
    phone = start(procs, Baresip())
    phone.dial(smoke.uri)
    phone.wait_event("CALL_ESTABLISHED", 5)
    final = smoke.wait("transfer", lambda e: e["final"], timeout=8)[0]
    assert final["code"] == 200
    agent.wait_event("CALL_ESTABLISHED", 5)
    assert smoke.wait("disconnected")[0]["by_remote"] is False


def test_switch_audio_source_mid_call(procs: list[Any], speech_wav: Path) -> None:
    smoke = start(procs, Smoke("--greeting-seconds", "1"))
    phone = start(procs, Baresip())  # starts with silence
    phone.dial(smoke.uri)
    phone.wait_event("CALL_ESTABLISHED", 5)
    silent = smoke.wait("audio", lambda e: e["frames"] > 50, timeout=5)[0]
    assert silent["voiced_frames"] == 0
    phone.switch_source(speech_wav)
    smoke.wait("audio", lambda e: e["voiced_frames"] > 50, timeout=8)


def test_ivr_sends_dtmf_to_caller(procs: list[Any]) -> None:
    smoke = start(procs, Smoke("--dtmf-to-caller", "42#", "--dtmf-after", "1.5"))
    phone = start(procs, Baresip())
    phone.dial(smoke.uri)
    phone.wait_event("CALL_ESTABLISHED", 5)
    got = [phone.wait_event("CALL_DTMF_START", 5)["param"] for _ in range(3)]
    assert got == ["4", "2", "#"]


def _sip_request(
    method: str,
    ruri: str,
    lport: int,
    call_id: str,
    cseq: int,
    to: str,
    extra: str = "",
    body: str = "",
) -> bytes:
    head = (
        f"{method} {ruri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport\r\n"
        "Max-Forwards: 70\r\n"
        f'From: "Raw" <sip:5551234@127.0.0.1>;tag=rawtag\r\nTo: {to}\r\n'
        f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n"
        f"Contact: <sip:raw@127.0.0.1:{lport}>\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    )
    return head.encode()


def test_invite_headers_reach_call_info(procs: list[Any]) -> None:
    """A hand-written INVITE (baresip 1.0.0 cannot add headers): X-* headers, caller, callee."""
    smoke = start(procs, Smoke())
    ruri = f"sip:2000@127.0.0.1:{smoke.port}"
    to = f"<{ruri}>"
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {free_udp_port()} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    )
    call_id = f"{uuid.uuid4().hex}@raw"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        lport = sock.getsockname()[1]
        dst = ("127.0.0.1", smoke.port)
        sock.sendto(
            _sip_request(
                "INVITE",
                ruri,
                lport,
                call_id,
                1,
                to,
                "X-Account: 42\r\nX-Language: yue\r\nContent-Type: application/sdp\r\n",
                sdp,
            ),
            dst,
        )
        while True:
            reply = sock.recv(65535).decode()
            if reply.startswith("SIP/2.0 200"):
                break
        to_tagged = next(
            ln.split(":", 1)[1].strip()
            for ln in reply.split("\r\n")
            if ln.lower().startswith(("to:", "t:"))
        )
        sock.sendto(_sip_request("ACK", ruri, lport, call_id, 1, to_tagged), dst)
        ev = smoke.wait("incoming")[0]
        assert ev["headers"] == {"X-Account": "42", "X-Language": "yue"}
        assert (ev["caller"], ev["callee"], ev["sip_call_id"]) == ("5551234", "2000", call_id)
        assert ev["call_id"] != call_id  # the endpoint names calls itself
        smoke.wait("media_ready")
        for cseq, digit in ((2, "7"), (3, "*")):  # DTMF by SIP INFO (RFC 2976 dtmf-relay)
            body = f"Signal={digit}\r\nDuration=160\r\n"
            sock.sendto(
                _sip_request(
                    "INFO",
                    ruri,
                    lport,
                    call_id,
                    cseq,
                    to_tagged,
                    "Content-Type: application/dtmf-relay\r\n",
                    body,
                ),
                dst,
            )
        assert [e["digit"] for e in smoke.wait("dtmf", count=2, timeout=5)] == ["7", "*"]
        sock.sendto(_sip_request("BYE", ruri, lport, call_id, 4, to_tagged), dst)
        assert smoke.wait("disconnected")[0]["by_remote"] is True


def test_hold_and_resume_keep_media_flowing(procs: list[Any], speech_wav: Path) -> None:
    smoke = start(procs, Smoke("--greeting-seconds", "20"))
    phone = start(procs, Baresip(play=speech_wav))
    phone.dial(smoke.uri)
    phone.wait_event("CALL_ESTABLISHED", 5)
    time.sleep(1.0)
    phone.hold()
    time.sleep(1.0)
    phone.resume()
    resumed = time.monotonic()
    before = [e for e in smoke.wait("audio") if e["t"] <= resumed][-1]
    after = smoke.wait("audio", lambda e: e["t"] > resumed + 1.5, timeout=6)[0]
    assert after["sent_frames"] - before["sent_frames"] > 40, "IVR audio stopped after resume"
    assert after["voiced_frames"] > before["voiced_frames"], "caller audio stopped after resume"
    assert "re-connected" in smoke.terminate_and_stderr()


# ---- live-agent handover: outbound legs, whisper, bridging, transfer with context ----------


def test_srtp_mandatory_call_carries_audio_both_ways(procs: list[Any], speech_wav: Path) -> None:
    """`sip.srtp: mandatory`: a baresip caller offering SDES-SRTP (`mediaenc=srtp-mand`) is
    answered with encrypted media both ways (baresip reports it active; the tone is heard and
    the caller's speech is voiced at the IVR); a caller offering plain RTP is refused."""
    smoke = start(procs, Smoke("--srtp", "mandatory", "--greeting-seconds", "2"))
    phone = start(procs, Baresip(play=speech_wav, media_encryption="srtp-mand", sip_trace=True))
    phone.dial(smoke.uri)
    phone.wait_event("CALL_ESTABLISHED", 5)
    smoke.wait("playback_done", timeout=6)
    time.sleep(1.0)
    phone.hangup()
    phone.wait_event("CALL_CLOSED", 5)
    ev = smoke.wait("disconnected")[0]
    assert ev["audio"]["voiced_frames"] > 20, ev["audio"]  # the caller's speech, decrypted
    heard, _sent = phone.recordings()
    x, rate = sf.read(heard)
    x = x if x.ndim == 1 else x[:, 0]
    loud = np.flatnonzero(np.abs(x) > 0.05)
    assert len(loud) > rate * 1.5, "caller heard less than 1.5 s of tone"
    assert abs(peak_hz(x[loud[0] + rate // 4: loud[0] + rate // 4 + rate // 2], rate) - 440) < 10
    # the IVR's answer carries its own SDES key (the offer's and the answer's crypto lines)
    assert phone.log_text().count("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:") >= 2

    plain = start(procs, Baresip(play=speech_wav))
    plain.dial(smoke.uri)
    closed = plain.wait_event("CALL_CLOSED", 10)
    assert closed["param"].startswith("488"), closed  # plain RTP refused
    assert not any(e.get("type") == "CALL_ESTABLISHED" for e in plain.events)
