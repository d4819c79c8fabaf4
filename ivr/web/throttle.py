"""Limits on failed sign-ins that stop guessing without letting a stranger lock a user out.

The first limiter counted failures per user name only, so anyone who knew a name could keep
its owner out for good by failing five times a minute, and one address could try a thousand
names without ever being slowed (issue 15). `SignInThrottle` keeps three counts instead:

- per (name, address): 5 failures a minute, then 429 for that pair only. The real user at
  another address is not affected, and a success clears the pair.
- per address, across names: 20 failures in 5 minutes, then 429 for every name from there
  (password spraying). IPv6 addresses count per /64, what one subscriber usually holds.
- per name, across addresses: 30 failures in 15 minutes only *slows* each further attempt for
  that name by `slow_s`, however it ends; it never refuses, so a botnet cannot lock the
  owner out, but it gets about one guess a second per connection it holds open.

With a database (`SignInThrottle(db=...)`, what the service does) the counts live in the
shared call database (`signin_failures`, keys stored as SHA-256 only, rows older than the
longest window pruned as new ones arrive), so every worker process counts the same attempts:
N workers do not give N times the guesses. Without one they live in this process (sliding
windows, at most `max_keys` keys each, oldest forgotten first).
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

_NAME_CHARS = 200  # a longer name is cut for the key (the whole name is still checked)
TABLE = "signin_failures"
KEEP_S = 900.0  # the longest window: older failures count for nothing


def migrate(db: Any) -> None:
    """Migration 012: failed sign-ins shared by the workers (scope, hashed key, time)."""
    db[TABLE].create({"scope": str, "key_hash": str, "at": float},
                     not_null={"scope", "key_hash", "at"})
    db[TABLE].create_index(["scope", "key_hash", "at"])
    db[TABLE].create_index(["at"])


class Limiter(Protocol):
    max_failures: int
    window_s: float

    def retry_after(self, key: str) -> float: ...
    def failed(self, key: str) -> None: ...
    def succeeded(self, key: str) -> None: ...


class SignInLimiter:
    """At most `max_failures` failed sign-ins per key within `window_s`; memory bounded by
    `max_keys` (the oldest keys are forgotten first)."""

    def __init__(self, max_failures: int = 5, window_s: float = 60.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        times = self._recent(key)
        if len(times) < self.max_failures:
            return 0.0
        return max(0.0, times[0] + self.window_s - self._clock())

    def failed(self, key: str) -> None:
        """Record one failed attempt for `key`."""
        times = self._recent(key)
        times.append(self._clock())
        self._failures.pop(key, None)
        self._failures[key] = times  # most recent last, for eviction order
        while len(self._failures) > self.max_keys:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, key: str) -> None:
        """A good sign-in clears the key's failures."""
        self._failures.pop(key, None)


class SharedSignInLimiter:
    """`SignInLimiter` over the shared database (`scope` keeps limits apart): at most
    `max_failures` failed sign-ins per key within `window_s`, counted by every worker."""

    def __init__(self, db: Any, scope: str, max_failures: int, window_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.db, self.scope = db, scope
        self.max_failures, self.window_s = max_failures, window_s
        self._clock = clock

    @staticmethod
    def _hash(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    def retry_after(self, key: str) -> float:
        now = self._clock()
        times = [r["at"] for r in self.db.query(
            f"select at from {TABLE} where scope = ? and key_hash = ? and at > ? "
            "order by at desc limit ?",
            [self.scope, self._hash(key), now - self.window_s, self.max_failures])]
        if len(times) < self.max_failures:
            return 0.0
        return max(0.0, min(times) + self.window_s - now)

    def failed(self, key: str) -> None:
        now = self._clock()
        with self.db.conn:
            self.db.execute(f"delete from {TABLE} where at < ?", [now - KEEP_S])
            self.db.execute(f"insert into {TABLE} (scope, key_hash, at) values (?, ?, ?)",
                            [self.scope, self._hash(key), now])

    def succeeded(self, key: str) -> None:
        with self.db.conn:
            self.db.execute(f"delete from {TABLE} where scope = ? and key_hash = ?",
                            [self.scope, self._hash(key)])


def address_key(ip: str | None) -> str:
    """The unit an address is counted in: the IPv4 address, the /64 of an IPv6 one."""
    try:
        addr = ipaddress.ip_address((ip or "").split("%")[0])
    except ValueError:
        return ip or "?"
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


@dataclass(frozen=True)
class Verdict:
    """What to do with one sign-in attempt: refuse for `retry_after_s` (> 0) or go ahead
    after waiting `delay_s`."""

    retry_after_s: float
    delay_s: float


class SignInThrottle:
    """The three sign-in limits of the module doc over one clock."""

    def __init__(self, *, slow_s: float = 1.0, db: Any = None, realm: str = "web",
                 clock: Callable[[], float] | None = None) -> None:
        def limiter(kind: str, n: int, window_s: float) -> Limiter:
            if db is not None:
                return SharedSignInLimiter(db, f"{realm}:{kind}", n, window_s,
                                           clock=clock or time.time)
            return SignInLimiter(n, window_s, clock=clock or time.monotonic)

        self.pair = limiter("pair", 5, 60.0)
        self.address = limiter("address", 20, 300.0)
        self.name = limiter("name", 30, KEEP_S)
        self.slow_s = slow_s

    @staticmethod
    def _keys(name: str, ip: str | None) -> tuple[str, str, str]:
        who = name.strip().casefold()[:_NAME_CHARS]
        where = address_key(ip)
        return f"{where}\0{who}", where, who

    def check(self, name: str, ip: str | None) -> Verdict:
        pair, where, who = self._keys(name, ip)
        wait = max(self.pair.retry_after(pair), self.address.retry_after(where))
        return Verdict(wait, self.slow_s if self.name.retry_after(who) > 0 else 0.0)

    def failed(self, name: str, ip: str | None) -> None:
        pair, where, who = self._keys(name, ip)
        self.pair.failed(pair)
        self.address.failed(where)
        self.name.failed(who)

    def succeeded(self, name: str, ip: str | None) -> None:
        """Clears the pair only: a success with one account must not wipe an address's
        failures against other accounts."""
        self.pair.succeeded(self._keys(name, ip)[0])
