"""What a caller sends never names a file; a recording that cannot be written never stops the
call (issue 15, items 1, 3 and 6). Fast tests: no SIP stack, real files."""

from __future__ import annotations

import asyncio
import os
import time
import wave
from concurrent.futures import Future
from pathlib import Path

import pytest

from ivr.call.recorder import CallRecorder, SafeWriter, write_failures
from ivr.call.watchdog import reconcile_calls, record_failed_start, recording_health
from ivr.config import Settings
from ivr.files import file_in, private_files
from ivr.privacy.crypto import encrypted_path
from ivr.storage.call_store import CallStore
from telephony.sip_types import (
    MAX_X_HEADERS,
    PJSUA_HARD_CALL_CAP,
    CallInfo,
    clean_text,
    new_call_id,
    parse_sip_message,
    uri_user,
)
from tests.unit.call_runner import CALL_ID, Call, run_call

FULL = Path("/dev/full")  # every write fails with ENOSPC, like a full disk


# ---------------------------------------------------------------- names
@pytest.mark.parametrize("name", ["../x.wav", "../../etc/passwd", "/tmp/x.wav", "a/b.wav",
                                  "..", ".hidden", "a\\..\\b", "x\x00.wav", "", "é.wav"])
def test_file_in_refuses_anything_but_one_plain_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        file_in(tmp_path, name)


def test_file_in_keeps_internal_names(tmp_path: Path) -> None:
    cid = new_call_id()
    assert file_in(tmp_path, f"{cid}-voicemail.wav") == tmp_path / f"{cid}-voicemail.wav"
    assert len(cid) == 20 and int(cid, 16) >= 0 and new_call_id() != cid


def test_private_files_sets_umask_and_directory_modes(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        d = tmp_path / "data"
        d.mkdir(mode=0o755)
        private_files(d, d / "recordings")
        (d / "f").write_bytes(b"x")
        assert (d.stat().st_mode & 0o777, (d / "recordings").stat().st_mode & 0o777) == (
            0o700, 0o700)
        assert (d / "f").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


# ---------------------------------------------------------------- caller data is data
def test_caller_text_is_decoded_defensively() -> None:
    hostile = '"\udcff\udcfe"\x00\r\n<sip:1000@h>' + "A" * 5000
    cleaned = clean_text(hostile)
    assert len(cleaned) == 256
    assert not any(0xD800 <= ord(ch) <= 0xDFFF or ord(ch) < 32 for ch in cleaned)
    cleaned.encode("utf-8")  # storable
    assert uri_user("sip:" + "9" * 500 + "@h") == "9" * 64


def test_invite_headers_are_bounded() -> None:
    lines = [f"X-H{i}: {'v' * 2000}" for i in range(100)] + ["X-Bad Name: 1", "X-ok/..: 2"]
    raw = "INVITE sip:a@b SIP/2.0\r\n" + "\r\n".join(lines) + "\r\n\r\n"
    _, core, extra = parse_sip_message(raw)
    assert len(extra) == MAX_X_HEADERS
    assert all(len(v) <= 512 for v in extra.values()) and all(len(v) <= 512 for v in
                                                               core.values())
    assert "X-Bad Name" not in extra and "X-ok/.." not in extra


def test_the_default_admission_keeps_a_slot_to_refuse_with_503() -> None:
    """pjsua refuses the INVITE after its last slot with 486 by itself: our own limit must
    stay below it so that a caller over capacity hears our 503 + Retry-After."""
    assert Settings().sip.max_calls < PJSUA_HARD_CALL_CAP


# ---------------------------------------------------------------- a full disk
@pytest.mark.parametrize("key", [None, b"k" * 32])
def test_a_recording_on_a_full_disk_fails_once_and_never_raises(tmp_path: Path,
                                                                key: bytes | None) -> None:
    planned = tmp_path / "c.wav"
    target = encrypted_path(planned) if key else planned
    target.symlink_to(FULL)
    errors: list[str] = []
    before = write_failures()["count"]
    rec = CallRecorder(planned, 8000, key=key, on_error=errors.append)
    for _ in range(200):  # 4 s of audio: the encrypted writer seals once a second
        rec.add_caller(b"\x01\x00" * 160)
        rec.add_ivr(b"\x02\x00" * 160)
        rec.flush()
    rec.close()
    assert len(errors) == 1 and "No space left" in errors[0], errors
    assert rec.error == errors[0]
    assert write_failures()["count"] == before + 1
    health = recording_health()
    assert health["ok"] is False and health["last_path"] == str(target)


def test_a_failed_open_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    errors: list[str] = []
    w = SafeWriter(tmp_path / "file" / "under-a-file.wav", 1, 8000, key=None,
                   on_error=errors.append)
    w.writeframes(b"\x00\x00" * 10)
    w.close()
    assert len(errors) == 1 and w.error is not None


def test_a_call_whose_recording_hits_a_full_disk_goes_on_and_ends(tmp_path: Path) -> None:
    """The caller is still heard (keys and the dialogue go on), the failure is an event, and
    the call's row is closed."""
    (tmp_path / "recordings").mkdir()
    (tmp_path / "recordings" / f"{CALL_ID}.wav").symlink_to(FULL)

    async def scenario(c: Call) -> None:
        await c.wait_event("recording_failed")
        await c.wait_event("listen", node="main_menu")
        c.dtmf("1")  # billing: the caller's keys still reach the dialogue
        await c.wait_event("turn")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario)
    (failed,) = c.events("recording_failed")
    assert "No space left" in failed["error"]
    row = c.row()
    assert row["status"] == "ended" and row["turn_count"] >= 1, row


def test_a_truncated_recording_keeps_its_valid_head(tmp_path: Path) -> None:
    """A recording that could be written keeps playing after a later failure: the header
    `wave` rewrites on every write stays valid."""
    path = tmp_path / "ok.wav"
    rec = CallRecorder(path, 8000, key=None)
    rec.add_caller(b"\x01\x00" * 800)
    rec.add_ivr(b"\x02\x00" * 800)
    rec.flush()
    rec.close()
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getnframes()) == (2, 800)


# ---------------------------------------------------------------- the watchdog
class _Endpoint:
    """The two endpoint calls the watchdog makes, over a fixed list of calls."""

    def __init__(self, calls: list[CallInfo]) -> None:
        self.list = calls
        self.hung_up: list[str] = []

    def calls(self) -> Future[list[CallInfo]]:
        f: Future[list[CallInfo]] = Future()
        f.set_result(list(self.list))
        return f

    def hangup(self, call_id: str) -> None:
        self.hung_up.append(call_id)


class _Session:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def on_hangup(self, reason: str) -> None:
        self.reasons.append(reason)


def test_the_watchdog_hangs_up_orphans_and_ends_lost_sessions() -> None:
    old = time.monotonic() - 60
    orphan = CallInfo("orphan", "", "", "", "", old)
    fresh = CallInfo("fresh", "", "", "", "", time.monotonic() + 60)  # still starting
    live = CallInfo("live", "", "", "", "", old)
    endpoint = _Endpoint([orphan, fresh, live])
    sessions = {"live": _Session(), "lost": _Session()}

    async def main() -> None:
        task = asyncio.create_task(reconcile_calls(endpoint, sessions, 0.01))  # type: ignore[arg-type]
        await asyncio.sleep(0.2)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    assert set(endpoint.hung_up) == {"orphan"}
    assert sessions["lost"].reasons[:1] == ["call_lost"] and sessions["live"].reasons == []


def test_a_session_that_cannot_start_leaves_an_ended_row(tmp_path: Path) -> None:
    store = CallStore(tmp_path / "ivr.sqlite")
    call = CallInfo(new_call_id(), "sip:1000@h", "1000", "2000", "", 0.0, sip_call_id="x@y")
    record_failed_start(store, call, RuntimeError("boom"))
    row = store.get_call(call.call_id)
    store.close()
    assert row is not None
    assert (row["status"], row["end_reason"], row["sip_call_id"]) == (
        "ended", "session_start_failed", "x@y")
