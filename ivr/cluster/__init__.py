"""Several SIP workers behind a Kamailio dispatcher front (issue 9)."""

from ivr.cluster.kamailio import KamailioError, KamailioProcess
from ivr.cluster.kamailio_config import WorkerAddr, render_config
from ivr.cluster.supervisor import WorkerPool, serve_cluster

__all__ = [
    "KamailioError",
    "KamailioProcess",
    "WorkerAddr",
    "WorkerPool",
    "render_config",
    "serve_cluster",
]
