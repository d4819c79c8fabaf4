"""The OpenAPI document (`ivr.web.openapi`) against the routes the app really has."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr import __version__
from ivr.storage.call_store import CallStore
from ivr.web.api import build_app
from ivr.web.openapi import openapi_document

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def app(tmp_path):
    store = CallStore(tmp_path / "ivr.sqlite")
    yield build_app(store, "tok", lambda: {"active_calls": 0}, desk_secret=b"k" * 32)
    store.close()


def _api_routes(app) -> set[tuple[str, str]]:
    """(METHOD, path template) of every /api route of the app, HEAD left out (aiohttp adds
    it to every GET)."""
    routes = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if (path == "/api" or path.startswith("/api/")) and route.method != "HEAD":
            routes.add((route.method, path))
    return routes


def _documented(doc) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in doc["paths"].items()
            for method in item if method in METHODS}


def test_every_api_route_is_documented_and_nothing_else(app) -> None:
    routes, documented = _api_routes(app), _documented(openapi_document("x"))
    assert len(routes) >= 8  # the walk found the API (a broken walk must not pass)
    assert not routes - documented, f"routes missing from ivr/web/openapi.py: {routes - documented}"
    assert not documented - routes, f"documented routes that do not exist: {documented - routes}"


def test_document_is_valid_openapi_shape() -> None:
    doc = openapi_document("1.2.3")
    assert doc["openapi"].startswith("3.") and doc["info"]["version"] == "1.2.3"
    json.dumps(doc)  # serialisable
    schemas = doc["components"]["schemas"]
    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in schemas, f"dangling $ref {ref}"
    for path, item in doc["paths"].items():
        params = {p["name"] for op in item.values() for p in op.get("parameters", [])
                  if p["in"] == "path"}
        assert params == {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}, path
        for op in item.values():
            assert op["summary"] and "200" in op["responses"]


def test_public_paths_in_the_document_need_no_token(app) -> None:
    """What the document marks `security: []` is what the server serves without a token."""
    doc = openapi_document("x")
    public = {p for p, item in doc["paths"].items() if item["get"].get("security") == []}
    assert public == {"/api/health", "/api/ready", "/api/openapi.json"}

    async def main() -> dict[str, int]:
        async with TestClient(TestServer(app)) as client:
            return {p: (await client.get(p)).status for p in doc["paths"] if "{" not in p}

    statuses = asyncio.run(main())
    for path, status in statuses.items():
        if path in public:
            assert status in (200, 503), path  # /api/ready: 503 without a readiness source
        else:
            assert status == 401, path


def test_served_document_has_the_package_version(app) -> None:
    async def main():
        async with TestClient(TestServer(app)) as client:
            resp = await client.get("/api/openapi.json")
            return resp.status, resp.content_type, await resp.json()

    status, ctype, doc = asyncio.run(main())
    assert (status, ctype) == (200, "application/json")
    assert doc == openapi_document(__version__)
