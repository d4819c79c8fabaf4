"""Sign-in for the web pages: HMAC-signed session cookies and a limit on failed sign-ins
(password hashes: `ivr.web.passwords`, argon2id).

Generic on purpose: a session names a *principal* (an agent id today, a supervisor later) and
a *role*, so every web page can share this module. Nothing here touches storage.

- `hash_password(pw)` (what `ivr passwd` prints) and `verify_password(pw, stored)` live in
  `ivr.web.passwords` (re-exported here).
- `SessionSigner(secret)` issues and checks ``payload.signature`` tokens: HMAC-SHA256 over the
  role, principal id, expiry (12 h by default) and a random nonce (so that every token is
  distinct and can be revoked alone); a changed byte or an expired token is None.
- `SignInLimiter` (from `ivr.web.throttle`) counts failed sign-ins per key in a sliding window.
- `load_or_create_secret(path)` keeps the signing key in a mode-600 file.

Users with roles (issue 7): `ROLES`, `User`; `ivr.web.signin.add_auth_routes(app, store,
secret)` serves `/login`, `/logout` and `/auth/me` and installs `csrf_middleware`.
Handlers are guarded with `@require("admin", "supervisor")`, which resolves the caller
(`current_user`) from the `ivr_session` cookie or an `Authorization: Bearer` API token;
`can_see_call` limits agents to their own calls and `audit` writes the `audit_log` table.
The users themselves live in `ivr.web.users.UserStore`, signed-out sessions in
`ivr.web.sessions`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import logging
import secrets
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from ivr.web.passwords import dummy_hash as dummy_hash  # their old home: re-exported
from ivr.web.passwords import hash_password as hash_password
from ivr.web.passwords import verify_password as verify_password
from ivr.web.sessions import SessionRevocations
from ivr.web.throttle import SignInLimiter as SignInLimiter  # its old home: re-exported
from ivr.web.throttle import SignInThrottle

if TYPE_CHECKING:
    from ivr.web.users import UserStore

log = logging.getLogger(__name__)

SESSION_TTL_S = 12 * 3600.0
SECRET_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Principal:
    """Who a valid session belongs to."""

    id: str
    role: str
    expires: float


_NONCE_BYTES = 9


class SessionSigner:
    """Issues and checks session tokens signed with HMAC-SHA256 under `secret`."""

    def __init__(self, secret: bytes, ttl_s: float = SESSION_TTL_S,
                 clock: Callable[[], float] = time.time) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret must be at least 16 bytes")
        self._secret = secret
        self.ttl_s = ttl_s
        self._clock = clock

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._secret, payload, hashlib.sha256).digest())

    def issue(self, principal_id: str, role: str) -> str:
        """A token for `principal_id` in `role`, valid for `ttl_s` seconds."""
        expires = int(self._clock() + self.ttl_s)
        nonce = _b64(secrets.token_bytes(_NONCE_BYTES))
        payload = (f"{role}:{_b64(principal_id.encode('utf-8'))}:{expires}:{nonce}"
                   .encode("ascii"))
        return f"{_b64(payload)}.{self._sign(payload)}"

    def verify(self, token: str | None, role: str | None = None) -> Principal | None:
        """The principal of a valid, unexpired token (of `role`, when given), else None."""
        if not token or token.count(".") != 1:
            return None
        body, signature = token.split(".")
        try:
            payload = _unb64(body)
        except (ValueError, binascii.Error):
            return None
        if not hmac.compare_digest(self._sign(payload).encode("ascii"),
                                   signature.encode("ascii", "replace")):
            return None
        try:
            got_role, pid, expires = payload.decode("ascii").split(":")[:3]
            principal = Principal(_unb64(pid).decode("utf-8"), got_role, float(expires))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        if principal.expires <= self._clock() or (role is not None and got_role != role):
            return None
        return principal


def set_session_cookie(response: web.StreamResponse, name: str, token: str, *,
                       path: str, max_age: float = SESSION_TTL_S, secure: bool = False) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, scoped to `path`."""
    response.set_cookie(name, token, max_age=int(max_age), path=path, httponly=True,
                        samesite="Strict", secure=secure or None)


def clear_session_cookie(response: web.StreamResponse, name: str, *, path: str) -> None:
    """Expire the session cookie in the browser."""
    response.del_cookie(name, path=path, httponly=True, samesite="Strict")


def load_or_create_secret(path: Path) -> bytes:
    """The session-signing key kept in `path` (created with 32 random bytes, mode 600, when
    missing or too short; workers sharing a data directory agree on one key)."""
    from ivr.files import read_or_create

    return read_or_create(Path(path), lambda: secrets.token_bytes(SECRET_BYTES),
                          valid=lambda data: len(data) >= 16)


# ====================================================================== users and roles
ROLES = ("admin", "supervisor", "agent")
SESSION_COOKIE = "ivr_session"
LOGIN_CSRF_COOKIE = "ivr_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATIC_DIR = Path(__file__).parent / "static"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class User:
    """A signed-in person or an API token (then `id` <= 0 and `username` is the token's
    name; 0 is the configured `api_token`, which acts as an admin)."""

    id: int
    username: str
    role: str
    agent_id: str | None


class Auth:
    """What the guards need, kept on the app under `AUTH_KEY`: the users, the session signer,
    the secret for CSRF tokens and the configured admin API token."""

    def __init__(self, users: UserStore, secret: bytes, admin_token: str | None = None) -> None:
        self.users = users
        self.secret = secret
        self.signer = SessionSigner(secret)
        self.throttle = SignInThrottle(db=users.db, realm="web")
        self.revocations = SessionRevocations(users.db)
        self.admin_token = admin_token

    # ------------------------------------------------------------ sessions
    @staticmethod
    def _fingerprint(password_hash: str) -> str:
        """Part of the session id, so that a new password ends the sessions of the old one."""
        return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:16]

    def issue(self, user: User) -> str:
        """A session cookie value for `user`."""
        row = self.users.active_row(user.id)
        if row is None:
            raise ValueError(f"user {user.username!r} is unknown or disabled")
        return self.signer.issue(f"{user.id}.{self._fingerprint(row['password_hash'])}",
                                 user.role)

    def session_user(self, cookie: str | None) -> User | None:
        """The enabled user of a valid session cookie, with their current role."""
        principal = self.signer.verify(cookie)
        if principal is None or principal.id.count(".") != 1 or not cookie \
                or self.revocations.is_revoked(cookie):
            return None
        uid, fingerprint = principal.id.split(".")
        try:
            row = self.users.active_row(int(uid))
        except ValueError:
            return None
        if row is None or not hmac.compare_digest(
                fingerprint, self._fingerprint(row["password_hash"])):
            return None
        return User(int(row["id"]), row["username"], row["role"], row["agent_id"])

    def revoke(self, cookie: str) -> None:
        """Sign a session out on every worker (a valid one; junk is not stored)."""
        principal = self.signer.verify(cookie)
        if principal is not None:
            self.revocations.revoke(cookie, principal.expires)

    def csrf_token(self, session: str) -> str:
        """The CSRF token of a session: an HMAC of the session cookie, so nothing is stored."""
        return _b64(hmac.new(self.secret, b"csrf\0" + session.encode("utf-8"),
                             hashlib.sha256).digest())

    def bearer_user(self, header: str) -> User | None:
        """The caller of an `Authorization: Bearer` header (API token or the admin token)."""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        if self.admin_token and hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return User(0, "api_token", "admin", None)
        return self.users.user_for_token(token)

    def resolve(self, request: web.Request) -> User | None:
        """Bearer header first (then the cookie is ignored), else the session cookie."""
        header = request.headers.get("Authorization")
        if header is not None:
            return self.bearer_user(header)
        return self.session_user(request.cookies.get(SESSION_COOKIE))


AUTH_KEY = web.AppKey("ivr_auth", Auth)


def set_user(request: web.Request, user: User) -> None:
    """Keep the caller as `request["user"]` (a plain key that every page shares, so aiohttp's
    advice to use a RequestKey is silenced here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        request["user"] = user


def _auth(request: web.Request) -> Auth:
    return request.config_dict[AUTH_KEY]


def _json_path(path: str) -> bool:
    return path.startswith(("/api/", "/dash/api/", "/auth/"))


def current_user(request: web.Request) -> User | None:
    """The caller of `request` (cookie or bearer token), or None; cached on the request."""
    if "user" in request:
        return request["user"]
    user = _auth(request).resolve(request) if AUTH_KEY in request.config_dict else None
    if user is not None:
        set_user(request, user)
    return user


Guarded = Callable[[web.Request], Awaitable[web.StreamResponse]]


def require(*roles: str) -> Callable[[Guarded], Guarded]:
    """Guard an aiohttp handler: 401 without a caller (JSON under /api/, /dash/api/ and /auth/,
    else a 303 to `/login?next=<path>`), 403 when the caller's role is not in `roles` (any
    role when none are given). The caller is in `request["user"]`."""
    for role in roles:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")

    def wrap(handler: Guarded) -> Guarded:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = current_user(request)
            if user is None:
                if _json_path(request.path):
                    return web.json_response({"error": "not signed in"}, status=401)
                return web.Response(status=303, headers={
                    "Location": "/login?next=" + quote(request.path_qs, safe="/")})
            if roles and user.role not in roles:
                return web.json_response({"error": "not allowed for your role"}, status=403)
            return await handler(request)
        return guarded
    return wrap


def can_see_call(user: User, call: dict[str, Any]) -> bool:
    """Admins and supervisors see every call; an agent only the calls they took."""
    if user.role in ("admin", "supervisor"):
        return True
    return user.role == "agent" and user.agent_id is not None \
        and call.get("agent_id") == user.agent_id


def audit(request: web.Request, action: str, call_id: str | None = None, **detail: Any) -> None:
    """Write one `audit_log` row: who (`request["user"]`, else `detail["username"]`), what,
    which call, from where."""
    user: User | None = request.get("user")
    name = user.username if user else detail.get("username")
    from ivr.privacy.audit import append  # hash-chained, append-only (issue 8)

    append(_auth(request).users.db, action, user=name, role=user.role if user else None,
           call_id=call_id, detail=detail, ip=request.remote)


@web.middleware
async def csrf_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Unsafe methods of a request signed in by the `ivr_session` cookie must carry the
    session's CSRF token (header `X-CSRF-Token` or form field `csrf_token`). Requests with an
    Authorization header, `/login` (its own double-submit token) and the agent desk (its own
    cookie) are exempt."""
    if (request.method in UNSAFE_METHODS and "Authorization" not in request.headers
            and request.path != "/login" and request.path != "/desk"
            and not request.path.startswith("/desk/") and AUTH_KEY in request.config_dict):
        auth = _auth(request)
        cookie = request.cookies.get(SESSION_COOKIE)
        user = auth.session_user(cookie)
        if user is not None and cookie:
            given = request.headers.get(CSRF_HEADER)
            if given is None and request.content_type in (
                    "application/x-www-form-urlencoded", "multipart/form-data"):
                given = str((await request.post()).get(CSRF_FIELD) or "")
            if not given or not hmac.compare_digest(given.encode(),
                                                    auth.csrf_token(cookie).encode()):
                return web.json_response({"error": "missing or wrong CSRF token"}, status=403)
            set_user(request, user)
    return await handler(request)
