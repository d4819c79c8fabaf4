"""`ivr.escalation.summary_llm.llm_text`: the optional LLM summary of a stored call, read from the
`escalation.llm` settings, against a real local aiohttp server that speaks the OpenAI
chat-completions JSON (a fake of the external service, on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ivr.config import LlmSummarySettings
from ivr.dialplan.loader import load_dialplan
from ivr.escalation.summary import summarise
from ivr.escalation.summary_llm import llm_text

ROOT = Path(__file__).resolve().parents[2]
CALL = json.loads((ROOT / "tests" / "fixtures" / "summaries" / "zh_bill_agent.json")
                  .read_text(encoding="utf-8"))["call"]
PLAN = load_dialplan(ROOT / "dialplans" / "hotline.yaml").plan
ANSWER = "来电者想查话费。系统已播报账单，两次没听懂后来电者要求人工。来电者情绪平稳。"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def completion(content: str) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "local",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}]}


class FakeEndpoint:
    """POST /v1/chat/completions answered by `reply`; every request is kept."""

    def __init__(self, reply: Handler) -> None:
        self.reply = reply
        self.requests: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({"path": request.path, "headers": dict(request.headers),
                              "body": await request.json()})
        return await self.reply(request)


def run(reply: Handler, **settings: Any) -> tuple[str | None, float, FakeEndpoint]:
    """llm_text against a fresh server; `settings` go to LlmSummarySettings, with base_url
    pointing at the server unless given."""
    endpoint = FakeEndpoint(reply)

    async def main() -> tuple[str | None, float]:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", endpoint.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        config = LlmSummarySettings(**{"base_url": f"http://127.0.0.1:{server.port}/v1",
                                       "model": "local-model", **settings})
        try:
            async with aiohttp.ClientSession() as client:
                started = time.monotonic()
                text = await llm_text(CALL, summarise(CALL, [], PLAN), config, client)
                return text, time.monotonic() - started
        finally:
            await server.close()

    text, elapsed = asyncio.run(main())
    return text, elapsed, endpoint


async def ok(_request: web.Request) -> web.Response:
    return web.json_response(completion(f"  {ANSWER}\n"))


def test_success_sends_the_calls_turns_as_the_transcript() -> None:
    text, elapsed, endpoint = run(ok, api_key="sk-local", timeout_s=2.0)
    assert text == ANSWER
    assert elapsed < 2.0
    (req,) = endpoint.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-local"
    body = req["body"]
    assert body["model"] == "local-model" and body["temperature"] == 0
    system, user = body["messages"]
    assert "简体中文" in system["content"]  # the call was in Mandarin
    content = user["content"]
    said = [f"Caller: {t['caller_text']}" for t in sorted(CALL["turns"], key=lambda t: t["seq"])
            if t["caller_text"]]
    assert said and all(line in content for line in said)
    positions = [content.index(line) for line in said]
    assert positions == sorted(positions)  # in call order
    assert "IVR: 您本月的账单为九十八元" in content
    assert '"escalation_reason": "caller_request"' in content


def test_no_api_key_sends_no_authorization() -> None:
    text, _, endpoint = run(ok)
    assert text == ANSWER
    assert "Authorization" not in endpoint.requests[0]["headers"]


def test_http_500_gives_none() -> None:
    async def boom(_request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "overloaded"}}, status=500)

    text, _, endpoint = run(boom)
    assert text is None and len(endpoint.requests) == 1


@pytest.mark.parametrize("body", [
    "this is not JSON",
    json.dumps({"choices": []}),
    json.dumps({"choices": [{"message": {}}]}),
    json.dumps({"error": "no choices at all"}),
    json.dumps(completion("   ")),  # an empty answer
    json.dumps([1, 2, 3]),
])
def test_malformed_answers_give_none(body: str) -> None:
    async def bad(_request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="application/json")

    text, _, endpoint = run(bad)
    assert text is None and len(endpoint.requests) == 1


def test_slow_endpoint_gives_none_within_timeout_s() -> None:
    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(3.0)
        return web.json_response(completion(ANSWER))

    text, elapsed, endpoint = run(slow, timeout_s=0.5)
    print(f"\nLLM timeout after {elapsed * 1000:.0f} ms (timeout_s 0.5)")
    assert text is None and len(endpoint.requests) == 1
    assert 0.4 <= elapsed < 1.5  # about timeout_s, not the server's 3 s


@pytest.mark.parametrize("settings", [{"base_url": None}, {"model": None}, {"model": ""}])
def test_not_configured_sends_nothing(settings: dict[str, Any]) -> None:
    text, _, endpoint = run(ok, **settings)
    assert text is None and endpoint.requests == []


def test_default_settings_send_nothing() -> None:
    async def main() -> str | None:
        async with aiohttp.ClientSession() as client:
            return await llm_text(CALL, summarise(CALL, [], PLAN), LlmSummarySettings(), client)

    assert asyncio.run(main()) is None
