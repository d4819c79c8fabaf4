"""Kamailio front + two real `ivr serve` workers sharing one database: SQLite (one machine)
and a real PostgreSQL server.

More calls than one worker admits are spread over both; with every worker full the front
answers 503 + Retry-After; a worker killed mid-test is detected by the OPTIONS probe and new
calls go to the survivor; no finished call record is lost, and every worker's API sees every
call; the killed worker, restarted, closes only its own interrupted call.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ivr.cluster.kamailio import KamailioProcess, module_dir
from ivr.cluster.kamailio_config import WorkerAddr
from ivr.cluster.sip_probe import sip_request
from telephony.ports import free_udp_port
from telephony.softphone import Baresip
from testkit import pg_server
from testkit.harness import IvrProcess

pytestmark = pytest.mark.integration

MAX_CALLS = 2  # per worker: "more calls than one worker can hold" stays cheap
RETRY_AFTER = 7


def _require_tools() -> None:
    if shutil.which("baresip") is None:
        pytest.skip("baresip is not installed (run scripts/setup)")
    if shutil.which("kamailio") is None or module_dir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kamailio is not installed (scripts/setup installs it)")
        pytest.skip("kamailio is not installed (apt-get install kamailio)")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of the database both workers share."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.sqlite'}"
        return
    if not pg_server.available():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not installed (scripts/setup --dev installs it)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with pg_server.PostgresServer(tmp_path / "pg") as pg:
        yield pg.url


@pytest.fixture()
def cluster(tmp_path: Path,
            database_url: str) -> Iterator[tuple[KamailioProcess, list[IvrProcess]]]:
    _require_tools()
    env = {"IVR_SIP__MAX_CALLS": str(MAX_CALLS), "IVR_SIP__RETRY_AFTER_S": str(RETRY_AFTER),
           "IVR_DATABASE_URL": database_url}
    workers = [IvrProcess(tmp_path / f"worker{i}", env=env) for i in range(2)]
    front: KamailioProcess | None = None
    try:
        with ThreadPoolExecutor(2) as pool:  # model loading dominates: start both at once
            list(pool.map(lambda w: w.start(), workers))
        # (after the workers: a worker that lost its port to another socket got a new one)
        front = KamailioProcess(
            free_udp_port(), [WorkerAddr("127.0.0.1", w.sip_port, f"w{i}") for i, w in
                              enumerate(workers)],
            workdir=tmp_path / "kamailio", probe_interval_s=1, retry_after_s=RETRY_AFTER,
        )
        front.start()
        _wait(lambda: all(front.is_active(WorkerAddr("127.0.0.1", w.sip_port))
                          for w in workers), 10, "both workers probed up")
        yield front, workers
    finally:
        if front is not None:
            front.stop()
        for w in workers:
            w.stop()


def _wait(pred, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    """Poll `pred` until true; returns the seconds it took."""
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"not within {timeout} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - t0


def _calls(worker: IvrProcess) -> dict[str, dict]:  # type: ignore[type-arg]
    """Every call in the shared store, as this worker's API lists them."""
    return {c["sip_call_id"]: c for c in worker.api("/api/calls?limit=200")["calls"]}


def _held_by(worker: IvrProcess, calls: dict[str, dict]) -> set[str]:  # type: ignore[type-arg]
    return {cid for cid, c in calls.items() if c["worker"] == f"127.0.0.1:{worker.sip_port}"}


def _dial(phone: Baresip, uri: str) -> tuple[str, float]:
    t0 = time.monotonic()
    phone.dial(uri)
    ev = phone.wait_event("CALL_ESTABLISHED", 15)
    return ev["id"], time.monotonic() - t0


def _hangup(phone: Baresip) -> None:
    phone.hangup()
    phone.wait_event("CALL_CLOSED", 15)


def test_front_spreads_calls_fails_over_and_keeps_records(
    cluster: tuple[KamailioProcess, list[IvrProcess]], tmp_path: Path
) -> None:
    front, (w0, w1) = cluster
    addr = {id(w0): WorkerAddr("127.0.0.1", w0.sip_port), id(w1): WorkerAddr("127.0.0.1",
                                                                             w1.sip_port)}
    phones = [Baresip(record_dir=tmp_path / f"phone{i}").start() for i in range(5)]
    try:
        # -- call set-up direct vs through the front (same worker, idle)
        _, direct_s = _dial(phones[0], w0.uri)
        _hangup(phones[0])

        # -- 2 * MAX_CALLS calls through the front: more than one worker holds, all admitted
        ids, setup = [], []
        for phone in phones[: 2 * MAX_CALLS]:
            call_id, took = _dial(phone, front.uri)
            ids.append(call_id)
            setup.append(took)
        seen = _calls(w0)
        assert set(_calls(w1)) == set(seen) >= set(ids)  # one store: both see every call
        on0, on1 = set(ids) & _held_by(w0, seen), set(ids) & _held_by(w1, seen)
        assert len(on0) == MAX_CALLS and len(on1) == MAX_CALLS, (on0, on1)
        print(f"\nset-up direct {direct_s * 1000:.0f} ms; via front "
              f"{', '.join(f'{s * 1000:.0f}' for s in setup)} ms")

        # -- every worker full: the front answers 503 + Retry-After at once (nothing hangs)
        t0 = time.monotonic()
        reply = sip_request("127.0.0.1", front.listen_port, "INVITE", "hotline", timeout=5)
        assert reply.status == 503, reply.raw
        assert reply.headers.get("retry-after") == str(RETRY_AFTER), reply.raw
        assert time.monotonic() - t0 < 3
        phones[4].dial(front.uri)
        closed = phones[4].wait_event("CALL_CLOSED", 10)
        assert "503" in closed.get("param", ""), closed

        # -- finish every call but one on worker 0: finished records exist on both workers
        keep = next(iter(on0))
        for phone, call_id in zip(phones, ids, strict=False):
            if call_id != keep:
                _hangup(phone)
        finished = {c for c in ids if c != keep}
        for call_id in finished:
            assert w1.wait_call_ended(w1.call_id_for(call_id), 15)["status"] == "ended"

        # -- kill worker 0 mid-call (SIGKILL its process group): the probe takes it out
        assert w0.proc is not None
        t_kill = time.monotonic()
        os.killpg(w0.proc.pid, signal.SIGKILL)
        detect_s = _wait(lambda: not front.is_active(addr[id(w0)]), 10, "worker 0 down")
        print(f"probe detected the dead worker after {detect_s:.2f} s")
        assert front.is_active(addr[id(w1)])

        # -- new calls all go to the survivor, as many as it admits
        free = [p for p, c in zip(phones, ids, strict=False) if c != keep] + [phones[4]]
        new_ids = [_dial(phone, front.uri)[0] for phone in free[:MAX_CALLS]]
        assert set(new_ids) <= _held_by(w1, _calls(w1)), new_ids
        for phone in free[:MAX_CALLS]:
            _hangup(phone)
        for call_id in new_ids:
            assert w1.wait_call_ended(w1.call_id_for(call_id), 15)["status"] == "ended"
        print(f"first call on the survivor {time.monotonic() - t_kill:.2f} s after the kill")

        # -- no finished call record lost, whichever worker held it
        survivor = _calls(w1)
        for call_id in finished | set(new_ids):
            assert survivor[call_id]["status"] == "ended", survivor[call_id]
        assert survivor[keep]["status"] == "active"  # its worker died mid-call

        # -- the dead worker restarts: it closes its own interrupted call, nobody else's
        spare = free[0]
        spare.dial(front.uri)  # a live call on the survivor while worker 0 restarts
        live = spare.wait_event("CALL_ESTABLISHED", 15)["id"]
        w0.stop()
        w0.start()
        after = _calls(w1)
        assert (after[keep]["status"], after[keep]["end_reason"]) == ("ended",
                                                                      "service_restart")
        assert after[live]["status"] == "active", after[live]
        _hangup(spare)
        assert w0.wait_call_ended(w0.call_id_for(live), 15)["end_reason"] == "caller_hangup"
    finally:
        for phone in phones:
            phone.stop()
    log = front.log()
    assert f"worker down sip:127.0.0.1:{w0.sip_port}" in log, log[-3000:]
