"""The service under load: settings passed to it as IVR_* environment variables, its logs
(and every cluster worker's), and how it fared (exit code, worker restarts, native
crashes)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_RESTART = re.compile(r"worker\d+: exited with -?\d+")
_NATIVE_CRASH = "Fatal Python error"  # faulthandler's first line on a native crash


def service_health(exit_code: int | None, logs: Iterable[str]) -> dict[str, Any]:
    """How the service itself fared during a level: its exit code, the workers the cluster
    supervisor had to restart, and native crashes (faulthandler dumps) in any of its logs."""
    texts = list(logs)
    return {"exit_code": exit_code,
            "worker_restarts": sum(len(_RESTART.findall(t)) for t in texts),
            "native_crashes": sum(t.count(_NATIVE_CRASH) for t in texts)}


def service_logs(data_dir: Path, main_log: str) -> list[str]:
    """The service's own log and, for a cluster, every worker's (DATA_DIR/workers/*.log)."""
    workers = sorted((data_dir / "workers").glob("worker-*.log"))
    return [main_log] + [w.read_text(errors="replace") for w in workers]


# Every load-test caller comes from 127.0.0.1: the front's per-source flood limit (pike, 30
# requests per 2 s) would refuse them as one flooding source (BYEs and INVITEs answered 503).
LOAD_DEFAULTS = {"IVR_FRONT__PIKE_REQUESTS": "0"}


def setting_env(pairs: list[str]) -> dict[str, str]:
    """["vad.end_silence_ms=500"] -> {"IVR_VAD__END_SILENCE_MS": "500"} (a full IVR_* name
    is passed through as is), over LOAD_DEFAULTS."""
    env = dict(LOAD_DEFAULTS)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SystemExit(f"--set needs KEY=VALUE, got {pair!r}")
        env[key if key.startswith("IVR_") else "IVR_" + key.upper().replace(".", "__")] = value
    return env
