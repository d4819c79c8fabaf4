"""The IVR on a PBX: it registers with a real Kamailio registrar (digest auth), a carrier-side
SIPp calls the hotline's number at the PBX and the IVR answers; its own allow-list refuses an
INVITE sent straight to it from a source it does not know (403, logged once).

One `ivr serve` for the module (the models load once), configured with two trunks at the
same registrar: `main` with the right password, `sales` with a wrong one.
"""

from __future__ import annotations

import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ivr.cluster.sip_probe import sip_request
from telephony.ports import free_udp_port, free_udp_range
from testkit.harness import TOKEN, IvrProcess
from testkit.pbx import PbxProcess
from tests.integration.conftest import serve_checked

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("kamailio") is None and not Path("/usr/sbin/kamailio").exists(),
                       reason="kamailio not installed"),
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (sip-tester) not installed"),
]

ROOT = Path(__file__).resolve().parents[2]
STRANGER = "127.0.0.2"  # a loopback source outside the allow-list
RTP_PORTS = 20


class Edge:
    def __init__(self, ivr: IvrProcess, pbx: PbxProcess, rtp_min: int, carrier: int) -> None:
        self.ivr, self.pbx, self.rtp_min, self.carrier_port = ivr, pbx, rtp_min, carrier

    def trunks(self) -> dict[str, dict[str, Any]]:
        return {t["name"]: t for t in self.ivr.api("/api/health", token=None)["trunks"]}

    def wait_trunks(self, pred: Any, timeout: float = 15.0) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            trunks = self.trunks()
            if pred(trunks):
                return trunks
            if time.monotonic() > deadline:
                raise TimeoutError(f"trunks: {trunks}\nPBX log:\n{self.pbx.log()[-2000:]}")
            time.sleep(0.2)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    work = tmp_path_factory.mktemp("trunk")
    carrier = free_udp_port()  # where the PBX sends numbers nobody registered (SIPp uas)
    pbx = PbxProcess(free_udp_port(), {"hotline": "right-secret", "sales": "sales-secret"},
                     workdir=work / "pbx", carrier=f"127.0.0.1:{carrier}")
    pbx.start()
    rtp_min = free_udp_range(RTP_PORTS)
    (work / "main.pw").write_text("right-secret\n")
    config = work / "ivr.yaml"
    config.write_text(yaml.safe_dump({"emotion": {"enabled": False}, "sip": {
        "allow_from": ["127.0.0.5"],  # nobody we use: only the registrar may send INVITEs
        "rtp_port_min": rtp_min, "rtp_port_max": rtp_min + RTP_PORTS - 1,
        "trunks": [
            {"name": "main", "registrar": pbx.registrar, "username": "hotline",
             "password_file": str(work / "main.pw"), "expires_s": 10},  # refreshed at ~5 s
            {"name": "sales", "registrar": pbx.registrar, "username": "sales",
             "password": "wrong", "expires_s": 60, "retry_s": 2},
        ]}}))
    try:
        for ivr in serve_checked(IvrProcess(work / "ivr", "--config", str(config))):
            yield Edge(ivr, pbx, rtp_min, carrier)
    finally:
        pbx.stop()


def test_registers_with_the_right_password_and_shows_the_wrong_one(edge: Edge) -> None:
    trunks = edge.wait_trunks(lambda t: t["main"]["state"] == "registered"
                              and t["sales"]["failures"] >= 2)  # retried after ~2 s
    assert trunks["main"]["code"] == 200 and trunks["main"]["expires_s"] == 10
    assert trunks["sales"]["state"] == "failed" and trunks["sales"]["code"] == 401
    assert trunks["sales"]["next_retry_in_s"] > 0
    assert edge.pbx.contacts("hotline") == [
        f"sip:hotline@127.0.0.1:{edge.ivr.sip_port};ob"]  # where the PBX will send calls
    assert edge.pbx.contacts("sales") == []
    log = edge.ivr.log()
    assert log.count("trunk sales: registration at") == 1  # once per outcome, not per try
    req = urllib.request.Request(f"http://127.0.0.1:{edge.ivr.http_port}/metrics",
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        metrics = resp.read().decode()
    assert 'ivr_trunk_registered{trunk="main"} 1' in metrics
    assert 'ivr_trunk_registered{trunk="sales"} 0' in metrics
    assert 'ivr_trunk_last_sip_code{trunk="sales"} 401' in metrics


def test_call_routed_by_the_registrar_is_answered(edge: Edge, tmp_path: Path) -> None:
    edge.wait_trunks(lambda t: t["main"]["state"] == "registered")
    trace = tmp_path / "sipp_messages.log"
    sipp = subprocess.run(
        ["sipp", "-sn", "uac", "-s", "hotline", f"127.0.0.1:{edge.pbx.listen_port}",
         "-i", "127.0.0.1", "-p", str(free_udp_port()), "-m", "1", "-l", "1", "-d", "2000",
         "-timeout", "40s", "-timeout_error", "-trace_msg", "-message_file", str(trace),
         "-nostdin"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    messages = trace.read_text(errors="replace") if trace.exists() else ""
    assert sipp.returncode == 0, f"{sipp.stdout[-1500:]}\n{messages[-3000:]}"
    calls = edge.ivr.api("/api/calls?limit=5")["calls"]
    call = next(c for c in calls if c.get("caller") == "sipp")
    events = edge.ivr.call(call["id"])["events"]
    assert any(e["type"] == "prompt" for e in events), [e["type"] for e in events]
    ok = messages.split("SIP/2.0 200 OK", 1)[1]  # the IVR's answer as the carrier got it
    port = int(re.search(r"m=audio (\d+)", ok).group(1))  # type: ignore[union-attr]
    assert edge.rtp_min <= port < edge.rtp_min + RTP_PORTS  # sip.rtp_port_min..max


def test_stranger_refused_while_the_registrar_is_allowed(edge: Edge) -> None:
    replies = [sip_request("127.0.0.1", edge.ivr.sip_port, "INVITE", "hotline",
                           local_host=STRANGER, timeout=5) for _ in range(3)]
    assert [r.status for r in replies] == [403, 403, 403]
    # a late offer (no SDP) refused from inside pjsua's callback used to abort the process
    assert late_offer_invite(STRANGER, edge.ivr.sip_port).startswith("SIP/2.0 403")
    assert edge.ivr.api("/api/health", token=None)["status"] == "ok"  # still serving
    assert edge.ivr.api("/api/health", token=None)["sip_refused_sources"] >= 3
    lines = [ln for ln in edge.ivr.log().splitlines()
             if "refused INVITE from " + STRANGER in ln]
    assert len(lines) == 1, lines  # once per source per minute, not per packet


def late_offer_invite(source: str, port: int) -> str:
    """Status line of the final reply to an INVITE without SDP sent from `source`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        lport, tag = sock.getsockname()[1], secrets.token_hex(6)
        sock.sendto((
            f"INVITE sip:hotline@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {source}:{lport};branch=z9hG4bK{tag};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:late@{source}>;tag={tag}\r\n"
            f"To: <sip:hotline@127.0.0.1>\r\nCall-ID: {tag}\r\nCSeq: 1 INVITE\r\n"
            f"Contact: <sip:late@{source}:{lport}>\r\nContent-Length: 0\r\n\r\n").encode(),
            ("127.0.0.1", port))
        sock.settimeout(5)
        while True:
            line = sock.recv(65535).decode(errors="replace").split("\r\n", 1)[0]
            if not line.startswith("SIP/2.0 1"):
                return line


# An outbound call through the trunk, from a SipEndpoint in its own process (pjsua is a
# process singleton; `ivr serve` dials agents and callbacks through the same make_call).
_DIALLER = """
import sys, time
from telephony import Admission, SipConfig, SipEndpoint
from telephony.trunks import TrunkConfig

class Quiet:
    def on_incoming(self, call): return Admission.rejected(603, "not here")
    def on_media_ready(self, call, media): pass
    def on_dtmf(self, call, digit, ts): pass
    def on_disconnected(self, call, code, reason, by_remote): pass
    def on_rejected(self, uri, code, reason): pass

registrar, sip_port = sys.argv[1], int(sys.argv[2])
trunk = TrunkConfig("main", registrar, "hotline", "right-secret", expires_s=60, outbound=True)
ep = SipEndpoint(SipConfig(port=sip_port), Quiet(), trunks=[trunk])
ep.start()
try:
    call = ep.make_call("5550100", timeout=15).result(20)
    print("ANSWERED", call.callee, call.caller, flush=True)
    time.sleep(1.0)
    ep.hangup(call.call_id).result(5)
    time.sleep(0.5)
finally:
    ep.stop()
"""


def test_outbound_call_goes_through_the_trunk(edge: Edge, tmp_path: Path) -> None:
    carrier = subprocess.Popen(
        ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(edge.carrier_port), "-m", "1",
         "-timeout", "30s", "-trace_msg", "-message_file", str(tmp_path / "carrier.log"),
         "-nostdin"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        time.sleep(0.3)  # SIPp binds its port
        dial = subprocess.run(
            [sys.executable, "-c", _DIALLER, edge.pbx.registrar, str(free_udp_port())],
            capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert "ANSWERED 5550100 hotline" in dial.stdout, dial.stderr[-3000:]
        assert carrier.wait(30) == 0  # the carrier got the call, and its BYE
    finally:
        if carrier.poll() is None:
            carrier.kill()
            carrier.wait(5)
    invite = (tmp_path / "carrier.log").read_text(errors="replace")
    assert "INVITE sip:5550100@127.0.0.1:" in invite  # a bare number, dialled at the registrar
    assert re.search(r"^From: .*sip:hotline@127\.0\.0\.1[;>]", invite, re.M), invite[:2000]
    pbx_log = edge.pbx.log()  # the PBX challenged the IVR (407); its credentials passed
    assert "pbx: INVITE from hotline challenged or refused" in pbx_log
    assert "pbx: INVITE from hotline authenticated as hotline" in pbx_log


_PUBLIC = """
import sys, time
from telephony import Admission, SipConfig, SipEndpoint
from telephony.trunks import TrunkConfig

class Answer:
    def on_incoming(self, call): return Admission.accepted()
    def on_media_ready(self, call, media): pass
    def on_dtmf(self, call, digit, ts): pass
    def on_disconnected(self, call, code, reason, by_remote): pass
    def on_rejected(self, uri, code, reason): pass

registrar, sip_port, rtp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
trunk = TrunkConfig("nat", registrar, "hotline", "right-secret", expires_s=60)
cfg = SipConfig(port=sip_port, public_host="127.0.0.9", rtp_port=rtp, rtp_port_range=6)
with SipEndpoint(cfg, Answer(), trunks=[trunk]) as ep:
    print("READY", flush=True)
    sys.stdin.readline()
"""


def test_registration_is_refreshed_before_it_expires(edge: Edge) -> None:
    """expires 10 s: pjsua re-registers ~5 s before expiry; logged once, not per refresh."""
    deadline = time.monotonic() + 15
    while edge.pbx.log().count("pbx: registered sip:hotline@127.0.0.1") < 3:
        assert time.monotonic() < deadline, edge.pbx.log()[-2000:]
        time.sleep(0.3)
    main = edge.trunks()["main"]
    assert main["state"] == "registered" and main["failures"] == 0
    assert edge.ivr.log().count("trunk main: registered") == 1


def test_public_host_in_contact_sdp_and_registration(edge: Edge) -> None:
    """sip.public_host (a NAT's public address) is what Contact, SDP and the registered
    contact say, while the sockets stay bound to 127.0.0.1."""
    port, rtp = free_udp_port(), free_udp_range(8)
    proc = subprocess.Popen([sys.executable, "-c", _PUBLIC, edge.pbx.registrar, str(port),
                             str(rtp)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    err = ""
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
        deadline = time.monotonic() + 10
        while f"sip:hotline@127.0.0.9:{port};ob" not in edge.pbx.contacts("hotline"):
            assert time.monotonic() < deadline, edge.pbx.contacts("hotline")
            time.sleep(0.2)
        reply = sip_request("127.0.0.1", port, "INVITE", "hotline", timeout=5)
        assert reply.status == 200
        assert "@127.0.0.9:" in reply.headers["contact"]
        assert "c=IN IP4 127.0.0.9" in reply.raw
        media_port = int(re.search(r"m=audio (\d+)", reply.raw).group(1))  # type: ignore[union-attr]
        assert rtp <= media_port < rtp + 8
    finally:
        if proc.poll() is None:
            err = proc.communicate("\n", timeout=20)[1]  # stops it, un-REGISTERing
    assert proc.returncode == 0, err[-3000:]
