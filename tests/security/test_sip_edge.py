"""The SIP edge under hostile input, against the real `ivr serve` over loopback (issue 15).

A hand-written user agent (`sip_client.SipClient`) sends what an attacker would: a Call-ID that
is a path, two callers with one Call-ID, a REFER inside the dialog, a From that is not UTF-8,
CANCEL and slot-reuse races, and 1,100 idle HTTP connections; then a real baresip call must
still be answered, heard and recorded. Nothing may be written outside the data directory and no
call may stay `active`.

The service runs with `sip.max_calls: 4`, every pjsua slot admissible, so a call arriving as
another ends must take over that call's slot (the case that lost hang-ups).
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import socket
import time
import urllib.error
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from telephony.softphone import Baresip
from testkit.harness import IvrProcess
from tests.integration.conftest import serve_checked
from tests.security.sip_client import Dialog, SipClient

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip not installed"),
]


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the data directory (`box/data`) and nothing else the IVR may touch."""
    return tmp_path_factory.mktemp("edge")


@pytest.fixture(scope="module")
def ivr(box: Path) -> Iterator[IvrProcess]:
    yield from serve_checked(IvrProcess(box / "data", env={"IVR_SIP__MAX_CALLS": "4",
                                                           "IVR_SIP__WATCHDOG_S": "2"}))


def _wait(pred: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def _rows(ivr: IvrProcess, sip_call_id: bytes | str) -> list[dict[str, Any]]:
    raw = sip_call_id if isinstance(sip_call_id, str) else sip_call_id.decode()
    query = urllib.parse.urlencode({"sip_call_id": raw, "limit": 10})
    return list(ivr.api(f"/api/calls?{query}")["calls"])


def _idle(ivr: IvrProcess) -> dict[str, Any]:
    """Wait until neither the sessions nor the SIP stack hold a call; the health answer."""
    def idle() -> dict[str, Any] | None:
        h = ivr.api("/api/health")
        return h if h["active_calls"] == 0 and h["sip_calls"] == 0 else None
    return _wait(idle, 30, "calls still held")


def _no_active_rows(ivr: IvrProcess) -> None:
    active = ivr.api("/api/calls?status=active&limit=50")["calls"]
    assert not active, [(c["id"], c["sip_call_id"]) for c in active]


def _files_outside_data(box: Path) -> list[Path]:
    return [p for p in box.rglob("*") if p.is_file() and box / "data" not in p.parents]


def _answered_call(client: SipClient, call_id: bytes | str | None = None,
                   display: bytes = b'"Raw"') -> Dialog:
    d = client.dialog(call_id, display=display)
    reply = client.call(d)
    assert reply.status == 200, reply.raw
    return d


# ---------------------------------------------------------------- Call-ID is data, not a path
@pytest.mark.parametrize("call_id", [
    b"../../escaped/x", b"../../../escaped-too/y", b"/tmp/ivr-edge-abs-{uuid}/z", b"..\\..\\w",
])
def test_a_call_id_that_is_a_path_names_no_file(ivr: IvrProcess, box: Path,
                                                 call_id: bytes) -> None:
    call_id = call_id.replace(b"{uuid}", uuid.uuid4().hex[:8].encode())
    with SipClient(ivr.sip_port) as client:
        d = _answered_call(client, call_id)
        row = _wait(lambda: _rows(ivr, call_id), 10, "call row")[0]
        assert row["id"] != call_id.decode() and "/" not in row["id"] and ".." not in row["id"]
        rec = Path(row["recording_path"]).resolve()
        assert (box / "data").resolve() in rec.parents, rec
        assert client.bye(d).status == 200
    ivr.wait_call_ended(row["id"], 15)
    assert not _files_outside_data(box)
    if call_id.startswith(b"/"):
        assert not Path(call_id.decode()).parent.exists()


def test_two_callers_with_one_call_id_get_two_calls(ivr: IvrProcess) -> None:
    shared = f"same-{uuid.uuid4().hex[:8]}@phone"
    with SipClient(ivr.sip_port) as first, SipClient(ivr.sip_port) as second:
        d1 = first.dialog(shared, user="1111")
        assert first.call(d1).status == 200
        row1 = _wait(lambda: _rows(ivr, shared), 10, "first row")[0]
        d2 = second.dialog(shared, user="2222")
        assert second.call(d2).status == 200
        rows = _wait(lambda: r if len(r := _rows(ivr, shared)) == 2 else None, 10, "second row")
        assert {r["caller"] for r in rows} == {"1111", "2222"}
        assert ivr.call(row1["id"])["caller"] == "1111"  # the first row is untouched
        assert first.bye(d1).status == 200 and second.bye(d2).status == 200
    for r in rows:
        assert ivr.wait_call_ended(r["id"], 15)["status"] == "ended"
    rec1, rec2 = (Path(ivr.call(r["id"])["recording_path"]) for r in rows)
    assert rec1 != rec2


# ---------------------------------------------------------------- the caller cannot make us dial
def test_a_refer_from_the_caller_is_refused_and_nothing_is_dialled(ivr: IvrProcess) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as target, \
            SipClient(ivr.sip_port) as client:
        target.bind(("127.0.0.1", 0))
        target.settimeout(3)
        d = _answered_call(client)
        refer_to = f"<sip:toll-fraud@127.0.0.1:{target.getsockname()[1]}>"
        client.in_dialog("REFER", d, f"Refer-To: {refer_to}\r\n".encode())
        reply = client.final(d, 5, "REFER")
        assert reply.status in (403, 405, 501), reply.raw
        with pytest.raises(TimeoutError):
            target.recv(65535)  # no INVITE ever reaches the target
        assert client.bye(d).status == 200
    _idle(ivr)
    assert "refused the caller's REFER" in ivr.log()


# ---------------------------------------------------------------- no zombie calls
def test_a_from_that_is_not_utf8_gets_a_session_and_ends(ivr: IvrProcess) -> None:
    with SipClient(ivr.sip_port) as client:
        d = client.dialog(display=b'"\xff\xfe\xc3\x28 caller\x80"')
        reply = client.call(d)
        if reply.status == 200:  # accepted: it must be a real call with a row
            rows = _wait(lambda: _rows(ivr, d.call_id), 10, "call row")
            assert client.bye(d).status == 200
            assert ivr.wait_call_ended(rows[0]["id"], 15)["status"] == "ended"
        else:  # or refused cleanly
            assert 400 <= reply.status < 600, reply.raw
    _idle(ivr)


def test_cancel_races_leave_no_call_behind(ivr: IvrProcess) -> None:
    with SipClient(ivr.sip_port) as client:
        for _ in range(15):
            d = client.dialog()
            client.send_invite(d)
            client.send_cancel(d)
            with contextlib.suppress(TimeoutError):
                reply = client.final(d, 5)
                if reply.status == 200:  # the answer won the race: hang up like a phone
                    client.bye(d)
    _idle(ivr)
    _no_active_rows(ivr)


def test_a_new_call_in_the_slot_of_one_just_ended_is_hung_up_properly(
        ivr: IvrProcess) -> None:
    """Every pjsua slot is taken (two calls, one answered but never ACKed, and call A); A's
    BYE and B's INVITE leave in one burst, so B is given A's slot as A ends. B's hang-up must
    still reach its session, every time."""
    accepted = re.compile(r"call (\w+) \(slot (\d+), SIP Call-ID '([^']*)'\)")
    answered: list[str] = []
    with SipClient(ivr.sip_port) as held, SipClient(ivr.sip_port) as client:
        holding = [_answered_call(held) for _ in range(2)]
        half_open = held.dialog()
        held.send_invite(half_open, sdp=False)  # answered; no ACK, so no media, no session
        a = _answered_call(client)
        deadline = time.monotonic() + 25  # the half-open call lasts ~32 s (Timer H)
        while len(answered) < 8 and time.monotonic() < deadline:
            b = client.dialog()
            a.cseq += 1
            client.sock.sendto(client._request("BYE", a, a.cseq), client.dst)
            client.send_invite(b)
            reply = client.final(b, 10)
            if reply.status != 200:  # A's slot was not free yet (486/503): start again
                time.sleep(0.5)
                a = _answered_call(client)
                continue
            answered.append(b.call_id.decode())
            a = b
        assert client.bye(a).status == 200
        for d in holding:
            assert held.bye(d).status == 200
    slots = {m[2]: m[1] for m in accepted.findall(ivr.log())}
    reuses = sum(slots[x] == slots[y] for x, y in zip(answered, answered[1:], strict=False))
    assert reuses >= 3, (answered, slots)  # the race really happened
    for sip_id in answered:
        row = _rows(ivr, sip_id)[0]
        assert ivr.wait_call_ended(row["id"], 15)["end_reason"] == "caller_hangup", row
    _idle(ivr)
    _no_active_rows(ivr)


# ---------------------------------------------------------------- HTTP cannot starve SIP
def test_idle_http_connections_do_not_stop_a_real_call(ivr: IvrProcess, tmp_path: Path) -> None:
    """1,100 idle connections fill the HTTP port past its cap; meanwhile a real baresip call
    is answered, hears the greeting and is recorded (pjsua needs socket numbers below 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    idle: list[socket.socket] = []
    phone = Baresip(record_dir=tmp_path / "rec").start()
    try:
        for _ in range(1100):
            s = socket.socket()
            s.settimeout(2)
            with contextlib.suppress(OSError):
                s.connect(("127.0.0.1", ivr.http_port))
            idle.append(s)
        with pytest.raises(urllib.error.HTTPError) as full:  # the HTTP side is at its cap
            ivr.api("/api/health")
        assert full.value.code == 503
        phone.dial(ivr.uri)
        sip_call_id = phone.wait_event("CALL_ESTABLISHED", 15)["id"]
        time.sleep(6)  # the greeting plays
        phone.hangup()
        phone.wait_event("CALL_CLOSED", 10)
        heard, _ = phone.recordings()
    finally:
        phone.stop()
        for s in idle:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    audio, _ = sf.read(heard, dtype="int16")
    assert np.abs(audio.astype(np.int32)).max() > 1000  # the caller heard the IVR
    call = ivr.wait_call_ended(_wait(lambda: ivr.call_id_for(sip_call_id), 20, "call row"), 20)
    rec = Path(call["recording_path"])
    assert rec.exists() and rec.stat().st_size > 16_000


# ---------------------------------------------------------------- after all of the above
def test_nothing_outside_the_data_directory_and_no_call_left_active(
        ivr: IvrProcess, box: Path) -> None:
    _idle(ivr)
    _no_active_rows(ivr)
    assert not _files_outside_data(box)
    data = box / "data"
    loose = [p for p in data.rglob("*") if p.stat().st_mode & 0o077 and p.is_file()
             and p.name != "ivr.log"]
    assert not loose, loose  # owner-only files (umask 077)
    assert os.stat(data / "recordings").st_mode & 0o777 == 0o700
