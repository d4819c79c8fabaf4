"""`ivr.cluster.stop_child`: a child in its own session is asked to stop, and its whole
process group is killed when it does not (real `sh` children, under a second each)."""

from __future__ import annotations

import signal
import subprocess

from ivr.cluster.stop_child import kill_group, stop_child


def _child(script: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["sh", "-c", script], start_new_session=True,
                            stdout=subprocess.PIPE)
    return proc


def test_a_child_that_obeys_exits_with_the_signal() -> None:
    hung: list[bool] = []
    proc = _child("exec sleep 30")
    assert stop_child(proc, 5.0, hung=lambda: hung.append(True)) == -signal.SIGTERM
    assert hung == []


def test_a_child_that_ignores_the_signal_is_killed_with_its_group() -> None:
    hung: list[bool] = []
    proc = _child("trap '' TERM INT; echo ready; sleep 30 & wait; sleep 30")
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"  # trap is set
    code = stop_child(proc, 0.3, signal.SIGINT, hung=lambda: hung.append(True))
    assert code == -signal.SIGKILL and hung == [True]


def test_an_exited_child_is_left_alone() -> None:
    proc = _child("exit 3")
    proc.wait(5)
    assert stop_child(proc, 1.0) == 3
    kill_group(proc.pid)  # its group is gone: nothing raised
