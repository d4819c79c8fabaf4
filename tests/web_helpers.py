"""Helpers for tests of the signed-in web pages (issue 7): users, sign-in over an aiohttp
TestClient and through a Playwright page."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from aiohttp.test_utils import TestClient

from ivr.storage.call_store import CallStore
from ivr.web.auth import CSRF_HEADER, LOGIN_CSRF_COOKIE, User
from ivr.web.users import UserStore


def make_user(store: CallStore, username: str, role: str, password: str = "password-123",
              agent_id: str | None = None) -> User:
    """Add a user to `store`'s database."""
    return UserStore(store).add(username, role, password, agent_id)


async def sign_in(client: TestClient, username: str, password: str) -> str:
    """Sign in through `POST /login` (JSON) and return the session's CSRF token, to send as
    the `X-CSRF-Token` header of POST/PUT/PATCH/DELETE requests. Fails on a wrong password."""
    page = await client.get("/login")
    assert page.status == 200, await page.text()
    token = page.cookies[LOGIN_CSRF_COOKIE].value
    resp = await client.post("/login", json={"username": username, "password": password},
                             headers={CSRF_HEADER: token})
    body: dict[str, Any] = await resp.json()
    assert resp.status == 200, body
    return str(body["csrf"])


def browser_sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    """Sign in on `/login` in a Playwright (sync) page and wait for the page it leads to."""
    page.goto(base_url.rstrip("/") + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("#login-submit")


def legacy_scrypt_hash(password: str, n: int = 2**10) -> str:
    """A password hash in the scrypt format earlier versions stored and printed
    (``scrypt$N$r$p$salt_b64$hash_b64``), to test that it still verifies."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=8, p=1, dklen=32)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    return f"scrypt${n}$8$1${b64(salt)}${b64(digest)}"
