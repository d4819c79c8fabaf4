"""Trunks: the hotline's number registered with an upstream registrar (a PBX or a carrier).

pjsua2 registers each trunk as its own `Account` (digest credentials, re-registration before
expiry). Its own retry timer is switched off (`retryIntervalSec = 0`): a failed registration
is retried here with exponential back-off, so the state we show in `/api/health` and
`/metrics` (the last SIP code, when the next attempt is due) is the state we act on, and a
registrar that keeps refusing us is logged once per change of state, not once per attempt.

Everything here runs on the endpoint's SIP thread except `TrunkStatus` snapshots, which are
immutable and safe to read anywhere.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import pjsua2 as pj

from telephony import _pj
from telephony.sip_sources import resolve, source_ip

if TYPE_CHECKING:
    from telephony.endpoint import SipEndpoint

__all__ = ["Backoff", "TrunkConfig", "TrunkStatus", "parse_registrar"]

log = logging.getLogger("telephony.trunks")

TrunkState = Literal["registering", "registered", "failed", "unregistered"]
_REGISTRAR_RE = re.compile(
    r"sips?:(?:[^@;>\s]+@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(?::(\d{1,5}))?(?:;[^\s]*)?")
_DIAL_STRING_RE = re.compile(r"\+?[0-9*#]{1,32}")


def parse_registrar(uri: str) -> tuple[str, int]:
    """Host and port of a registrar URI (`sip:pbx.example.com:5060`, default port 5060);
    ValueError for anything else (it comes from a settings file someone else wrote)."""
    m = _REGISTRAR_RE.fullmatch(uri.strip())
    if m is None:
        raise ValueError(f"registrar must be a sip: URI such as sip:pbx.example.com:5060, "
                         f"got {uri[:80]!r}")
    port = int(m.group(2) or 5060)
    if not 1 <= port <= 65535:
        raise ValueError(f"registrar port out of range in {uri[:80]!r}")
    return m.group(1), port


@dataclass(frozen=True)
class TrunkConfig:
    """One upstream registrar the hotline registers with."""

    name: str
    registrar: str  # sip:host[:port]
    username: str  # digest user name
    password: str = field(default="", repr=False)
    realm: str = "*"  # digest realm; "*" answers any realm's challenge
    user: str = ""  # the number/user registered (AOR user, Contact user); default username
    domain: str = ""  # AOR host; default the registrar's host
    expires_s: int = 300
    outbound: bool = False  # outbound calls (agent legs, callbacks) go through this trunk
    retry_s: float = 5.0  # first retry after a failure; doubles up to retry_max_s
    retry_max_s: float = 300.0

    def __post_init__(self) -> None:
        parse_registrar(self.registrar)
        if not self.name or not self.username:
            raise ValueError("a trunk needs a name and a username")
        if self.expires_s < 10:
            raise ValueError(f"trunk {self.name}: expires_s must be >= 10")

    @property
    def aor_user(self) -> str:
        return self.user or self.username

    @property
    def host(self) -> str:
        return parse_registrar(self.registrar)[0]

    @property
    def hostport(self) -> str:
        host, port = parse_registrar(self.registrar)
        return f"{host}:{port}"

    @property
    def aor(self) -> str:
        return f"sip:{self.aor_user}@{self.domain or self.host}"

    def target(self, uri: str) -> str:
        """Where to send an outbound call: a bare number (`+15551234`, `1002`) or `tel:`
        URI becomes `sip:NUMBER@registrar`; a SIP URI is kept (the proxy route takes it
        through the trunk either way)."""
        bare = uri.strip()
        if bare.lower().startswith("tel:"):
            bare = bare[4:].split(";", 1)[0]
        if _DIAL_STRING_RE.fullmatch(bare):
            return f"sip:{bare}@{self.hostport}"
        return uri


@dataclass(frozen=True)
class TrunkStatus:
    """A trunk's registration as last reported (immutable: read it from any thread)."""

    name: str
    registrar: str
    state: TrunkState = "registering"
    code: int = 0  # last SIP status of a REGISTER (0: none yet; 408/503: no answer)
    reason: str = ""
    expires_s: int = 0  # as granted by the registrar
    next_retry_at: float | None = None  # time.monotonic() of the next attempt after a failure
    since: float = field(default_factory=time.time)  # wall time the state began
    failures: int = 0  # failed attempts in a row

    def as_dict(self, now: float | None = None) -> dict[str, Any]:
        """For `/api/health`: no credentials, retry time relative to now."""
        now = time.monotonic() if now is None else now
        return {
            "name": self.name, "registrar": self.registrar, "state": self.state,
            "code": self.code, "reason": self.reason, "expires_s": self.expires_s,
            "next_retry_in_s": (None if self.next_retry_at is None
                                else round(max(0.0, self.next_retry_at - now), 1)),
            "since": self.since, "failures": self.failures,
        }


@dataclass
class Backoff:
    """Exponential back-off with jitter: `first`, 2x, 4x ... capped at `cap` seconds."""

    first: float = 5.0
    cap: float = 300.0
    jitter: float = 0.1  # +- fraction, so many IVRs that lost one registrar do not retry in step
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, failures: int) -> float:
        base = min(self.cap, self.first * 2 ** max(0, failures - 1))
        return max(0.5, base * (1 + self.rng.uniform(-self.jitter, self.jitter)))


def next_status(old: TrunkStatus, code: int, reason: str, expiration: int, now: float,
                backoff: Backoff) -> TrunkStatus:
    """The status after a REGISTER outcome: a 2xx with a non-zero expiration is registered,
    a 2xx with expiration 0 answers our un-REGISTER, anything else is a failure retried after
    `backoff.delay(failures)`."""
    reason = _pj_reason(reason)
    if 200 <= code < 300 and expiration <= 0:  # our un-REGISTER (shutdown): no retry
        return replace(old, state="unregistered", code=code, reason=reason, expires_s=0,
                       next_retry_at=None, since=time.time(), failures=0)
    if 200 <= code < 300:
        since = old.since if old.state == "registered" else time.time()
        return replace(old, state="registered", code=code, reason=reason,
                       expires_s=expiration, next_retry_at=None, since=since, failures=0)
    failures = old.failures + 1
    since = old.since if old.state == "failed" else time.time()
    return replace(old, state="failed", code=code, reason=reason, expires_s=0,
                   next_retry_at=now + backoff.delay(failures), since=since, failures=failures)


def changed(old: TrunkStatus, new: TrunkStatus) -> bool:
    """Worth a log line: the state or the failure's SIP code changed."""
    return old.state != new.state or (new.state == "failed" and old.code != new.code)


def _pj_reason(reason: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in str(reason or ""))[:120]


class SourceAccount(_pj.Account):
    """A pjsua account that hands incoming INVITEs to the endpoint with their source
    address (`rdata.srcAddress`, "ip:port"), which the allow-list judges."""

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802
        try:
            call = _pj.Call(self, prm.callId, self._owner)
        except Exception:  # noqa: BLE001
            log.exception("error handling incoming call")
            return
        whole = source = ""
        with contextlib.suppress(Exception):  # bytes the binding cannot decode
            whole = prm.rdata.wholeMsg
        with contextlib.suppress(Exception):
            source = str(prm.rdata.srcAddress)
        try:
            self._owner._on_incoming(call, whole, source)
        except Exception:  # noqa: BLE001
            log.exception("error handling incoming call")


class TrunkAccount(SourceAccount):
    """One trunk's registration; calls the registrar routes to us arrive here too."""

    def __init__(self, owner: SipEndpoint, trunk: TrunkConfig) -> None:
        super().__init__(owner)
        self.trunk = trunk

    def onRegState(self, prm: pj.OnRegStateParam) -> None:  # noqa: N802
        source = ""
        with contextlib.suppress(Exception):  # no response (a timeout): no rdata
            source = str(prm.rdata.srcAddress)
        _pj._guard("onRegState", self._owner._on_reg_state, self.trunk.name, int(prm.code),
                   str(prm.reason), int(prm.expiration), source)


def account_config(trunk: TrunkConfig, transport_id: int, media: Any,
                   public_host: str | None) -> Any:
    """The pjsua2 `AccountConfig` registering `trunk` (and routing its calls through it)."""
    acfg = pj.AccountConfig()
    acfg.idUri = trunk.aor
    reg = acfg.regConfig
    reg.registrarUri = f"sip:{trunk.hostport}"
    reg.timeoutSec = trunk.expires_s
    reg.retryIntervalSec = 0  # retried by `Trunks` with back-off instead
    reg.firstRetryIntervalSec = 0
    reg.registerOnAdd = True
    reg.dropCallsOnFail = False
    acfg.sipConfig.transportId = transport_id
    acfg.sipConfig.authCreds.append(
        pj.AuthCredInfo("digest", trunk.realm or "*", trunk.username, 0, trunk.password))
    if trunk.outbound:  # every request of this account, INVITEs included, via the registrar
        acfg.sipConfig.proxies.append(f"sip:{trunk.hostport};lr")
    acfg.mediaConfig.transportConfig = media
    if public_host:  # the operator said which address is ours: never rewrite it from `received`
        acfg.natConfig.contactRewriteUse = 0
        acfg.natConfig.viaRewriteUse = 0
    return acfg


class Trunks:
    """The trunks' accounts and registration states (SIP thread), with immutable snapshots
    for other threads (`statuses()`)."""

    def __init__(self, configs: tuple[TrunkConfig, ...] | list[TrunkConfig]) -> None:
        names = [t.name for t in configs]
        if len(set(names)) != len(names):
            raise ValueError(f"trunk names must be unique: {names}")
        if sum(t.outbound for t in configs) > 1:
            raise ValueError("at most one trunk may be marked outbound")
        self.configs = {t.name: t for t in configs}
        self._backoff = {t.name: Backoff(t.retry_s, t.retry_max_s) for t in configs}
        self._status = {t.name: TrunkStatus(t.name, t.registrar) for t in configs}
        self._accounts: dict[str, TrunkAccount] = {}
        self._snapshot: tuple[TrunkStatus, ...] = tuple(self._status.values())
        self.registrar_addresses: set[str] = set()  # IPs our registrars answered from

    def statuses(self) -> tuple[TrunkStatus, ...]:
        """The latest status of every trunk (any thread)."""
        return self._snapshot

    def start(self, owner: SipEndpoint, transport_id: int, media: Any,
              public_host: str | None) -> None:
        """Create every trunk's account; registration starts at once (SIP thread)."""
        for trunk in self.configs.values():
            self.registrar_addresses |= resolve(trunk.host)
            acc = TrunkAccount(owner, trunk)
            try:
                acc.create(account_config(trunk, transport_id, media, public_host), False)
            except pj.Error as exc:
                self.on_reg_state(trunk.name, 500, _pj.error_text(exc), 0, "")
                continue
            self._accounts[trunk.name] = acc
            log.info("trunk %s: registering %s at %s", trunk.name, trunk.aor, trunk.registrar)

    def on_reg_state(self, name: str, code: int, reason: str, expiration: int,
                     source: str, now: float | None = None) -> None:
        old = self._status.get(name)
        if old is None:
            return
        now = time.monotonic() if now is None else now
        new = next_status(old, code, reason, expiration, now, self._backoff[name])
        if new.state == "registered" and (ip := source_ip(source)):
            self.registrar_addresses.add(ip)
        self._status[name] = new
        self._snapshot = tuple(self._status.values())
        if new.state == "registered" and changed(old, new):
            log.info("trunk %s: registered at %s (expires in %d s)", name,
                     self.configs[name].registrar, new.expires_s)
        elif new.state == "failed" and changed(old, new):
            log.warning("trunk %s: registration at %s failed: %d %s (retrying with back-off, "
                        "next in %.0f s; logged again when the outcome changes)", name,
                        self.configs[name].registrar, code, new.reason,
                        (new.next_retry_at or now) - now)
        else:
            log.debug("trunk %s: REGISTER %d %s", name, code, new.reason)

    def tick(self, now: float) -> None:
        """Retry the failed registrations that are due (SIP thread, every poll)."""
        for name, st in list(self._status.items()):
            if st.next_retry_at is None or now < st.next_retry_at:
                continue
            self._status[name] = replace(st, next_retry_at=None)
            self._snapshot = tuple(self._status.values())
            acc = self._accounts.get(name)
            if acc is None:
                continue
            try:
                acc.setRegistration(True)
            except pj.Error as exc:
                self.on_reg_state(name, 503, _pj.error_text(exc), 0, "", now)

    def account(self, name: str | None = None) -> tuple[TrunkAccount, TrunkConfig] | None:
        """The account of trunk `name`, or of the outbound trunk when `name` is None."""
        if name is None:
            name = next((t.name for t in self.configs.values() if t.outbound), None)
            if name is None:
                return None
        acc = self._accounts.get(name)
        if acc is None:
            raise ValueError(f"no trunk named {name!r}")
        return acc, acc.trunk

    def shutdown(self) -> None:
        """Un-REGISTER (pjsua sends it as the account is deleted) and drop the accounts."""
        for acc in self._accounts.values():
            try:
                acc.shutdown()
            except Exception as exc:  # noqa: BLE001
                log.warning("trunk %s shutdown: %s", acc.trunk.name, _pj.error_text(exc))
        self._accounts.clear()

