"""The worker's SIP edge from its settings: the endpoint with its trunks, allow-list and RTP
port range, and what it reports (`/api/health` fields, Prometheus lines).

Kept apart from `ivr.server` so the settings-to-telephony mapping is one tested function and
the health and metrics views of the trunks cannot drift apart.
"""

from __future__ import annotations

import time
from typing import Any

from ivr.config_sections import SipSettings
from telephony import CallListener, SipConfig, SipEndpoint
from telephony.trunks import TrunkConfig, TrunkStatus

__all__ = ["build_endpoint", "edge_health", "edge_metrics", "endpoint_metrics", "sip_config",
           "trunk_configs"]


def sip_config(s: SipSettings) -> SipConfig:
    """`SipConfig` from the `sip` settings (RTP range: rtp_port_min..rtp_port_max).

    pjsua gives calls RTP ports from `port` upwards in steps of 2 while they are at most
    `port + portRange` (then it wraps to `port`), and each RTCP port is RTP + 1: measured
    with SIPp, portRange 8 from 31200 used 31200..31208 (RTCP 31209). So the range passed
    is max - min - 1, keeping RTCP of the last pair at rtp_port_max."""
    rtp: dict[str, int] = {}
    if s.rtp_port_min:
        rtp = {"rtp_port": s.rtp_port_min,
               "rtp_port_range": s.rtp_port_max - s.rtp_port_min - 1}
    return SipConfig(bind_host=s.host, port=s.port, public_host=s.public_host,
                     max_calls=s.max_calls, codec_priorities=tuple(s.codecs),
                     retry_after=s.retry_after_s, media_timeout_s=s.media_timeout_s,
                     srtp=s.srtp, clock_rate=s.clock_rate, **rtp)


def trunk_configs(s: SipSettings) -> list[TrunkConfig]:
    """The trunks to register (passwords read from their files now: OSError if unreadable)."""
    return [TrunkConfig(name=t.name, registrar=t.registrar, username=t.username,
                        password=t.secret(), realm=t.realm or "*", user=t.user or "",
                        domain=t.domain or "", expires_s=t.expires_s, outbound=t.outbound,
                        retry_s=t.retry_s, retry_max_s=t.retry_max_s) for t in s.trunks]


def build_endpoint(s: SipSettings, listener: CallListener) -> SipEndpoint:
    """The worker's `SipEndpoint` (not started)."""
    return SipEndpoint(sip_config(s), listener, trunks=trunk_configs(s),
                       allow_from=allowed_sources(s))


def allowed_sources(s: SipSettings) -> list[str]:
    """Who may send INVITEs: `sip.allow_from` and every trunk's own `allow_from` (its
    carrier's SBCs); [] (nothing listed anywhere): anyone. The registrars are added by the
    endpoint."""
    return list(dict.fromkeys([*s.allow_from, *(a for t in s.trunks for a in t.allow_from)]))


def edge_health(endpoint: SipEndpoint | None) -> dict[str, Any]:
    """`/api/health` fields: each trunk's registration, and INVITEs refused by source."""
    if endpoint is None:
        return {"trunks": [], "sip_refused_sources": 0}
    now = time.monotonic()
    return {"trunks": [t.as_dict(now) for t in endpoint.trunk_statuses()],
            "sip_refused_sources": endpoint.refused_invites()}


def edge_metrics(statuses: tuple[TrunkStatus, ...] | list[TrunkStatus], refused: int,
                 now: float | None = None) -> str:
    """Prometheus text lines for the trunks and the refused INVITEs."""
    now = time.monotonic() if now is None else now
    out = [
        "# HELP ivr_sip_refused_source_total INVITEs refused (403) because of their source "
        "address (sip.allow_from).",
        "# TYPE ivr_sip_refused_source_total counter",
        f"ivr_sip_refused_source_total {refused}",
    ]
    if not statuses:
        return "\n".join(out) + "\n"
    gauges = [
        ("ivr_trunk_registered", "1 while the trunk's registration is current.",
         lambda t: int(t.state == "registered")),
        ("ivr_trunk_last_sip_code", "SIP status of the trunk's last REGISTER (0: none yet).",
         lambda t: t.code),
        ("ivr_trunk_failures", "Failed registration attempts in a row.", lambda t: t.failures),
        ("ivr_trunk_next_retry_seconds", "Seconds to the next attempt after a failure "
         "(-1: none scheduled).", lambda t: -1 if t.next_retry_at is None
         else round(max(0.0, t.next_retry_at - now), 1)),
    ]
    for name, help_text, value in gauges:
        out += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        out += [f'{name}{{trunk="{_label(t.name)}"}} {value(t)}' for t in statuses]
    return "\n".join(out) + "\n"


def endpoint_metrics(endpoint: SipEndpoint | None) -> str:
    """`edge_metrics` of a running endpoint ("" before it exists)."""
    if endpoint is None:
        return ""
    return edge_metrics(endpoint.trunk_statuses(), endpoint.refused_invites())


def _label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
