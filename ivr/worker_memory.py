"""Memory a worker needed to start and never needs again (issue 22: <= 150 MB per worker).

jieba's part-of-speech tagger builds a dict of the tags of all its ~349,000 words (~49 MB)
when the dialplan loads it; once the engine is built it reads them from a table shared by the
machine's workers instead (`ivr.word_tags`, beside the mapped word table of `ivr.word_table`).

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

What a worker holds, asked of the worker itself (a debugging aid, nothing when off): with
`WORKER_MEMORY_REPORT=<directory>` in its environment (not an `IVR_` setting: a tool for a
developer, not a way to run the service), each SIGUSR2 writes `memory-<pid>-<n>.txt` there:
the largest containers and what holds them; from the second report on, the modules imported
and the object types multiplied since the first. `WORKER_MEMORY_REPORT_FRAMES=N` adds
tracemalloc from the end of start-up (what grew, by line and call stack), but not in a SIP
worker: workers tracing allocations crashed in pjsua2's media set-up at their first call
(SIGSEGV in a SWIG iterator, 2 runs of 2; reports without tracing: 0 of 2). `scripts/bench_memory
--report` sends the signals before and after its calls.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import signal
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["arm_memory_report", "release_startup_memory", "trim_after_call", "tune_allocator",
           "write_memory_report"]

TRIM_EVERY_S = 5.0
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8  # glibc's mallopt parameters (malloc.h)
_last_trim = 0.0
_trim_lock = threading.Lock()
REPORT_ENV, REPORT_FRAMES_ENV = "WORKER_MEMORY_REPORT", "WORKER_MEMORY_REPORT_FRAMES"
_TOP = 30  # lines of each table in a report
_CONTAINERS = (dict, list, set, frozenset, tuple)


class _Baseline:
    """What the first report saw; later reports are told against it."""

    snapshot: tracemalloc.Snapshot | None = None
    modules: frozenset[str] = frozenset()
    types: Counter[str] = Counter()
    reports = 0
    armed = False


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
    _share_jieba_tags()
    wordfreq = sys.modules.get("wordfreq")
    if wordfreq is not None:
        for name in ("get_frequency_dict", "get_frequency_list"):
            cached = getattr(wordfreq, name, None)
            if hasattr(cached, "cache_clear"):
                cached.cache_clear()
    gc.collect()
    _malloc_trim()
    arm_memory_report()  # (the worker is built: from here on, what grows is what calls leave)


def _share_jieba_tags() -> None:
    """jieba's tagger (loaded with a Mandarin dialplan) reads its ~49 MB dict of word tags
    from a table beside the machine's mapped word table (`ivr.word_tags`), in workers that
    map that one (on the shared inference server); elsewhere it keeps its dict."""
    jieba = sys.modules.get("jieba")
    words = getattr(getattr(jieba, "dt", None), "FREQ", None)
    if "jieba.posseg" not in sys.modules or words is None:
        return
    from ivr.word_table import MappedFreq
    from ivr.word_tags import share_tags

    mapped = getattr(words, "_hashes", None) if isinstance(words, MappedFreq) else None
    if mapped is not None and getattr(mapped, "filename", None):
        share_tags(Path(mapped.filename).parent.parent)  # (the models directory)


def arm_memory_report(directory: str | None = None) -> bool:
    """With `WORKER_MEMORY_REPORT` (or `directory`) set: write a report on SIGUSR2 (and trace
    allocations from now on if `WORKER_MEMORY_REPORT_FRAMES` > 0). Once per process; True if
    armed. Call it from the main thread."""
    where = directory or os.environ.get(REPORT_ENV)
    if not where or _Baseline.armed:
        return False
    frames = int(os.environ.get(REPORT_FRAMES_ENV, "0") or 0)
    if frames > 0 and not tracemalloc.is_tracing():
        tracemalloc.start(frames)
    signal.signal(signal.SIGUSR2, lambda _sig, _frame: write_memory_report(Path(where)))
    _Baseline.armed = True
    log.warning("memory reports armed: SIGUSR2 writes them to %s (%s)", where,
                f"tracing {frames} frames: a debugging aid only" if frames else "no tracing")
    return True


def write_memory_report(directory: Path) -> Path:
    """Write what this process holds now (see the module's docstring); returns the file."""
    gc.collect()
    objects = gc.get_objects()
    modules = frozenset(sys.modules)
    types = Counter(type(o).__qualname__ for o in objects)
    _Baseline.reports += 1
    lines = [f"pid {os.getpid()} report {_Baseline.reports} at {time.time():.0f}",
             _rollup_line(), "\n== largest containers (one level deep) and who holds them"]
    lines += _largest_containers(objects)
    del objects
    first = _Baseline.reports == 1
    if first:
        _Baseline.modules, _Baseline.types = modules, types
    else:
        lines.append("\n== modules imported since the baseline")
        lines += sorted(modules - _Baseline.modules) or ["(none)"]
        lines.append(f"\n== object types whose count grew (top {_TOP})")
        grew = Counter({k: v - _Baseline.types[k] for k, v in types.items()
                        if v > _Baseline.types[k]})
        lines += [f"{n:+8d} {name}" for name, n in grew.most_common(_TOP)]
    if tracemalloc.is_tracing():
        lines += _traced(first)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"memory-{os.getpid()}-{_Baseline.reports}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _traced(first: bool) -> list[str]:
    """tracemalloc's view: the largest sites (baseline), or what grew since, by line and by
    call stack."""
    snapshot = tracemalloc.take_snapshot()  # (unfiltered: filter_traces is pure Python, slow)
    traced = sum(s.size for s in snapshot.statistics("filename"))
    lines = [f"\nPython allocations traced since arming: {traced / 2**20:.1f} MB"]
    base = _Baseline.snapshot
    if first or base is None:
        _Baseline.snapshot = snapshot
        lines.append(f"== largest {_TOP} allocation sites")
        return lines + [str(s) for s in snapshot.statistics("lineno")[:_TOP]]
    grown = snapshot.compare_to(base, "lineno")
    lines.append(f"== grown since the baseline ({_mb(sum(d.size_diff for d in grown))}), "
                 f"by line (top {_TOP})")
    lines += [str(d) for d in grown[:_TOP]]
    lines.append(f"\n== grown since the baseline, by call stack (top {_TOP // 3})")
    for d in snapshot.compare_to(base, "traceback")[:_TOP // 3]:
        lines.append(f"{_mb(d.size_diff)} in {d.count_diff:+d} blocks")
        lines += ["    " + line for line in d.traceback.format(most_recent_first=True)]
    return lines


def _largest_containers(objects: list[Any], top: int = 12) -> list[str]:
    """The dicts, lists, sets and tuples of >= 5,000 items with the most memory (themselves
    and their items, one level deep), each with the attribute or module name holding it.
    One pass over what gc tracks (a dict of strings only is not tracked: its holder is)."""
    big: dict[int, Any] = {}
    holders: dict[int, list[Any]] = {}
    for o in objects:
        if type(o) in _CONTAINERS and len(o) >= 5000:
            big[id(o)] = o
        for c in gc.get_referents(o):
            if type(c) in _CONTAINERS and len(c) >= 5000:
                big[id(c)] = c
                holders.setdefault(id(c), []).append(o)
    sized = []
    for c in big.values():
        if isinstance(c, dict):
            items = sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in c.items())
        else:
            items = sum(map(sys.getsizeof, c))
        sized.append((sys.getsizeof(c) + items, c))
    sized.sort(key=lambda t: t[0], reverse=True)
    modules = {id(vars(m)): name for name, m in list(sys.modules.items())
               if getattr(m, "__dict__", None) is not None}
    return [f"{_mb(size)} {type(c).__name__} of {len(c)} items held by "
            f"{_holder(c, holders.get(id(c), []), modules)}"
            for size, c in sized[:top]] or ["(none)"]


def _holder(obj: object, refs: list[Any], modules: dict[int, str]) -> str:
    """`module.name`, `Type.attribute` or `a dict.key` of the references to `obj`."""
    names = set()
    for ref in refs[:20]:
        attrs = ref if isinstance(ref, dict) else getattr(ref, "__dict__", None)
        key = next((k for k, v in attrs.items() if v is obj), None) if isinstance(
            attrs, dict) else None
        owner = modules.get(id(ref)) or ("a dict" if isinstance(ref, dict) else
                                         type(ref).__qualname__)
        names.add(owner + (f".{key}" if key is not None else ""))
    return ", ".join(sorted(names)[:3]) or "(nothing gc tracks)"


def _mb(size: int) -> str:
    return f"{size / 2**20:+.1f} MB"


def _rollup_line() -> str:
    """RSS / PSS / USS of this process from /proc (empty elsewhere)."""
    try:
        text = Path("/proc/self/smaps_rollup").read_text()
    except OSError:
        return ""
    kb = {k.strip(): int(v.split()[0]) for k, _, v in (ln.partition(":")
          for ln in text.splitlines()[1:]) if v.split() and v.split()[0].isdigit()}
    uss = kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)
    return (f"RSS {kb.get('Rss', 0) >> 10} MB, PSS {kb.get('Pss', 0) >> 10} MB, "
            f"USS {uss >> 10} MB, anonymous {kb.get('Anonymous', 0) >> 10} MB")


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
