"""`ivr.service_http`: the worker's API token (generated once, kept, private), its health
figures, and no HTTP at all when `http.port` is 0."""

from __future__ import annotations

import asyncio
import logging
import types
from pathlib import Path

import pytest

from ivr.config import Settings
from ivr.service_http import service_health, start_http, stored_token


def test_token_generated_once_and_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ivr.server"):
        first = stored_token(tmp_path)
        assert stored_token(tmp_path) == first and len(first) >= 32
    assert sum("generated one" in r.message for r in caplog.records) == 1
    assert oct((tmp_path / "api_token").stat().st_mode)[-3:] == "600"


def _service(port: int = 0) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        settings=Settings(http={"port": port}), sessions={"c1": object()}, draining=False,
        dialplan=types.SimpleNamespace(plan=types.SimpleNamespace(name="hotline"),
                                       version="3"), endpoint=None)


def test_health_figures() -> None:
    health = service_health(_service(), uptime_s=12.5)  # type: ignore[arg-type]
    assert health["active_calls"] == 1 and health["uptime_s"] == 12.5
    assert health["dialplan"] == "hotline@3" and health["sip_calls"] == 0
    assert health["asr_service"] is None and health["draining"] is False


def test_no_http_port_no_server() -> None:
    assert asyncio.run(start_http(_service(port=0))) is None  # type: ignore[arg-type]
