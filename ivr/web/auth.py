"""Sign-in for the web pages: scrypt password hashes, HMAC-signed session cookies and a limit
on failed sign-ins.

Generic on purpose: a session names a *principal* (an agent id today, a supervisor later) and
a *role*, so every web page can share this module. Nothing here touches storage.

- `hash_password(pw)` -> ``scrypt$N$r$p$salt_b64$hash_b64`` (what `ivr passwd` prints);
  `verify_password(pw, stored)` compares in constant time and is False for anything malformed.
- `SessionSigner(secret)` issues and checks ``payload.signature`` tokens: HMAC-SHA256 over the
  role, principal id and expiry (12 h by default); a changed byte or an expired token is None.
- `SignInLimiter` counts failed sign-ins per principal id in a sliding window (5 a minute).
- `load_or_create_secret(path)` keeps the signing key in a mode-600 file.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

SESSION_TTL_S = 12 * 3600.0
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # about 16 MiB and 50 ms per hash
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16  # refuse stored parameters that would exhaust memory
_SALT_BYTES, _HASH_BYTES = 16, 32
SECRET_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=128 * r * (n + p + 2) + (1 << 20), dklen=length)


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    """A salted scrypt hash: ``scrypt$N$r$p$salt_b64$hash_b64``."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, n, r, p, _HASH_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the `hash_password` string `stored` (constant-time
    comparison); False for an empty or malformed `stored`."""
    parts = stored.split("$") if stored else []
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error):
        return False
    if not (1 < n <= _MAX_N and n & (n - 1) == 0 and 0 < r <= _MAX_R and 0 < p <= _MAX_P
            and salt and 16 <= len(expected) <= 64):
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(expected)), expected)


@functools.cache
def dummy_hash() -> str:
    """A hash to check unknown principals against, so that a wrong id costs as long as a
    wrong password (no timing oracle for which ids exist)."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Principal:
    """Who a valid session belongs to."""

    id: str
    role: str
    expires: float


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
        payload = f"{role}:{_b64(principal_id.encode('utf-8'))}:{expires}".encode("ascii")
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
            got_role, pid, expires = payload.decode("ascii").split(":")
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


class SignInLimiter:
    """At most `max_failures` failed sign-ins per key within `window_s`; memory bounded by
    `max_keys` (the oldest keys are forgotten first)."""

    def __init__(self, max_failures: int = 5, window_s: float = 60.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        times = self._recent(key)
        if len(times) < self.max_failures:
            return 0.0
        return max(0.0, times[0] + self.window_s - self._clock())

    def failed(self, key: str) -> None:
        """Record one failed attempt for `key`."""
        times = self._recent(key)
        times.append(self._clock())
        self._failures.pop(key, None)
        self._failures[key] = times  # most recent last, for eviction order
        while len(self._failures) > self.max_keys:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, key: str) -> None:
        """A good sign-in clears the key's failures."""
        self._failures.pop(key, None)


def load_or_create_secret(path: Path) -> bytes:
    """The session-signing key kept in `path` (created with 32 random bytes, mode 600, when
    missing or too short)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    if len(data) >= 16:
        return data
    path.parent.mkdir(parents=True, exist_ok=True)
    data = secrets.token_bytes(SECRET_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
    return data
