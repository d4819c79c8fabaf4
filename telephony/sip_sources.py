"""Who may call a single worker: INVITEs from allowed source addresses only.

`sip.allow_from` lists IPs and networks; empty means anyone (a worker behind the Kamailio
front, or on a trusted network). The registrars of the trunks are always allowed: a PBX
routes its callers' INVITEs to the contact we registered. Refusals are logged once per source
per minute with the count of the ones not logged, so a flood from one address cannot turn
into a flood of log lines (the worst a sender can do is fill the bounded table of sources).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable

__all__ = ["AllowList", "RefusalLog", "resolve", "source_ip"]

log = logging.getLogger("telephony.endpoint")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def source_ip(source: str) -> str:
    """The IP of an "ip:port", "[v6]:port" or bare IP source address ("" if not one)."""
    text = (source or "").strip()[:64]
    if text.startswith("["):
        host, bracket, _ = text[1:].partition("]")
        if not bracket:
            return ""
    elif text.count(":") == 1:
        host = text.split(":", 1)[0]
    else:
        host = text
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def parse_networks(entries: Iterable[str]) -> list[Network]:
    """IPs and CIDR networks (`10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`); ValueError names
    the bad entry."""
    nets: list[Network] = []
    for entry in entries:
        try:
            nets.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {str(entry)[:80]!r}") from None
    return nets


def resolve(host: str) -> set[str]:
    """The IPs of a host name (an IP literal is its own answer; nothing if unresolvable)."""
    bare = host.strip("[]")
    try:
        infos = socket.getaddrinfo(bare, None, proto=socket.IPPROTO_UDP)
    except OSError as exc:
        log.warning("cannot resolve %s: %s", bare, exc)
        return set()
    return {source_ip(str(info[4][0])) for info in infos} - {""}


class AllowList:
    """Configured networks plus addresses added at run time (the trunks' registrars)."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self.networks = parse_networks(entries)
        self.extra: set[str] = set()  # exact IPs, e.g. where a registrar answered from

    @property
    def open(self) -> bool:
        """Nothing configured: every source may call (as without an allow-list)."""
        return not self.networks

    def allows(self, source: str) -> bool:
        """Whether an INVITE from `source` ("ip:port") may be answered."""
        if self.open:
            return True
        ip_text = source_ip(source)
        if not ip_text:
            return False  # unparseable source: refused when a list is configured
        if ip_text in self.extra:
            return True
        ip = ipaddress.ip_address(ip_text)
        return any(ip.version == net.version and ip in net for net in self.networks)


class RefusalLog:
    """Logs a refused source at most once per `interval_s`, with how many were not logged."""

    def __init__(self, interval_s: float = 60.0, max_sources: int = 4096) -> None:
        self.interval_s = interval_s
        self.max_sources = max_sources
        self._last: dict[str, tuple[float, int]] = {}  # ip -> (logged at, refused since)
        self.total = 0  # refusals counted since start (for metrics)

    def refused(self, source: str, code: int, reason: str, now: float) -> bool:
        """Count one refusal; log it if this source was not logged in the last interval.
        Returns whether a line was logged."""
        self.total += 1
        key = source_ip(source) or "unparseable"
        last = self._last.get(key)
        if last is not None and now - last[0] < self.interval_s:
            self._last[key] = (last[0], last[1] + 1)
            return False
        if last is None and len(self._last) >= self.max_sources:
            self._prune(now)
        suppressed = last[1] if last is not None else 0
        self._last[key] = (now, 0)
        log.warning("refused INVITE from %s with %d %s%s (logged once per source per %.0f s)",
                    key, code, reason,
                    f"; {suppressed} more refused since the last line" if suppressed else "",
                    self.interval_s)
        return True

    def _prune(self, now: float) -> None:
        stale = [k for k, (t, _) in self._last.items() if now - t >= self.interval_s]
        for k in stale:
            del self._last[k]
        while len(self._last) >= self.max_sources:  # all recent: forget the oldest
            del self._last[min(self._last, key=lambda k: self._last[k][0])]
