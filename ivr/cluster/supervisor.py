"""Run several `ivr serve` workers behind a Kamailio front, as one service.

`WorkerPool` owns N worker subprocesses (own SIP port and HTTP port each; one shared data
directory and database), restarts a crashed worker with exponential back-off, and stops them
all by PID. `serve_cluster` adds the Kamailio front and a graceful drain: on SIGINT/SIGTERM
every local worker is disabled in the dispatcher (no new calls) and told to drain (a worker
answers new INVITEs with 503 and lets its calls finish, bounded by `drain_timeout_s`), then
front and workers are stopped. Unless `asr.service` is `local`, the machine's inference server
(`ivr.cluster.inference_process`: the Whisper models, once) starts before the workers, which
recognise through it, and is restarted with back-off like them.

Shared state: every worker writes calls, events, agents and queues to the same database
(`database_url`: SQLite in the data directory on one machine, PostgreSQL for several), so any
worker's dashboard and API see every call. A worker stamps its calls with its SIP address and,
after a crash, closes only its own calls left `active`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ivr.cluster.inference_process import InferenceProcess
from ivr.cluster.kamailio import KamailioError, KamailioProcess
from ivr.cluster.kamailio_config import WorkerAddr
from ivr.cluster.parent_death import die_with_parent
from ivr.cluster.sip_edge import SipEdge

__all__ = ["Worker", "WorkerPool", "serve_cluster", "worker_env"]

log = logging.getLogger("ivr.cluster")


@dataclass
class Worker:
    """One `ivr serve` subprocess and its restart bookkeeping."""

    index: int
    sip_host: str
    sip_port: int
    http_port: int
    data_dir: Path  # shared by all workers of the pool
    log_path: Path  # this worker's own log
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    next_start: float = 0.0  # monotonic time of the next (re)start when not running

    @property
    def addr(self) -> WorkerAddr:
        return WorkerAddr(self.sip_host, self.sip_port, name=f"worker{self.index}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def health(self, timeout: float = 2.0) -> dict[str, object]:
        """The worker's `/api/health` (no token needed)."""
        url = f"http://127.0.0.1:{self.http_port}/api/health"
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return dict(json.load(resp))


class WorkerPool:
    """N `ivr serve` workers on consecutive ports, restarted when they crash."""

    def __init__(
        self,
        count: int,
        *,
        serve_args: list[str],
        data_dir: Path,
        sip_host: str = "127.0.0.1",
        sip_base_port: int = 5070,
        http_base_port: int = 8081,
        ivr_command: list[str] | None = None,
        env: dict[str, str] | None = None,
        backoff_s: tuple[float, float] = (1.0, 30.0),
        stable_after_s: float = 60.0,
    ) -> None:
        if count < 1:
            raise ValueError("count must be >= 1")
        self.serve_args = list(serve_args)
        self.command = ivr_command or [sys.executable, "-m", "ivr.cli"]
        self.env = env or {}
        self.backoff_s = backoff_s
        self.stable_after_s = stable_after_s
        self.workers = [
            Worker(i, sip_host, sip_base_port + i, http_base_port + i, data_dir,
                   data_dir / "workers" / f"worker-{i}.log")
            for i in range(count)
        ]
        self._stopping = False
        self._lock = threading.Lock()

    @property
    def addrs(self) -> list[WorkerAddr]:
        return [w.addr for w in self.workers]

    def start(self, timeout: float = 180.0) -> WorkerPool:
        """Start every worker (in parallel) and wait until each logs "ready:"."""
        for w in self.workers:
            self._spawn(w)
        deadline = time.monotonic() + timeout
        for w in self.workers:
            self._wait_ready(w, deadline)
        return self

    def _spawn(self, w: Worker) -> None:
        w.log_path.parent.mkdir(parents=True, exist_ok=True)
        logf = open(w.log_path, "ab")  # noqa: SIM115 - the child owns it; closed below
        try:
            w.proc = subprocess.Popen(
                [*self.command, "serve", "--sip-host", w.sip_host, "--sip-port", str(w.sip_port),
                 "--http-port", str(w.http_port), "--data-dir", str(w.data_dir),
                 *self.serve_args],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                env={**os.environ, **self.env}, start_new_session=True,
                preexec_fn=die_with_parent(),
            )
        finally:
            logf.close()
        w.started_at = time.monotonic()
        log.info("worker%d: started pid %d (sip %s:%d, http %d)", w.index, w.proc.pid,
                 w.sip_host, w.sip_port, w.http_port)

    def _wait_ready(self, w: Worker, deadline: float) -> None:
        while "ready:" not in w.log():
            if w.proc is None or w.proc.poll() is not None:
                code = w.proc.returncode if w.proc else None
                raise RuntimeError(f"worker{w.index} exited with {code}:\n{w.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker{w.index} not ready in time:\n{w.log()[-3000:]}")
            time.sleep(0.2)

    def poll(self) -> None:
        """Restart crashed workers, with exponential back-off between crashes."""
        now = time.monotonic()
        with self._lock:
            if self._stopping:
                return
            for w in self.workers:
                if w.proc is not None and w.proc.poll() is not None:
                    uptime = now - w.started_at
                    if uptime >= self.stable_after_s:
                        w.restarts = 0
                    delay = min(self.backoff_s[1], self.backoff_s[0] * 2 ** w.restarts)
                    log.warning("worker%d: exited with %d after %.1f s; restarting in %.1f s",
                                w.index, w.proc.returncode, uptime, delay)
                    w.proc = None
                    w.restarts += 1
                    w.next_start = now + delay
                elif w.proc is None and now >= w.next_start:
                    self._spawn(w)

    def signal_all(self, sig: int) -> None:
        for w in self.workers:
            if w.running():
                assert w.proc is not None
                with contextlib.suppress(ProcessLookupError):
                    w.proc.send_signal(sig)

    def stop(self, timeout: float = 30.0, drain_s: float = 0.0) -> dict[int, int | None]:
        """SIGTERM every worker, wait; SIGKILL the process group of any that hangs.

        With `drain_s` the first SIGTERM lets workers started with `sip.drain_timeout_s`
        finish their calls for up to `drain_s`; a second SIGTERM then hangs up the rest."""
        with self._lock:
            self._stopping = True
        if drain_s > 0:
            self.signal_all(signal.SIGTERM)
            deadline = time.monotonic() + drain_s
            while any(w.running() for w in self.workers) and time.monotonic() < deadline:
                time.sleep(0.2)
        self.signal_all(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        codes: dict[int, int | None] = {}
        for w in self.workers:
            if w.proc is None:
                continue
            try:
                w.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker%d: no exit after SIGTERM; killing it", w.index)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(w.proc.pid, signal.SIGKILL)
                w.proc.wait(5)
            codes[w.index] = w.proc.returncode
        return codes

    def active_calls(self) -> int:
        """Calls in progress on running workers (unreachable workers count as 0)."""
        total = 0
        for w in self.workers:
            if w.running():
                with contextlib.suppress(OSError, ValueError):
                    total += int(w.health().get("active_calls", 0))  # type: ignore[call-overload]
        return total


def serve_cluster(
    serve_args: list[str],
    workers: int,
    public_port: int,
    *,
    public_host: str = "127.0.0.1",
    data_dir: Path = Path("var"),
    sip_base_port: int | None = None,
    http_base_port: int = 8081,
    remote_workers: list[WorkerAddr] | None = None,
    probe_interval_s: int = 1,
    retry_after_s: int = 30,
    drain_timeout_s: float = 600.0,
    stop_event: threading.Event | None = None,
    database_url: str | None = None,
    edge: SipEdge | None = None,
) -> int:
    """Run `workers` local workers (+ remote ones) behind Kamailio until SIGINT/SIGTERM.

    `edge` is the front's admission policy and transports (default: open, UDP, pike on);
    local workers answer only the front's address (`sip.allow_from`).

    Returns 0 after a clean drain and stop. `stop_event` lets a caller (or a test) stop it
    without a signal; signal handlers are installed only in the main thread.
    """
    stop = stop_event or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    env = worker_env(data_dir, database_url, drain_timeout_s, front_host=public_host)
    inference = shared_inference(serve_args, data_dir, env)  # models once per machine
    if inference is not None:
        env["IVR_ASR__SERVICE"] = "shared"
    pool = WorkerPool(
        workers, serve_args=serve_args, data_dir=data_dir, sip_host=public_host,
        sip_base_port=sip_base_port or public_port + 10, http_base_port=http_base_port,
        env=env,
    )
    front = KamailioProcess(
        public_port, pool.addrs + list(remote_workers or []), listen_host=public_host,
        workdir=data_dir / "kamailio", probe_interval_s=probe_interval_s,
        retry_after_s=retry_after_s, edge=edge,
    )
    try:
        front.write_config()  # a rejected config fails before any worker loads its models
        if inference is not None:
            inference.start()
        pool.start()
        front.start()
        e = front.edge
        log.info("cluster ready: SIP udp%s %s:%d%s (%s, pike %s) -> %s",
                 "+tcp" if e.tcp else "", public_host, public_port,
                 f", tls {e.tls_port}" if e.tls_port else "", e.policy,
                 f"{e.pike_requests}/{e.pike_window_s}s" if e.rate_limited else "off",
                 ", ".join(a.uri for a in front.workers))
        while not stop.wait(0.5):
            pool.poll()
            if inference is not None:
                inference.poll()
            if front.proc is None or front.proc.poll() is not None:
                log.error("kamailio exited:\n%s", front.log()[-2000:])
                return 1
        log.info("draining: no new calls; waiting for %d call(s)", pool.active_calls())
        for addr in pool.addrs:
            with contextlib.suppress(KamailioError, OSError, subprocess.SubprocessError):
                front.set_state(addr, "d")
        pool.stop(drain_s=drain_timeout_s + 5)  # each worker drains its own calls
        return 0
    finally:
        pool.stop()
        front.stop()
        if inference is not None:
            inference.stop()


def shared_inference(serve_args: list[str], data_dir: Path,
                     env: dict[str, str]) -> InferenceProcess | None:
    """The machine's inference server for these workers, unless `asr.service` is local
    (each worker then loads its own models)."""
    from ivr.inference_service import settings_for, uses_shared

    settings = settings_for([*serve_args, "--data-dir", str(data_dir)])
    if not uses_shared(settings, cluster=True):
        return None
    return InferenceProcess(serve_args, data_dir, env=env)


def worker_env(data_dir: Path, database_url: str | None, drain_timeout_s: float,
               front_host: str | None = None) -> dict[str, str]:
    """Environment of every local worker: one shared database (the configured URL, else the
    SQLite file in the shared data directory), drain-on-SIGTERM, and, with `front_host`,
    INVITEs answered only from the front (the worker's own allow-list, `sip.allow_from`):
    a worker binds the front's address, so without it anyone reaching that address could
    call the worker directly and skip the front's allow-list, digest and rate limit."""
    from ivr.config_sections import SipSettings

    url = database_url or f"sqlite:///{(Path(data_dir) / 'ivr.sqlite').resolve()}"
    env = {"IVR_DATABASE_URL": url, "IVR_SIP__DRAIN_TIMEOUT_S": str(drain_timeout_s)}
    if front_host is not None and "allow_from" in SipSettings.model_fields:
        # a front on a wildcard address reaches local workers from loopback
        source = "127.0.0.1" if front_host in ("0.0.0.0", "") else front_host  # noqa: S104
        env["IVR_SIP__ALLOW_FROM"] = json.dumps([source])
    return env
