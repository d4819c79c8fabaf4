"""The SIP endpoint under test for tests/integration/test_telephony*.py (its fixtures
`procs` and `speech_wav` are registered in tests/integration/conftest.py): `Smoke` runs
scripts/telephony_smoke.py (pjsua2) in a subprocess, as users run it; the fixtures start
baresip softphones and stop everything by PID."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from telephony.ports import free_udp_port
from telephony.softphone import Baresip, prepare_caller_wav

ROOT = Path(__file__).resolve().parents[2]
SPEECH = Path("/work/shared/data/asr_en_misc/audio/ljspeech/LJ001-0001.flac")  # 9.7 s
Event = dict[str, Any]


class Smoke:
    """The endpoint under test in a subprocess; collects its JSON event lines."""

    def __init__(self, *args: str) -> None:
        self.port = free_udp_port()
        self.events: list[Event] = []
        self.bad_lines: list[str] = []
        self._cond = threading.Condition()
        self._stderr_file = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - kept open
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "scripts/telephony_smoke.py"),
                "--port",
                str(self.port),
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=self._stderr_file,
            text=True,
            cwd=ROOT,
        )
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader_done = False
        self._reader.start()
        self.wait("ready", timeout=15)

    @property
    def uri(self) -> str:
        return f"sip:ivr@127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                try:
                    self.events.append(json.loads(line))
                except ValueError:
                    self.bad_lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._reader_done = True
            self._cond.notify_all()

    def wait(
        self,
        kind: str,
        pred: Callable[[Event], bool] = lambda e: True,
        timeout: float = 10.0,
        count: int = 1,
    ) -> list[Event]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                assert not self.bad_lines, f"non-JSON on the smoke's stdout: {self.bad_lines}"
                hits = [e for e in self.events if e["event"] == kind and pred(e)]
                if len(hits) >= count:
                    return hits
                if self._reader_done:
                    pytest.fail(f"smoke exited before {count}x {kind!r}: {self.read_stderr()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no {count}x {kind!r} in {timeout} s: {self.events[-8:]}")
                self._cond.wait(min(left, 0.2))

    def read_stderr(self) -> str:
        self._stderr_file.seek(0)
        return self._stderr_file.read()[-4000:]

    def terminate_and_stderr(self) -> str:
        self.terminate()
        return self.stderr

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM by PID (SIGKILL if it hangs); returns the exit code."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            pytest.fail("smoke did not exit on SIGTERM")
        self._reader.join(5)
        self._stderr_file.seek(0)
        self.stderr = self._stderr_file.read()
        return self.proc.returncode


@pytest.fixture
def procs() -> Iterator[list[Any]]:
    """Everything started in a test, stopped by PID afterwards."""
    started: list[Any] = []
    yield started
    for p in reversed(started):
        if isinstance(p, Smoke):
            p.terminate()
        else:
            p.cleanup()


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SPEECH.exists():
        pytest.skip(f"{SPEECH} missing")
    return prepare_caller_wav(SPEECH, tmp_path_factory.mktemp("wav") / "speech8k.wav", 0.5, 8.0)


def peak_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spec))])


def start(procs: list[Any], obj: Any) -> Any:
    procs.append(obj)
    return obj.start() if isinstance(obj, Baresip) else obj

