"""Linux's `prctl(2)` through ctypes, loaded once (None elsewhere): the one libc binding that
`ivr.thread_names` (thread names) and `ivr.cluster.parent_death` (parent-death signal) use."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable


def _load() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


PRCTL = _load()
