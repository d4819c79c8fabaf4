"""A child started with `die_with_parent()` does not outlive a parent killed with SIGKILL
(the cluster supervisor's inference server, workers and Kamailio were left as orphans)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ivr.cluster import parent_death

pytestmark = pytest.mark.skipif(not parent_death.supported(), reason="needs Linux prctl")

PARENT = textwrap.dedent("""
    import subprocess, sys, time
    from ivr.cluster.parent_death import die_with_parent
    protect = sys.argv[1] == "1"
    child = subprocess.Popen(["sleep", "120"], start_new_session=True,
                             preexec_fn=die_with_parent() if protect else None)
    print(child.pid, flush=True)
    time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie waiting for its new parent to reap it is dead


def _orphan_after_parent_killed(protect: bool, wait_s: float) -> tuple[int, bool]:
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, "-c", PARENT, "1" if protect else "0"],
                              stdout=subprocess.PIPE, text=True, cwd=root,
                              env={**os.environ, "PYTHONPATH": str(root)})
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait(10)
    deadline = time.monotonic() + wait_s
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    return child, _alive(child)


def test_the_child_is_terminated_when_its_parent_is_killed() -> None:
    _, alive = _orphan_after_parent_killed(protect=True, wait_s=20)
    assert not alive


def test_without_it_the_child_is_orphaned() -> None:
    """The control: the test would pass on its own if SIGKILL took the child too."""
    child, alive = _orphan_after_parent_killed(protect=False, wait_s=1)
    try:
        assert alive
    finally:
        if alive:
            os.kill(child, signal.SIGKILL)


def test_the_hook_exits_when_the_parent_is_already_gone() -> None:
    """Run in a child whose parent is not the one that made the hook: it must exit(1)."""
    hook = parent_death.die_with_parent()
    assert hook is not None
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        pid2 = os.fork()
        if pid2 == 0:
            hook()  # our parent is the first child, not the test process
            os._exit(0)
        _, status = os.waitpid(pid2, 0)
        os._exit(os.waitstatus_to_exitcode(status))
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1
