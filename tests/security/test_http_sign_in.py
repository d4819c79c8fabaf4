"""Signing in under hostile clients: no open redirect after sign-in, and sign-in limits that
count on every worker and that strangers cannot turn into a lock-out.

Everything runs on real sockets on 127.0.0.1 (other loopback addresses stand for other
clients). Each test failed on the code before the fix (issue 15)."""

from __future__ import annotations

import contextlib
import html.parser
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.storage.call_store import open_store
from ivr.web.api import build_app
from ivr.web.auth import CSRF_HEADER, LOGIN_CSRF_COOKIE
from tests.security.web_app import AGENTS, PW, SECRET, TOKEN, run

# ---------------------------------------------------------------- open redirects
OFF_SITE = ["//evil.example/", "/\\evil.example", "/%09/evil.example", "/\t/evil.example",
            "/%2F/evil.example", "/%2f%2fevil.example", "/%5Cevil.example",
            "/%252F/evil.example", "https://evil.example/", "javascript:alert(1)",
            "/\n/evil.example", "/\r\n/evil.example", "/ /evil.example", "/\u3000/evil",
            "/\u200b/evil.example", "http:/evil.example", "\\\\evil.example", "evil.example"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sign_in_never_redirects_off_site(web_store):
    async def body(client: TestClient) -> list[tuple[str, str, str]]:
        out = []
        for target in [*OFF_SITE, "/dash/calls?status=ended"]:
            client.session.cookie_jar.clear()
            page = await client.get("/login", params={"next": target})
            shown = _hidden_next(await page.text())
            csrf = page.cookies[LOGIN_CSRF_COOKIE].value
            resp = await client.post("/login", allow_redirects=False, data={
                "username": "sue", "password": PW, "next": target, "csrf_token": csrf})
            out.append((target, shown, resp.headers["Location"]))
        return out
    results = run(web_store, body)
    for target, shown, location in results[:-1]:
        assert (shown, location) == ("", "/dash"), target
    assert results[-1][1:] == ("/dash/calls?status=ended", "/dash/calls?status=ended")


def _hidden_next(page: str) -> str:
    class Form(html.parser.HTMLParser):
        value = ""

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found = dict(attrs)
            if tag == "input" and found.get("name") == "next":
                self.value = found.get("value") or ""
    parser = Form()
    parser.feed(page)
    return parser.value


# ---------------------------------------------------------------- sign-in limits
@contextlib.asynccontextmanager
async def _from(address: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A client whose connections come from `address` (any 127.x.y.z is this machine)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector,
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield http


async def _login(http: aiohttp.ClientSession, base: str, username: str,
                 password: str) -> int:
    page = await http.get(base + "/login")
    csrf = page.cookies[LOGIN_CSRF_COOKIE].value
    resp = await http.post(base + "/login", json={"username": username, "password": password},
                           headers={CSRF_HEADER: csrf})
    resp.release()
    return resp.status


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_stranger_cannot_lock_a_user_out(web_store):
    async def body(client: TestClient) -> tuple[list[int], int, list[int], int]:
        base = str(client.make_url("")).rstrip("/")
        async with _from("127.0.0.2") as attacker:
            tries = [await _login(attacker, base, "sue", f"guess-{i:04d}") for i in range(8)]
            desk_tries = []
            for i in range(7):
                resp = await attacker.post(base + "/desk/login",
                                           json={"agent": "8001", "password": f"g-{i:05d}"})
                desk_tries.append(resp.status)
                resp.release()
        async with _from("127.0.0.1") as owner:
            own = await _login(owner, base, "sue", PW)
            desk = await owner.post(base + "/desk/login",
                                    json={"agent": "8001", "password": "li-desk-secret"})
            desk.release()
        return tries, own, desk_tries, desk.status
    tries, own, desk_tries, desk = run(web_store, body)
    assert tries == [401] * 5 + [429] * 3 and desk_tries == [401] * 5 + [429] * 2
    assert (own, desk) == (200, 200)


def test_sign_in_failures_count_on_every_worker(web_store, tmp_path, db_url):
    """Two workers share the database: failures on one count on the other, so N workers do
    not give N times the guesses."""
    other_worker = open_store(db_url, tmp_path / "ivr.sqlite")

    async def body(client: TestClient) -> tuple[list[int], int]:
        base = str(client.make_url("")).rstrip("/")
        app2 = build_app(other_worker, TOKEN, lambda: {}, desk_agents=AGENTS,
                         desk_secret=SECRET)
        async with TestClient(TestServer(app2, host="127.0.0.1")) as worker2, \
                _from("127.0.0.2") as attacker:
            base2 = str(worker2.make_url("")).rstrip("/")
            first = [await _login(attacker, base, "sue", f"guess-{i:04d}") for i in range(5)]
            second = await _login(attacker, base2, "sue", "guess-on-worker-2")
        return first, second
    try:
        first, second = run(web_store, body)
    finally:
        other_worker.close()
    assert first == [401] * 5 and second == 429


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_one_address_trying_many_names_is_stopped(web_store):
    async def body(client: TestClient) -> tuple[list[int], int, int]:
        base = str(client.make_url("")).rstrip("/")
        async with _from("127.0.0.3") as sprayer:
            statuses = [await _login(sprayer, base, f"user{i}", "Winter2026!")
                        for i in range(22)]
            real = await _login(sprayer, base, "ada", PW)  # even a right password waits
        async with _from("127.0.0.1") as other:
            fine = await _login(other, base, "ada", PW)
        return statuses, real, fine
    statuses, real, fine = run(web_store, body)
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429, 429]
    assert (real, fine) == (429, 200)
