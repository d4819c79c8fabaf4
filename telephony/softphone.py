"""`Baresip`: drive a real baresip softphone on loopback (for `ivr call` and integration tests).

Control goes through baresip's `ctrl_tcp` module: netstring-framed JSON, commands
`{"command": "dial", "params": "sip:...", "token": "1"}`, replies `{"response": true, ...}`
and events `{"event": true, "type": "CALL_ESTABLISHED", ...}`. Verified with baresip 1.0.0
(Debian `baresip-core`): commands `dial`, `hangup`, `accept`, `hold`, `resume`, `sndcode`
(RFC 4733 digits; in-call commands exist only while a call is up), `ausrc aufile,<wav>`
(switches the audio source mid-call), `quit`. The `account` module must be loaded or the
accounts file is ignored and `dial` fails with "Invalid argument".
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telephony.baresip_files import MODULE_PATH, NetstringReader, netstring, write_config
from telephony.ports import free_tcp_port, free_udp_range
from telephony.softphone_audio import prepare_caller_wav, shared_silence_wav

__all__ = ["Baresip", "BaresipError", "prepare_caller_wav"]

Event = dict[str, Any]


DIAL_RESPONSE_S = 20.0  # how long baresip may take to acknowledge a 'dial' command
HANDSHAKE_S = 10.0  # how long a just-started baresip may take to answer on its control port

def _connect_to_listener(port: int) -> socket.socket:
    """Connect to 127.0.0.1:`port`, refusing a TCP self-connect.

    While nothing listens yet on a port of the ephemeral range, a retried connect can pick that
    very port as its own source and connect to itself (simultaneous open): every command sent
    then comes back as its own "reply" and no answer ever arrives (CI saw `dial` time out).
    """
    return refuse_self_connect(socket.create_connection(("127.0.0.1", port), 0.5))


def refuse_self_connect(sock: socket.socket) -> socket.socket:
    """`sock` unless it is connected to itself (then closed, ConnectionRefusedError)."""
    if sock.getsockname() == sock.getpeername():
        port = sock.getsockname()[1]
        sock.close()
        raise ConnectionRefusedError(f"connected to itself on port {port}; nobody listens yet")
    return sock


class BaresipError(RuntimeError):
    """baresip is missing, exited, or did not answer a command."""


class Baresip:
    """One baresip process with a generated loopback-only config."""

    def __init__(
        self,
        play: Path | None = None,
        *,
        auto_answer: bool = False,
        record_dir: Path | None = None,
        user: str = "caller",
        binary: str = "baresip",
        sip_trace: bool = False,
        jitter_buffer: tuple[int, int] | None = None,
        media_encryption: str | None = None,
    ) -> None:
        self.play = Path(play) if play else None
        self.media_encryption = media_encryption  # baresip `mediaenc`: srtp, srtp-mand
        self.jitter_buffer = jitter_buffer  # (min, max) 20 ms frames; None: baresip's 5-10
        self.auto_answer = auto_answer
        self.user = user
        self.binary = binary
        self.sip_trace = sip_trace  # -s: SIP messages in log_tail()/log_text()
        self._tmp = Path(tempfile.mkdtemp(prefix="baresip-"))
        self.record_dir = Path(record_dir) if record_dir else self._tmp / "rec"
        self.sip_port = 0
        self.ctrl_port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.events: list[Event] = []
        self._consumed: set[int] = set()
        self._cond = threading.Condition()
        self._responses: dict[str, Event] = {}
        self._tokens = itertools.count(1)
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None

    @property
    def uri(self) -> str:
        """Where to call this softphone (e.g. as a transfer target)."""
        return f"sip:{self.user}@127.0.0.1:{self.sip_port}"

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self, timeout: float = 10.0, attempts: int = 3) -> Baresip:
        """Launch baresip on free loopback ports (retrying on a port race); connect ctrl_tcp."""
        exe = shutil.which(self.binary)
        if exe is None or not MODULE_PATH.is_dir():
            raise BaresipError("baresip is not installed (Debian: apt-get install baresip-core)")
        self.record_dir.mkdir(parents=True, exist_ok=True)
        source = self.play or shared_silence_wav(600.0)
        for attempt in range(1, attempts + 1):
            self.sip_port = free_tcp_port()
            self.ctrl_port = free_tcp_port()
            while self.ctrl_port == self.sip_port:  # the kernel may hand out a port again
                self.ctrl_port = free_tcp_port()
            write_config(
                self._tmp,
                sip_port=self.sip_port,
                ctrl_port=self.ctrl_port,
                rtp_base=free_udp_range(40),
                rtp_count=40,
                source=source,
                record_dir=self.record_dir,
                user=self.user,
                auto_answer=self.auto_answer,
                jitter_buffer=self.jitter_buffer,
                media_encryption=self.media_encryption,
            )
            try:
                self._launch(exe, timeout)
                return self
            except BaresipError:
                self._kill()
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def _launch(self, exe: str, timeout: float) -> None:
        self._log = open(self._tmp / "baresip.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [exe, "-f", str(self._tmp), *(["-s"] if self.sip_trace else [])],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                self._sock = _connect_to_listener(self.ctrl_port)
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    msg = f"baresip ctrl_tcp not reachable: {self.log_tail()}"
                    raise BaresipError(msg) from exc
                time.sleep(0.05)
        self._sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, name="baresip-ctrl", daemon=True)
        self._reader.start()
        self._handshake()

    def _handshake(self) -> None:
        """Make sure the control port is this baresip's ctrl_tcp: `reginfo` must answer with
        our user agent. Something else on the port (the port taken between choosing it and
        baresip binding it, e.g. by another listener) would leave every command unanswered."""
        try:
            info = str(self.command("reginfo", timeout=HANDSHAKE_S).get("data", ""))
        except BaresipError as exc:
            raise BaresipError(f"port {self.ctrl_port} is not this baresip's control port: "
                               f"{exc}; {self.log_tail()}") from exc
        if f"sip:{self.user}@" not in info:
            raise BaresipError(f"port {self.ctrl_port} answers for another user agent: {info!r}")

    def stop(self) -> None:
        """Ask baresip to quit, then signal it by PID; delete the temp dir unless it holds the
        recordings (no `record_dir` given: then `cleanup()` deletes it)."""
        self._kill()
        if not self.record_dir.is_relative_to(self._tmp):
            shutil.rmtree(self._tmp, ignore_errors=True)

    def cleanup(self) -> None:
        """stop() and delete the temp dir, recordings included (unless in `record_dir`)."""
        self._kill()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(Exception):
                self._send("quit", "")
            # With a call still ringing, baresip waits for its transactions to time out: escalate.
            for sig, grace in ((None, 1.5), (signal.SIGTERM, 0.5), (signal.SIGKILL, 5.0)):
                if sig is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, sig)
                try:
                    proc.wait(grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        self._reader = None
        if getattr(self, "_log", None) is not None:
            self._log.close()

    def __enter__(self) -> Baresip:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- commands -------------------------------------------------------------------------
    def command(self, command: str, params: str = "", timeout: float = 5.0) -> Event:
        """Run a ctrl_tcp command; returns the response (raises if not ok)."""
        token = self._send(command, params)
        deadline = time.monotonic() + timeout
        with self._cond:
            while token not in self._responses:
                self._check_alive()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BaresipError(f"no response to {command!r} within {timeout} s")
                self._cond.wait(min(left, 0.2))
            resp = self._responses.pop(token)
        if not resp.get("ok", False):
            raise BaresipError(f"{command} {params!r} failed: {resp.get('data')!r}")
        return resp

    def dial(self, uri: str, headers: dict[str, str] | None = None) -> Event:
        """Call `uri`. baresip 1.0.0 cannot add custom headers: `headers` raises
        BaresipError if given."""
        if headers:
            raise BaresipError("baresip 1.0.0 cannot add SIP headers to a call it dials "
                               "(ctrl_tcp 'dial' has no header option)")
        # baresip answers 'dial' once it has built the INVITE; on a loaded 2-core machine
        # (CI, a service and other phones busy) that took over 5 s once
        return self.command("dial", uri, timeout=DIAL_RESPONSE_S)

    def send_dtmf(self, digits: str, gap: float = 0.25) -> None:
        """Send RFC 4733 digits (one `sndcode` per digit, `gap` seconds apart)."""
        for d in digits:
            self.command("sndcode", d)
            time.sleep(gap)

    def hangup(self) -> Event:
        return self.command("hangup")

    def accept(self) -> Event:
        return self.command("accept")

    def hold(self) -> Event:
        """Put the call on hold (re-INVITE); `resume()` takes it off."""
        return self.command("hold")

    def resume(self) -> Event:
        return self.command("resume")

    def switch_source(self, wav: Path) -> Event:
        """Switch the audio source mid-call (`ausrc aufile,<wav>`; 8 kHz mono for PCMU)."""
        return self.command("ausrc", f"aufile,{wav}")

    # ---- events ---------------------------------------------------------------------------
    def wait_event(self, match: str | Callable[[Event], bool], timeout: float = 10.0) -> Event:
        """First not-yet-consumed event whose type equals `match` (or satisfies it)."""
        pred = (lambda e: e.get("type") == match) if isinstance(match, str) else match
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, ev in enumerate(self.events):
                    if i not in self._consumed and pred(ev):
                        self._consumed.add(i)
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    types = [e.get("type") for e in self.events]
                    raise TimeoutError(f"no matching baresip event in {timeout} s; saw {types}")
                self._check_alive()
                self._cond.wait(min(left, 0.2))

    def recordings(self) -> tuple[Path, Path]:
        """(heard, sent) WAVs of the latest call: sndfile's `*-dec.wav` and `*-enc.wav`."""

        def newest(pattern: str) -> Path:
            files = sorted(self.record_dir.glob(pattern), key=lambda p: p.stat().st_mtime)
            if not files:
                raise FileNotFoundError(f"no {pattern} in {self.record_dir}")
            return files[-1]

        return newest("*-dec.wav"), newest("*-enc.wav")

    def log_text(self) -> str:
        """Everything baresip printed so far (with SIP messages if `sip_trace`)."""
        with contextlib.suppress(OSError):
            return (self._tmp / "baresip.log").read_text(errors="replace")
        return ""

    def log_tail(self, n: int = 2000) -> str:
        return self.log_text()[-n:]

    # ---- internals ------------------------------------------------------------------------
    def _check_alive(self) -> None:
        if self.proc is None:
            raise BaresipError("baresip is not running")
        if self.proc.poll() is not None:
            raise BaresipError(f"baresip exited with {self.proc.returncode}: {self.log_tail()}")
        if self._reader is not None and not self._reader.is_alive():
            raise BaresipError(f"baresip's control connection closed: {self.log_tail()}")

    def _send(self, command: str, params: str) -> str:
        if self._sock is None:
            raise BaresipError("baresip is not started")
        token = str(next(self._tokens))
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._sock.sendall(netstring(body))
        return token

    def _read_loop(self) -> None:
        reader, sock = NetstringReader(), self._sock
        while sock is not None:
            try:
                chunk = sock.recv(65536)
                payloads = reader.feed(chunk) if chunk else None
            except (OSError, ValueError):
                break
            if payloads is None:
                break
            for body in payloads:
                with contextlib.suppress(ValueError):
                    self._dispatch(json.loads(body))
        with self._cond:
            self._cond.notify_all()

    def _dispatch(self, msg: Event) -> None:
        with self._cond:
            if msg.get("response"):
                self._responses[str(msg.get("token"))] = msg
            elif msg.get("event"):
                msg["t"] = time.monotonic()
                self.events.append(msg)
            self._cond.notify_all()
