"""`WorkerPool` with a stand-in worker: ports, restart with back-off, stop by PID."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ivr.cluster.supervisor import WorkerPool, worker_env

DRAINING = """
import signal, sys, time
def term(*_):  # a worker with calls in progress: ends 1 s after the first SIGTERM
    time.sleep(1)
    print("drained", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
print("ready: draining", flush=True)
time.sleep(60)
"""

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


def test_workers_get_their_own_ports_and_logs_and_share_the_data_dir(tmp_path: Path) -> None:
    pool = _pool(tmp_path, "60").start(timeout=10)
    try:
        assert [(a.port, a.name) for a in pool.addrs] == [(6000, "worker0"), (6001, "worker1")]
        log = pool.workers[1].log()
        assert "--sip-port 6001 --http-port 7001" in log
        assert f"--data-dir {tmp_path} --config x.yaml" in log
        assert pool.workers[1].log_path == tmp_path / "workers" / "worker-1.log"
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


def test_a_draining_worker_gets_time_to_finish(tmp_path: Path) -> None:
    script = tmp_path / "drain_ivr.py"
    script.write_text(DRAINING)
    pool = WorkerPool(1, serve_args=[], data_dir=tmp_path, sip_base_port=6000,
                      http_base_port=7000, ivr_command=[sys.executable, str(script)])
    pool.start(timeout=10)
    t0 = time.monotonic()
    codes = pool.stop(timeout=5, drain_s=10)
    assert codes == {0: 0}
    assert 0.8 < time.monotonic() - t0 < 8  # waited for the drain, not the whole drain_s
    assert "drained" in pool.workers[0].log()


def test_worker_env_shares_one_database_and_drains(tmp_path: Path) -> None:
    env = worker_env(tmp_path, None, 600)
    assert env == {"IVR_DATABASE_URL": f"sqlite:///{tmp_path.resolve() / 'ivr.sqlite'}",
                   "IVR_SIP__DRAIN_TIMEOUT_S": "600"}
    assert worker_env(tmp_path, "postgresql://ivr@127.0.0.1:5432/ivr", 0)[
        "IVR_DATABASE_URL"] == "postgresql://ivr@127.0.0.1:5432/ivr"
