"""A hostile SIP user agent for the edge tests: hand-written requests over loopback UDP.

It sends exactly the bytes a test gives it (a Call-ID that is a path, a From display name that
is not UTF-8, a REFER inside the dialog...), answers the IVR's own requests (BYE, OPTIONS) with
200 so dialogs end cleanly, and never addresses anything but 127.0.0.1.
"""

from __future__ import annotations

import socket
import time
import uuid
from dataclasses import dataclass, field

from telephony.ports import free_udp_port


@dataclass
class Reply:
    status: int
    reason: str
    headers: dict[str, str]
    raw: bytes


@dataclass
class Dialog:
    """One INVITE dialog as the caller sees it."""

    call_id: bytes
    from_hdr: bytes
    ruri: str
    to_hdr: str = ""  # with the IVR's tag once answered
    cseq: int = 1
    branch: str = ""
    replies: list[Reply] = field(default_factory=list)


def _parse(data: bytes) -> Reply | None:
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("\r\n")
    parts = head[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("SIP/2.0"):
        return None
    headers: dict[str, str] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return Reply(int(parts[1]), parts[2] if len(parts) > 2 else "", headers, data)


class SipClient:
    """A UDP SIP client bound to 127.0.0.1; `close()` it (or use `with`)."""

    def __init__(self, ivr_port: int) -> None:
        self.dst = ("127.0.0.1", ivr_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.rtp_port = free_udp_port()
        self.requests: list[bytes] = []  # requests the IVR sent us

    def __enter__(self) -> SipClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    # ------------------------------------------------------------ messages
    def _request(self, method: str, d: Dialog, cseq: int, extra: bytes = b"",
                 body: bytes = b"", to: str | None = None, branch: str | None = None) -> bytes:
        branch = branch or f"z9hG4bK{uuid.uuid4().hex[:16]}"
        if method == "INVITE":
            d.branch = branch
        return (
            f"{method} {d.ruri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport\r\n"
            "Max-Forwards: 70\r\n".encode()
            + b"From: " + d.from_hdr + b"\r\n"
            + f"To: {to if to is not None else d.to_hdr or '<' + d.ruri + '>'}\r\n".encode()
            + b"Call-ID: " + d.call_id + b"\r\n"
            + f"CSeq: {cseq} {method}\r\n"
              f"Contact: <sip:raw@127.0.0.1:{self.port}>\r\n".encode()
            + extra
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )

    def sdp(self) -> bytes:
        return (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {self.rtp_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
        ).encode()

    def dialog(self, call_id: bytes | str | None = None, user: str = "5551234",
               display: bytes = b'"Raw"') -> Dialog:
        cid = call_id if call_id is not None else f"{uuid.uuid4().hex}@raw"
        tag = uuid.uuid4().hex[:10]
        from_hdr = display + f" <sip:{user}@127.0.0.1>;tag={tag}".encode()
        return Dialog(cid.encode() if isinstance(cid, str) else cid, from_hdr,
                      f"sip:hotline@127.0.0.1:{self.dst[1]}")

    def send_invite(self, d: Dialog, sdp: bool = True) -> None:
        """Send the INVITE; without `sdp` the IVR makes the offer in its 200 (and media can
        only start with the ACK)."""
        extra, body = (b"Content-Type: application/sdp\r\n", self.sdp()) if sdp else (b"", b"")
        self.sock.sendto(self._request("INVITE", d, d.cseq, extra, body), self.dst)

    def send_cancel(self, d: Dialog) -> None:
        """CANCEL the pending INVITE (same branch and CSeq number, RFC 3261 9.1)."""
        self.sock.sendto(self._request("CANCEL", d, d.cseq, branch=d.branch,
                                       to=f"<{d.ruri}>"), self.dst)

    def ack(self, d: Dialog, reply: Reply) -> None:
        to = d.to_hdr or reply.headers.get("to", f"<{d.ruri}>")
        branch = d.branch if reply.status >= 300 else None  # non-2xx ACK: same transaction
        self.sock.sendto(self._request("ACK", d, d.cseq, to=to, branch=branch), self.dst)

    def in_dialog(self, method: str, d: Dialog, extra: bytes = b"") -> None:
        d.cseq += 1
        self.sock.sendto(self._request(method, d, d.cseq, extra), self.dst)

    # ------------------------------------------------------------ receiving
    def receive(self, timeout: float) -> Reply | None:
        """The next response (answering the IVR's requests meanwhile); None on timeout."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                return None
            reply = _parse(data)
            if reply is not None:
                return reply
            self.requests.append(data)
            self._answer(data)
        return None

    def _answer(self, request: bytes) -> None:
        """200 OK to what the IVR asks of us (BYE, OPTIONS, re-INVITE without SDP answer)."""
        head = request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        if head[0].startswith(b"ACK "):
            return
        keep = [ln for ln in head[1:]
                if ln.lower().split(b":", 1)[0].strip() in (b"via", b"from", b"to", b"call-id",
                                                           b"cseq")]
        self.sock.sendto(b"SIP/2.0 200 OK\r\n" + b"\r\n".join(keep)
                         + b"\r\nContent-Length: 0\r\n\r\n", self.dst)

    def final(self, d: Dialog, timeout: float = 10.0, method: str = "INVITE") -> Reply:
        """The final response to `method` in dialog `d` (ACKed when it is to the INVITE)."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.receive(deadline - time.monotonic())
            if reply is None:
                raise TimeoutError(f"no final answer to {method} in {timeout} s")
            if not reply.headers.get("cseq", "").endswith(method) or reply.status < 200:
                continue
            d.replies.append(reply)
            if method == "INVITE":
                if reply.status < 300:
                    d.to_hdr = reply.headers["to"]
                self.ack(d, reply)
            return reply

    def call(self, d: Dialog, timeout: float = 10.0) -> Reply:
        """INVITE and wait for the final answer (ACKed)."""
        self.send_invite(d)
        return self.final(d, timeout)

    def bye(self, d: Dialog, timeout: float = 5.0) -> Reply:
        self.in_dialog("BYE", d)
        return self.final(d, timeout, "BYE")


def raw_invite_bytes(client: SipClient, d: Dialog) -> bytes:
    """The INVITE `send_invite` would send (for tests that tamper with bytes)."""
    return client._request("INVITE", d, d.cseq, b"Content-Type: application/sdp\r\n",
                           client.sdp())
