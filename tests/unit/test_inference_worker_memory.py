"""What a shared worker gives back after start-up and after calls (issue 22): wordfreq's
cached frequency lists are dropped once the common-word sets are built (the sets stay), and
heap trims after calls are throttled."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ivr import worker_memory


def test_wordfreq_lists_are_dropped_and_the_common_words_stay() -> None:
    wordfreq = pytest.importorskip("wordfreq")
    from ivr.understanding.fuzzy import common_words

    words = common_words("en")
    assert "bill" in words and wordfreq.get_frequency_dict.cache_info().currsize >= 1
    worker_memory.release_startup_memory()
    assert wordfreq.get_frequency_dict.cache_info().currsize == 0
    assert wordfreq.get_frequency_list.cache_info().currsize == 0
    assert common_words("en") is words  # (functools.cache: not rebuilt)


def test_the_sets_a_callers_turn_asks_for_are_built_before_the_lists_go() -> None:
    """A Mandarin turn asks fuzzy matching for "zh" although the engine warmed "zh-CN": that
    set is built at start-up, so no caller's turn reads wordfreq's lists again."""
    wordfreq = pytest.importorskip("wordfreq")
    from ivr.understanding.fuzzy import common_words

    worker_memory.release_startup_memory(["zh-CN", "en-US"])
    assert wordfreq.get_frequency_dict.cache_info().currsize == 0
    for language in ("zh", "en", "zh-CN", "en-US"):
        assert common_words(language)
    assert wordfreq.get_frequency_dict.cache_info().currsize == 0  # all cached already
    assert common_words("zh") == common_words("zh-CN")


def test_heap_trims_after_calls_are_throttled(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    monkeypatch.setattr(worker_memory, "_last_trim", 0.0)
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self.name))
    worker_memory.trim_after_call()
    worker_memory.trim_after_call()  # within TRIM_EVERY_S: not again
    assert started == ["heap-trim"]
    monkeypatch.setattr(worker_memory, "_last_trim", -worker_memory.TRIM_EVERY_S - 1e9)
    worker_memory.trim_after_call()
    assert started == ["heap-trim", "heap-trim"]
    worker_memory.tune_allocator()  # glibc accepts both settings (no exception)


REPORTING = """
import sys, tracemalloc
from pathlib import Path
from ivr import worker_memory

class Grown:
    def __init__(self, data):
        self.data = data

out = Path(sys.argv[1])
tracemalloc.start(4)
worker_memory.write_memory_report(out)
import colorsys  # a module the baseline did not have
kept = [Grown(bytes(4096)) for _ in range(2000)]  # ~8 MB alive at the second report
BIG_TABLE = {f"word{i}": f"tag{i}" for i in range(6000)}  # strings only: gc does not track it
worker_memory.write_memory_report(out)
"""


def test_a_memory_report_names_what_grew_since_the_baseline(tmp_path) -> None:
    """The first report is the baseline; the second names the largest container and what
    holds it, a module imported in between, the object type that multiplied and (traced)
    the line whose allocations are still alive. (In a fresh process: a small heap.)"""
    script = tmp_path / "reporting.py"
    script.write_text(REPORTING)
    subprocess.run([sys.executable, str(script), str(tmp_path / "out")], check=True,
                   timeout=120, cwd=Path(__file__).resolve().parents[2])
    first = (tmp_path / "out").glob("memory-*-1.txt")
    second = list((tmp_path / "out").glob("memory-*-2.txt"))
    assert "largest 30 allocation sites" in next(first).read_text() and len(second) == 1
    text = second[0].read_text()
    largest = text.split("== largest containers")[1].split("==")[0]
    assert any("dict of 6000 items held by __main__.BIG_TABLE" in line
               for line in largest.splitlines())
    grown = text.split("by line (top")[1].split("==")[0]
    assert "reporting.py" in grown.splitlines()[1]  # the largest growth
    assert "colorsys" in text.split("== modules imported since the baseline")[1]
    assert "Grown" in text.split("== object types whose count grew")[1]


def test_memory_reports_are_off_without_the_setting(monkeypatch) -> None:
    monkeypatch.delenv(worker_memory.REPORT_ENV, raising=False)
    assert worker_memory.arm_memory_report() is False

