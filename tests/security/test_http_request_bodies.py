"""Request bodies from hostile clients: JSON too deep or too big (also chunked) is refused
without a 500 on every JSON endpoint, and a body sent too slowly gets 408.

Everything runs on real sockets on 127.0.0.1 (other loopback addresses stand for other
clients). Each test failed on the code before the fix (issue 15)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from ivr.web.auth import CSRF_HEADER, LOGIN_CSRF_COOKIE
from tests.security.web_app import PW, run
from tests.web_helpers import sign_in


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_deep_or_huge_json_is_refused_without_a_500(web_store):
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
    out = run(web_store, body)
    assert out["deep"] == [400, 400, 400, 400]
    assert out["huge"] == [413, 413, 413, 413]
    assert out["chunked"] == [413]
    assert out["string"] == [401, 401]  # brackets inside a string are text, not nesting


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 16_384):
        yield data[i:i + 16_384]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_body_sent_too_slowly_is_refused(web_store, monkeypatch):
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
    assert run(web_store, body) == 408
