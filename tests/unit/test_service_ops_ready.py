"""`GET /api/ready` (`ivr.readiness`) and `/` sending browsers to the sign-in page."""

from __future__ import annotations

import asyncio
import sqlite3
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr import workers
from ivr.readiness import DbWriteProbe, Readiness
from ivr.storage.call_store import CallStore
from ivr.web.api import build_app

WORKER = "127.0.0.1:5099"


@pytest.fixture
def store(tmp_path):
    s = CallStore(tmp_path / "ivr.sqlite")
    s.worker = WORKER
    workers.announce(s, WORKER, None)
    yield s
    s.close()


def _service(store, *, asr=True, engine=True, sip=True, draining=False, emotion=False):
    return SimpleNamespace(
        store=store, asr=object() if asr else None, engine=object() if engine else None,
        endpoint=SimpleNamespace(running=sip), draining=draining, emotion_model=None,
        settings=SimpleNamespace(emotion=SimpleNamespace(enabled=emotion)))


def _get(store, ready, path: str):
    async def main():
        app = build_app(store, "tok", lambda: {"active_calls": 0}, ready=ready)
        async with TestClient(TestServer(app)) as client:
            resp = await client.get(path, allow_redirects=False)
            body = await resp.json() if resp.content_type == "application/json" else None
            return resp.status, resp.headers, body

    return asyncio.run(main())


def test_ready_when_every_check_passes(store) -> None:
    status, headers, body = _get(store, Readiness(_service(store)), "/api/ready")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert body["ready"] is True and body["failed"] == []
    assert set(body["checks"]) == {"models", "sip", "accepting_calls", "database"}


@pytest.mark.parametrize("broken,failed", [
    ({"asr": False}, "models"), ({"engine": False}, "models"), ({"emotion": True}, "models"),
    ({"sip": False}, "sip"), ({"draining": True}, "accepting_calls"),
])
def test_not_ready_names_the_failed_check(store, broken, failed) -> None:
    status, _, body = _get(store, Readiness(_service(store, **broken)), "/api/ready")
    assert status == 503
    assert body["ready"] is False and body["failed"] == [failed]
    assert body["checks"][failed]["ok"] is False and body["checks"][failed]["detail"]


def test_database_refusing_writes_is_not_ready_and_says_nothing_secret(store, tmp_path) -> None:
    """The probe really writes: a database that still reads but refuses writes (what a
    read-only file or a revoked grant looks like) fails it."""
    from ivr.storage import connections

    def refuse(action, *_args):
        return sqlite3.SQLITE_DENY if action == sqlite3.SQLITE_UPDATE else sqlite3.SQLITE_OK

    def connect_refusing():  # runs in the writer thread, which owns the connection
        db = connections.connect(store.path, None)
        db.conn.set_authorizer(refuse)
        return db

    own = store.writer
    store.writer = connections.StoreWriter(connect_refusing)
    store.db.flush_first = store.writer.flush
    try:
        status, _, body = _get(store, Readiness(_service(store)), "/api/ready")
    finally:
        store.writer.close()
        store.writer, store.db.flush_first = own, own.flush
    assert status == 503 and body["failed"] == ["database"]
    assert "not stored" in body["checks"]["database"]["detail"]
    assert str(tmp_path) not in str(body) and "sqlite" not in str(body).lower()


def test_missing_worker_row_is_not_ready(store) -> None:
    workers.retire(store, WORKER)
    status, _, body = _get(store, Readiness(_service(store)), "/api/ready")
    assert status == 503 and "missing" in body["checks"]["database"]["detail"]


def test_probe_writes_at_most_once_per_interval(store) -> None:
    probe = DbWriteProbe(store, WORKER, every_s=60)

    async def main():
        return await asyncio.gather(*(probe.check() for _ in range(20)))

    results = asyncio.run(main())
    assert all(r.ok for r in results) and probe.probes == 1
    seen = list(store.db.query("select seen_at from workers where id = ?", [WORKER]))
    assert seen and seen[0]["seen_at"] > 0


def test_probe_times_out_on_a_stalled_writer(store) -> None:
    """Writes queued behind a stuck one: not ready within the timeout, no hang."""
    import threading

    gate = threading.Event()
    from ivr.storage.writer import Write

    store.writer.submit(Write(None, "stuck", lambda _db: gate.wait(5)))
    probe = DbWriteProbe(store, WORKER, timeout_s=0.2)
    try:
        check = asyncio.run(probe.check())
    finally:
        gate.set()
    assert not check.ok and "not committed" in check.detail


def test_ready_without_a_source_is_503(store) -> None:
    status, _, body = _get(store, None, "/api/ready")
    assert status == 503 and body["failed"] == ["service"]


def test_root_redirects_to_sign_in(store) -> None:
    status, headers, _ = _get(store, None, "/")
    assert status == 302 and headers["Location"] == "/login"


@pytest.mark.parametrize("abstract", [False, True])
def test_notify_systemd_sends_one_datagram(tmp_path, abstract) -> None:
    import socket

    from ivr.readiness import notify_systemd

    name = f"ivr-test-{tmp_path.name}"
    address = "\0" + name if abstract else str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        server.settimeout(5)
        env = {"NOTIFY_SOCKET": "@" + name if abstract else address}
        assert notify_systemd("READY=1", env)
        assert server.recv(256) == b"READY=1"


def test_notify_systemd_without_systemd_or_listener(tmp_path) -> None:
    from ivr.readiness import notify_systemd

    assert notify_systemd("READY=1", {}) is False
    assert notify_systemd("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False


class _Client:
    def __init__(self, up: bool) -> None:
        self.up = up

    async def reachable(self) -> bool:
        return self.up


@pytest.mark.parametrize("up", [True, False])
def test_a_worker_on_the_shared_inference_server_checks_it(store, up) -> None:
    service = _service(store)
    service.asr_stack = SimpleNamespace(client=_Client(up))
    status, _, body = _get(store, Readiness(service), "/api/ready")
    assert "inference" in body["checks"]
    assert (status, body["failed"]) == ((200, []) if up else (503, ["inference"]))


def test_an_inference_client_with_no_server_is_unreachable(tmp_path) -> None:
    from audio_models.inference_client import InferenceClient

    client = InferenceClient(tmp_path / "missing.sock")
    assert asyncio.run(client.reachable(timeout_s=0.3)) is False
