"""The sign-in routes of the web pages: `GET/POST /login`, `POST /logout`, `GET /auth/me`.

Everything about them comes from the network, so (issue 15):

- `safe_next` only lets `next=` lead to a path of this site. Browsers drop tabs and newlines
  from URLs and read a backslash as a slash, so ``/%09/evil.example`` (``/\\t/evil.example``
  once decoded) and ``/\\evil.example`` both went to evil.example after signing in.
- Failed sign-ins are limited per (name, address), per address and, only slowing down, per
  name (`ivr.web.throttle.SignInThrottle`), so a stranger cannot lock a user out.
- The body is read with `ivr.web.edge.read_json` (size and nesting caps).
- `/logout` revokes the session cookie in the shared database (`ivr.web.sessions`), so a copy
  of it stops working on every worker.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
import secrets
import time
import unicodedata
from dataclasses import asdict
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from aiohttp import web

from ivr.web.auth import (
    AUTH_KEY,
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    PAGE_HEADERS,
    SESSION_COOKIE,
    STATIC_DIR,
    Auth,
    User,
    audit,
    clear_session_cookie,
    csrf_middleware,
    current_user,
    set_session_cookie,
    set_user,
)
from ivr.web.edge import install_security_headers, read_json

if TYPE_CHECKING:
    from ivr.storage.call_store import CallStore

log = logging.getLogger(__name__)

MAX_NEXT_CHARS = 2000


def _local_path(text: str) -> bool:
    """One spelling of a `next` target: a path of this site and nothing a browser could
    read as another host."""
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return False
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        return False
    parts = urlsplit(text)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None) -> str | None:
    """`target` when it is a same-origin absolute path (one leading ``/``, no ``//``, no
    backslash, no control character or white space, no scheme) as sent *and* after up to
    three rounds of percent-decoding; else None (no open redirects)."""
    if not target or len(target) > MAX_NEXT_CHARS:
        return None
    text = target
    for _ in range(4):
        if not _local_path(text):
            return None
        decoded = unquote(text)
        if decoded == text:
            return target
        text = decoded
    return None  # still encoded after three rounds: nobody needs that


def _home(user: User) -> str:
    return "/desk" if user.role == "agent" and user.agent_id else "/dash"


class _SignIn:
    """Handlers of `/login`, `/logout` and `/auth/me`."""

    def __init__(self, auth: Auth) -> None:
        self.auth = auth
        self.page = (STATIC_DIR / "login.html").read_text(encoding="utf-8")

    def _page(self, request: web.Request, *, next_: str, error: str = "",
              status: int = 200) -> web.Response:
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        if len(token) < 20:
            token = secrets.token_urlsafe(24)
        text = (self.page.replace("{{csrf}}", html.escape(token))
                .replace("{{next}}", html.escape(next_))
                .replace("{{error}}", html.escape(error))
                .replace("{{error_hidden}}", "" if error else "hidden"))
        resp = web.Response(text=text, content_type="text/html", charset="utf-8",
                            status=status, headers=PAGE_HEADERS)
        resp.set_cookie(LOGIN_CSRF_COOKIE, token, path="/login", httponly=True,
                        samesite="Strict", secure=request.secure or None)
        return resp

    async def get_login(self, request: web.Request) -> web.Response:
        return self._page(request, next_=safe_next(request.query.get("next")) or "")

    async def post_login(self, request: web.Request) -> web.StreamResponse:
        as_json = request.content_type == "application/json"
        if as_json:
            try:
                body = await read_json(request)
            except ValueError:
                body = None
        elif request.content_type in ("application/x-www-form-urlencoded",
                                      "multipart/form-data"):
            body = dict(await request.post())
        else:
            body = None
        if not isinstance(body, dict):
            return web.json_response({"error": "send JSON or a form"}, status=400)
        next_ = safe_next(str(body.get("next") or "")) or ""

        def fail(status: int, message: str, **headers: str) -> web.Response:
            if as_json:
                return web.json_response({"error": message}, status=status,
                                         headers=headers or None)
            resp = self._page(request, next_=next_, error=message, status=status)
            resp.headers.update(headers)
            return resp

        cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        given = request.headers.get(CSRF_HEADER) or str(body.get(CSRF_FIELD) or "")
        if not cookie or not given or not hmac.compare_digest(cookie.encode(), given.encode()):
            return fail(403, "missing or wrong CSRF token")
        username = str(body.get("username") or "").strip()
        password = str(body.get("password") or "")
        if not username or not password:
            return fail(400, "user name and password are required")
        verdict = self.auth.throttle.check(username, request.remote)
        if verdict.retry_after_s > 0:
            audit(request, "sign_in_failed", username=username, reason="rate_limited")
            return fail(429, "too many failed sign-ins; try again later",
                        **{"Retry-After": str(int(verdict.retry_after_s) + 1)})
        if verdict.delay_s:
            await asyncio.sleep(verdict.delay_s)
        user = await self.auth.users.verify_async(username, password)
        if user is None:
            self.auth.throttle.failed(username, request.remote)
            audit(request, "sign_in_failed", username=username)
            log.warning("sign-in failed for %r from %s", username, request.remote)
            return fail(401, "wrong user name or password")
        self.auth.throttle.succeeded(username, request.remote)
        set_user(request, user)
        audit(request, "sign_in")
        session = self.auth.issue(user)
        target = next_ or _home(user)
        if as_json:
            resp: web.StreamResponse = web.json_response(
                {"user": asdict(user), "csrf": self.auth.csrf_token(session),
                 "next": target})
        else:
            resp = web.Response(status=303, headers={"Location": target})
        set_session_cookie(resp, SESSION_COOKIE, session, path="/",
                           max_age=self.auth.signer.ttl_s, secure=request.secure)
        resp.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
        self._desk_session(request, resp, user)
        return resp

    def _desk_session(self, request: web.Request, resp: web.StreamResponse, user: User) -> None:
        """An agent of the desk also gets the desk's own cookie, so /desk opens signed in
        (this sign-in is audited as `sign_in` above)."""
        from ivr.web.desk import COOKIE, COOKIE_PATH, DESK_KEY, ROLE

        desk = request.app.get(DESK_KEY)
        if user.role != "agent" or not user.agent_id or desk is None \
                or user.agent_id not in desk.configs:
            return
        with self.auth.users.db.conn:
            self.auth.users.db.execute(
                "update agents set status = 'available', since = ? "
                "where id = ? and status = 'offline'", [time.time(), user.agent_id])
        set_session_cookie(resp, COOKIE, desk.signer.issue(user.agent_id, ROLE),
                           path=COOKIE_PATH, max_age=desk.signer.ttl_s, secure=request.secure)

    async def logout(self, request: web.Request) -> web.StreamResponse:
        user = current_user(request)
        cookie = request.cookies.get(SESSION_COOKIE)
        if user is not None:
            audit(request, "sign_out")
        if cookie:
            self.auth.revoke(cookie)
        if request.content_type == "application/json":
            resp: web.StreamResponse = web.json_response({"signed_out": True})
        else:
            resp = web.Response(status=303, headers={"Location": "/login"})
        clear_session_cookie(resp, SESSION_COOKIE, path="/")
        return resp

    async def me(self, request: web.Request) -> web.Response:
        user = current_user(request)
        cookie = request.cookies.get(SESSION_COOKIE)
        if user is None:
            return web.json_response({"error": "not signed in"}, status=401)
        csrf = self.auth.csrf_token(cookie) if cookie and user.id > 0 else None
        return web.json_response({"user": asdict(user), "csrf": csrf})

    async def css(self, _: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "login.css")


def add_auth_routes(app: web.Application, store: CallStore, secret: bytes, *,
                    admin_token: str | None = None) -> Auth:
    """Sign-in for `app`: `GET/POST /login`, `POST /logout`, `GET /auth/me`, the CSRF
    middleware and the security headers (call before the app is frozen). `secret` signs the
    `ivr_session` cookies; `admin_token` is the configured API token, which acts as an
    admin."""
    from ivr.web.users import UserStore

    auth = Auth(UserStore(store), secret, admin_token)
    app[AUTH_KEY] = auth
    app.middlewares.append(csrf_middleware)
    install_security_headers(app)
    sign_in = _SignIn(auth)
    app.router.add_get("/login", sign_in.get_login)
    app.router.add_post("/login", sign_in.post_login)
    app.router.add_post("/logout", sign_in.logout)
    app.router.add_get("/auth/me", sign_in.me)
    app.router.add_get("/auth/login.css", sign_in.css)
    return auth
