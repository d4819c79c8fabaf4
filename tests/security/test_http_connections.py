"""HTTP connections cannot starve the SIP stack: slow, silent and idle connections are closed,
connections over the cap refused at once, the open-files limit raised (issue 15, item 7)."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ivr.config import HttpSettings, Settings
from ivr.server import IvrService
from ivr.storage.call_store import open_store
from tests.security.web_app import TOKEN


# ---------------------------------------------------------------- 1. connections
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def _service(tmp_path: Path, **http: Any) -> AsyncIterator[int]:
    """The HTTP side of `ivr serve` (`IvrService._start_http`) on a free port."""
    port = _free_port()
    settings = Settings(data_dir=tmp_path, api_token=TOKEN,
                        http=HttpSettings(host="127.0.0.1", port=port, **http))
    service = IvrService(settings)
    service.store = open_store(None, tmp_path / "ivr.sqlite")
    service.recording_key = None
    await service._start_http()
    try:
        yield port
    finally:
        assert service._runner is not None
        await service._runner.cleanup()
        service.store.close()


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """What the server sent before closing; fails if it is still open after `seconds`."""
    return await asyncio.wait_for(reader.read(), seconds)


def test_silent_slow_and_idle_connections_are_closed(tmp_path):
    async def main() -> None:
        async with _service(tmp_path, header_timeout_s=0.5) as port:
            silent_r, _silent_w = await asyncio.open_connection("127.0.0.1", port)
            slow_r, slow_w = await asyncio.open_connection("127.0.0.1", port)
            idle_r, idle_w = await asyncio.open_connection("127.0.0.1", port)
            idle_w.write(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await idle_r.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            await idle_r.readexactly(length)  # answered; now idle on a keep-alive connection

            async def trickle() -> None:  # slowloris: a header line every 0.1 s, never done
                slow_w.write(b"GET /login HTTP/1.1\r\n")
                for i in range(100):
                    slow_w.write(b"X-%d: y\r\n" % i)
                    await asyncio.sleep(0.1)
            writer = asyncio.get_running_loop().create_task(trickle())
            try:
                assert await _closed_within(silent_r, 3.0) == b""
                assert await _closed_within(slow_r, 3.0) == b""
                assert await _closed_within(idle_r, 3.0) == b""
            finally:
                writer.cancel()
                await asyncio.gather(writer, return_exceptions=True)
    asyncio.run(main())


def test_connections_over_the_cap_are_refused_at_once(tmp_path):
    async def main() -> None:
        async with _service(tmp_path, max_connections=8, header_timeout_s=30) as port:
            idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(8)]
            await asyncio.sleep(0.1)  # all eight accepted
            for _ in range(3):  # refused at once, not after the 30 s header timeout
                reader, _w = await asyncio.open_connection("127.0.0.1", port)
                answer = await _closed_within(reader, 2.0)
                assert answer.startswith(b"HTTP/1.1 503"), answer
            idle[0][1].close()  # one leaves: room for the next
            await asyncio.sleep(0.2)
            async with aiohttp.ClientSession() as http:
                resp = await http.get(f"http://127.0.0.1:{port}/login")
                assert resp.status == 200
                resp.release()
            for _r, w in idle[1:]:
                w.close()
    asyncio.run(main())


def test_open_files_soft_limit_is_raised_to_the_hard_limit(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowered = 2048 if hard == resource.RLIM_INFINITY else min(2048, hard // 2)
    if lowered <= 256:
        pytest.skip(f"the hard limit ({hard}) leaves no room to lower the soft one")
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
    try:
        async def main() -> int:
            async with _service(tmp_path):
                return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        raised = asyncio.run(main())
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert raised == (hard if hard != resource.RLIM_INFINITY else 1 << 20)
