"""Signing in to the live-agent desk (in-process aiohttp server, real CallStore): the page,
the strict cookie, bad passwords and their rate limit, every API route behind the cookie,
tampered or foreign cookies, the desk cookie and API tokens kept apart; then the agent's
status, refused while on a call, and signing out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.escalation.agents import AgentDirectory
from ivr.storage.call_store import CallStore
from ivr.web.api import build_app
from ivr.web.auth import SessionSigner
from tests.unit.desk_app import ONLY_8001, PASSWORDS, SECRET, TOKEN, run, sign_in


# ---------------------------------------------------------------------------- sign-in
def test_page_and_sign_in_sets_a_strict_cookie(desk_store: CallStore) -> None:
    AgentDirectory(desk_store).set_status("8001", "offline")

    async def body(client: TestClient) -> Any:
        page = await client.get("/desk")
        before = await page.text()
        resp = await sign_in(client)
        cookie = resp.headers["Set-Cookie"]
        after = await (await client.get("/desk")).text()
        me = await (await client.get("/desk/api/me")).json()
        js = await client.get("/desk/static/desk.js")
        return (page.status, page.headers, before, resp.status, cookie, after, me,
                js.status)

    status, headers, before, login, cookie, after, me, js = run(desk_store, body)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert 'data-signed-in="no"' in before and 'data-signed-in="yes"' in after
    assert login == 200
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/desk" in cookie
    assert "Max-Age=43200" in cookie
    assert (me["id"], me["name"], me["status"], me["queues"]) == (
        "8001", "Li", "available", ["general"])  # offline agents become available
    assert js == 200


def test_form_sign_in_redirects_to_the_desk(desk_store: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        resp = await client.post("/desk/login", data={"agent": "8002",
                                                      "password": PASSWORDS["8002"]},
                                 allow_redirects=False)
        me = await client.get("/desk/api/me")
        return resp.status, resp.headers["Location"], (await me.json())["id"]

    assert run(desk_store, body) == (303, "/desk", "8002")


@pytest.mark.parametrize(("agent", "password", "status"), [
    ("8001", "wrong", 401), ("9999", "anything", 401), ("8003", "", 400),
    ("8003", "anything", 401),  # no password_hash: cannot sign in
    ("", "x", 400)])
def test_bad_sign_in(desk_store: CallStore, agent: str, password: str, status: int) -> None:
    async def body(client: TestClient) -> Any:
        resp = await sign_in(client, agent, password)
        me = await client.get("/desk/api/me")
        return resp.status, "Set-Cookie" in resp.headers, me.status

    assert run(desk_store, body) == (status, False, 401)


def test_failed_sign_ins_are_rate_limited(desk_store: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        statuses = [(await sign_in(client, "8001", "nope")).status for _ in range(5)]
        blocked = await sign_in(client, "8001")  # the right password, too late
        other = await sign_in(client, "8002")
        return statuses, blocked.status, blocked.headers.get("Retry-After"), other.status

    statuses, blocked, retry, other = run(desk_store, body)
    assert statuses == [401] * 5
    assert blocked == 429 and retry is not None and 1 <= int(retry) <= 61
    assert other == 200


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/desk/api/me"), ("POST", "/desk/api/status"), ("GET", "/desk/api/events"),
    ("GET", "/desk/api/calls/call-1"), ("POST", "/desk/api/calls/call-1/outcome"),
    ("GET", "/desk/api/history")])
def test_every_desk_api_route_needs_the_cookie(desk_store: CallStore, method: str,
                                               path: str) -> None:
    async def body(client: TestClient) -> Any:
        resp = await client.request(method, path, json={},
                                    headers={"Authorization": f"Bearer {TOKEN}"})
        return resp.status, await resp.json()

    assert run(desk_store, body) == (401, {"error": "not signed in"})


def test_tampered_or_foreign_cookies_are_refused(desk_store: CallStore) -> None:
    good = SessionSigner(SECRET).issue("8001", "agent")
    body_, sig = good.split(".")
    cookies = [
        f"{body_}.{sig[:-2]}AA",  # signature changed
        SessionSigner(SECRET).issue("8002", "agent").split(".")[0] + "." + sig,  # swapped id
        SessionSigner(b"another-secret-of-32-bytes------").issue("8001", "agent"),
        SessionSigner(SECRET).issue("8001", "supervisor"),  # wrong role
        SessionSigner(SECRET).issue("9999", "agent"),  # not a configured agent
        SessionSigner(SECRET, ttl_s=-1).issue("8001", "agent"),  # expired
    ]

    async def body(client: TestClient) -> Any:
        out = []
        for cookie in [good, *cookies]:
            resp = await client.get("/desk/api/me", headers={"Cookie": f"ivr_desk={cookie}"})
            out.append(resp.status)
        return out

    assert run(desk_store, body) == [200] + [401] * len(cookies)


def test_desk_cookie_is_not_an_api_token_and_api_token_is_not_a_desk_cookie(
        desk_store: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        await sign_in(client)
        api = await client.get("/api/calls")
        sneaky = await client.get("/desk/../api/calls")
        health = await client.get("/api/health")
        return api.status, sneaky.status, health.status

    api, sneaky, health = run(desk_store, body)
    assert api == 401 and sneaky in (401, 404) and health == 200


def test_no_desk_without_a_secret(desk_store: CallStore) -> None:
    async def main() -> int:
        app = build_app(desk_store, TOKEN, lambda: {})
        async with TestClient(TestServer(app)) as client:
            return (await client.get("/desk")).status

    assert asyncio.run(main()) == 404


# ---------------------------------------------------------------------------- status
def test_status_toggle_and_refused_while_busy(desk_store: CallStore,
                                              desk_worker: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        await sign_in(client)
        out = []
        for status in ("offline", "available", "busy", "away"):
            resp = await client.post("/desk/api/status", json={"status": status})
            out.append((resp.status, (await resp.json()).get("status")))
        AgentDirectory(desk_worker).claim(ONLY_8001, "call-1")  # the IVR takes the agent
        busy = await client.post("/desk/api/status", json={"status": "offline"})
        me = await (await client.get("/desk/api/me")).json()
        return out, busy.status, me

    out, busy, me = run(desk_store, body)
    assert out == [(200, "offline"), (200, "available"), (400, None), (400, None)]
    assert busy == 409
    assert (me["status"], me["current_call"]) == ("busy", "call-1")


def test_sign_out_goes_offline_unless_on_a_call(desk_store: CallStore,
                                                desk_worker: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        await sign_in(client)
        await sign_in(client, "8002")  # the jar now holds 8002's cookie
        resp = await client.post("/desk/logout", json={})
        after = await client.get("/desk/api/me")
        await sign_in(client)
        AgentDirectory(desk_worker).claim(ONLY_8001, "call-1")
        await client.post("/desk/logout", json={})
        return resp.status, resp.headers["Set-Cookie"], after.status

    status, cookie, after = run(desk_store, body)
    assert status == 200 and "ivr_desk=" in cookie and "Max-Age=0" in cookie
    assert after == 401
    agents = {a.id: a for a in AgentDirectory(desk_store).all()}
    assert agents["8002"].status == "offline"
    assert (agents["8001"].status, agents["8001"].current_call) == ("busy", "call-1")
