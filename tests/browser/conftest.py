"""Browser tests: Debian's Chromium driven by Python Playwright, against the app served by
aiohttp on a free loopback port in a background thread.

Without /usr/bin/chromium (or the playwright package) the tests skip on a developer machine
and fail under CI (`CI` set), where `scripts/setup --dev` installs both."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ivr.escalation.agents import AgentConfig
from ivr.storage.call_store import CallStore
from ivr.web.api import build_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing(what: str) -> None:
    if _in_ci():
        pytest.fail(f"{what} is missing under CI: `bash scripts/setup --dev` installs it")
    pytest.skip(f"{what} is missing (install it with `bash scripts/setup --dev`)")


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright Browser) from Debian's package. Per test: Playwright's
    sync API marks an event loop running in this thread until it stops, which would break
    later tests that call `asyncio.run`."""
    if not CHROMIUM.exists():
        _missing(str(CHROMIUM))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class ServedApp:
    """The API app with the agent desk, served from its own thread and event loop."""

    url: str
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    runner: web.AppRunner

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def serve_app(db_path: Path, agents: Sequence[AgentConfig], secret: bytes,
              token: str = "browser-test-token") -> ServedApp:
    """Start `build_app` with the desk on 127.0.0.1 and a free port; the app's own CallStore
    is opened inside the server thread (one connection per thread, as in a worker)."""
    loop = asyncio.new_event_loop()
    ready: Future[tuple[str, web.AppRunner]] = Future()

    async def start() -> None:
        store = CallStore(db_path)
        app = build_app(store, token, lambda: {}, desk_agents=agents, desk_secret=secret)
        app.on_cleanup.append(lambda _: _close(store))
        runner = web.AppRunner(app, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        ready.set_result((f"http://127.0.0.1:{port}", runner))

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except Exception as e:  # noqa: BLE001 - handed to the test thread
            ready.set_exception(e)
            return
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=main, name="desk-server", daemon=True)
    thread.start()
    url, runner = ready.result(15)
    return ServedApp(url, loop, thread, runner)


async def _close(store: CallStore) -> None:
    store.close()
