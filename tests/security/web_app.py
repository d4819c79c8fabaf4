"""The web app under hostile clients (tests/security/test_http_*.py): its agents, users and
tokens, and how a test runs it on a real socket on 127.0.0.1. The database is the `web_store`
fixture of tests/security/conftest.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from ivr.escalation.agents import AgentConfig
from ivr.storage.call_store import CallStore
from ivr.web.api import build_app
from ivr.web.auth import hash_password

TOKEN = "configured-api-token"
SECRET = b"0123456789abcdef0123456789abcdef"
PW = "password-123"
AGENTS = [
    AgentConfig(id="8001", name="Li", uri="sip:8001@127.0.0.1:5070", queues=["general"],
                password_hash=hash_password("li-desk-secret")),
    AgentConfig(id="8002", name="Wang", uri="sip:8002@127.0.0.1:5071", queues=["billing"]),
]


def run(store: CallStore, body: Callable[[TestClient], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        app = build_app(store, TOKEN, lambda: {}, desk_agents=AGENTS, desk_secret=SECRET)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            return await body(client)
    return asyncio.run(main())


def audit_rows(store: CallStore, action: str) -> list[dict[str, Any]]:
    return list(store.db.query("select * from audit_log where action = ? order by id",
                               [action]))
