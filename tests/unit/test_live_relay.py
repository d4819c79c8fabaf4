"""Live listen across workers: the dashboard of one worker relays the WebSocket of the worker
holding the call (two real aiohttp servers sharing one SQLite store and the `workers`
table), passing the listener's credentials on; an unknown or silent holder is a 409."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ivr import workers
from ivr.storage.call_store import CallStore
from ivr.web.live import add_live_routes, snapshot
from ivr.web.signin import add_auth_routes
from ivr.web.users import UserStore
from tests.unit.test_live_board import SECRET, TapSession, bearer, tap_and_receive


def _app(store: CallStore, sessions: dict[str, Any]) -> web.Application:
    app = web.Application()
    add_auth_routes(app, store, SECRET)
    add_live_routes(app, store, lambda: sessions).poll_s = 0.05
    return app


def test_listen_is_relayed_from_the_worker_holding_the_call(tmp_path: Path) -> None:
    async def main() -> None:
        db = tmp_path / "shared.sqlite"
        hold_store, relay_store = CallStore(db), CallStore(db)
        hold_store.worker, relay_store.worker = "127.0.0.1:5071", "127.0.0.1:5070"
        token = UserStore(relay_store).add_token("sup", "supervisor")
        held: dict[str, Any] = {}
        try:
            async with TestClient(TestServer(_app(hold_store, held))) as holder, \
                    TestClient(TestServer(_app(relay_store, {}))) as relay:
                hold_store.call_started("c1", caller="1002")  # stamped with the holder
                hold_store.call_started("gone", caller="1003", worker="127.0.0.1:5099")
                session = held["c1"] = TapSession()
                workers.announce(hold_store, hold_store.worker,
                                 str(holder.make_url("")).rstrip("/"))
                listing = snapshot(relay_store, {})["calls"]
                assert {c["id"]: c["listenable"] for c in listing} == {"c1": True,
                                                                       "gone": False}
                headers = bearer(token)
                assert (await relay.get("/dash/api/live/gone/listen",
                                        headers=headers)).status == 409
                ws = await relay.ws_connect("/dash/api/live/c1/listen", headers=headers)
                fmt = await ws.receive_json(timeout=5)
                assert fmt["call_id"] == "c1" and fmt["channels"] == 2
                for _ in range(50):  # the holder's tap appears once the relay connected
                    if session.taps:
                        break
                    await asyncio.sleep(0.05)
                await tap_and_receive(session, ws)
                session.hungup.set()
                end = await ws.receive_json(timeout=5)
                assert end["type"] == "end" and end["reason"] == "call ended"
                await ws.close()
                actions = [(r["action"], r["detail"]) for r in relay_store.db.query(
                    "select action, detail from audit_log where action = 'listen_live'")]
                assert len(actions) == 2  # the relaying worker and the holder both audit
                assert any("relayed_from" in (d or "") for _, d in actions)
        finally:
            hold_store.close()
            relay_store.close()

    asyncio.run(main())


def test_worker_registry_heartbeat_staleness_and_retire(tmp_path: Path) -> None:
    store = CallStore(tmp_path / "ivr.sqlite")
    try:
        workers.announce(store, "127.0.0.1:5070", "http://127.0.0.1:8081")
        assert workers.http_url_of(store, "127.0.0.1:5070") == "http://127.0.0.1:8081"
        assert workers.http_url_of(store, None) is None
        store.db.execute("update workers set seen_at = ?",
                         [time.time() - workers.STALE_AFTER_S - 1])
        assert workers.http_url_of(store, "127.0.0.1:5070") is None  # silent: gone
        assert workers.live_workers(store) == []
        workers.heartbeat(store, "127.0.0.1:5070")
        assert [w["id"] for w in workers.live_workers(store)] == ["127.0.0.1:5070"]
        workers.retire(store, "127.0.0.1:5070")
        assert workers.http_url_of(store, "127.0.0.1:5070") is None
    finally:
        store.close()
    assert workers.own_http_url("0.0.0.0", 8081, "10.0.0.5") == "http://10.0.0.5:8081"
    assert workers.own_http_url("127.0.0.1", 0, None) is None
