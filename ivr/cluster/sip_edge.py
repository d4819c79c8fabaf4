"""The SIP edge at the Kamailio front: who may call, how fast, over which transports.

The front is where untrusted SIP arrives, so it decides before any worker spends a pjsua
slot or a model on a request:

1. **Rate** (`pike`): every request from a source that is not one of our workers counts
   against that source's budget (`pike_requests` per `pike_window_s`). A source over it is
   answered `503 Rate limit exceeded` with `Retry-After` (ACKs are dropped) until it slows
   down. The budget is per IP, so one flooding source does not block anyone else.
2. **Who** (initial INVITEs only; in-dialog requests follow the Record-Route of a call that
   was admitted): a source in the allow-list (`permissions` module, address file rendered
   here) is admitted; otherwise, with digest users configured, the caller is challenged
   (`407 Proxy Authentication Required`) and admitted with valid credentials, a wrong
   password or unknown user gets `403`; with an allow-list and no users the answer is
   `403 Forbidden`. No allow-list and no users: every source may call (the loopback
   default, as before).
3. **Logs**: each refusal is logged once per source and reason per minute (an `htable`
   with a 60 s expiry), never per packet, and never with a password or digest response.

Digest users are kept as HA1 hashes (md5 of `user:realm:password`) in an `htable` filled
when Kamailio starts (`event_route[htable:mod-init]`): no database and no plain password
in the rendered files, which are written mode 0600 anyway (an HA1 is password-equivalent
for its realm).

Transports: UDP always; TCP on the same port and TLS on its own port if asked. Workers
are always reached over UDP; `record_route()` double-records when the transports differ,
and a TCP/TLS caller's Contact gets an alias (`nathelper`) so requests from a worker
(BYE) go back over the caller's own connection.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ALLOW_GROUP",
    "SipEdge",
    "TlsFiles",
    "digest_ha1",
    "read_auth_users",
    "render_address_file",
    "render_tls_config",
]

ALLOW_GROUP = 1  # permissions group of the allow-list in the address file
_USER = re.compile(r"^[A-Za-z0-9._+-]{1,64}$")  # digest user names we accept
_REALM = re.compile(r"^[A-Za-z0-9.-]{1,64}$")
MAX_AUTH_USERS = 10_000
LOG_ONCE_S = 60  # a source's refusals of one kind are logged once per this many seconds


@dataclass(frozen=True)
class TlsFiles:
    """Certificate chain and private key (PEM) the front presents on its TLS port."""

    certificate: Path
    private_key: Path


@dataclass(frozen=True)
class SipEdge:
    """The front's admission policy and transports (defaults: open, UDP only, pike on)."""

    allow: tuple[str, ...] = ()  # IPs / CIDRs admitted without authentication
    auth_ha1: dict[str, str] = field(default_factory=dict)  # user -> md5(user:realm:pass)
    realm: str = "ivr"
    pike_requests: int = 30  # per source per window; 0 turns rate limiting off
    pike_window_s: int = 2
    tcp: bool = False
    tls_port: int | None = None
    tls: TlsFiles | None = None

    def __post_init__(self) -> None:
        networks = [_network(a) for a in self.allow]  # raises on a bad entry
        object.__setattr__(self, "allow", tuple(str(n) for n in networks))
        if not _REALM.match(self.realm):
            raise ValueError(f"realm must be letters, digits, '.' or '-': {self.realm!r}")
        for user, ha1 in self.auth_ha1.items():
            if not _USER.match(user) or not re.fullmatch(r"[0-9a-f]{32}", ha1):
                raise ValueError(f"bad digest user entry {user!r}")
        if self.pike_requests < 0 or not 1 <= self.pike_window_s <= 3600:
            raise ValueError("pike_requests must be >= 0 and pike_window_s in 1..3600")
        if (self.tls_port is None) != (self.tls is None):
            raise ValueError("TLS needs both a port and a certificate/key")

    @property
    def rate_limited(self) -> bool:
        return self.pike_requests > 0

    @property
    def retry_after_s(self) -> int:
        """Retry-After on a rate-limit 503: two windows, when pike has forgotten the burst."""
        return 2 * self.pike_window_s

    @property
    def policy(self) -> str:
        """"open", "allow-list", "digest" or "allow-list+digest"."""
        parts = [name for name, on in (("allow-list", self.allow), ("digest", self.auth_ha1))
                 if on]
        return "+".join(parts) or "open"


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError as e:
        raise ValueError(f"allow-list entry is not an IP address or CIDR: {entry!r}") from e


def digest_ha1(user: str, realm: str, password: str) -> str:
    """HA1 of RFC 2617 digest authentication (what Kamailio compares, `flags` 1)."""
    return hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()  # noqa: S324


def read_auth_users(path: Path, realm: str, max_bytes: int = 1 << 20) -> dict[str, str]:
    """Digest users from a file of `user:password` lines (`#` comments, blank lines).

    A line `user:md5:<32 hex>` gives the HA1 for `realm` directly, so the file need not
    hold the password. Errors name the line number, never its content (passwords)."""
    data = Path(path).read_bytes()
    if len(data) > max_bytes:
        raise ValueError(f"{path}: larger than {max_bytes} bytes")
    users: dict[str, str] = {}
    for n, raw in enumerate(data.decode("utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, secret = line.partition(":")
        if not sep or not _USER.match(user) or not secret:
            raise ValueError(f"{path}:{n}: expected user:password (user: letters, digits, ._+-)")
        if user in users:
            raise ValueError(f"{path}:{n}: user {user!r} given twice")
        kind, sep2, ha1 = secret.partition(":")
        if kind == "md5" and sep2 and re.fullmatch(r"[0-9a-fA-F]{32}", ha1):
            users[user] = ha1.lower()
        else:
            users[user] = digest_ha1(user, realm, secret)
        if len(users) > MAX_AUTH_USERS:
            raise ValueError(f"{path}: more than {MAX_AUTH_USERS} users")
    return users


def render_address_file(edge: SipEdge) -> str:
    """The permissions module's address file: `group ip mask port tag` per allowed network."""
    lines = ["# generated by ivr.cluster: sources admitted without authentication"]
    for entry in edge.allow:
        net = ipaddress.ip_network(entry)
        lines.append(f"{ALLOW_GROUP} {net.network_address} {net.prefixlen} 0 allow")
    return "\n".join(lines) + "\n"


def render_tls_config(edge: SipEdge) -> str:
    """The tls module's profiles: our certificate as server; no client certificates asked
    (callers authenticate by source or digest); TLS 1.2 or newer only."""
    if edge.tls is None:
        raise ValueError("no TLS files configured")
    return (
        "# generated by ivr.cluster: TLS profiles of the front\n"
        "[server:default]\n"
        "method = TLSv1.2+\n"
        "verify_certificate = no\n"
        "require_certificate = no\n"
        f"certificate = {edge.tls.certificate}\n"
        f"private_key = {edge.tls.private_key}\n"
        "\n[client:default]\n"
        "method = TLSv1.2+\n"
        "verify_certificate = no\n"
        "require_certificate = no\n"
    )
