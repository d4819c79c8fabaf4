"""Drive the real `ivr serve` from real baresip softphones (tests, benchmarks, load tests).

Runs the service as a subprocess, as users run it (pjsua is a process singleton).

`IvrProcess` starts the service on free loopback ports and stops it by PID; `ScriptedCaller`
drives one baresip call, synchronising on the IVR's own call events (read over the HTTP API),
so a test says "wait until the menu prompt has finished, then speak" instead of guessing times.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ivr.cluster.stop_child import stop_child
from telephony.ports import free_tcp_port, free_udp_port, free_udp_range
from telephony.softphone import Baresip, prepare_caller_wav
from testkit import prompt_seed

REPO = Path(__file__).resolve().parents[1]
IVR_BIN = REPO / ".venv" / "bin" / "ivr"
MODEL_DIR = REPO / "var" / "cache" / "models"
TOKEN = "integration-test-token"
ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")

Event = dict[str, Any]


class IvrProcess:
    """`ivr serve` on free loopback ports with its own data directory."""

    def __init__(self, data_dir: Path, *extra_args: str, env: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.sip_port = free_udp_port()
        self.http_port = free_tcp_port()
        self.extra_args = extra_args
        self.env = env or {}
        self.log_path = data_dir / "ivr.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"sip:hotline@127.0.0.1:{self.sip_port}"

    ready_marker = "ready:"  # the log line that says the service takes calls
    shared_prompts = True  # start from the session's rendered prompts (testkit.prompt_seed)

    def start(self, timeout: float = 180.0, attempts: int = 3) -> IvrProcess:
        """Run `ivr serve` and wait for its ready line (RuntimeError with the log if it
        exits or is not ready within `timeout`). The ports were free when picked, but another
        socket may take one while the service loads its models: then it starts again on
        fresh ports (at most `attempts` times)."""
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once(timeout)
            except RuntimeError as e:
                if attempt == attempts or "Address already in use" not in str(e):
                    raise
                self.stop()  # (closes the log)
                self.sip_port, self.http_port = free_udp_port(), free_tcp_port()
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> IvrProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.shared_prompts:
            prompt_seed.seed(self.data_dir)
        env = {**os.environ, "IVR_API_TOKEN": TOKEN, "IVR_MODEL_DIR": str(MODEL_DIR),
               **self.env}
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(IVR_BIN), "serve", "--sip-port", str(self.sip_port),
             "--http-port", str(self.http_port), "--data-dir", str(self.data_dir),
             *self.extra_args],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while self.ready_marker not in self.log():
            if self.proc.poll() is not None:
                raise RuntimeError(f"ivr serve exited with {self.proc.returncode}:\n"
                                   f"{self.log()[-4000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"ivr serve not ready in {timeout} s:\n{self.log()[-4000:]}")
            time.sleep(0.2)
        if self.shared_prompts:
            prompt_seed.keep(self.data_dir)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait; SIGKILL the process group if it hangs. Returns the exit code."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        stop_child(proc, timeout)
        self._log.close()
        return proc.returncode

    # ------------------------------------------------------------ API
    def api(self, path: str, token: str | None = TOKEN) -> Any:
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)

    def api_status(self, path: str, token: str | None = TOKEN) -> int:
        try:
            self.api(path, token)
            return 200
        except urllib.error.HTTPError as e:
            return e.code

    def call(self, call_id: str) -> dict[str, Any]:
        return self.api(f"/api/calls/{call_id}")

    def call_api(self, call_id: str, path: str) -> Any:
        """`path` asked of the process that holds call `call_id` (here: the only one)."""
        return self.api(path)

    def call_id_for(self, sip_call_id: str, timeout: float = 15.0) -> str:
        """The IVR's own id of the call a phone placed with SIP Call-ID `sip_call_id` (the
        IVR names calls itself; the Call-ID is only data)."""
        query = urllib.parse.urlencode({"sip_call_id": sip_call_id, "limit": 1})
        deadline = time.monotonic() + timeout
        while True:
            calls = self.api(f"/api/calls?{query}")["calls"]
            if calls:
                return str(calls[0]["id"])
            if time.monotonic() > deadline:
                raise TimeoutError(f"no call with SIP Call-ID {sip_call_id!r} in {timeout} s")
            time.sleep(0.1)

    def wait_call_event(self, call_id: str, pred: Callable[[Event], bool],
                        timeout: float = 60.0, after: int = 0) -> Event:
        """First event of the call (with id > `after`) satisfying `pred`.

        Follows the call with the API's long poll (`/api/calls/{id}/events?after=&wait=`):
        one request per batch of new events, instead of reloading the whole call record ten
        times a second (which, with a dozen load-test callers, cost the service a visible
        share of its CPU)."""
        deadline = time.monotonic() + timeout
        cursor = after
        while True:
            wait = min(5.0, max(0.0, deadline - time.monotonic()))
            events: list[Event] = []
            try:
                got = self.call_api(call_id, f"/api/calls/{urllib.parse.quote(call_id, safe='')}"
                                    f"/events?after={cursor}&wait={wait:.2f}")
                events = got["events"]
            except urllib.error.HTTPError as e:
                if e.code != 404:
                    raise
            for ev in events:
                cursor = max(cursor, int(ev["id"]))
                if pred(ev):
                    return ev
            if time.monotonic() > deadline:
                raise TimeoutError(f"call {call_id}: no matching event in {timeout} s; "
                                   f"since then: {self._event_digest(call_id, after)}")
            if not events:
                time.sleep(0.1)  # not stored yet (404), or ended: the server did not wait

    def _event_digest(self, call_id: str, after: int) -> str:
        """The call's events after `after`, one short line each (for timeout messages)."""
        try:
            events = [ev for ev in self.call(call_id)["events"] if ev["id"] > after]
        except (OSError, urllib.error.HTTPError) as e:
            return f"(events unreadable: {e})"
        keys = ("node", "intent", "outcome", "text", "interrupted", "reason", "anger")
        return "; ".join(
            ev["type"] + " " + " ".join(f"{k}={ev['data'][k]!r}" for k in keys
                                        if k in ev["data"])
            for ev in events[-25:]) or "(none)"

    def wait_call_ended(self, call_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            call = self.call(call_id)
            if call["status"] == "ended":
                return call
            if time.monotonic() > deadline:
                raise TimeoutError(f"call {call_id} still {call['status']} after {timeout} s")
            time.sleep(0.2)


def event_is(type_: str, **fields: Any) -> Callable[[Event], bool]:
    def pred(ev: Event) -> bool:
        return ev["type"] == type_ and all(ev["data"].get(k) == v for k, v in fields.items())
    return pred


class ScriptedCaller:
    """A baresip caller whose audio source is switched per utterance."""

    def __init__(self, ivr: IvrProcess, workdir: Path, *,
                 jitter_buffer: tuple[int, int] | None = None, user: str = "caller") -> None:
        self.ivr = ivr
        self.workdir = workdir
        self.phone = Baresip(record_dir=workdir / "rec", jitter_buffer=jitter_buffer,
                             user=user)  # `user`: the caller ID the IVR sees
        self.call_id = ""  # the IVR's id of the call
        self.sip_call_id = ""  # the phone's SIP Call-ID
        self._n = 0
        self.last_event_id = 0

    def __enter__(self) -> ScriptedCaller:
        self.phone.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.phone.stop()

    def dial(self) -> str:
        self.phone.dial(self.ivr.uri)
        est = self.phone.wait_event("CALL_ESTABLISHED", 15)
        self.sip_call_id = est["id"]
        self.call_id = self.ivr.call_id_for(self.sip_call_id)
        return self.call_id

    def wait(self, type_: str, timeout: float = 60.0, **fields: Any) -> Event:
        return self.wait_until(event_is(type_, **fields), timeout)

    def wait_until(self, pred: Callable[[Event], bool], timeout: float = 60.0) -> Event:
        """The next call event (after the last one waited for) satisfying `pred`."""
        ev = self.ivr.wait_call_event(self.call_id, pred, timeout, after=self.last_event_id)
        self.last_event_id = ev["id"]
        return ev

    def say(self, clip: Path, tail_silence: float = 120.0) -> None:
        """Speak `clip` now (baresip hangs up when a source ends: pad it generously)."""
        self._n += 1
        wav = prepare_caller_wav(clip, self.workdir / f"say{self._n}.wav", 0.1, tail_silence)
        self.phone.switch_source(wav)

    def press(self, digits: str) -> None:
        self.phone.send_dtmf(digits)

    def hangup(self) -> None:
        self.phone.hangup()

    def wait_closed(self, timeout: float = 60.0) -> Event:
        return self.phone.wait_event("CALL_CLOSED", timeout)

    def recordings(self) -> tuple[Path, Path]:
        return self.phone.recordings()


class ClusterProcess(IvrProcess):
    """`ivr serve --workers N`: a Kamailio front on `.sip_port` and N workers behind it.

    Worker i listens for SIP on sip_port + 10 + i and for HTTP on http_port + 1 + i (the
    supervisor's layout); `.worker_http_ports` lists them. A call's record is on whichever
    worker took it (or in the shared database): `call()` asks each worker until one knows it.
    """

    def __init__(self, data_dir: Path, workers: int, *extra_args: str,
                 env: dict[str, str] | None = None):
        super().__init__(data_dir, "--workers", str(workers), *extra_args, env=env)
        self.workers = workers
        self.sip_port = free_udp_range(11 + workers)  # front, then workers at +10..
        self.http_port = _free_tcp_range(1 + workers)
        self.worker_http_ports = [self.http_port + 1 + i for i in range(workers)]
        self._holders: dict[str, int] = {}  # call id -> the index of the worker holding it

    ready_marker = "cluster ready"

    def start(self, timeout: float = 240.0) -> ClusterProcess:
        super().start(timeout)
        time.sleep(2.0)  # the front's OPTIONS probe marks workers up within about a second
        return self

    def stop(self, timeout: float = 60.0) -> int:
        return super().stop(timeout)

    def worker_api(self, index: int, path: str, token: str | None = TOKEN) -> Any:
        req = urllib.request.Request(f"http://127.0.0.1:{self.worker_http_ports[index]}{path}")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)

    def api(self, path: str, token: str | None = TOKEN) -> Any:
        """The API of worker 0: the supervisor serves none, and a local cluster's workers
        share one database, so any worker sees every call (`call_id_for`, `/api/calls`)."""
        return self.worker_api(0, path, token)

    def call_api(self, call_id: str, path: str) -> Any:
        """`path` asked of the worker that holds the call (its `worker` column, host:SIP
        port, says which), so the events long poll waits on that worker's write notifier:
        any other worker can only re-read the shared database every 100 ms for it
        (`ivr.web.api` `EVENTS_FOREIGN_POLL_S`), which with a load test's callers all
        following through worker 0 cost that worker a store read per call every 100 ms.
        Worker 0 until the call's row names its worker."""
        index = self._holders.get(call_id)
        if index is None:
            index = self._holder(call_id)
            if index is not None:
                self._holders[call_id] = index
        return self.worker_api(0 if index is None else index, path)

    def _holder(self, call_id: str) -> int | None:
        """The index of the worker whose SIP address the call's row names (None: unknown
        yet, unreadable, or not one of this cluster's workers)."""
        try:
            worker = str(self.worker_api(0, f"/api/calls/{call_id}").get("worker") or "")
            port = int(worker.rpartition(":")[2])
        except (OSError, ValueError, urllib.error.HTTPError):
            return None
        index = port - (self.sip_port + 10)
        return index if 0 <= index < self.workers else None

    def call(self, call_id: str) -> dict[str, Any]:
        """The call's record from the first worker that has it (HTTPError 404 if none)."""
        last: urllib.error.HTTPError | None = None
        for i in range(self.workers):
            try:
                return dict(self.worker_api(i, f"/api/calls/{call_id}"))
            except urllib.error.HTTPError as e:
                if e.code != 404:
                    raise
                last = e
        assert last is not None
        raise last


def _free_tcp_range(count: int) -> int:
    """First of `count` consecutive loopback TCP ports that are all free now."""
    for _ in range(200):
        base = free_tcp_port()
        if all(_tcp_free(p) for p in range(base + 1, base + count)):
            return base
    raise RuntimeError(f"could not find {count} free consecutive TCP ports")


def _tcp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
