"""OS-level names for the service's own threads.

Python's `threading.Thread(name=...)` names a thread for Python only: in `/proc/PID/task/*/comm`,
`top -H` and py-spy's native view every thread of a worker is called like the process, so
per-thread CPU (`scripts/loadtest`'s breakdown) cannot tell the store's writer from an
executor. `name_os_thread()` sets the kernel's name of the calling thread (15 bytes at most,
`prctl(PR_SET_NAME)`); elsewhere than Linux it does nothing.
"""

from __future__ import annotations

import ctypes

from ivr.prctl import PRCTL

PR_SET_NAME = 15
STORE_WRITER = "ivr-store"  # the store's writer thread (`ivr.storage.writer`)


_PRCTL = PRCTL


def name_os_thread(name: str) -> bool:
    """Name the calling thread `name` (cut to 15 bytes) for the kernel; False if not done."""
    if _PRCTL is None:
        return False
    raw = name.encode("ascii", "replace")[:15]
    return _PRCTL(PR_SET_NAME, ctypes.c_char_p(raw), 0, 0, 0) == 0
