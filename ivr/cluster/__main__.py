"""`python -m ivr.cluster --workers N ...`: N `ivr serve` workers behind a Kamailio front.

Options not listed here (--config, --dialplan, --asr-model, --log-level) are passed to every
worker unchanged. Worker i listens for SIP on `--worker-sip-base + i` (default: public port
+ 10 + i) and HTTP on `--http-port + i`; all share `--data-dir` and one database (`--database-url`,
default SQLite in the data directory); worker i logs to `<data-dir>/workers/worker-<i>.log`.
The SIP edge flags (--allow, --auth-users-file, --pike-*, --tcp, --tls-*) are the `front`
settings of `ivr serve --workers N`; local workers answer INVITEs only from the front.
With `asr.service` auto (the default) or shared, one inference server
(`python -m ivr.inference_service`, log `<data-dir>/workers/inference.log`) is started
before the workers and restarted with back-off; the workers recognise through it
(ivr/cluster/inference_process.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from ivr.cluster.front_settings import FrontSettings, sip_edge
from ivr.cluster.kamailio import KamailioError
from ivr.cluster.kamailio_config import WorkerAddr
from ivr.cluster.supervisor import serve_cluster
from ivr.logs import LOG_FORMATS, setup_logging


def _remote(value: str) -> WorkerAddr:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return WorkerAddr(host, int(port))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ivr.cluster", description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    p.add_argument("--sip-host", default="127.0.0.1", help="address of the front and workers")
    p.add_argument("--sip-port", type=int, default=5060, help="public SIP port (Kamailio)")
    p.add_argument("--worker-sip-base", type=int, help="first worker SIP port (sip-port + 10)")
    p.add_argument("--http-port", type=int, default=8081, help="first worker HTTP port")
    p.add_argument("--data-dir", type=Path, default=Path("var"), help="shared data directory")
    p.add_argument("--database-url", help="shared database (default SQLite in the data dir)")
    p.add_argument("--remote-worker", type=_remote, action="append", default=[],
                   metavar="HOST:PORT", help="a worker on another machine (repeatable)")
    p.add_argument("--probe-interval", type=int, default=1, help="OPTIONS probe period, s")
    p.add_argument("--retry-after", type=int, default=30, help="Retry-After on the front's 503")
    p.add_argument("--drain-timeout", type=float, default=600.0,
                   help="on SIGTERM, wait this long for calls in progress")
    p.add_argument("--log-format", choices=LOG_FORMATS, default="text",
                   help="text or json lines, here and in every worker's log")
    edge = p.add_argument_group("SIP edge (README: Security of the SIP edge)")
    edge.add_argument("--allow", action="append", default=[], metavar="IP[/BITS]",
                      help="source that may call without authentication (repeatable; "
                      "none and no --auth-users-file: any source)")
    edge.add_argument("--auth-users-file", type=Path, metavar="FILE",
                      help="digest users (user:password or user:md5:HA1 lines) who may call "
                      "from any source")
    edge.add_argument("--auth-realm", default="ivr", help="digest realm (default ivr)")
    edge.add_argument("--pike-requests", type=int, default=30,
                      help="requests per source per --pike-window before 503 (0: no limit)")
    edge.add_argument("--pike-window", type=int, default=2, help="pike window, s (default 2)")
    edge.add_argument("--tcp", action="store_true", help="also SIP over TCP on --sip-port")
    edge.add_argument("--tls-port", type=int, help="SIP over TLS on this port")
    edge.add_argument("--tls-cert", type=Path, help="PEM certificate chain for --tls-port")
    edge.add_argument("--tls-key", type=Path, help="PEM private key for --tls-port")
    return p


def front_settings(args: argparse.Namespace) -> FrontSettings:
    """The `front` settings the edge flags give (ValidationError if inconsistent)."""
    return FrontSettings(
        allow=args.allow, auth_users_file=args.auth_users_file, auth_realm=args.auth_realm,
        pike_requests=args.pike_requests, pike_window_s=args.pike_window, tcp=args.tcp,
        tls_port=args.tls_port, tls_cert=args.tls_cert, tls_key=args.tls_key,
    )


def main(argv: list[str] | None = None) -> int:
    args, serve_args = build_parser().parse_known_args(argv)
    setup_logging(logging.INFO, args.log_format)  # the front's supervisor, like its workers
    serve_args += ["--log-format", args.log_format]
    os.environ.pop("NOTIFY_SOCKET", None)  # a worker's READY=1 is not the unit's readiness
    try:
        edge = sip_edge(front_settings(args))
    except (ValidationError, ValueError, OSError) as e:
        print(f"ivr cluster: SIP edge: {e}", file=sys.stderr)
        return 2
    try:
        return serve_cluster(
            serve_args, args.workers, args.sip_port, public_host=args.sip_host,
            data_dir=args.data_dir, sip_base_port=args.worker_sip_base,
            http_base_port=args.http_port, remote_workers=args.remote_worker,
            probe_interval_s=args.probe_interval, retry_after_s=args.retry_after,
            drain_timeout_s=args.drain_timeout, database_url=args.database_url, edge=edge,
        )
    except (KamailioError, RuntimeError) as e:
        print(f"ivr cluster: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
