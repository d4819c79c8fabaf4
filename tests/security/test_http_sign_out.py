"""Signing out ends the session everywhere: a copied session cookie dies on every worker, a
copied desk cookie with the desk's sign-out, and an open live-board stream ends.

Everything runs on real sockets on 127.0.0.1 (other loopback addresses stand for other
clients). Each test failed on the code before the fix (issue 15)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.storage.call_store import open_store
from ivr.web.api import build_app
from ivr.web.auth import CSRF_HEADER, SESSION_COOKIE
from ivr.web.desk import COOKIE as DESK_COOKIE
from tests.security.web_app import AGENTS, PW, SECRET, TOKEN, run
from tests.web_helpers import sign_in


def test_a_copied_session_cookie_dies_with_sign_out_on_every_worker(web_store, tmp_path, db_url):
    other_worker = open_store(db_url, tmp_path / "ivr.sqlite")  # same database

    async def body(client: TestClient) -> tuple[int, ...]:
        csrf = await sign_in(client, "sue", PW)
        copied = client.session.cookie_jar.filter_cookies(client.make_url("/"))[
            SESSION_COOKIE].value
        before = (await client.get("/auth/me")).status
        out = await client.post("/logout", json={}, headers={CSRF_HEADER: csrf})
        cookie = {"Cookie": f"{SESSION_COOKIE}={copied}"}
        async with aiohttp.ClientSession() as thief:
            me = await thief.get(client.make_url("/auth/me"), headers=cookie)
            page = await thief.get(client.make_url("/dash/calls"), headers=cookie,
                                   allow_redirects=False)
        app2 = build_app(other_worker, TOKEN, lambda: {}, desk_agents=AGENTS,
                         desk_secret=SECRET)
        async with TestClient(TestServer(app2, host="127.0.0.1")) as worker2:
            elsewhere = await worker2.get("/auth/me", headers=cookie)
        return before, out.status, me.status, page.status, elsewhere.status
    try:
        assert run(web_store, body) == (200, 200, 401, 303, 401)
    finally:
        other_worker.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_copied_desk_cookie_dies_with_desk_sign_out(web_store):
    async def body(client: TestClient) -> tuple[int, ...]:
        ok = await client.post("/desk/login", json={"agent": "8001",
                                                    "password": "li-desk-secret"})
        copied = ok.cookies[DESK_COOKIE].value
        before = (await client.get("/desk/api/me")).status
        out = await client.post("/desk/logout", json={})
        client.session.cookie_jar.clear()
        client.session.cookie_jar.update_cookies({DESK_COOKIE: copied})
        after = await client.get("/desk/api/me")
        again = await client.post("/desk/login", json={"agent": "8001",
                                                       "password": "li-desk-secret"})
        fresh = await client.get("/desk/api/me")  # a new sign-in is a new session
        return ok.status, before, out.status, after.status, again.status, fresh.status
    assert run(web_store, body) == (200, 200, 200, 401, 200, 200)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_open_live_board_stream_ends_with_sign_out(web_store, monkeypatch):
    """The live board's event stream was opened before sign-out: it ends within the
    re-check period, as every new request with that cookie is refused."""
    from ivr.web import live

    monkeypatch.setattr(live, "RECHECK_S", 0.2)

    async def body(client: TestClient) -> tuple[bool, float]:
        csrf = await sign_in(client, "sue", PW)
        stream = await client.get("/dash/api/live/events")
        assert stream.status == 200
        assert b"retry" in await stream.content.readline()
        await client.post("/logout", json={}, headers={CSRF_HEADER: csrf})
        t0 = time.monotonic()
        async with asyncio.timeout(5):
            while await stream.content.readline():
                pass  # snapshots until the server ends the stream
        return stream.content.at_eof(), time.monotonic() - t0
    ended, took = run(web_store, body)
    assert ended and took < 3
