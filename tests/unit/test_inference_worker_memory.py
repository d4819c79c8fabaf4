"""What a shared worker gives back after start-up and after calls (issue 22): wordfreq's
cached frequency lists are dropped once the common-word sets are built (the sets stay), and
heap trims after calls are throttled."""

from __future__ import annotations

import sys
import threading

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


def test_a_memory_report_names_what_grew_since_the_baseline(tmp_path, monkeypatch) -> None:
    """The first report is the baseline; the second names the largest container and what
    holds it, a module imported in between, the object type that multiplied and (traced)
    the line whose allocations are still alive."""
    import tracemalloc

    monkeypatch.setattr(worker_memory._Baseline, "snapshot", None)
    monkeypatch.setattr(worker_memory._Baseline, "reports", 0)
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    was_tracing = tracemalloc.is_tracing()
    tracemalloc.start(4)
    try:
        first = worker_memory.write_memory_report(tmp_path)
        import colorsys  # noqa: F401 - a module the baseline did not have

        kept = [_Grown(bytes(4096)) for _ in range(2000)]  # ~8 MB alive at the second report
        monkeypatch.setattr(sys.modules[__name__], "BIG_TABLE",
                            {f"word{i}": f"tag{i}" for i in range(60_000)}, raising=False)
        second = worker_memory.write_memory_report(tmp_path)
    finally:
        if not was_tracing:
            tracemalloc.stop()
    assert first.name.endswith("-1.txt") and second.name.endswith("-2.txt")
    assert "largest 30 allocation sites" in first.read_text()
    text = second.read_text()
    largest = text.split("== largest containers")[1].split("==")[0]
    assert any("dict of 60000 items held by" in line and ".BIG_TABLE" in line
               for line in largest.splitlines())
    grown = text.split("by line (top")[1].split("==")[0]
    assert "test_inference_worker_memory.py" in grown.splitlines()[1]  # the largest growth
    assert "colorsys" in text.split("== modules imported since the baseline")[1]
    types = text.split("== object types whose count grew")[1]
    assert "_Grown" in types and len(kept) == 2000


def test_memory_reports_are_off_without_the_setting(monkeypatch) -> None:
    monkeypatch.delenv(worker_memory.REPORT_ENV, raising=False)
    assert worker_memory.arm_memory_report() is False


class _Grown:
    def __init__(self, data: bytes) -> None:
        self.data = data
