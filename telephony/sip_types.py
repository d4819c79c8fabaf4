"""Plain data and protocols at the telephony boundary (no pjsua objects here)."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from telephony.media import CallMedia

__all__ = [
    "Admission",
    "CallFailed",
    "CallInfo",
    "CallListener",
    "SipConfig",
    "parse_sip_message",
    "refer_to_uri",
    "uri_user",
]

DEFAULT_CODECS = ("PCMU/8000", "PCMA/8000", "G722/16000")
PJSUA_HARD_CALL_CAP = 4  # the pjsua2-python wheel refuses a 5th concurrent call (486)


@dataclass
class SipConfig:
    """How the SIP endpoint listens and negotiates media."""

    bind_host: str = "127.0.0.1"
    port: int = 5060
    public_host: str | None = None  # address put in Contact/SDP; defaults to bind_host
    max_calls: int = 4  # our admission limit (503 + Retry-After above it); <= hard cap 4
    clock_rate: int = 16000  # conference bridge and media port rate
    codec_priorities: tuple[str, ...] = DEFAULT_CODECS
    rtp_port: int = 0  # 0: random start in [20000, 60000), pjsua retries upwards on clashes
    rtp_port_range: int = 40000
    user_agent: str = "voice-ivr"
    pj_log_level: int = 1  # pjsua log lines at or below this level go to Python logging
    retry_after: int = 30  # seconds, in our own 503 rejections
    account_user: str = "ivr"

    def __post_init__(self) -> None:
        if not 1 <= self.max_calls <= PJSUA_HARD_CALL_CAP:
            raise ValueError(
                f"max_calls must be 1..{PJSUA_HARD_CALL_CAP} (pjsua2 wheel hard cap), "
                f"got {self.max_calls}; run more SIP worker processes for more calls"
            )
        if self.clock_rate not in (8000, 16000):
            raise ValueError(f"clock_rate must be 8000 or 16000, got {self.clock_rate}")

    @property
    def contact_host(self) -> str:
        return self.public_host or self.bind_host


@dataclass(frozen=True)
class CallInfo:
    """What the IVR needs to know about a call; immutable and safe on any thread."""

    call_id: str  # the SIP Call-ID
    remote_uri: str
    caller: str  # user part of From (number or name)
    callee: str  # user part of the request URI (or To)
    remote_contact: str
    started_at: float  # time.monotonic() when the INVITE arrived
    headers: dict[str, str] = field(default_factory=dict)  # X-* headers of the INVITE
    # "inbound": the INVITE came to us; "outbound": we dialled (`SipEndpoint.make_call`), and
    # `headers` are the extra headers we sent.
    direction: str = "inbound"


class CallFailed(RuntimeError):
    """An outbound call (`SipEndpoint.make_call`) was not answered: busy, declined, no answer
    within the timeout (408), unreachable. Also passed to `listener.on_call_failed`."""

    def __init__(self, call: CallInfo, code: int, reason: str) -> None:
        super().__init__(f"call to {call.remote_uri} failed: {code} {reason}")
        self.call, self.code, self.reason = call, code, reason


@dataclass(frozen=True)
class Admission:
    """The listener's verdict on an incoming call."""

    accept: bool
    code: int = 200
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def accepted(cls) -> Admission:
        return cls(True)

    @classmethod
    def rejected(
        cls, code: int = 503, reason: str = "IVR at capacity", retry_after: int | None = None
    ) -> Admission:
        if not 300 <= code <= 699:
            raise ValueError(f"rejection code must be 3xx-6xx, got {code}")
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return cls(False, code, reason, headers)


@runtime_checkable
class CallListener(Protocol):
    """Call events. Called on the SIP thread (or the clock thread for media notifications):
    implementations must be quick, thread-safe and must not call pjsua; forward the events
    (e.g. `loop.call_soon_threadsafe`). Optional methods, called only if defined:
    `on_transfer_status(call, code, final)` and `on_call_failed(call, code, reason)` (an
    outbound call that was never answered; such a call gets no `on_disconnected`)."""

    def on_incoming(self, call: CallInfo) -> Admission: ...

    def on_media_ready(self, call: CallInfo, media: CallMedia) -> None: ...

    def on_dtmf(self, call: CallInfo, digit: str, timestamp: float) -> None: ...

    def on_disconnected(self, call: CallInfo, code: int, reason: str, by_remote: bool) -> None: ...

    def on_rejected(self, remote_uri: str, code: int, reason: str) -> None: ...


def refer_to_uri(uri: str, headers: dict[str, str] | None = None) -> str:
    """The Refer-To value for a blind transfer: with `headers`, a name-addr whose SIP URI
    embeds them (RFC 3261 19.1.1: `<sip:agent@host?X-IVR-Call-ID=abc&X-Other=1>`), so the
    transfer target's INVITE can carry them. Values are percent-escaped."""
    if not headers:
        return uri
    bare = uri.strip()
    if bare.startswith("<") and bare.endswith(">"):
        bare = bare[1:-1]
    if not re.match(r"sips?:", bare, re.IGNORECASE):
        raise ValueError(f"embedded headers need a sip: or sips: URI, got {uri!r}")
    for name in headers:
        if not re.fullmatch(r"[A-Za-z0-9!%*_+`'~.-]+", name):
            raise ValueError(f"bad SIP header name {name!r}")
    query = "&".join(
        f"{name}={urllib.parse.quote(str(value), safe='')}" for name, value in headers.items()
    )
    return f"<{bare}{'&' if '?' in bare else '?'}{query}>"


_COMPACT = {"f": "from", "t": "to", "i": "call-id", "m": "contact"}
_USER_RE = re.compile(r"sips?:([^@;>?\s]+)@|tel:([^;>?\s]+)", re.IGNORECASE)


def uri_user(uri: str) -> str:
    """User part of a SIP/tel URI or name-addr (`"Bob" <sip:1001@host>` -> `1001`)."""
    m = _USER_RE.search(uri or "")
    return (m.group(1) or m.group(2)) if m else ""


def parse_sip_message(raw: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """Request URI, lower-cased core headers and X-* headers (original case) of a SIP message."""
    head = raw.replace("\r\n", "\n").split("\n\n", 1)[0]
    lines = head.split("\n")
    start = lines[0].split() if lines else []
    request_uri = start[1] if len(start) >= 3 and not start[0].startswith("SIP/") else ""
    core: dict[str, str] = {}
    extra: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        low = _COMPACT.get(name.lower(), name.lower())
        core.setdefault(low, value)
        if low.startswith("x-"):
            extra[name] = value
    return request_uri, core, extra
