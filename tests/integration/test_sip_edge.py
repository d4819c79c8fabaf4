"""The SIP edge at the Kamailio front (issue 20), with one real `ivr serve` worker behind it.

Two fronts share the worker: `open_front` admits 127.0.0.1 only (allow-list; TCP and TLS
with a certificate made here by openssl), `digest_front` admits 127.0.0.1 or a digest user.
SIPp plays the sources that are not allowed (127.0.0.2, 127.0.0.3), baresip the real
callers. Checked: a source not allowed gets 403 and reaches no worker, logged once; a
flood gets 503 + Retry-After (logged once) while a real call from an allowed source is
answered; a digest challenge (407), a wrong password (403) and a right one (answered, the
password in no log); OPTIONS over TCP and TLS; a TLS call answered by the worker.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.cluster.kamailio import KamailioProcess, module_dir
from ivr.cluster.kamailio_config import WorkerAddr
from ivr.cluster.sip_edge import SipEdge, TlsFiles, digest_ha1
from ivr.cluster.supervisor import worker_env
from telephony.ports import free_tcp_port, free_udp_port
from telephony.softphone import Baresip
from testkit.harness import IvrProcess
from testkit.sipp import digest_call_scenario, invite_refused_scenario, run_sipp

pytestmark = pytest.mark.integration

PIKE = 20  # requests per source per 2 s window
USER, PASSWORD = "trunk1", "s3cret-Digest-pw"


@dataclass
class Edge:
    worker: IvrProcess
    open_front: KamailioProcess  # allow-list 127.0.0.1, UDP + TCP + TLS
    digest_front: KamailioProcess  # allow-list 127.0.0.1 + digest user
    cert: Path
    tmp: Path


def _require_tools() -> None:
    missing = [t for t in ("kamailio", "sipp", "baresip", "openssl") if shutil.which(t) is None]
    modules = module_dir()
    if modules is None or not (modules / "tls.so").exists():
        missing.append("kamailio-tls-modules")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"missing {missing} (scripts/setup installs them)")
        pytest.skip(f"missing {missing}")


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "front.pem", tmp / "front.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    _require_tools()
    tmp = tmp_path_factory.mktemp("sip_edge")
    cert, key = _self_signed(tmp)
    # as `ivr serve --workers` starts its workers: INVITEs answered only from the front
    env = {k: v for k, v in worker_env(tmp, None, 0, front_host="127.0.0.1").items()
           if k == "IVR_SIP__ALLOW_FROM"}
    worker = IvrProcess(tmp / "worker", env=env)
    fronts: list[KamailioProcess] = []
    try:
        worker.start()
        addr = [WorkerAddr("127.0.0.1", worker.sip_port, "w0")]
        fronts.append(KamailioProcess(
            free_udp_port(), addr, workdir=tmp / "open_front", probe_interval_s=1,
            edge=SipEdge(allow=("127.0.0.1",), pike_requests=PIKE, pike_window_s=2, tcp=True,
                         tls_port=free_tcp_port(), tls=TlsFiles(cert, key))).start())
        fronts.append(KamailioProcess(
            free_udp_port(), addr, workdir=tmp / "digest_front", probe_interval_s=1,
            edge=SipEdge(allow=("127.0.0.1",), pike_requests=PIKE,
                         auth_ha1={USER: digest_ha1(USER, "ivr", PASSWORD)})).start())
        for front in fronts:
            _wait(lambda f=front: f.is_active(addr[0]), 10, "worker probed up")
        yield Edge(worker, fronts[0], fronts[1], cert, tmp)
    finally:
        for front in fronts:
            front.stop()
        worker.stop()


def _wait(pred, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def _refusals(front: KamailioProcess, source: str, reason: str) -> list[str]:
    return [line for line in front.log().splitlines()
            if f"from {source} " in line and reason in line and "ivr-front: refused" in line]


def _relayed(front: KamailioProcess, source: str) -> list[str]:
    """Front log lines of INVITEs from SIPp at `source` handed to a worker."""
    return [line for line in front.log().splitlines()
            if "ivr-front: INVITE" in line and f"@{source} ->" in line]


def test_a_source_not_allowed_is_refused_with_403_logged_once(edge: Edge) -> None:
    front = edge.open_front
    run = run_sipp(f"127.0.0.1:{front.listen_port}", invite_refused_scenario((403,)),
                   local_ip="127.0.0.2", calls=3, rate=5, workdir=edge.tmp / "sipp_403")
    assert run.ok and run.statuses == {403: 3}, (run.statuses, run.output[-2000:])
    assert not _relayed(front, "127.0.0.2")  # no worker saw it
    assert len(_refusals(front, "127.0.0.2", "source not in the allow-list")) == 1, front.log()


def test_a_malformed_request_is_answered_400_and_not_relayed(edge: Edge) -> None:
    front = edge.open_front
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.sendto((  # an allowed source, but the CSeq names another method
            f"INVITE sip:hotline@127.0.0.1:{front.listen_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKbad{port}\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:x@127.0.0.1>;tag=1\r\n"
            f"To: <sip:hotline@127.0.0.1>\r\nCall-ID: malformed-{port}@127.0.0.1\r\n"
            "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode(),
            ("127.0.0.1", front.listen_port))
        sock.settimeout(5)
        reply = sock.recv(4096).decode(errors="replace")
    assert reply.startswith("SIP/2.0 400"), reply
    assert f"malformed-{port}" not in "\n".join(
        line for line in front.log().splitlines() if "ivr-front: INVITE" in line)


def test_the_worker_refuses_a_caller_that_skips_the_front(edge: Edge) -> None:
    if "IVR_SIP__ALLOW_FROM" not in edge.worker.env:
        pytest.skip("this tree has no worker allow-list (sip.allow_from)")
    run = run_sipp(f"127.0.0.1:{edge.worker.sip_port}", invite_refused_scenario((403,)),
                   local_ip="127.0.0.2", workdir=edge.tmp / "sipp_direct")
    assert run.ok and run.statuses[403] == 1, (run.statuses, run.output[-2000:])


def test_a_flood_is_rate_limited_while_a_real_call_goes_through(edge: Edge) -> None:
    front, flood_calls = edge.open_front, 1000  # 5 s: outlasts a slow dial on busy CI
    result: dict[str, object] = {}

    def flood() -> None:
        result["run"] = run_sipp(
            f"127.0.0.1:{front.listen_port}", invite_refused_scenario((403, 503)),
            local_ip="127.0.0.3", calls=flood_calls, rate=200, concurrent=200,
            workdir=edge.tmp / "sipp_flood")

    flooder = threading.Thread(target=flood)
    phone = Baresip(record_dir=edge.tmp / "phone_udp").start()
    try:
        flooder.start()
        time.sleep(0.5)  # the flood is under way
        phone.dial(front.uri)
        call_id = phone.wait_event("CALL_ESTABLISHED", 15)["id"]
        flood_running = flooder.is_alive()
        call = edge.worker.call_id_for(call_id)
        phone.hangup()
        phone.wait_event("CALL_CLOSED", 10)
        assert edge.worker.wait_call_ended(call, 15)["status"] == "ended"
    finally:
        flooder.join(60)
        phone.stop()
    run = result["run"]
    statuses = run.statuses  # type: ignore[attr-defined]
    print(f"\nflood of {flood_calls} INVITEs at 200/s: {dict(statuses)}; "
          f"real call answered during the flood: {flood_running}")
    assert flood_running, "the flood ended before the real call was answered"
    assert statuses[503] >= 0.8 * flood_calls, dict(statuses)
    assert sum(statuses.values()) == flood_calls, dict(statuses)
    assert "Retry-After: 4" in run.messages  # type: ignore[attr-defined]
    assert not _relayed(front, "127.0.0.3")
    assert len(_refusals(front, "127.0.0.3", "rate limit exceeded")) == 1


def test_digest_challenge_wrong_password_and_an_authenticated_call(edge: Edge) -> None:
    front = edge.digest_front
    target = f"127.0.0.1:{front.listen_port}"
    challenged = run_sipp(target, invite_refused_scenario((407,)), local_ip="127.0.0.2",
                          workdir=edge.tmp / "sipp_407")
    assert challenged.ok and challenged.statuses == {407: 1}, challenged.output[-2000:]
    assert 'Proxy-Authenticate: Digest realm="ivr"' in challenged.messages

    wrong = run_sipp(target, digest_call_scenario(), local_ip="127.0.0.2",
                     auth=(USER, "not-the-password"), workdir=edge.tmp / "sipp_wrong")
    assert not wrong.ok and wrong.statuses[403] >= 1 and not wrong.statuses[200], (
        wrong.statuses, wrong.output[-2000:])

    good = run_sipp(target, digest_call_scenario(hold_ms=500), local_ip="127.0.0.2",
                    auth=(USER, PASSWORD), workdir=edge.tmp / "sipp_auth")
    assert good.ok and good.statuses[200] >= 2, (good.statuses, good.output[-3000:])
    assert len(_relayed(front, "127.0.0.2")) == 1  # only the authenticated INVITE
    log = front.log() + edge.worker.log()
    assert PASSWORD not in log and digest_ha1(USER, "ivr", PASSWORD) not in log
    assert _refusals(front, "127.0.0.2", f"wrong password for digest user {USER}")


def _options(sock: socket.socket, transport: str, port: int) -> str:
    local = sock.getsockname()
    msg = (f"OPTIONS sip:127.0.0.1:{port};transport={transport.lower()} SIP/2.0\r\n"
           f"Via: SIP/2.0/{transport} {local[0]}:{local[1]};branch=z9hG4bK{time.time_ns()}\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\n"
           f"To: <sip:127.0.0.1:{port}>\r\nCall-ID: {time.time_ns()}@probe\r\n"
           "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    sock.sendall(msg.encode())
    sock.settimeout(5)
    return sock.recv(4096).decode(errors="replace")


def test_tcp_and_tls_listeners_and_a_tls_call_answered_by_the_worker(edge: Edge) -> None:
    front = edge.open_front
    tls_port = front.edge.tls_port
    assert tls_port is not None
    with socket.create_connection(("127.0.0.1", front.listen_port), 5) as tcp:
        assert _options(tcp, "TCP", front.listen_port).startswith("SIP/2.0 200")
    ctx = ssl.create_default_context(cafile=str(edge.cert))  # the certificate made above
    with socket.create_connection(("127.0.0.1", tls_port), 5) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        assert _options(tls, "TLS", tls_port).startswith("SIP/2.0 200")

    phone = Baresip(record_dir=edge.tmp / "phone_tls", sip_trace=True).start()
    try:
        phone.dial(front.tls_uri)
        call_id = phone.wait_event("CALL_ESTABLISHED", 15)["id"]
        call = edge.worker.call_id_for(call_id)
        time.sleep(1.0)
        phone.hangup()
        phone.wait_event("CALL_CLOSED", 10)
        assert edge.worker.wait_call_ended(call, 15)["end_reason"] == "caller_hangup"
        trace = phone.log_text()
    finally:
        phone.stop()
    assert "SIP/2.0/TLS" in trace and "200 OK" in trace
    assert f"ivr-front: INVITE {call_id} -> sip:127.0.0.1:{edge.worker.sip_port}" in front.log()


def test_the_worker_hanging_up_reaches_a_tls_caller(edge: Edge) -> None:
    """The worker's BYE goes front -> caller over the caller's own TLS connection (Contact
    alias). Ends the module's worker: keep this test last."""
    tls_port = edge.open_front.edge.tls_port
    phone = Baresip(record_dir=edge.tmp / "phone_tls_bye", sip_trace=True).start()
    try:
        phone.dial(edge.open_front.tls_uri)
        phone.wait_event("CALL_ESTABLISHED", 15)
        assert edge.worker.proc is not None
        edge.worker.proc.send_signal(signal.SIGTERM)  # drain 0: it hangs up every call
        phone.wait_event("CALL_CLOSED", 10)  # baresip reports a BYE as "Connection reset"
        trace = phone.log_text()
    finally:
        phone.stop()
        edge.worker.stop()
    # the BYE came in over TLS from the front's TLS port, and baresip answered it
    assert re.search(rf"TLS 127\.0\.0\.1:{tls_port} -> \S+\s*\nBYE sip:caller", trace), trace
    assert re.search(r"SIP/2\.0 200 OK\r?\n(?:.*\n){0,8}?CSeq: \d+ BYE", trace), trace
