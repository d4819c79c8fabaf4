"""The HTTP side under hostile clients (issue 15): idle and slow connections, too many of
them, open redirects after sign-in, sign-in limits that strangers cannot turn into a lock-out,
sessions that end on sign-out on every worker, the desk's sign-ins in the audit log, security
headers on every page, JSON bodies too big or too deep, and the callbacks an agent may list.

Everything runs on real sockets on 127.0.0.1 (other loopback addresses stand for other
clients); the HTTP limits are tested through `IvrService._start_http`, the code `ivr serve`
runs. Each test failed on the code before the fix."""

from __future__ import annotations

import asyncio
import contextlib
import html.parser
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ivr.escalation.agents import AgentConfig, AgentDirectory
from ivr.storage.call_store import CallStore, open_store
from ivr.web.api import build_app
from ivr.web.auth import CSRF_HEADER, LOGIN_CSRF_COOKIE, SESSION_COOKIE, hash_password
from ivr.web.desk import COOKIE as DESK_COOKIE
from ivr.web.users import UserStore
from tests.web_helpers import make_user, sign_in

TOKEN = "configured-api-token"
SECRET = b"0123456789abcdef0123456789abcdef"
PW = "password-123"
STATIC = Path(__file__).resolve().parents[2] / "ivr" / "web" / "static"
AGENTS = [
    AgentConfig(id="8001", name="Li", uri="sip:8001@127.0.0.1:5070", queues=["general"],
                password_hash=hash_password("li-desk-secret")),
    AgentConfig(id="8002", name="Wang", uri="sip:8002@127.0.0.1:5071", queues=["billing"]),
]


@pytest.fixture
def store(tmp_path: Path, db_url: str | None) -> Any:
    s = open_store(db_url, tmp_path / "ivr.sqlite")
    AgentDirectory(s).sync(AGENTS)
    s.call_started("c-li", caller="13800138000", started_at=1.0, agent_id="8001")
    s.call_started("c-wang", caller="13900139000", started_at=2.0, agent_id="8002")
    s.call_started("c-q1", caller="13700137000", started_at=3.0)
    s.call_started("c-q2", caller="13600136000", started_at=4.0)
    make_user(s, "ada", "admin")
    make_user(s, "sue", "supervisor")
    make_user(s, "li", "agent", agent_id="8001")
    yield s
    s.close()


def run(store: CallStore, body: Callable[[TestClient], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        app = build_app(store, TOKEN, lambda: {}, desk_agents=AGENTS, desk_secret=SECRET)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            return await body(client)
    return asyncio.run(main())


def audit_rows(store: CallStore, action: str) -> list[dict[str, Any]]:
    return list(store.db.query("select * from audit_log where action = ? order by id",
                               [action]))


# ---------------------------------------------------------------- 2. open redirects
OFF_SITE = ["//evil.example/", "/\\evil.example", "/%09/evil.example", "/\t/evil.example",
            "/%2F/evil.example", "/%2f%2fevil.example", "/%5Cevil.example",
            "/%252F/evil.example", "https://evil.example/", "javascript:alert(1)",
            "/\n/evil.example", "/\r\n/evil.example", "/ /evil.example", "/\u3000/evil",
            "/\u200b/evil.example", "http:/evil.example", "\\\\evil.example", "evil.example"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sign_in_never_redirects_off_site(store):
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
    results = run(store, body)
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


# ---------------------------------------------------------------- 3. sign-in limits
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
def test_a_stranger_cannot_lock_a_user_out(store):
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
    tries, own, desk_tries, desk = run(store, body)
    assert tries == [401] * 5 + [429] * 3 and desk_tries == [401] * 5 + [429] * 2
    assert (own, desk) == (200, 200)


def test_sign_in_failures_count_on_every_worker(store, tmp_path, db_url):
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
        first, second = run(store, body)
    finally:
        other_worker.close()
    assert first == [401] * 5 and second == 429


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_one_address_trying_many_names_is_stopped(store):
    async def body(client: TestClient) -> tuple[list[int], int, int]:
        base = str(client.make_url("")).rstrip("/")
        async with _from("127.0.0.3") as sprayer:
            statuses = [await _login(sprayer, base, f"user{i}", "Winter2026!")
                        for i in range(22)]
            real = await _login(sprayer, base, "ada", PW)  # even a right password waits
        async with _from("127.0.0.1") as other:
            fine = await _login(other, base, "ada", PW)
        return statuses, real, fine
    statuses, real, fine = run(store, body)
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429, 429]
    assert (real, fine) == (429, 200)


# ---------------------------------------------------------------- 4. sign-out
def test_a_copied_session_cookie_dies_with_sign_out_on_every_worker(store, tmp_path, db_url):
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
        assert run(store, body) == (200, 200, 401, 303, 401)
    finally:
        other_worker.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_copied_desk_cookie_dies_with_desk_sign_out(store):
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
    assert run(store, body) == (200, 200, 200, 401, 200, 200)


# ---------------------------------------------------------------- 5. desk audit
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_desk_sign_ins_are_audited(store):
    async def body(client: TestClient) -> None:
        for agent, password in (("8001", "wrong-password"), ("li", "nope-nope"),
                                ("8001", "li-desk-secret"), ("li", PW)):
            resp = await client.post("/desk/login", json={"agent": agent,
                                                          "password": password})
            resp.release()
        await client.post("/desk/logout", json={})
    run(store, body)
    failed = audit_rows(store, "sign_in_failed")
    assert [(r["user"], r["ip"], json.loads(r["detail"])["via"]) for r in failed] == [
        ("8001", "127.0.0.1", "desk"), ("li", "127.0.0.1", "desk")]
    signed = audit_rows(store, "sign_in")
    assert [(r["user"], r["role"], json.loads(r["detail"])) for r in signed] == [
        ("8001", "agent", {"via": "desk", "agent": "8001"}),
        ("li", "agent", {"via": "desk", "agent": "8001"})]
    assert [r["user"] for r in audit_rows(store, "sign_out")] == ["8001"]


# ---------------------------------------------------------------- 6. security headers
def _get_paths(app: web.Application) -> list[str]:
    """One concrete path for every GET route of `app`."""
    values = {"call_id": "c-li", "name": "live.js"}
    paths = []
    for res in app.router.resources():
        if not any(r.method == "GET" for r in res):
            continue
        if isinstance(res, web.StaticResource):
            directory = Path(res.get_info()["directory"])
            first = sorted(p.name for p in directory.iterdir() if p.is_file())[0]
            paths.append(str(res.url_for(filename=first)))
        else:
            info = res.get_info()
            names = [n for n in values if "{" + n + "}" in info.get("formatter", "")]
            paths.append(str(res.url_for(**{n: values[n] for n in names})))
    return paths


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_get_route_sends_the_security_headers(store):
    async def body(client: TestClient) -> list[tuple[str, int, str, dict[str, str]]]:
        paths = [*_get_paths(client.server.app), "/no/such/page"]
        assert {"/dash/calls", "/dash/calls/c-li", "/dash/metrics", "/desk",
                "/login"} <= set(paths)
        seen = []
        for signed_in in (False, True):
            if signed_in:
                await sign_in(client, "ada", PW)
            for path in paths:
                async with client.get(path, allow_redirects=False) as resp:
                    seen.append((path, resp.status, resp.content_type, dict(resp.headers)))
        return seen
    for path, status, ctype, headers in run(store, body):
        where = f"{path} ({status})"
        assert headers.get("X-Content-Type-Options") == "nosniff", where
        assert headers.get("X-Frame-Options") == "DENY", where
        assert headers.get("Referrer-Policy") in ("no-referrer", "same-origin"), where
        if ctype == "text/html":
            csp = headers.get("Content-Security-Policy", "")
            assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, where
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where


@pytest.mark.parametrize("page", sorted(p.name for p in STATIC.glob("*.html")))
def test_pages_load_nothing_the_csp_blocks(page):
    """No inline script, style element, style attribute or event handler, and every
    script, style sheet and image from this site (or a data: icon)."""
    class Check(html.parser.HTMLParser):
        problems: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found = dict(attrs)
            for name in found:
                if name == "style" or name.startswith("on"):
                    self.problems.append(f"<{tag} {name}=...>")
            if tag == "style" or (tag == "script" and not found.get("src")):
                self.problems.append(f"inline <{tag}>")
            for name in ("src", "href"):
                url = found.get(name) or ""
                if tag in ("script", "link", "img") and url and not (
                        url.startswith("/") and not url.startswith("//")
                        or url.startswith("data:")):
                    self.problems.append(f"<{tag} {name}={url}>")
    checker = Check()
    checker.problems = []
    checker.feed((STATIC / page).read_text(encoding="utf-8"))
    assert checker.problems == []


# ---------------------------------------------------------------- 7. JSON bodies
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_deep_or_huge_json_is_refused_without_a_500(store):
    deep = "[" * 20_000 + "]" * 20_000  # 40 KB: under the size cap, far over the depth cap
    deep_in_string = json.dumps({"username": "[" * 5000, "agent": "{" * 5000,
                                 "password": "x"})
    huge = json.dumps({"username": "sue", "password": PW, "pad": "x" * 200_000})

    async def body(client: TestClient) -> dict[str, list[int]]:
        page = await client.get("/login")
        csrf = {CSRF_HEADER: page.cookies[LOGIN_CSRF_COOKIE].value,
                "Content-Type": "application/json"}
        out: dict[str, list[int]] = {}
        for name, data in (("deep", deep), ("huge", huge), ("string", deep_in_string)):
            statuses = []
            for path in ("/login", "/desk/login"):
                statuses.append((await client.post(path, data=data, headers=csrf)).status)
            out[name] = statuses
        staff = await sign_in(client, "ada", PW)
        for name, data in (("deep", deep), ("huge", huge)):
            for path in ("/dash/api/calls/c-li/review", "/dash/api/forget"):
                resp = await client.post(path, data=data, headers={
                    CSRF_HEADER: staff, "Content-Type": "application/json"})
                out[name].append(resp.status)
        chunked = await client.post("/login", data=_chunks(huge.encode()), headers=csrf)
        out["chunked"] = [chunked.status]
        return out
    out = run(store, body)
    assert out["deep"] == [400, 400, 400, 400]
    assert out["huge"] == [413, 413, 413, 413]
    assert out["chunked"] == [413]
    assert out["string"] == [401, 401]  # brackets inside a string are text, not nesting


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 16_384):
        yield data[i:i + 16_384]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_body_sent_too_slowly_is_refused(store, monkeypatch):
    """A slowloris body (a few bytes now and then) gets 408 instead of holding the handler."""
    from ivr.web import edge

    monkeypatch.setattr(edge, "BODY_TIMEOUT_S", 0.3)

    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"username": "sue",'
        await asyncio.sleep(2)
        yield b' "password": "x"}'

    async def body(client: TestClient) -> int:
        page = await client.get("/login")
        csrf = {CSRF_HEADER: page.cookies[LOGIN_CSRF_COOKIE].value,
                "Content-Type": "application/json"}
        return (await client.post("/login", data=trickle(), headers=csrf)).status
    assert run(store, body) == 408


# ---------------------------------------------------------------- 8. callbacks
def test_an_agent_token_lists_only_its_callbacks_and_listing_is_audited(store):
    store.add_callback("c-li", caller="13800138000", number="13800138000", queue="billing")
    store.add_callback("c-q1", caller="13700137000", number="13700137000", queue="general")
    store.add_callback("c-q2", caller="13600136000", number="13600136000", queue="billing")
    store.add_callback("c-wang", caller="13900139000", number="13900139000", queue="vip")
    users = UserStore(store)
    li = users.add_token("li-crm", "agent", agent_id="8001")
    orphan = users.add_token("no-agent", "agent")
    sup = users.add_token("wallboard", "supervisor")

    async def body(client: TestClient) -> dict[str, list[str]]:
        out = {}
        for name, token in (("li", li), ("orphan", orphan), ("sup", sup)):
            resp = await client.get("/api/callbacks",
                                    headers={"Authorization": f"Bearer {token}"})
            assert resp.status == 200
            out[name] = sorted(c["call_id"] for c in (await resp.json())["callbacks"])
        return out
    assert run(store, body) == {"li": ["c-li", "c-q1"], "orphan": [],
                                "sup": ["c-li", "c-q1", "c-q2", "c-wang"]}
    rows = audit_rows(store, "list_callbacks")
    assert [(r["user"], r["role"], sorted(json.loads(r["detail"])["call_ids"]))
            for r in rows] == [("li-crm", "agent", ["c-li", "c-q1"]),
                               ("no-agent", "agent", []),
                               ("wallboard", "supervisor", ["c-li", "c-q1", "c-q2", "c-wang"])]
    assert all(r["ip"] == "127.0.0.1" for r in rows)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_open_live_board_stream_ends_with_sign_out(store, monkeypatch):
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
    ended, took = run(store, body)
    assert ended and took < 3
