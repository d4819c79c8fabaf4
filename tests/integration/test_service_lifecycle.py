"""Service lifecycle with real calls: SIGTERM mid-call (hang up, or drain), bad start-up
configuration."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
import wave
from pathlib import Path

import pytest

from ivr.cluster.sip_probe import sip_request
from testkit.harness import IVR_BIN, IvrProcess, ScriptedCaller

pytestmark = pytest.mark.integration


def test_sigterm_hangs_up_calls_closes_recordings_and_exits_cleanly(tmp_path: Path) -> None:
    ivr = IvrProcess(tmp_path / "data").start()
    try:
        with ScriptedCaller(ivr, tmp_path / "caller") as c:
            call_id = c.dial()
            c.wait("prompt", node="welcome")
            code = ivr.stop()  # SIGTERM while the greeting plays
            closed = c.wait_closed(15)
    finally:
        ivr.stop()
    log = ivr.log()
    assert code == 0, log[-2000:]
    assert "stopped cleanly" in log and "pj_thread_this" not in log
    assert closed["type"] == "CALL_CLOSED"
    db = sqlite3.connect(tmp_path / "data" / "ivr.sqlite")
    status, reason, path = db.execute(
        "select status, end_reason, recording_path from calls where id = ?", [call_id]).fetchone()
    assert (status, reason) == ("ended", "service_shutdown")
    with wave.open(path) as w:  # a complete, readable WAV
        assert w.getnchannels() == 2 and w.getnframes() > 0


def test_sigterm_with_drain_refuses_new_calls_and_lets_the_call_finish(tmp_path: Path) -> None:
    ivr = IvrProcess(tmp_path / "data", env={"IVR_SIP__DRAIN_TIMEOUT_S": "60"}).start()
    try:
        with ScriptedCaller(ivr, tmp_path / "caller") as c:
            call_id = c.dial()
            c.wait("prompt", node="welcome")
            assert ivr.proc is not None
            ivr.proc.send_signal(signal.SIGTERM)
            _wait_for(lambda: "draining: no new calls" in ivr.log(), 10)
            reply = sip_request("127.0.0.1", ivr.sip_port, "INVITE", "hotline", timeout=5)
            assert (reply.status, reply.reason) == (503, "IVR shutting down")
            c.wait("prompt_end", node="welcome", timeout=30)  # the call goes on
            assert ivr.proc.poll() is None
            c.hangup()
            c.wait_closed(15)
        code = ivr.proc.wait(30)
    finally:
        ivr.stop()
    log = ivr.log()
    assert code == 0, log[-2000:]
    assert "drained: every call has ended" in log and "stopped cleanly" in log
    db = sqlite3.connect(tmp_path / "data" / "ivr.sqlite")
    assert db.execute("select end_reason from calls where id = ?",
                      [call_id]).fetchone() == ("caller_hangup",)


def _wait_for(cond: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_missing_dialplan_is_a_clear_startup_error(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(IVR_BIN), "serve", "--dialplan", str(tmp_path / "nope.yaml"),
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "nope.yaml" in out.stderr and "cannot read dialplan" in out.stderr
    assert "Traceback" not in out.stderr


def test_invalid_setting_is_a_clear_startup_error(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("sip:\n  max_calls: 9\n")
    out = subprocess.run([str(IVR_BIN), "serve", "--config", str(cfg)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "sip.max_calls" in out.stderr and "Traceback" not in out.stderr
