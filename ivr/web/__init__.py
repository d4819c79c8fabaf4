"""HTTP: the JSON API (`ivr.web.api`) and the web pages served next to it (the live-agent
desktop and the supervisor dashboard), signed in with a password and a signed session
cookie."""

from __future__ import annotations

from ivr.web.auth import (
    Principal,
    SessionSigner,
    SignInLimiter,
    hash_password,
    load_or_create_secret,
    verify_password,
)
from ivr.web.desk import add_desk_routes

__all__ = [
    "Principal",
    "SessionSigner",
    "SignInLimiter",
    "add_desk_routes",
    "hash_password",
    "load_or_create_secret",
    "verify_password",
]
