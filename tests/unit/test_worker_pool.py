"""`WorkerPool` with a stand-in worker: ports, restart with back-off, stop by PID."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ivr.cluster.supervisor import WorkerPool

FAKE = """
import sys, time
print("ready: fake", " ".join(sys.argv[1:]), flush=True)
time.sleep(float(__import__("os").environ.get("FAKE_LIFE", "60")))
"""


def _pool(tmp_path: Path, life: str) -> WorkerPool:
    script = tmp_path / "fake_ivr.py"
    script.write_text(FAKE)
    return WorkerPool(2, serve_args=["--config", "x.yaml"], data_dir=tmp_path,
                      sip_base_port=6000, http_base_port=7000,
                      ivr_command=[sys.executable, str(script)], env={"FAKE_LIFE": life},
                      backoff_s=(0.2, 1.0))


def test_workers_get_their_own_ports_and_data_dirs(tmp_path: Path) -> None:
    pool = _pool(tmp_path, "60").start(timeout=10)
    try:
        assert [(a.port, a.name) for a in pool.addrs] == [(6000, "worker0"), (6001, "worker1")]
        log = pool.workers[1].log()
        assert "--sip-port 6001 --http-port 7001" in log
        assert f"--data-dir {tmp_path / 'worker-1'} --config x.yaml" in log
    finally:
        codes = pool.stop(timeout=5)
    assert set(codes) == {0, 1} and not any(w.running() for w in pool.workers)


def test_a_crashed_worker_is_restarted_with_back_off(tmp_path: Path) -> None:
    pool = _pool(tmp_path, "0.1").start(timeout=10)
    try:
        deadline = time.monotonic() + 10
        while min(w.restarts for w in pool.workers) < 2 and time.monotonic() < deadline:
            pool.poll()
            time.sleep(0.05)
        assert min(w.restarts for w in pool.workers) >= 2
        assert pool.workers[0].log().count("ready: fake") >= 2
    finally:
        pool.stop(timeout=5)
    pool.poll()  # stopped: no restart any more
    assert not any(w.running() for w in pool.workers)
