"""A raw SIP request over UDP, for health checks and tests (no SIP stack needed).

Used to wait until the Kamailio front answers (OPTIONS) and, in tests, to see the exact
final reply the front gives an INVITE when every worker is full (503 + Retry-After).
"""

from __future__ import annotations

import secrets
import socket
import time
from dataclasses import dataclass, field

__all__ = ["SipReply", "sip_request"]


@dataclass(frozen=True)
class SipReply:
    """The final (or last provisional) reply to a request."""

    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, last value wins
    raw: str = ""


def _parse(data: bytes) -> SipReply:
    text = data.decode("utf-8", errors="replace")
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("SIP/2.0"):
        raise ValueError(f"not a SIP reply: {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return SipReply(int(parts[1]), parts[2] if len(parts) > 2 else "", headers, text)


_SDP = (
    "v=0\r\no=probe 1 1 IN IP4 {host}\r\ns=probe\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
    "m=audio {rtp} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def sip_request(
    host: str,
    port: int,
    method: str = "OPTIONS",
    user: str = "",
    *,
    timeout: float = 2.0,
    local_host: str = "127.0.0.1",
) -> SipReply:
    """Send one out-of-dialog request and return the first final reply.

    An INVITE carries a PCMU offer; if it is answered (2xx) the dialog is not continued (no
    ACK/BYE): use it only where a final non-2xx reply is expected. Raises TimeoutError when no
    final reply arrives within `timeout` seconds.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((local_host, 0))
        lport = sock.getsockname()[1]
        branch = "z9hG4bK" + secrets.token_hex(8)
        call_id = secrets.token_hex(12)
        ruri = f"sip:{user + '@' if user else ''}{host}:{port}"
        body = _SDP.format(host=local_host, rtp=lport + 2) if method == "INVITE" else ""
        msg = (
            f"{method} {ruri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {local_host}:{lport};branch={branch};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:probe@{local_host}:{lport}>;tag={secrets.token_hex(4)}\r\n"
            f"To: <{ruri}>\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: 1 {method}\r\n"
            f"Contact: <sip:probe@{local_host}:{lport}>\r\n"
            + ("Content-Type: application/sdp\r\n" if body else "")
            + f"Content-Length: {len(body)}\r\n\r\n{body}"
        )
        sock.sendto(msg.encode(), (host, port))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no final reply to {method} from {host}:{port}")
            sock.settimeout(left)
            try:
                data, _ = sock.recvfrom(65535)
            except (TimeoutError, ConnectionRefusedError) as e:
                raise TimeoutError(f"no final reply to {method} from {host}:{port}") from e
            try:
                reply = _parse(data)
            except ValueError:
                continue  # a request (e.g. a retransmission) or garbage: keep waiting
            if reply.status >= 200:
                if method == "INVITE" and reply.status >= 300:
                    _ack(sock, host, port, msg, reply)
                return reply


def _ack(sock: socket.socket, host: str, port: int, invite: str, reply: SipReply) -> None:
    """ACK a non-2xx final reply (same branch, To with the reply's tag) to stop retransmits."""
    lines = {
        line.split(":", 1)[0].lower(): line for line in invite.split("\r\n")[1:] if ":" in line
    }
    first = invite.split("\r\n", 1)[0].split(" ")
    ack = (
        f"ACK {first[1]} SIP/2.0\r\n{lines['via']}\r\nMax-Forwards: 70\r\n{lines['from']}\r\n"
        f"To: {reply.headers.get('to', '')}\r\n{lines['call-id']}\r\n"
        f"CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
    )
    sock.sendto(ack.encode(), (host, port))
