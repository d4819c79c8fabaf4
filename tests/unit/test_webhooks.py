"""`ivr.call.webhooks.perform` against a real local aiohttp server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from ivr.call.webhooks import perform
from ivr.dialplan.actions import Webhook, WebhookResult


def hook(url: str, method: str = "GET", body=None, headers=None, timeout_s: float = 2.0,
         retries: int = 1) -> Webhook:
    return Webhook("n", method, url, headers or {}, body, timeout_s, retries)


class Crm:
    """A scripted CRM: each request takes the next (status, body) or the last one."""

    def __init__(self, *responses: tuple[int, str], delay_s: float = 0.0) -> None:
        self.responses = list(responses)
        self.delay_s = delay_s
        self.requests: list[dict] = []
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.requests.append({"method": request.method, "path": request.path_qs,
                              "headers": dict(request.headers), "body": raw})
        if self.delay_s:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), self.delay_s)
        index = min(len(self.requests) - 1, len(self.responses) - 1)
        status, text = self.responses[index]
        return web.Response(status=status, text=text, content_type="application/json")


def run(crm: Crm | None, make_hook, port: int | None = None):
    """Serve `crm`, perform make_hook(base_url); (result, seconds, crm)."""

    async def main():
        app = web.Application()
        server = None
        if crm is not None:
            app.router.add_route("*", "/{tail:.*}", crm.handle)
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            base = f"http://127.0.0.1:{server.port}"
        else:
            base = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as client:
                started = time.monotonic()
                result = await asyncio.wait_for(perform(make_hook(base), client), 20)
                elapsed = time.monotonic() - started
        finally:
            if crm is not None:
                crm.release.set()
            if server is not None:
                await server.close()
        return result, elapsed

    result, elapsed = asyncio.run(main())
    return result, elapsed


def test_200_json_is_ok():
    crm = Crm((200, '{"data": {"name": "Li", "balance": 58.2}, "items": [{"id": 7}]}'))
    result, _ = run(crm, lambda base: hook(f"{base}/customers?phone=138"))
    assert result == WebhookResult(True, 200, {"data": {"name": "Li", "balance": 58.2},
                                               "items": [{"id": 7}]}, "")
    assert len(crm.requests) == 1
    assert crm.requests[0]["method"] == "GET"
    assert crm.requests[0]["path"] == "/customers?phone=138"
    assert crm.requests[0]["body"] == b""


def test_200_empty_body_is_ok_without_data():
    result, _ = run(Crm((200, "")), lambda base: hook(f"{base}/x"))
    assert result == WebhookResult(True, 200, None, "")


def test_200_not_json_is_a_failure():
    crm = Crm((200, "<html>oops</html>"))
    result, _ = run(crm, lambda base: hook(f"{base}/x", retries=2))
    assert result == WebhookResult(False, 200, None, "response is not JSON (17 bytes)")
    assert len(crm.requests) == 1  # not retried


def test_500_then_200_succeeds_after_retry():
    crm = Crm((500, '{"error": "busy"}'), (200, '{"ok": true}'))
    result, elapsed = run(crm, lambda base: hook(f"{base}/x", retries=1))
    assert result == WebhookResult(True, 200, {"ok": True}, "")
    assert len(crm.requests) == 2
    assert elapsed >= 0.2  # backoff before the retry


def test_500_every_time_fails_after_all_attempts():
    crm = Crm((503, "{}"))
    result, _ = run(crm, lambda base: hook(f"{base}/x", retries=2))
    assert result == WebhookResult(False, 503, None, "HTTP 503")
    assert len(crm.requests) == 3


def test_404_is_not_retried():
    crm = Crm((404, '{"error": "no such customer"}'), (200, "{}"))
    result, _ = run(crm, lambda base: hook(f"{base}/x", retries=3))
    assert result == WebhookResult(False, 404, None, "HTTP 404")
    assert len(crm.requests) == 1


def test_429_is_retried():
    crm = Crm((429, "{}"), (200, '{"n": 1}'))
    result, _ = run(crm, lambda base: hook(f"{base}/x", retries=1))
    assert result == WebhookResult(True, 200, {"n": 1}, "")
    assert len(crm.requests) == 2


def test_timeout_is_bounded():
    crm = Crm((200, "{}"), delay_s=5.0)
    timeout_s, retries = 0.3, 1
    result, elapsed = run(crm, lambda base: hook(f"{base}/slow", timeout_s=timeout_s,
                                                 retries=retries))
    assert result.ok is False
    assert result.status is None
    assert result.data is None
    assert result.error == "timed out after 0.3 s"
    assert len(crm.requests) == 2
    backoff = 0.2
    assert elapsed < (retries + 1) * timeout_s + backoff + 0.5
    assert elapsed >= (retries + 1) * timeout_s


def free_closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused():
    port = free_closed_port()
    result, elapsed = run(None, lambda base: hook(f"{base}/x", retries=0), port=port)
    assert result.ok is False
    assert result.status is None
    assert result.error.startswith("ClientConnectorError: Cannot connect to host "
                                   f"127.0.0.1:{port}")
    assert elapsed < 2


def test_post_body_is_json():
    crm = Crm((201, '{"ticket": "T-1"}'))
    body = {"phone": "13800138000", "nested": {"n": "张三", "list": [1, 2]}, "vip": True}
    result, _ = run(crm, lambda base: hook(f"{base}/tickets", method="POST", body=body,
                                           headers={"Authorization": "Bearer abc"}))
    assert result == WebhookResult(True, 201, {"ticket": "T-1"}, "")
    [request] = crm.requests
    assert request["method"] == "POST"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Authorization"] == "Bearer abc"
    assert json.loads(request["body"]) == body
