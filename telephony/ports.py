"""Free-port helpers for loopback tests and softphones.

Ports are picked by binding port 0 and reading what the kernel chose. There is an unavoidable
race between closing the probe socket and the real user binding it; ranges are picked from a
random high base and checked port by port to make collisions between concurrent processes rare.
"""

from __future__ import annotations

import random
import socket

__all__ = ["free_tcp_port", "free_udp_port", "free_udp_range"]


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port on `host` that was free a moment ago (also free for TCP, checked).

    SIP listens on the same port number over UDP and TCP (Kamailio with `tcp`, pjsua2 with
    a TCP transport), so a port free only for UDP can fail the TCP bind.
    """
    return _free_port(host, socket.SOCK_DGRAM)


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that was free a moment ago (also free for UDP, checked)."""
    return _free_port(host, socket.SOCK_STREAM)


def _free_port(host: str, kind: int) -> int:
    """A port the kernel picks for `kind` that is free for the other protocol too."""
    other_free = _tcp_free if kind == socket.SOCK_DGRAM else _udp_free
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if other_free(host, port):
            return port
    raise RuntimeError("could not find a free port")


def _tcp_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _udp_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_udp_range(count: int, host: str = "127.0.0.1", low: int = 20000, high: int = 60000) -> int:
    """First port of `count` consecutive UDP ports (even first port) that are all free now."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(low, high - count) & ~1
        if all(_udp_free(host, p) for p in range(base, base + count)):
            return base
    raise RuntimeError(f"could not find {count} free consecutive UDP ports")
