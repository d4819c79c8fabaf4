"""Dashboard and personal data (issue 8): an encrypted recording plays with Range requests,
decrypted in memory; the admin-only forget action removes the caller's rows and files."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from aiohttp.test_utils import TestClient, TestServer

from ivr.call.recorder import CallRecorder
from ivr.privacy.audit import verify
from ivr.storage.call_store import CallStore
from ivr.web.api import build_app
from tests.web_helpers import make_user, sign_in

KEY = bytes(range(100, 132))
RATE = 8000
PASSWORD = "password-123"
ME = "13912345678"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CallStore]:
    s = CallStore(tmp_path / "ivr.sqlite")
    rec = CallRecorder(tmp_path / "enc.wav", RATE, key=KEY)
    t = np.arange(RATE * 2)
    left = (3000 * np.sin(t * 0.05)).astype("<i2")
    right = (2000 * np.sin(t * 0.02)).astype("<i2")
    for i in range(0, len(t), 160):
        rec.add_caller(left[i:i + 160].tobytes())
        rec.add_ivr(right[i:i + 160].tobytes())
        rec.flush()
    rec.close()
    s.call_started("c-enc", caller=ME, recording_path=str(rec.path))
    s.add_turn("c-enc", 1, caller_text="我要挂失")
    s.call_ended("c-enc", "caller_hangup")
    s.call_started("c-other", caller="13700000000")
    s.call_ended("c-other", "caller_hangup")
    make_user(s, "ada", "admin", PASSWORD)
    make_user(s, "sue", "supervisor", PASSWORD)
    yield s
    s.close()


def run(store: CallStore, body: Callable[[TestClient], Awaitable[Any]],
        key: bytes | None = KEY) -> Any:
    async def main() -> Any:
        app = build_app(store, "tok", lambda: {}, recording_key=key)
        async with TestClient(TestServer(app)) as client:
            async with asyncio.timeout(20):
                return await body(client)

    return asyncio.run(main())


def test_encrypted_recording_plays_with_ranges(store: CallStore, tmp_path: Path) -> None:
    assert store.get_call("c-enc")["recording_path"].endswith(".wav.enc")
    assert not (tmp_path / "enc.wav").exists()

    async def body(client: TestClient) -> None:
        await sign_in(client, "sue", PASSWORD)
        url = "/dash/api/calls/c-enc/recording"
        full = await (await client.get(f"{url}?channel=caller")).read()
        mono, rate = sf.read(io.BytesIO(full), dtype="int16")
        assert rate == RATE and len(mono) == RATE * 2 and np.abs(mono).max() > 2900
        part = await client.get(f"{url}?channel=caller", headers={"Range": "bytes=44-143"})
        assert part.status == 206 and await part.read() == full[44:144]
        assert part.headers["Content-Range"] == f"bytes 44-143/{len(full)}"

    run(store, body)


def test_encrypted_recording_without_key_is_a_clear_error(store: CallStore) -> None:
    async def body(client: TestClient) -> None:
        await sign_in(client, "sue", PASSWORD)
        resp = await client.get("/dash/api/calls/c-enc/recording")
        assert resp.status == 500
        assert "no recording key" in (await resp.json())["error"]

    run(store, body, key=None)


def test_admin_forget_removes_rows_and_files(store: CallStore) -> None:
    path = Path(store.get_call("c-enc")["recording_path"])

    async def body(client: TestClient) -> None:
        csrf = await sign_in(client, "sue", PASSWORD)
        refused = await client.post("/dash/api/forget", json={"caller": ME},
                                    headers={"X-CSRF-Token": csrf})
        assert refused.status == 403  # supervisors may not
        await client.post("/logout", json={}, headers={"X-CSRF-Token": csrf})
        csrf = await sign_in(client, "ada", PASSWORD)
        no_csrf = await client.post("/dash/api/forget", json={"caller": ME})
        assert no_csrf.status == 403
        bad = await client.post("/dash/api/forget", json={"caller": ""},
                                headers={"X-CSRF-Token": csrf})
        assert bad.status == 400
        resp = await client.post("/dash/api/forget", json={"caller": ME},
                                 headers={"X-CSRF-Token": csrf})
        assert resp.status == 200
        counts = await resp.json()
        assert counts["calls"] == 1 and counts["turns"] == 1 and counts["files"] == 1

    run(store, body)
    assert not path.exists() and store.get_call("c-enc") is None
    assert store.get_call("c-other") is not None
    forgets = list(store.db.query("select * from audit_log where action = 'forget'"))
    assert len(forgets) == 1 and forgets[0]["user"] == "ada" and ME not in forgets[0]["detail"]
    assert verify(store.db) == []
