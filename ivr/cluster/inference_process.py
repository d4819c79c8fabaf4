"""The machine's inference server as a child of the cluster supervisor.

`ivr serve --workers N` with `asr.service` auto or shared runs one
`python -m ivr.inference_service` (the Whisper models, once per machine) before its workers,
which connect to its socket in the shared data directory. When it exits it is restarted with
exponential back-off (1 s, 2 s, 4 s ... 30 s; reset after a minute up); meanwhile the workers'
clients wait for it and send their recognitions in flight once more
(`audio_models.inference_client`).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from ivr.cluster.parent_death import die_with_parent
from ivr.cluster.stop_child import stop_child

log = logging.getLogger("ivr.cluster")

READY = "inference ready:"


class InferenceProcess:
    """One supervised inference server."""

    def __init__(self, serve_args: list[str], data_dir: Path, *, env: dict[str, str] | None = None,
                 backoff_s: tuple[float, float] = (1.0, 30.0), stable_after_s: float = 60.0
                 ) -> None:
        self.command = [sys.executable, "-m", "ivr.inference_service", *serve_args,
                        "--data-dir", str(data_dir)]
        self.env = env or {}
        self.log_path = Path(data_dir) / "workers" / "inference.log"
        self.backoff_s, self.stable_after_s = backoff_s, stable_after_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restarts = 0
        self.next_start = 0.0
        self._log_offset = 0  # where the running process's log begins

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as f:
            f.seek(self._log_offset)
            return f.read().decode(errors="replace")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 180.0) -> InferenceProcess:
        """Start it and wait until its models are loaded and its socket listens."""
        self._spawn()
        deadline = time.monotonic() + timeout
        while READY not in self.log():
            if not self.running():
                raise RuntimeError(f"inference server exited:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"inference server not ready in time:\n{self.log()[-3000:]}")
            time.sleep(0.2)
        return self

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                env={**os.environ, **self.env}, start_new_session=True,
                preexec_fn=die_with_parent())
        self.started_at = time.monotonic()
        log.info("inference server: started pid %d", self.proc.pid)

    def poll(self) -> None:
        """Restart it after an exit, with exponential back-off between crashes."""
        now = time.monotonic()
        if self.proc is not None and self.proc.poll() is not None:
            uptime = now - self.started_at
            if uptime >= self.stable_after_s:
                self.restarts = 0
            delay = min(self.backoff_s[1], self.backoff_s[0] * 2 ** self.restarts)
            log.warning("inference server: exited with %d after %.1f s; restarting in %.1f s",
                        self.proc.returncode, uptime, delay)
            self.proc = None
            self.restarts += 1
            self.next_start = now + delay
        elif self.proc is None and now >= self.next_start:
            self._spawn()

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, wait; SIGKILL its process group if it hangs."""
        if self.proc is None:
            return None
        return stop_child(self.proc, timeout, hung=lambda: log.error(
            "inference server: no exit after SIGTERM; killing it"))
