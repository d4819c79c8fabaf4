"""Access control of the web pages and the JSON API (issue 7): argon2 users, sign-in, session
cookies, require(), CSRF, API tokens with roles, agents limited to their calls, the audit log
and the `ivr user` / `ivr token` commands, over an in-process aiohttp server."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ivr import cli
from ivr.escalation.agents import AgentConfig
from ivr.storage.call_store import CallStore, open_store
from ivr.web.api import build_app
from ivr.web.auth import (
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    User,
    audit,
    can_see_call,
    require,
)
from ivr.web.users import UserStore
from tests.web_helpers import legacy_scrypt_hash, make_user, sign_in

TOKEN = "configured-api-token"
SECRET = b"0123456789abcdef0123456789abcdef"
PW = "password-123"
AGENTS = [AgentConfig(id="8001", name="Li", uri="sip:8001@127.0.0.1:5070")]


@pytest.fixture
def store(tmp_path, db_url):
    s = open_store(db_url, tmp_path / "ivr.sqlite")
    s.call_started("c-li", caller="13800138000", started_at=1.0, agent_id="8001")
    s.call_started("c-wang", caller="13900139000", started_at=2.0, agent_id="8002")
    s.call_started("c-ivr", caller="13700137000", started_at=3.0)
    make_user(s, "ada", "admin")
    make_user(s, "sue", "supervisor")
    make_user(s, "li", "agent", agent_id="8001")
    yield s
    s.close()


def run(store: CallStore, body: Callable[[TestClient], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        app = build_app(store, TOKEN, lambda: {}, desk_agents=AGENTS, desk_secret=SECRET)

        @require("admin", "supervisor")
        async def board(request: web.Request) -> web.Response:
            return web.Response(text=f"board for {request['user'].username}")

        @require("admin")
        async def admin_api(request: web.Request) -> web.Response:
            return web.json_response({"ok": True, "user": request["user"].username})

        @require()
        async def anyone_post(request: web.Request) -> web.Response:
            audit(request, "review_call", "c-li", note="fine")
            return web.json_response({"ok": True})

        app.router.add_get("/dash/board", board)
        app.router.add_get("/dash/api/admin", admin_api)
        app.router.add_post("/dash/api/review", anyone_post)
        async with TestClient(TestServer(app)) as client:
            return await body(client)
    return asyncio.run(main())


def audit_rows(store: CallStore, action: str | None = None) -> list[dict[str, Any]]:
    sql, args = "select * from audit_log", []
    if action:
        sql, args = sql + " where action = ?", [action]
    return list(store.db.query(sql + " order by id", args))


async def login_token(client: TestClient) -> str:
    return (await client.get("/login")).cookies[LOGIN_CSRF_COOKIE].value


# ---------------------------------------------------------------- the user store
def test_argon2_hashes_and_verify(store):
    users = UserStore(store)
    row = next(store.db.query("select password_hash from users where username = 'sue'"))
    assert row["password_hash"].startswith("$argon2id$")
    assert users.verify("sue", PW) == users.get("sue")
    assert users.verify("sue", "wrong-password") is None
    assert users.verify("nobody", PW) is None


def test_old_scrypt_hash_is_accepted_and_upgraded(store):
    users = UserStore(store)
    store.db["users"].insert({"username": "old", "role": "agent", "created_at": 0.0,
                              "password_hash": legacy_scrypt_hash("old-password")})
    assert users.verify("old", "old-password") is not None
    row = next(store.db.query("select password_hash from users where username = 'old'"))
    assert row["password_hash"].startswith("$argon2id$")
    assert users.verify("old", "old-password") is not None


@pytest.mark.parametrize(("name", "role", "password", "message"), [
    ("sue", "supervisor", PW, "exists already"),
    ("bob", "root", PW, "role must be one of"),
    ("bob", "agent", "short", "at least 8"),
    ("  ", "agent", PW, "must not be empty"),
])
def test_bad_users_are_refused(store, name, role, password, message):
    with pytest.raises(ValueError, match=message):
        UserStore(store).add(name, role, password)


def test_can_see_call():
    sup = User(1, "sue", "supervisor", None)
    li = User(2, "li", "agent", "8001")
    nobody = User(3, "new", "agent", None)
    assert can_see_call(sup, {"agent_id": "8002"}) and can_see_call(sup, {"agent_id": None})
    assert can_see_call(li, {"agent_id": "8001"})
    assert not can_see_call(li, {"agent_id": "8002"})
    assert not can_see_call(li, {"agent_id": None})
    assert not can_see_call(nobody, {"agent_id": None})


# ---------------------------------------------------------------- sign-in
def test_sign_in_sets_strict_http_only_cookie_and_me(store):
    async def body(client):
        csrf = await login_token(client)
        resp = await client.post("/login", json={"username": "sue", "password": PW},
                                 headers={CSRF_HEADER: csrf})
        assert resp.status == 200
        data = await resp.json()
        assert data["user"] == {"id": 2, "username": "sue", "role": "supervisor",
                                "agent_id": None}
        assert data["next"] == "/dash"
        cookie = resp.headers.getall("Set-Cookie")
        session = next(c for c in cookie if c.startswith("ivr_session="))
        assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/" in session
        assert "Secure" not in session  # plain http in the test
        me = await client.get("/auth/me")
        assert (await me.json()) == {"user": data["user"], "csrf": data["csrf"]}
    run(store, body)
    assert [r["user"] for r in audit_rows(store, "sign_in")] == ["sue"]


def test_form_sign_in_redirects_by_role_and_to_next(store):
    async def body(client):
        out = []
        for user, nxt in (("sue", ""), ("li", ""), ("ada", "/dash/board?x=1"),
                          ("sue", "//evil.example/")):
            client.session.cookie_jar.clear()
            csrf = await login_token(client)
            resp = await client.post("/login", allow_redirects=False, data={
                "username": user, "password": PW, "next": nxt, "csrf_token": csrf})
            out.append((resp.status, resp.headers["Location"]))
        return out
    assert run(store, body) == [(303, "/dash"), (303, "/desk"), (303, "/dash/board?x=1"),
                                (303, "/dash")]


def test_agent_sign_in_opens_the_desk(store):
    async def body(client):
        await sign_in(client, "li", PW)
        me = await client.get("/desk/api/me")
        return me.status, (await me.json())["id"]
    assert run(store, body) == (200, "8001")


def test_wrong_password_is_401_and_audited(store):
    async def body(client):
        csrf = await login_token(client)
        resp = await client.post("/login", json={"username": "sue", "password": "nope-nope"},
                                 headers={CSRF_HEADER: csrf})
        form = await client.post("/login", data={"username": "ghost", "password": "x" * 9,
                                                 "csrf_token": csrf})
        return resp.status, (await resp.json()), form.status, await form.text()
    status, data, form_status, page = run(store, body)
    assert (status, data) == (401, {"error": "wrong user name or password"})
    assert form_status == 401 and "wrong user name or password" in page
    failed = audit_rows(store, "sign_in_failed")
    assert [json.loads(r["detail"])["username"] for r in failed] == ["sue", "ghost"]
    assert [r["user"] for r in failed] == ["sue", "ghost"]
    assert failed[0]["ip"] == "127.0.0.1"


def test_sign_in_is_rate_limited(store):
    async def body(client):
        csrf = await login_token(client)
        statuses = []
        for password in ["bad-password"] * 5 + [PW]:
            resp = await client.post("/login", json={"username": "sue", "password": password},
                                     headers={CSRF_HEADER: csrf})
            statuses.append(resp.status)
        return statuses, resp.headers.get("Retry-After")
    statuses, retry = run(store, body)
    assert statuses == [401] * 5 + [429]
    assert retry is not None and int(retry) > 0


def test_login_needs_its_csrf_token(store):
    async def body(client):
        no_cookie = await client.post("/login", json={"username": "sue", "password": PW},
                                      headers={CSRF_HEADER: "guess"})
        csrf = await login_token(client)
        wrong = await client.post("/login", json={"username": "sue", "password": PW},
                                  headers={CSRF_HEADER: csrf + "x"})
        missing = await client.post("/login", data={"username": "sue", "password": PW})
        return no_cookie.status, wrong.status, missing.status
    assert run(store, body) == (403, 403, 403)


def test_login_page_is_static_html_without_cdn(store):
    async def body(client):
        resp = await client.get("/login?next=/dash/board")
        css = await client.get("/auth/login.css")
        return (await resp.text(), resp.headers["Content-Security-Policy"], css.status)
    page, csp, css_status = run(store, body)
    assert 'name="csrf_token" value="' in page and 'value="/dash/board"' in page
    assert "http" not in page.replace("http-equiv", "") and "default-src 'self'" in csp
    assert css_status == 200


# ---------------------------------------------------------------- require() and CSRF
def test_require_redirects_pages_and_401s_json(store):
    async def body(client):
        page = await client.get("/dash/board?a=b", allow_redirects=False)
        api = await client.get("/dash/api/admin")
        me = await client.get("/auth/me")
        return page.status, page.headers["Location"], api.status, await api.json(), me.status
    assert run(store, body) == (303, "/login?next=/dash/board%3Fa%3Db", 401,
                                {"error": "not signed in"}, 401)


def test_require_refuses_other_roles(store):
    async def body(client):
        await sign_in(client, "li", PW)
        page = await client.get("/dash/board", allow_redirects=False)
        api = await client.get("/dash/api/admin")
        client.session.cookie_jar.clear()
        await sign_in(client, "ada", PW)
        ok = await client.get("/dash/board")
        return page.status, api.status, ok.status, await ok.text()
    assert run(store, body) == (403, 403, 200, "board for ada")


def test_csrf_token_required_for_cookie_posts(store):
    async def body(client):
        csrf = await sign_in(client, "sue", PW)
        missing = await client.post("/dash/api/review", json={})
        wrong = await client.post("/dash/api/review", json={}, headers={CSRF_HEADER: "x" * 43})
        right = await client.post("/dash/api/review", json={}, headers={CSRF_HEADER: csrf})
        form = await client.post("/dash/api/review", data={"csrf_token": csrf})
        return (missing.status, await missing.json(), wrong.status, right.status, form.status)
    missing, error, wrong, right, form = run(store, body)
    assert (missing, error, wrong) == (403, {"error": "missing or wrong CSRF token"}, 403)
    assert (right, form) == (200, 200)
    rows = audit_rows(store, "review_call")
    assert len(rows) == 2 and rows[0]["user"] == "sue" and rows[0]["call_id"] == "c-li"
    assert json.loads(rows[0]["detail"]) == {"note": "fine"}


def test_logout_ends_the_session(store):
    async def body(client):
        csrf = await sign_in(client, "sue", PW)
        out = await client.post("/logout", json={}, headers={CSRF_HEADER: csrf})
        me = await client.get("/auth/me")
        return out.status, me.status
    assert run(store, body) == (200, 401)
    assert [r["action"] for r in audit_rows(store)] == ["sign_in", "sign_out"]


def test_disabled_user_and_new_password_end_sessions(store):
    users = UserStore(store)

    async def body(client):
        await sign_in(client, "sue", PW)
        before = (await client.get("/auth/me")).status
        users.set_password("sue", "another-password")
        after_passwd = (await client.get("/auth/me")).status
        await sign_in(client, "sue", "another-password")
        users.disable("sue")
        after_disable = (await client.get("/dash/board", allow_redirects=False)).status
        csrf = await login_token(client)
        again = await client.post("/login", json={"username": "sue",
                                                  "password": "another-password"},
                                  headers={CSRF_HEADER: csrf})
        return before, after_passwd, after_disable, again.status
    assert run(store, body) == (200, 401, 303, 401)


# ---------------------------------------------------------------- API tokens
def test_api_tokens_with_roles(store):
    users = UserStore(store)
    sup = users.add_token("wallboard", "supervisor")
    agent = users.add_token("li-crm", "agent", agent_id="8001")
    admin = users.add_token("ops", "admin")
    assert sup.startswith("ivr_") and sup not in json.dumps(list(store.db["api_tokens"].rows))

    async def body(client):
        def bearer(t: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {t}"}
        all_calls = await (await client.get("/api/calls", headers=bearer(sup))).json()
        own = await (await client.get("/api/calls", headers=bearer(agent))).json()
        theirs = await client.get("/api/calls/c-wang", headers=bearer(agent))
        mine = await client.get("/api/calls/c-li", headers=bearer(agent))
        configured = await client.get("/api/calls", headers=bearer(TOKEN))
        unknown = await client.get("/api/calls", headers=bearer("ivr_nope"))
        post = await client.post("/dash/api/review", headers=bearer(admin))  # no CSRF token
        forbidden = await client.get("/dash/api/admin", headers=bearer(sup))
        users.revoke_token("wallboard")
        revoked = await client.get("/api/calls", headers=bearer(sup))
        return ([c["id"] for c in all_calls["calls"]], [c["id"] for c in own["calls"]],
                theirs.status, mine.status, configured.status, unknown.status, post.status,
                forbidden.status, revoked.status)
    assert run(store, body) == (["c-ivr", "c-wang", "c-li"], ["c-li"], 404, 200, 200, 401,
                                200, 403, 401)
    views = audit_rows(store, "view_call")
    assert [(r["user"], r["role"], r["call_id"]) for r in views] == [
        ("li-crm", "agent", "c-li")]
    assert next(store.db.query("select last_used_at from api_tokens where name = 'ops'"))[
        "last_used_at"] is not None


def test_duplicate_or_bad_token_refused(store):
    users = UserStore(store)
    users.add_token("bot", "supervisor")
    with pytest.raises(ValueError, match="exists already"):
        users.add_token("bot", "admin")
    with pytest.raises(ValueError, match="role must be one of"):
        users.add_token("bot2", "root")


# ---------------------------------------------------------------- the command line
def test_cli_user_add_then_sign_in(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("cli-password-1\n"))
    assert cli.main(["user", "add", "carol", "--role", "supervisor",
                     "--password-stdin", "--data-dir", str(tmp_path)]) == 0
    assert "user carol added (supervisor)" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("cli-password-1\n"))
    assert cli.main(["user", "add", "carol", "--role", "agent", "--password-stdin",
                     "--data-dir", str(tmp_path)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert cli.main(["user", "list", "--data-dir", str(tmp_path)]) == 0
    assert "carol\tsupervisor" in capsys.readouterr().out

    async def body(client):
        await sign_in(client, "carol", "cli-password-1")
        return (await (await client.get("/auth/me")).json())["user"]["role"]
    assert run(store, body) == "supervisor"

    assert cli.main(["user", "disable", "carol", "--data-dir", str(tmp_path)]) == 0
    assert UserStore(store).verify("carol", "cli-password-1") is None


def test_cli_passwd_and_short_password(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["user", "add", "dan", "--role", "agent", "--password-stdin",
                     "--data-dir", str(tmp_path)]) == 2
    assert "at least 8" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("new-password-2\n"))
    assert cli.main(["user", "passwd", "sue", "--password-stdin",
                     "--data-dir", str(tmp_path)]) == 0
    assert UserStore(store).verify("sue", "new-password-2") is not None


def test_cli_token_add_prints_a_working_token(store, tmp_path, capsys):
    assert cli.main(["token", "add", "crm", "--role", "supervisor",
                     "--data-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert token.startswith("ivr_") and "shown once" in captured.err
    assert UserStore(store).user_for_token(token) == User(-1, "crm", "supervisor", None)

    async def body(client):
        resp = await client.get("/api/calls", headers={"Authorization": f"Bearer {token}"})
        return resp.status
    assert run(store, body) == 200
    assert cli.main(["token", "revoke", "crm", "--data-dir", str(tmp_path)]) == 0
    assert UserStore(store).user_for_token(token) is None


def test_desk_accepts_an_agent_user(store):
    make_user(store, "sue-agent", "agent", agent_id="8002")  # not a configured desk agent

    async def body(client):
        ok = await client.post("/desk/login", json={"agent": "li", "password": PW})
        data = await ok.json()
        wrong = await client.post("/desk/login", json={"agent": "li", "password": "nope-nope"})
        sup = await client.post("/desk/login", json={"agent": "sue", "password": PW})
        other = await client.post("/desk/login", json={"agent": "sue-agent", "password": PW})
        return ok.status, data["id"], wrong.status, sup.status, other.status
    assert run(store, body) == (200, "8001", 401, 401, 401)
