"""The HTTP side of a SIP worker (`ivr serve`): the API and web pages over the worker's store
and live sessions, the token guarding them, and the health figures `/api/health` reports.

Kept apart from the service's start-up and call handling (`ivr.server`): these only read the
running service. With no `api_token` configured one is generated once into
``data_dir/api_token`` (mode 600) and kept across restarts, so a script's token keeps working.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ivr.call.watchdog import recording_health
from ivr.files import read_or_create
from ivr.readiness import Readiness
from ivr.sip_edge import edge_health, endpoint_metrics
from ivr.web.api import build_app
from ivr.web.auth import load_or_create_secret
from ivr.web.dashboard import SIP_EDGE_METRICS

if TYPE_CHECKING:
    from ivr.server import IvrService

__all__ = ["service_health", "start_http", "stored_token"]

log = logging.getLogger("ivr.server")


async def start_http(service: IvrService) -> web.AppRunner | None:
    """Serve the API on `http.host:http.port` (None: `http.port` is 0, no HTTP)."""
    s = service.settings
    if not s.http.port:
        return None
    token = s.api_token or stored_token(s.data_dir)
    app = build_app(service.store, token, service.health, desk_agents=s.agents,
                    desk_secret=load_or_create_secret(s.data_dir / "web_secret"),
                    sessions=lambda: service.sessions, recording_key=service.recording_key,
                    ready=Readiness(service))
    app[SIP_EDGE_METRICS] = lambda: endpoint_metrics(service.endpoint)  # trunks on /metrics
    from ivr.web.limits import raise_open_files_limit, serve_http

    raise_open_files_limit()  # room for RTP sockets even with HTTP at its connection cap
    runner, _ = await serve_http(
        app, s.http.host, s.http.port, max_connections=s.http.max_connections,
        header_timeout_s=s.http.header_timeout_s, access_log=None)
    return runner


def stored_token(data_dir: Path) -> str:
    """No token configured: make one, keep it in data_dir/api_token (mode 600)."""
    path = data_dir / "api_token"
    existed = path.exists()
    token = read_or_create(path, lambda: (secrets.token_urlsafe(24) + "\n").encode(),
                           valid=lambda data: bool(data.strip())).decode().strip()
    if not existed:
        log.warning("no api_token configured: generated one in %s", path)
    return token


def service_health(service: IvrService, uptime_s: float) -> dict[str, Any]:
    """`/api/health`: calls, draining, dialplan, models, SIP, recording and the SIP edge."""
    plan, settings = service.dialplan.plan, service.settings
    return {
        "active_calls": len(service.sessions), "max_calls": settings.sip.max_calls,
        "draining": service.draining, "uptime_s": uptime_s,
        "dialplan": f"{plan.name}@{service.dialplan.version}",
        "asr_model": settings.asr.model,
        "asr_service": getattr(getattr(service, "asr_stack", None), "mode", None),
        "sip": f"{settings.sip.host}:{settings.sip.port}",
        "sip_calls": service.endpoint.active_calls() if service.endpoint else 0,
        "recording": recording_health(), **edge_health(service.endpoint),
    }
