"""`ivr serve --workers 2` with the machine's inference server (asr.service auto): one real
call (baresip through Kamailio) recognised by the shared server, which is killed mid-call;
the supervisor restarts it with back-off and the call goes on (the caller's request is
recognised after the restart, or the caller is asked again: never silence). The workers hold
no Whisper model of their own, no emotion feature code and no Piper voice, and map the
machine's jieba and pypinyin tables."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from ivr.cluster.kamailio import module_dir
from testkit.harness import ASTERISK_SOUNDS, ClusterProcess, ScriptedCaller

pytestmark = pytest.mark.integration

REQUEST = ASTERISK_SOUNDS / "info-about-last-call.wav"  # "Information about your last call."


def _pids(data: Path, marker: bytes) -> list[int]:
    """Processes of this cluster (data directory `data`) whose command line has `marker`."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker in cmd and str(data).encode() in cmd:
                found.append(int(proc.name))
    return found


def _inference_pid(data: Path) -> int:
    pids = _pids(data, b"ivr.inference_service")
    assert len(pids) == 1, pids
    return pids[0]


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_a_call_survives_the_inference_server_being_killed(tmp_path: Path) -> None:
    if shutil.which("baresip") is None or shutil.which("kamailio") is None or not module_dir():
        pytest.skip("baresip and kamailio are needed (scripts/setup)")
    if not REQUEST.exists():
        pytest.skip("asterisk-core-sounds-en-wav is not installed")
    data = Path(tempfile.mkdtemp(prefix="ivr-cl-"))  # short: the socket lives here
    cluster = ClusterProcess(data, 2, env={"IVR_PRIVACY__DISCLOSURE": "{}"})  # straight to the menu
    cluster.start()
    try:
        server = _inference_pid(data)
        assert "libctranslate2" in _maps(server)  # Whisper: here, once
        workers = _pids(data, b"--sip-host")  # (the supervisor has none)
        assert len(workers) == 2 and not any("libctranslate2" in _maps(w) for w in workers)
        # the emotion features (librosa, numba) and Piper run in the server too; jieba's and
        # pypinyin's dictionaries are mapped from one file per machine (issue 22)
        assert "extras prosody,speak" in (data / "workers" / "inference.log").read_text()
        for w in workers:
            maps = _maps(w)
            assert "llvmlite" not in maps and "jieba-words" in maps, maps[-2000:]
            assert "pypinyin-phrases" in maps
        for i in range(2):  # workers recognise through the server: no model of their own
            assert cluster.worker_api(i, "/api/health")["asr_service"] == "shared"
        with ScriptedCaller(cluster, tmp_path) as c:
            c.dial()
            c.wait("prompt", node="welcome")
            c.press("9")  # English, without waiting for the welcome to end
            c.wait("prompt_end", node="main_menu", interrupted=False, timeout=40)
            c.say(REQUEST)
            time.sleep(0.8)  # the caller is still speaking
            os.kill(server, signal.SIGKILL)
            ev = c.wait_until(lambda e: e["type"] in ("turn", "error"), timeout=60)
            if ev["type"] == "turn":
                assert ev["data"]["intent"] == "bill_enquiry", ev
            else:  # reported, and the dialogue asks again
                assert ev["data"]["where"] == "asr", ev
                c.wait("prompt_end", timeout=30)
            c.hangup()
            c.wait_closed()
        log = cluster.log()
        assert "inference server: exited with -9" in log and "restarting in 1.0 s" in log
        restarted = _inference_pid(data)
        assert restarted != server
        for i in range(2):
            assert "inference server connection lost" in (
                data / "workers" / f"worker-{i}.log").read_text()
    finally:
        code = cluster.stop()
        shutil.rmtree(data, ignore_errors=True)
    assert code == 0, cluster.log()[-3000:]
