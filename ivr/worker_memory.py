"""Memory a worker needed to start and never needs again (issue 22: <= 150 MB per worker).

Building a dialplan's engine reads wordfreq's frequency lists (English and Chinese, ~65 MB
of Python objects) to make the sets of common words `ivr.understanding.fuzzy` keeps (a few
MB, kept). wordfreq caches the whole lists in `functools.lru_cache`s for the life of the
process; nothing at call time reads them, so they are dropped once the engine is built, and
the C heap's freed pages are handed back to the kernel. Nothing here changes a result: a
list needed again (a reload adding a language) is read again.

Calls leave the C heap larger than they found it: glibc raises its mmap threshold after a
large buffer (a call's audio) is freed, so later large buffers come from the heap and stay
there, and each thread that allocates gets an arena of its own. `tune_allocator` fixes the
threshold at 128 KiB and allows two arenas (a worker on the shared inference server runs no
model threads, and its Python runs one thread at a time anyway); `trim_after_call` gives
freed heap pages back after a call ends (at most once every `TRIM_EVERY_S`, on a thread of
its own: a trim takes milliseconds).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["release_startup_memory", "trim_after_call", "tune_allocator"]

TRIM_EVERY_S = 5.0
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8  # glibc's mallopt parameters (malloc.h)
_last_trim = 0.0
_trim_lock = threading.Lock()


def release_startup_memory(languages: Iterable[str] = ()) -> None:
    """Build the common-word sets calls will ask for, then drop wordfreq's cached frequency
    lists (if loaded), collect, trim the C heap.

    `ivr.understanding.fuzzy` caches a set per language *string*: the engine warms "zh-CN"
    and "en-US", but a caller's turn asks for "zh" (sound matching) or the base language,
    which used to read wordfreq's lists again during the first Mandarin caller's turn
    (~1 s, and ~40 MB kept for good). Those are built here, at start-up, from the same
    lists: the same sets, earlier."""
    if languages:
        from ivr.understanding.fuzzy import common_words

        wanted = set(languages) | {lang.split("-")[0].lower() for lang in languages}
        if wanted & {"zh", "yue", "cmn"}:
            wanted.add("zh")
        for language in sorted(wanted):
            common_words(language)
    wordfreq = sys.modules.get("wordfreq")
    if wordfreq is not None:
        for name in ("get_frequency_dict", "get_frequency_list"):
            cached = getattr(wordfreq, name, None)
            if hasattr(cached, "cache_clear"):
                cached.cache_clear()
    gc.collect()
    _malloc_trim()


def tune_allocator() -> None:
    """A fixed 128 KiB mmap threshold and at most two malloc arenas (glibc; no-op elsewhere)."""
    mallopt = _libc("mallopt")
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
        mallopt(_M_ARENA_MAX, 2)


def trim_after_call() -> None:
    """Hand the heap pages a finished call freed back to the kernel (throttled, threaded)."""
    global _last_trim
    with _trim_lock:
        now = time.monotonic()
        if now - _last_trim < TRIM_EVERY_S:
            return
        _last_trim = now
    threading.Thread(target=_malloc_trim, name="heap-trim", daemon=True).start()


def _libc(symbol: str) -> Any:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), symbol, None) if name else None
    except OSError:
        return None


def _malloc_trim() -> None:
    """glibc's malloc_trim(0): free heap pages back to the kernel (no-op elsewhere)."""
    trim = _libc("malloc_trim")
    if trim is not None:
        trim(0)
