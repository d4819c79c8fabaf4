"""scripts/loadtest's CPU by thread kind: a process of the service's tree is found through
/proc children, its main thread counted as the event loop, named pjmedia threads apart."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "loadtest"


def _loadtest() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("loadtest_script", str(SCRIPT))
    spec = importlib.util.spec_from_loader("loadtest_script", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_a_busy_child_worker_counts_as_its_event_loop() -> None:
    lt = _loadtest()
    busy = "import sys, time\nt = time.time()\nwhile time.time() - t < 5: pass"
    child = subprocess.Popen([sys.executable, "-c", busy, "ivr"])  # 'ivr' in its cmdline
    try:
        before = lt.thread_cpu(os.getpid())
        time.sleep(1.5)
        after = lt.thread_cpu(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert after["event loop"] > before["event loop"]  # the child's main thread, found
    assert set(after) == set(lt.THREAD_KINDS)


def test_format_threads_per_call_minute() -> None:
    lt = _loadtest()
    line = lt.format_threads({"cpu_s_by_thread": {"event loop": 6.0, "media clock": 3.0,
                                                  "kamailio": 0.0}, "call_minutes": 2.0})
    assert "event loop 3.00" in line and "media clock 1.50" in line
    assert "kamailio" not in line  # nothing spent: not listed
    assert lt.format_threads({"call_minutes": 0}).endswith("not sampled")


def test_first_calls_arrive_evenly_over_the_ramp() -> None:
    lt = _loadtest()
    assert lt.first_call_offsets(4, 60.0) == [0.0, 15.0, 30.0, 45.0]
    assert lt.first_call_offsets(1, 60.0) == [0.0]
    assert lt.first_call_offsets(3, 0.0) == [0.0, 0.3, 0.6]  # the runs before the ramp


def test_the_store_writer_thread_is_named_for_the_kernel() -> None:
    import threading

    from ivr.thread_names import STORE_WRITER, name_os_thread

    seen: list[str] = []

    def run() -> None:
        comm = Path(f"/proc/self/task/{threading.get_native_id()}/comm")
        assert name_os_thread(STORE_WRITER)
        seen.append(comm.read_text().strip())
        assert name_os_thread("a-name-longer-than-fifteen-bytes")  # cut, not refused
        seen.append(comm.read_text().strip())

    t = threading.Thread(target=run)  # not the test's own thread: its name is the process's
    t.start()
    t.join()
    assert seen == [STORE_WRITER, "a-name-longer-t"]
