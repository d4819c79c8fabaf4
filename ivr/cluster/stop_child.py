"""Stopping a child process that runs in its own session (`start_new_session=True`): ask it
to stop, wait, and kill its whole process group if it hangs.

The cluster supervisor (`inference_process`, `kamailio`) and the test kit (`testkit.harness`,
`testkit.pg_server`) all stop their children this way; a child that ignores the request would
otherwise hold its ports (and its own children) after we returned.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable

__all__ = ["kill_group", "stop_child"]

KILL_WAIT_S = 5.0  # after SIGKILL: the kernel reaps it at once, unless in uninterruptible I/O


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by `pid` (nothing if it is gone)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def stop_child(proc: subprocess.Popen[bytes], timeout: float, sig: int = signal.SIGTERM,
               hung: Callable[[], None] | None = None) -> int | None:
    """Send `sig` to a running `proc` and wait up to `timeout` s; if it has not exited by then,
    call `hung()` (a log line), SIGKILL its process group and wait for it. Its exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            if hung is not None:
                hung()
            kill_group(proc.pid)
            proc.wait(KILL_WAIT_S)
    return proc.returncode
