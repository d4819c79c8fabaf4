"""The fake webhook server of `ivr test`: a real aiohttp server on 127.0.0.1 answering the
dialplan's webhooks from a list of `FakeResponse`s (the `webhooks:` of a test file), and the
`ReceivedRequest`s it saw.

A response matches by method and path (a path with `?a=1` also needs that query parameter);
one with `times: N` serves N requests, then later matching entries answer; a request nothing
matches gets 404 and is kept in `unmatched`, so the runner can say which response is missing.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["FakeResponse", "FakeWebhookServer", "ReceivedRequest"]


class FakeResponse(BaseModel):
    """An answer of the fake webhook server."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    method: str = "GET"
    path: str
    status: int = Field(200, ge=100, le=599)
    json_: Any = Field(None, alias="json")
    text: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    delay_s: float = Field(0.0, ge=0, le=60)
    times: int | None = Field(None, ge=1)

    @field_validator("method")
    @classmethod
    def _method(cls, v: str) -> str:
        v = v.upper()
        if v not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise ValueError(f"method must be GET, POST, PUT, PATCH or DELETE, not {v!r}")
        return v

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError(f"path must start with '/', got {v!r}")
        return v


@dataclass
class ReceivedRequest:
    """A request the fake server received, and the status it answered."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    matched: bool


class FakeWebhookServer:
    """A real aiohttp server on 127.0.0.1 (own thread and loop) answering from a list."""

    def __init__(self, responses: Iterable[FakeResponse] = ()) -> None:
        self.responses = list(responses)
        self.requests: list[ReceivedRequest] = []
        self._used = [0] * len(self.responses)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None
        self.base_url = ""
        self._lock = threading.Lock()

    def __enter__(self) -> FakeWebhookServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def unmatched(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if not r.matched]

    def reset(self) -> None:
        """Forget requests and how often each response was used (a new test)."""
        with self._lock:
            self.requests = []
            self._used = [0] * len(self.responses)

    def rewrite(self, url: str) -> str:
        """`url` pointed at this server, keeping path and query."""
        parts = urllib.parse.urlsplit(url)
        base = urllib.parse.urlsplit(self.base_url)
        return urllib.parse.urlunsplit((base.scheme, base.netloc, parts.path or "/",
                                        parts.query, ""))

    def start(self) -> str:
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._start())
            except BaseException as e:  # reported to start()
                errors.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-webhooks", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self.base_url

    async def _start(self) -> None:
        from aiohttp import web

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2,
                                     handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    def _pick(self, method: str, path: str, query: dict[str, str]) -> FakeResponse | None:
        with self._lock:
            for i, r in enumerate(self.responses):
                want_path, _, want_query = r.path.partition("?")
                if r.method != method or want_path != path:
                    continue
                wanted = dict(urllib.parse.parse_qsl(want_query, keep_blank_values=True))
                if any(query.get(k) != v for k, v in wanted.items()):
                    continue
                if r.times is not None and self._used[i] >= r.times:
                    continue
                self._used[i] += 1
                return r
        return None

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        query = dict(request.query)
        stub = self._pick(request.method, request.path, query)
        status = stub.status if stub else 404
        with self._lock:
            self.requests.append(ReceivedRequest(request.method, request.path, query, body,
                                                 status, stub is not None))
        if stub is None:
            return web.json_response(
                {"error": f"no fake response for {request.method} {request.path}"}, status=404)
        if stub.delay_s:
            await asyncio.sleep(stub.delay_s)
        if stub.text is not None:
            return web.Response(text=stub.text, status=stub.status, headers=stub.headers)
        if stub.json_ is None and "json" not in stub.model_fields_set:
            return web.Response(status=stub.status, headers=stub.headers)
        return web.json_response(stub.json_, status=stub.status, headers=stub.headers)
