"""Kamailio in front of several `ivr serve` workers: the process (check the configuration,
start, wait until it answers, stop) and its runtime control over the ctl socket. What it
runs, and how it routes calls, is rendered by `kamailio_config.py`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ivr.cluster.kamailio_config import (
    DISPATCH_SET,
    WorkerAddr,
    render_config,
    render_dispatcher_list,
)
from ivr.cluster.parent_death import die_with_parent
from ivr.cluster.sip_edge import SipEdge, render_address_file, render_tls_config
from ivr.cluster.sip_probe import sip_request
from ivr.cluster.stop_child import kill_group, stop_child

__all__ = [
    "KamailioError",
    "KamailioProcess",
    "module_dir",
]


class KamailioError(RuntimeError):
    """kamailio is missing, rejected the configuration, or did not come up."""


def module_dir() -> Path | None:
    """Where Debian's kamailio keeps its modules (multiarch path), if installed."""
    for cand in sorted(glob.glob("/usr/lib/*/kamailio/modules")) + [
        "/usr/lib/kamailio/modules", "/usr/local/lib64/kamailio/modules",
        "/usr/local/lib/kamailio/modules",
    ]:
        if (Path(cand) / "dispatcher.so").exists():
            return Path(cand)
    return None


class KamailioProcess:
    """A Kamailio front on `listen_host:listen_port`, configured by `render_config`."""

    def __init__(
        self,
        listen_port: int,
        workers: list[WorkerAddr],
        *,
        listen_host: str = "127.0.0.1",
        workdir: Path | None = None,
        binary: str = "kamailio",
        edge: SipEdge | None = None,
        **config_options: object,
    ) -> None:
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.workers = list(workers)
        self.binary = binary
        self.config_options = config_options
        self.edge = edge or SipEdge()
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="kamailio-"))
        self.cfg_path = self.workdir / "kamailio.cfg"
        self.list_path = self.workdir / "dispatcher.list"
        self.address_path = self.workdir / "address.list"
        self.tls_config_path = self.workdir / "tls.cfg"
        self.rpc_socket = self.workdir / "ctl.sock"
        self.log_path = self.workdir / "kamailio.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"sip:hotline@{self.listen_host}:{self.listen_port}"

    @property
    def tls_uri(self) -> str:
        """Where to call the front over TLS (ValueError without a TLS port)."""
        if self.edge.tls_port is None:
            raise ValueError("the front has no TLS port")
        return f"sip:hotline@{self.listen_host}:{self.edge.tls_port};transport=tls"

    def write_config(self) -> Path:
        """Write kamailio.cfg and dispatcher.list into the work directory; check them."""
        exe = self._exe()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.list_path.write_text(render_dispatcher_list(self.workers))
        if self.edge.allow:
            self.address_path.write_text(render_address_file(self.edge))
        if self.edge.tls is not None:
            self.tls_config_path.write_text(render_tls_config(self.edge))
        _write_private(self.cfg_path, render_config(  # holds digest HA1s: owner only
            self.listen_host, self.listen_port, self.workers, list_file=self.list_path,
            rpc_socket=self.rpc_socket, mpath=module_dir(), edge=self.edge,
            address_file=self.address_path, tls_config=self.tls_config_path,
            **self.config_options,  # type: ignore[arg-type]
        ))
        check = subprocess.run([exe, "-c", "-f", str(self.cfg_path)], capture_output=True,
                               text=True, timeout=30)
        if check.returncode != 0:
            raise KamailioError(
                f"kamailio rejected {self.cfg_path} (exit {check.returncode}):\n"
                f"{(check.stdout + check.stderr)[-4000:]}")
        return self.cfg_path

    def start(self, timeout: float = 10.0) -> KamailioProcess:
        """Check the config, start kamailio in the foreground, wait until it answers OPTIONS."""
        exe = self._exe()
        self.write_config()
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [exe, "-DD", "-E", "-f", str(self.cfg_path), "-Y", str(self.workdir),
             "-P", str(self.workdir / "kamailio.pid")],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent(),
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.stop()
                raise KamailioError(f"kamailio exited with {code}:\n{self.log()[-4000:]}")
            with contextlib.suppress(TimeoutError, OSError):
                if sip_request(self.listen_host, self.listen_port, timeout=0.3).status == 200:
                    return self
            if time.monotonic() > deadline:
                self.stop()
                raise KamailioError(f"kamailio not answering in {timeout} s:\n{self.log()[-4000:]}")
            time.sleep(0.1)

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM the main process (it stops its children); SIGKILL the group if it hangs."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        stop_child(proc, timeout)
        kill_group(proc.pid)  # children left behind
        self._log.close()
        return proc.returncode

    def __enter__(self) -> KamailioProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # ---- runtime control (kamcmd over the ctl socket) --------------------------------------
    def rpc(self, *command: str, timeout: float = 5.0) -> str:
        kamcmd = shutil.which("kamcmd")
        if kamcmd is None:
            raise KamailioError("kamcmd is not installed (Debian package kamailio)")
        res = subprocess.run([kamcmd, "-s", f"unix:{self.rpc_socket}", *command],
                             capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            raise KamailioError(f"kamcmd {' '.join(command)}: {res.stderr or res.stdout}")
        return res.stdout

    def destination_states(self) -> dict[str, str]:
        """URI -> dispatcher flags ("AP" active+probing, "IP" inactive, "DX" disabled...)."""
        text = self.rpc("dispatcher.list")
        return dict(re.findall(r"URI:\s*(\S+)\s+FLAGS:\s*(\S+)", text))

    def is_active(self, worker: WorkerAddr) -> bool:
        return self.destination_states().get(worker.uri, "").startswith("A")

    def set_state(self, worker: WorkerAddr, state: str) -> None:
        """`dispatcher.set_state`: "a" active, "i" inactive, "d" disabled (+ "p" probing)."""
        self.rpc("dispatcher.set_state", state, str(DISPATCH_SET), worker.uri)

    def _exe(self) -> str:
        exe = shutil.which(self.binary) or (
            "/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None)
        if exe is None:
            raise KamailioError("kamailio is not installed (Debian: apt-get install kamailio)")
        return exe


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only (created so, never widened)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
