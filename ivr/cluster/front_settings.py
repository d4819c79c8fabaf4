"""The `front` settings: the SIP edge of the Kamailio front of `ivr serve --workers N`
(`python -m ivr.cluster` takes the same as flags). README "Security of the SIP edge"."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from ivr.cluster.sip_edge import SipEdge, TlsFiles, read_auth_users
from ivr.config_sections import Section

__all__ = ["FrontSettings", "sip_edge"]


class FrontSettings(Section):
    allow: list[str] = Field(
        default_factory=list, description="IPs and networks (CIDR) that may call through the "
        "Kamailio front without authentication; others get 403 (or a 407 digest challenge "
        "with auth_users_file). [] and no auth_users_file: any source may call."
    )
    auth_users_file: Path | None = Field(
        None, description="Digest users allowed to call from any source: a file of "
        "`user:password` or `user:md5:<HA1>` lines (keep it mode 0600). Wrong password: 403."
    )
    auth_realm: str = Field(
        "ivr", pattern=r"^[A-Za-z0-9.-]{1,64}$", description="Digest realm of the challenge."
    )
    pike_requests: int = Field(
        30, ge=0, le=100000, description="SIP requests one source may send per "
        "pike_window_s; more are answered 503 with Retry-After (2 windows). 0: no limit. "
        "Our workers are exempt; a trunk carrying many calls from one address needs more."
    )
    pike_window_s: int = Field(2, ge=1, le=3600, description="Window of pike_requests, s.")
    tcp: bool = Field(False, description="Also accept SIP over TCP on the SIP port.")
    tls_port: int | None = Field(
        None, ge=1, le=65535, description="Accept SIP over TLS on this port (needs tls_cert "
        "and tls_key; Debian package kamailio-tls-modules)."
    )
    tls_cert: Path | None = Field(None, description="PEM certificate chain of the TLS port.")
    tls_key: Path | None = Field(None, description="PEM private key of the TLS port.")

    @field_validator("allow")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        SipEdge(allow=tuple(v))  # ValueError naming the bad entry
        return v

    @model_validator(mode="after")
    def _tls_complete(self) -> FrontSettings:
        given = [self.tls_port is not None, self.tls_cert is not None, self.tls_key is not None]
        if any(given) and not all(given):
            raise ValueError("front: set tls_port, tls_cert and tls_key together")
        return self


def sip_edge(front: FrontSettings) -> SipEdge:
    """The front's `SipEdge` (reads the users file now: OSError/ValueError if it is bad)."""
    users = (read_auth_users(front.auth_users_file, front.auth_realm)
             if front.auth_users_file else {})
    tls = (TlsFiles(front.tls_cert.resolve(), front.tls_key.resolve())
           if front.tls_cert and front.tls_key else None)
    return SipEdge(allow=tuple(front.allow), auth_ha1=users, realm=front.auth_realm,
                   pike_requests=front.pike_requests, pike_window_s=front.pike_window_s,
                   tcp=front.tcp, tls_port=front.tls_port, tls=tls)
