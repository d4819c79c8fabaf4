"""`SipEndpoint`: one pjsua2 endpoint driven by one dedicated SIP thread.

pjsua is a process singleton (create once per process). Every pjsua call happens on the SIP
thread (`threadCnt=0`, `mainThreadOnly=True`, polled with `libHandleEvents`); other threads
talk to it through a command queue. Media frame callbacks run on pjmedia's clock thread
inside `CallMedia`.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pjsua2 as pj

from telephony import _pj, _pjconfig, media_port
from telephony._callcommands import CallCommands
from telephony._callevents import Entry, _resolve
from telephony._refusals import Refusals
from telephony.sip_types import CallInfo, CallListener, SipConfig
from telephony.trunks import SourceAccount, TrunkConfig

__all__ = ["SipEndpoint", "SipEndpointError"]

log = logging.getLogger("telephony.endpoint")


class SipEndpointError(RuntimeError):
    """The endpoint could not start (e.g. the SIP port is in use) or is not running."""


class SipEndpoint(CallCommands, Refusals):
    """Answers SIP calls and reports them to a `CallListener`.

    pjsua is a process singleton that cannot be re-created reliably: one `SipEndpoint` may be
    started per process (run more worker processes for more calls or restarts).
    """

    _process_lock = threading.Lock()
    _process_used = False

    def __init__(self, config: SipConfig, listener: CallListener, *,
                 trunks: tuple[TrunkConfig, ...] | list[TrunkConfig] = (),
                 allow_from: tuple[str, ...] | list[str] = ()) -> None:
        """`trunks`: registrars to register with (`telephony.trunks`); `allow_from`: IPs and
        networks whose INVITEs are answered (empty: anyone; the trunks' registrars always),
        others get 403, logged once per source per minute (`telephony.sip_sources`)."""
        self.config = config
        self.listener = listener
        self._init_refusals(trunks, allow_from)
        self._commands: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = (
            queue.SimpleQueue()
        )
        self._calls: dict[str, Entry] = {}  # SIP thread only; keeps pj.Call objects alive
        self._graveyard: list[Any] = []  # released after the current poll returns
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stopping = threading.Event()
        self._active = 0
        self._ep: Any = None
        self._acc: Any = None
        self._writer: Any = None

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        """Start the SIP thread; return once the transport listens (raises SipEndpointError)."""
        with SipEndpoint._process_lock:
            if SipEndpoint._process_used:
                raise SipEndpointError(
                    "a SipEndpoint was already started in this process; pjsua is a process "
                    "singleton and cannot be restarted (use a new process)"
                )
            SipEndpoint._process_used = True
        self._thread = threading.Thread(target=self._run, name="sip", daemon=True)
        self._thread.start()
        atexit.register(self.stop)  # a daemon SIP thread killed at exit could abort in pjsua
        if not self._ready.wait(timeout):
            raise SipEndpointError(f"SIP endpoint did not start within {timeout} s")
        if self._start_error is not None:
            self._thread.join(5)
            raise SipEndpointError(str(self._start_error)) from self._start_error

    def stop(self, timeout: float = 10.0) -> None:
        """Hang up all calls and destroy pjsua cleanly; idempotent."""
        self._stopping.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
            if t.is_alive():
                log.error("SIP thread did not stop within %.1f s", timeout)
                return
        if t is not None and not t.is_alive():
            self._fail_pending_commands()  # submitted while the thread was exiting

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping.is_set()

    def __enter__(self) -> SipEndpoint:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- commands (any thread) ------------------------------------------------------------
    def active_calls(self) -> int:
        """Number of admitted calls not yet disconnected (recounted from the SIP thread's call
        table after every poll, so it cannot drift from what pjsua reports)."""
        return self._active

    def hangup(self, call_id: str, code: int = 0) -> Future[bool]:
        """End a call (BYE, or `code` e.g. 603/486 if not yet answered)."""
        return self._submit(lambda: self._cmd_hangup(call_id, code))

    def transfer(
        self,
        call_id: str,
        uri: str,
        hangup_on_success: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Future[bool]:
        """Blind transfer (REFER); progress goes to `listener.on_transfer_status` if defined.

        `headers` (e.g. `{"X-IVR-Call-ID": ...}`) are embedded in the Refer-To URI
        (`<sip:agent@host?X-IVR-Call-ID=...>`); the transferee is expected to copy them into
        its INVITE to the target (RFC 3261 19.1.5; not every phone does).
        """
        return self._submit(lambda: self._cmd_transfer(call_id, uri, hangup_on_success, headers))

    def make_call(
        self, uri: str, headers: dict[str, str] | None = None, timeout: float = 30.0, *,
        trunk: str | None = None,
    ) -> Future[CallInfo]:
        """Dial `uri` (e.g. an agent) with extra INVITE `headers` (e.g. `X-IVR-Call-ID`).

        With a trunk marked `outbound` (or `trunk="name"`), the call goes out through that
        trunk's account: From is its registered number, the INVITE is routed via its
        registrar, digest challenges are answered with its credentials, and a bare number
        (`+15551234`, `tel:` URI) is dialled at the registrar. `trunk=""` dials directly.

        The future resolves with the outbound leg's `CallInfo` (`direction="outbound"`) once
        it is answered; the listener then gets `on_media_ready` and later `on_disconnected`,
        as for inbound calls. If the leg is rejected, unreachable or not answered within
        `timeout` seconds (reported as 408), the future raises `CallFailed` and the listener
        gets `on_call_failed(call, code, reason)` instead. Outbound legs count towards the
        pjsua limit of 4 calls per process (and `active_calls()`), not towards admission.
        """
        outer: Future[CallInfo] = Future()
        cmd = self._submit(lambda: self._cmd_make_call(uri, headers, timeout, outer, trunk))

        def relay(f: Future[Any]) -> None:
            exc = f.exception()
            if exc is not None:
                _resolve(outer, exc=exc)

        cmd.add_done_callback(relay)
        return outer

    def bridge(self, call_a: str, call_b: str, hangup_together: bool = True) -> Future[bool]:
        """Connect two calls' audio both ways through the conference bridge (False if either
        call is unknown or has no active media yet).

        Each call's `CallMedia` stays connected: it still receives that call's audio (record
        both legs) and what it plays is mixed into its own leg only (whisper, announcements).
        With `hangup_together`, when either call ends the endpoint hangs up the other.
        """
        return self._submit(lambda: self._cmd_bridge(call_a, call_b, hangup_together))

    def unbridge(self, call_a: str, call_b: str) -> Future[bool]:
        """Undo `bridge` (False if they were not bridged); both calls stay up."""
        return self._submit(lambda: self._cmd_unbridge(call_a, call_b))

    def send_dtmf(self, call_id: str, digits: str) -> Future[bool]:
        """Send RFC 4733 digits to the caller."""
        return self._submit(lambda: self._cmd_dtmf(call_id, digits))

    def calls(self) -> Future[list[CallInfo]]:
        """Snapshot of the admitted calls."""
        return self._submit(lambda: [e.info for e in self._calls.values() if e.admitted])

    def _submit(self, fn: Callable[[], Any]) -> Future[Any]:
        fut: Future[Any] = Future()
        if not self.running:
            fut.set_exception(SipEndpointError("SIP endpoint is not running"))
        else:
            self._commands.put((fn, fut))
        return fut

    # ---- SIP thread -----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._create()
        except BaseException as exc:  # noqa: BLE001
            self._start_error = SipEndpointError(
                f"cannot start SIP endpoint on {self.config.bind_host}:{self.config.port}: "
                f"{_pj.error_text(exc)}"
            )
            self._destroy()
            self._ready.set()
            return
        self._ready.set()
        log.info("SIP endpoint listening on %s:%d (media clock %d Hz)", self.config.bind_host,
                 self.config.port, self.config.clock_rate)
        gc.disable()  # cyclic garbage is collected here only: see _collect_garbage()
        try:
            while not self._stopping.is_set():
                self._ep.libHandleEvents(10)
                self._send_refusals()
                self._drain_commands()
                now = time.monotonic()
                self._check_timeouts(now)
                self._trunks.tick(now)
                self._graveyard.clear()
                self._active = self.admitted_calls()
                _collect_garbage()
        finally:
            try:
                self._shutdown()
            finally:
                gc.enable()

    def _create(self) -> None:
        with _pj.stdout_to_stderr():
            ep = self._ep = _pj.Endpoint(self)
            ep.libCreate()
            self._init(ep)
        self._listen()

    def _init(self, ep: Any) -> None:
        self._writer = _pj.LogWriter()
        ep.libInit(_pjconfig.endpoint_config(self.config, self._writer))

    def _listen(self) -> None:
        cfg, ep = self.config, self._ep
        ep.audDevManager().setNullDev()
        _pjconfig.set_codec_priorities(ep, cfg.codec_priorities)
        log.debug("codecs: %s", [(c.codecId, c.priority) for c in ep.codecEnum2()])
        tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, _pjconfig.transport_config(cfg))
        ep.libStart()
        acfg = _pjconfig.account_config(cfg, tid)
        self._acc = SourceAccount(self)
        self._acc.create(acfg, True)
        self._trunks.start(self, tid, acfg.mediaConfig.transportConfig, cfg.public_host)

    def _drain_commands(self) -> None:
        while True:
            try:
                fn, fut = self._commands.get_nowait()
            except queue.Empty:
                return
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001
                fut.set_exception(exc)

    def _shutdown(self) -> None:
        # Helpers keep loop variables out of this frame: a stray reference to a pj.Call that
        # outlives libDestroy() asserts in pjsua_call_set_user_data at interpreter exit.
        self._hangup_all()
        self._release_calls()
        self._fail_pending_commands()
        self._destroy_ports()
        self._destroy()
        log.info("SIP endpoint stopped")

    def _hangup_all(self) -> None:
        if not self._calls:
            return
        for entry in self._calls.values():
            entry.local_hangup = True
        try:
            self._ep.hangupAllCalls()
            deadline = time.monotonic() + 2.0
            while self._calls and time.monotonic() < deadline:
                self._ep.libHandleEvents(10)
        except pj.Error as exc:
            log.warning("hangup on shutdown: %s", _pj.error_text(exc))

    def _pump(self, seconds: float) -> None:
        """Handle SIP events for `seconds` (the conference bridge's clock ticks meanwhile)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._ep.libHandleEvents(10)

    def _destroy_ports(self) -> None:
        """Destroy the idle media ports once the bridge has processed their disconnections,
        then give it a few ticks to process their removal (it is asynchronous)."""
        if self._ep is None or not media_port.idle_ports():
            return
        try:
            self._pump(0.1)
            n = media_port.destroy_idle_ports()
            gc.collect()
            self._pump(0.1)
            log.debug("destroyed %d media port(s)", n)
        except pj.Error as exc:
            log.warning("media ports on shutdown: %s", _pj.error_text(exc))

    def _release_calls(self) -> None:
        for entry in self._calls.values():
            self._forget(entry)
            fut, entry.future = entry.future, None
            _resolve(fut, exc=SipEndpointError("SIP endpoint stopped"))
        self._calls.clear()
        self._graveyard.clear()
        self._active = 0

    def _fail_pending_commands(self) -> None:
        while True:
            try:
                _, fut = self._commands.get_nowait()
            except queue.Empty:
                return
            if fut.set_running_or_notify_cancel():
                fut.set_exception(SipEndpointError("SIP endpoint stopped"))

    def _destroy(self) -> None:
        self._trunks.shutdown()
        if self._acc is not None:
            with contextlib.suppress(Exception):
                self._acc.shutdown()
        self._acc = None
        gc.collect()
        if self._ep is not None:
            try:
                self._ep.libDestroy()
            except Exception as exc:  # noqa: BLE001
                log.warning("libDestroy: %s", _pj.error_text(exc))
        self._ep = None
        self._writer = None
        gc.collect()


def _collect_garbage() -> None:
    """Python's cyclic GC, run on the SIP thread only (automatic GC is disabled meanwhile).

    A pj.Call or AudioMediaPort caught in a reference cycle is destroyed by whichever thread
    happens to trigger a collection; on an ASR, TTS or event-loop thread its C++ destructor
    calls pjlib from an unregistered thread and the process aborts (`pj_thread_this`).
    Collecting here, with CPython's default thresholds (700 / 10 / 10), keeps the same memory
    behaviour and makes that impossible.
    """
    young, middle, old = gc.get_count()
    if young < 700:
        return
    gc.collect(2 if old >= 10 else 1 if middle >= 10 else 0)
