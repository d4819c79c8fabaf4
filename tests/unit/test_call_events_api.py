"""`GET /api/calls/{id}/events`: follow a live call by event id, with a bounded long poll
(on an in-process aiohttp test server over a real CallStore)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.storage.call_store import CallStore
from ivr.web.api import EVENTS_MAX_WAIT_S, build_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
T0 = 1_700_000_000.0


@pytest.fixture
def store(tmp_path):
    s = CallStore(tmp_path / "ivr.sqlite")
    s.call_started("live", caller="1000", started_at=T0)
    s.add_event("live", "call_answered", {"caller": "1000"}, ts=T0 + 1)
    s.add_event("live", "prompt", {"node": "welcome"}, ts=T0 + 2)
    s.call_started("done", caller="2000", started_at=T0)
    s.add_event("done", "call_ended", {"reason": "caller_hangup"}, ts=T0 + 5)
    s.call_ended("done", "completed")
    yield s
    s.close()


def _run(store: CallStore, body: Callable[[TestClient], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        app = build_app(store, TOKEN, lambda: {"active_calls": 0})
        async with TestClient(TestServer(app)) as client:
            async with asyncio.timeout(60):
                return await body(client)

    return asyncio.run(main())


async def _get(client: TestClient, path: str) -> tuple[int, Any]:
    resp = await client.get(path, headers=AUTH)
    return resp.status, await resp.json()


def test_events_after_an_id_in_the_calls_order(store):
    async def body(client):
        _, first = await _get(client, "/api/calls/live/events")
        last = first["events"][-1]["id"]
        _, rest = await _get(client, f"/api/calls/live/events?after={last}")
        return first, rest

    first, rest = _run(store, body)
    assert first["id"] == "live" and first["status"] != "ended"
    assert [(e["type"], e["data"]) for e in first["events"]] == [
        ("call_answered", {"caller": "1000"}), ("prompt", {"node": "welcome"})]
    assert rest["events"] == []


def test_a_long_poll_returns_when_the_next_event_is_stored(store):
    async def body(client):
        _, first = await _get(client, "/api/calls/live/events")
        after = first["events"][-1]["id"]

        async def later() -> None:
            await asyncio.sleep(0.3)
            store.add_event("live", "turn", {"seq": 1}, ts=T0 + 3)

        t0 = time.monotonic()
        adder = asyncio.create_task(later())
        status, got = await _get(client, f"/api/calls/live/events?after={after}&wait=20")
        await adder
        return status, got, time.monotonic() - t0

    status, got, waited = _run(store, body)
    assert status == 200
    assert [e["type"] for e in got["events"]] == ["turn"]
    assert 0.25 <= waited < 15  # it waited for the event, not for the whole 20 s


def test_a_long_poll_with_nothing_new_answers_empty_after_its_wait(store):
    async def body(client):
        _, first = await _get(client, "/api/calls/live/events")
        t0 = time.monotonic()
        _, got = await _get(client, f"/api/calls/live/events?after={first['events'][-1]['id']}"
                                    "&wait=0.4")
        return got, time.monotonic() - t0

    got, waited = _run(store, body)
    assert got["events"] == [] and got["status"] != "ended"
    assert waited >= 0.35


def test_an_ended_call_is_answered_at_once(store):
    async def body(client):
        _, first = await _get(client, "/api/calls/done/events")
        t0 = time.monotonic()
        _, got = await _get(client, f"/api/calls/done/events?after={first['events'][-1]['id']}"
                                    "&wait=20")
        return got, time.monotonic() - t0

    got, waited = _run(store, body)
    assert got == {"id": "done", "status": "ended", "events": []}
    assert waited < 15


@pytest.mark.parametrize("query", ["after=x", "wait=soon", "after=1.5"])
def test_bad_parameters_are_400(store, query):
    status, body = _run(store, lambda c: _get(c, f"/api/calls/live/events?{query}"))
    assert status == 400 and "error" in body


@pytest.mark.parametrize("query", ["wait=nan", "wait=-3", "wait=1e9", "after=-5",
                                   "after=99999999999999999999"])
def test_out_of_range_parameters_are_bounded(store, query):
    """A hostile `wait` cannot hold a request longer than the cap, nor `after` overflow."""
    async def body(client):
        t0 = time.monotonic()
        status, got = await _get(client, f"/api/calls/done/events?{query}")
        return status, got, time.monotonic() - t0

    status, got, waited = _run(store, body)
    assert status == 200 and got["status"] == "ended"
    assert waited < EVENTS_MAX_WAIT_S


def test_unknown_call_and_missing_token(store):
    async def body(client):
        missing = await _get(client, "/api/calls/nope/events")
        anonymous = (await client.get("/api/calls/live/events")).status
        return missing, anonymous

    missing, anonymous = _run(store, body)
    assert missing == (404, {"error": "no such call"})
    assert anonymous == 401


def test_reading_events_is_audited(store):
    _run(store, lambda c: _get(c, "/api/calls/live/events"))
    rows = list(store.db.query("select action, call_id, detail from audit_log"))
    assert [(r["action"], r["call_id"]) for r in rows] == [("view_call", "live")]
    assert '"events"' in rows[0]["detail"]


def test_a_waiting_poll_is_woken_by_the_write_not_by_rereading(store, monkeypatch):
    """The notifier wakes the request when the event is queued: with the fallback re-read
    set far away, it still answers at once, having read the store twice (before and after)."""
    import ivr.web.api as api

    monkeypatch.setattr(api, "EVENTS_FALLBACK_S", 10.0)
    reads: list[str] = []
    real = store.call_events
    monkeypatch.setattr(store, "call_events", lambda *a, **k: reads.append(a[0]) or real(*a, **k))

    async def body(client):
        _, first = await _get(client, "/api/calls/live/events")
        reads.clear()

        async def later() -> None:
            await asyncio.sleep(0.5)
            store.add_event("live", "turn", {"seq": 1}, ts=T0 + 3)

        t0 = time.monotonic()
        adder = asyncio.create_task(later())
        _, got = await _get(client, f"/api/calls/live/events?after={first['events'][-1]['id']}"
                                    "&wait=20")
        await adder
        return got, time.monotonic() - t0

    got, waited = _run(store, body)
    assert [e["type"] for e in got["events"]] == ["turn"]
    assert 0.45 <= waited < 5
    assert reads == ["live", "live"]
    assert store.changes.waiting == 0  # nothing left registered


def test_another_calls_writes_do_not_answer_a_poll(store, monkeypatch):
    import ivr.web.api as api

    monkeypatch.setattr(api, "EVENTS_FALLBACK_S", 0.2)

    async def body(client):
        _, first = await _get(client, "/api/calls/live/events")

        async def other() -> None:
            for i in range(5):
                await asyncio.sleep(0.05)
                store.add_event("done", "note", {"i": i}, ts=T0 + 6 + i)

        t0 = time.monotonic()
        task = asyncio.create_task(other())
        _, got = await _get(client, f"/api/calls/live/events?after={first['events'][-1]['id']}"
                                    "&wait=0.6")
        await task
        return got, time.monotonic() - t0

    got, waited = _run(store, body)
    assert got["events"] == [] and waited >= 0.55


def test_writes_the_notifier_cannot_see_are_found_by_the_fallback_read(store, monkeypatch):
    """A write of another worker on the shared database (here: queued behind the store's
    back, so nothing is signalled) is found by the slower re-read."""
    import ivr.web.api as api
    from ivr.storage.writer import Write

    monkeypatch.setattr(api, "EVENTS_FALLBACK_S", 0.3)
    row = {"call_id": "live", "ts": T0 + 3, "type": "turn", "data": "{}"}

    async def body(client):
        _, first = await _get(client, "/api/calls/live/events")

        async def elsewhere() -> None:
            await asyncio.sleep(0.2)
            store.writer.submit(Write("live", "event turn", lambda db: db["events"].insert(row)))

        t0 = time.monotonic()
        task = asyncio.create_task(elsewhere())
        _, got = await _get(client, f"/api/calls/live/events?after={first['events'][-1]['id']}"
                                    "&wait=20")
        await task
        return got, time.monotonic() - t0

    got, waited = _run(store, body)
    assert [e["type"] for e in got["events"]] == ["turn"]
    assert 0.25 <= waited < 5


def test_a_call_of_another_worker_is_reread_often(store, monkeypatch):
    """This process is never told of another worker's writes: its calls keep the short
    re-read (a local cluster's harness follows every call through worker 0)."""
    import ivr.web.api as api
    from ivr.storage.writer import Write

    monkeypatch.setattr(api, "EVENTS_FALLBACK_S", 10.0)
    store.worker = "127.0.0.1:5070"
    store.call_started("far", caller="3000", started_at=T0, worker="127.0.0.1:5071")
    row = {"call_id": "far", "ts": T0 + 3, "type": "turn", "data": "{}"}

    async def body(client):
        async def elsewhere() -> None:
            await asyncio.sleep(0.3)
            store.writer.submit(Write("far", "event turn", lambda db: db["events"].insert(row)))

        t0 = time.monotonic()
        task = asyncio.create_task(elsewhere())
        _, got = await _get(client, "/api/calls/far/events?wait=20")
        await task
        return got, time.monotonic() - t0

    got, waited = _run(store, body)
    assert [e["type"] for e in got["events"]] == ["turn"]
    assert 0.25 <= waited < 5
