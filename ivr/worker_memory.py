"""Memory a worker needed to start and never needs again (issue 22: <= 150 MB per worker).

Building a dialplan's engine reads wordfreq's frequency lists (English and Chinese, ~65 MB
of Python objects) to make the sets of common words `ivr.understanding.fuzzy` keeps (a few
MB, kept). wordfreq caches the whole lists in `functools.lru_cache`s for the life of the
process; nothing at call time reads them, so they are dropped once the engine is built, and
the C heap's freed pages are handed back to the kernel. Nothing here changes a result: a
list needed again (a reload adding a language) is read again.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sys

log = logging.getLogger(__name__)

__all__ = ["release_startup_memory"]


def release_startup_memory() -> None:
    """Drop wordfreq's cached frequency lists (if loaded), collect, trim the C heap."""
    wordfreq = sys.modules.get("wordfreq")
    if wordfreq is not None:
        for name in ("get_frequency_dict", "get_frequency_list"):
            cached = getattr(wordfreq, name, None)
            if hasattr(cached, "cache_clear"):
                cached.cache_clear()
    gc.collect()
    _malloc_trim()


def _malloc_trim() -> None:
    """glibc's malloc_trim(0): free heap pages back to the kernel (no-op elsewhere)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim = getattr(libc, "malloc_trim", None)
    except OSError:
        return
    if trim is not None:
        trim(0)
