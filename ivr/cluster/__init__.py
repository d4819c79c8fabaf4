"""Several SIP workers behind a Kamailio dispatcher front (issue 9), and the SIP edge at
that front: allow-list, digest users, rate limits, TCP and TLS (issue 20)."""

from ivr.cluster.kamailio import KamailioError, KamailioProcess
from ivr.cluster.kamailio_config import WorkerAddr, render_config
from ivr.cluster.sip_edge import SipEdge, TlsFiles
from ivr.cluster.supervisor import WorkerPool, serve_cluster

__all__ = [
    "KamailioError",
    "KamailioProcess",
    "SipEdge",
    "TlsFiles",
    "WorkerAddr",
    "WorkerPool",
    "render_config",
    "serve_cluster",
]
