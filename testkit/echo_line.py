"""A caller on an echoing line, for tests: plain UDP sockets, no pjsua2, no softphone.

`EchoLineCaller` places one PCMU call (a minimal SIP UAC: INVITE, ACK, BYE, and a 200 OK to
the IVR's BYE) and then, every 20 ms on an absolute clock, sends back what the IVR actually
sent it, `delay_ms` later and `gain_db` quieter, as a PSTN hybrid or a speakerphone would,
with real speech mixed in when the test says so (`say`). The echo is placed by the RTP
timestamps of the IVR's packets, so it stays `delay_ms` behind them even where the IVR sends
nothing (silence suppression) or packets arrive in bursts.

Loopback only (tests address 127.0.0.0/8); everything received is bounded and decoded
defensively: a malformed packet is dropped, never trusted.
"""

from __future__ import annotations

import re
import secrets
import socket
import struct
import threading
import time

import numpy as np

from audio_models.telephone import mulaw_decode, mulaw_encode

__all__ = ["EchoLineCaller", "SipFailed"]

RATE = 8000
FRAME = 160  # samples per 20 ms
MAX_DATAGRAM = 65535
HISTORY = RATE * 4  # samples of the IVR's audio kept for the echo (4 s)


class SipFailed(RuntimeError):
    """The IVR did not answer the INVITE with a 200 OK."""


class EchoLineCaller:
    """One call to `host:port` whose line echoes the IVR (see the module docstring)."""

    def __init__(self, host: str, port: int, *, user: str = "hotline", delay_ms: float = 120,
                 gain_db: float = -10.0) -> None:
        if not host.startswith("127."):
            raise ValueError("tests only call loopback addresses")
        self.target = (host, port)
        self.user = user
        self.delay = int(delay_ms * RATE / 1000)
        self.gain = 10 ** (gain_db / 20)
        self.call_id = f"{secrets.token_hex(8)}@127.0.0.1"
        self._tag = secrets.token_hex(4)
        self._sip = _udp()
        self._rtp = _udp()
        self._remote_rtp: tuple[str, int] | None = None
        self._to = ""  # the To header of the 200 OK (with the IVR's tag)
        self._contact = f"sip:{user}@{host}:{port}"
        self._cseq = 1
        self._heard = np.zeros(HISTORY, np.int16)  # the IVR's audio by RTP timestamp (ring)
        self._first_ts: int | None = None
        self._first_tick = 0
        self._latest = -1  # the highest sample position received
        self._speech: np.ndarray | None = None
        self._speech_at = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.hung_up_by_ivr = threading.Event()
        self.packets_in = 0
        self.packets_out = 0
        self.dropped = 0

    # ------------------------------------------------------------ the call
    def dial(self, timeout: float = 10.0) -> str:
        """INVITE until 200 OK, ACK, start the media; returns the SIP Call-ID."""
        local_sip, local_rtp = self._sip.getsockname()[1], self._rtp.getsockname()[1]
        sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=echo\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               f"m=audio {local_rtp} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n"
               "a=sendrecv\r\n")
        self._send_request("INVITE", local_sip, sdp)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self._recv_sip(deadline - time.monotonic())
            if msg is None:
                continue
            status = _status(msg)
            if status is None or _header(msg, "CSeq").split()[-1:] != ["INVITE"]:
                continue
            if 100 <= status < 200:
                continue
            if status != 200:
                raise SipFailed(msg.split("\r\n", 1)[0])
            self._to = _header(msg, "To")
            contact = re.search(r"<(sip:[^>]+)>", _header(msg, "Contact"))
            self._contact = contact.group(1) if contact else self._contact
            self._remote_rtp = _sdp_media(msg)
            self._send_request("ACK", local_sip, cseq=1)
            self._thread = threading.Thread(target=self._media, name="echo-line", daemon=True)
            self._thread.start()
            return self.call_id
        raise SipFailed("no final answer to the INVITE")

    def say(self, pcm: np.ndarray) -> None:
        """Mix `pcm` (8 kHz int16 speech) into what the line sends, from the next frame."""
        with self._lock:
            self._speech, self._speech_at = pcm.astype(np.int32), 0

    def hangup(self) -> None:
        """BYE (unless the IVR hung up first), then stop the media."""
        if self._thread is not None and not self.hung_up_by_ivr.is_set():
            self._cseq += 1
            self._send_request("BYE", self._sip.getsockname()[1], cseq=self._cseq)
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._sip.close()
        self._rtp.close()

    # ------------------------------------------------------------ media thread
    def _media(self) -> None:
        """Every 20 ms (absolute clock): take in the IVR's packets, answer its SIP, send one
        frame of echo plus speech."""
        start = time.monotonic()
        tick, seq, ts, ssrc = 0, 0, 0, secrets.randbits(32)
        while not self._stop.is_set():
            self._receive_rtp(tick)
            self._answer_sip()
            frame = self._echo(tick) + self._next_speech()
            payload = mulaw_encode(np.clip(frame, -32768, 32767).astype(np.int16)).tobytes()
            if self._remote_rtp is not None:
                header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
                self._rtp.sendto(header + payload, self._remote_rtp)
                self.packets_out += 1
            seq, ts, tick = seq + 1, ts + FRAME, tick + 1
            self._stop.wait(max(0.0, start + tick * 0.02 - time.monotonic()))

    def _receive_rtp(self, tick: int) -> None:
        while True:
            try:
                data = self._rtp.recv(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:
                return
            if len(data) < 12 or data[0] >> 6 != 2 or data[1] & 0x7F != 0:
                self.dropped += 1  # not PCMU RTP: dropped
                continue
            cc = data[0] & 0x0F
            payload = data[12 + 4 * cc:]
            stamp = struct.unpack("!I", data[4:8])[0]
            if self._first_ts is None:
                self._first_ts, self._first_tick = stamp, tick
            pos = (stamp - self._first_ts) & 0xFFFFFFFF
            if pos > 1 << 30 or not payload:
                self.dropped += 1  # older than the first packet, or nonsense
                continue
            pcm = mulaw_decode(payload[: HISTORY // 2])
            idx = (pos + np.arange(len(pcm))) % HISTORY
            self._heard[idx] = pcm
            self._latest = max(self._latest, pos + len(pcm) - 1)
            self.packets_in += 1

    def _echo(self, tick: int) -> np.ndarray:
        """The IVR's audio sent `delay` samples before this frame, `gain` as loud."""
        if self._first_ts is None:
            return np.zeros(FRAME, np.int32)
        start = (tick - self._first_tick) * FRAME - self.delay
        pos = start + np.arange(FRAME)
        known = (pos >= 0) & (pos <= self._latest) & (pos > self._latest - HISTORY)
        out = np.where(known, self._heard[pos % HISTORY], 0)
        return (out * self.gain).astype(np.int32)

    def _next_speech(self) -> np.ndarray:
        with self._lock:
            s, at = self._speech, self._speech_at
            if s is None:
                return np.zeros(FRAME, np.int32)
            chunk = s[at:at + FRAME]
            self._speech_at = at + FRAME
            if self._speech_at >= len(s):
                self._speech = None
        return np.pad(chunk, (0, FRAME - len(chunk)))

    def _answer_sip(self) -> None:
        """A BYE from the IVR is answered 200 OK; anything else it sends is ignored."""
        msg = self._recv_sip(0)
        if msg is None or not msg.startswith("BYE "):
            return
        via = "\r\n".join(f"Via: {v}" for v in _headers(msg, "Via"))
        reply = (f"SIP/2.0 200 OK\r\n{via}\r\nFrom: {_header(msg, 'From')}\r\n"
                 f"To: {_header(msg, 'To')}\r\nCall-ID: {self.call_id}\r\n"
                 f"CSeq: {_header(msg, 'CSeq')}\r\nContent-Length: 0\r\n\r\n")
        self._sip.sendto(reply.encode(), self.target)
        self.hung_up_by_ivr.set()

    # ------------------------------------------------------------ SIP
    def _send_request(self, method: str, local_port: int, sdp: str = "", cseq: int = 1) -> None:
        uri = f"sip:{self.user}@{self.target[0]}:{self.target[1]}" if method == "INVITE" \
            else self._contact
        to = self._to or f"<sip:{self.user}@{self.target[0]}:{self.target[1]}>"
        body = sdp.encode()
        msg = (f"{method} {uri} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};rport;branch=z9hG4bK"
               f"{secrets.token_hex(6)}\r\n"
               "Max-Forwards: 70\r\n"
               f"From: <sip:echo-line@127.0.0.1:{local_port}>;tag={self._tag}\r\n"
               f"To: {to}\r\nCall-ID: {self.call_id}\r\nCSeq: {cseq} {method}\r\n"
               f"Contact: <sip:echo-line@127.0.0.1:{local_port}>\r\n"
               + ("Content-Type: application/sdp\r\n" if body else "")
               + f"Content-Length: {len(body)}\r\n\r\n")
        self._sip.sendto(msg.encode() + body, self.target)

    def _recv_sip(self, timeout: float) -> str | None:
        if timeout > 0:
            self._sip.settimeout(timeout)
        else:
            self._sip.setblocking(False)
        try:
            data = self._sip.recv(MAX_DATAGRAM)
        except (BlockingIOError, TimeoutError, OSError):
            return None
        msg = data.decode("utf-8", errors="replace")
        return msg if _header(msg, "Call-ID") == self.call_id else None


def _udp() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


def _headers(msg: str, name: str) -> list[str]:
    head = msg.split("\r\n\r\n", 1)[0]
    short = {"via": "v", "call-id": "i", "from": "f", "to": "t", "contact": "m"}.get(
        name.lower(), "")
    out = []
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() in (name.lower(), short):
            out.append(value.strip())
    return out


def _header(msg: str, name: str) -> str:
    found = _headers(msg, name)
    return found[0] if found else ""


def _status(msg: str) -> int | None:
    m = re.match(r"SIP/2\.0 (\d{3}) ", msg)
    return int(m.group(1)) if m else None


def _sdp_media(msg: str) -> tuple[str, int]:
    """The IVR's RTP address from its SDP answer (loopback only)."""
    body = msg.split("\r\n\r\n", 1)[-1]
    c = re.search(r"^c=IN IP4 (\S+)", body, re.M)
    m = re.search(r"^m=audio (\d+) ", body, re.M)
    if not c or not m or not c.group(1).startswith("127."):
        raise SipFailed("no loopback audio in the SDP answer")
    return c.group(1), int(m.group(1))
