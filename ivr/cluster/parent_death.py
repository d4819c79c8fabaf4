"""Children of the cluster supervisor die with it.

The supervisor starts the inference server, the workers and Kamailio in their own sessions
(`start_new_session=True`: a Ctrl-C at the terminal reaches the supervisor only, which
drains and stops them in order). The price was orphans: a supervisor killed with SIGKILL
(or crashing) left them running, holding the SIP and HTTP ports and ~600 MB of models, and
the next `ivr serve --workers N` failed on busy ports.

`die_with_parent()` makes a `preexec_fn` that asks Linux for SIGTERM when the parent dies
(`prctl(PR_SET_PDEATHSIG)`); a worker drains on SIGTERM as it does when stopped, Kamailio
stops its own children. The signal is tied to the parent *thread* that forked, so spawn
only from a thread that lives as long as the children (the supervisor's loop does). If the
parent died between the fork and the `prctl`, the child exits at once.

Elsewhere than Linux (no prctl) it does nothing. The function called in the forked child
is bound before the fork, so the child imports nothing and takes no lock.
"""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable

from ivr.prctl import PRCTL

PR_SET_PDEATHSIG = 1


_PRCTL = PRCTL


def supported() -> bool:
    return _PRCTL is not None


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` for `subprocess.Popen`: the child receives `sig` when the process
    calling this (its parent) dies. None where that is not supported."""
    prctl = _PRCTL
    if prctl is None:
        return None
    parent = os.getpid()
    getppid, exit_now = os.getppid, os._exit
    arg = ctypes.c_ulong(int(sig))

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, arg, 0, 0, 0)
        if getppid() != parent:  # the parent died before the prctl: nobody will signal us
            exit_now(1)

    return preexec
