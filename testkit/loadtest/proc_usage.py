"""CPU and memory of the service under load, from /proc: every process of the `ivr serve`
tree (workers, cluster supervisor, Kamailio and their helpers) is sampled on a thread and
its CPU ticks and peak RSS are kept by process and role."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ProcStat:
    pid: int
    comm: str
    ppid: int
    cpu_ticks: int  # utime + stime


def parse_stat(text: str) -> ProcStat:
    """/proc/<pid>/stat: the command name is in parentheses and may contain spaces."""
    head, _, tail = text.rpartition(")")
    pid_s, _, comm = head.partition(" (")
    fields = tail.split()
    # fields[0] is state (field 3); ppid is field 4, utime 14, stime 15
    return ProcStat(int(pid_s), comm, int(fields[1]), int(fields[11]) + int(fields[12]))


def parse_rss_kb(status_text: str) -> int:
    """VmRSS of /proc/<pid>/status in kB (0 for a kernel thread or a zombie)."""
    for line in status_text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def descendants(roots: Iterable[int], stats: Iterable[ProcStat]) -> set[int]:
    """The roots and every process below them."""
    children: dict[int, list[int]] = {}
    for st in stats:
        children.setdefault(st.ppid, []).append(st.pid)
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:  # the process exited between listing and reading
        return None


def all_stats(proc: str = "/proc") -> list[ProcStat]:
    out = []
    for name in os.listdir(proc):
        if name.isdigit() and (text := _read(f"{proc}/{name}/stat")) is not None:
            with contextlib.suppress(ValueError, IndexError):
                out.append(parse_stat(text))
    return out


ROLES = ("kamailio", "worker", "supervisor", "inference")


def process_role(pid: int, comm: str) -> str:
    """'kamailio', 'worker' (an `ivr serve` process with SIP), 'supervisor', 'inference' (a
    shared inference service: a `python -m ...inference...` process) or comm."""
    if comm.startswith("kamailio"):
        return "kamailio"
    cmd = (_read(f"/proc/{pid}/cmdline") or "").split("\0")
    module = cmd[cmd.index("-m") + 1] if "-m" in cmd[:-1] else ""
    if "inference" in module:
        return "inference"
    if "serve" in cmd:
        return "supervisor" if "--workers" in cmd and _workers_arg(cmd) > 1 else "worker"
    return comm


def _workers_arg(cmd: Sequence[str]) -> int:
    with contextlib.suppress(ValueError, IndexError):
        return int(cmd[cmd.index("--workers") + 1])
    return 1


@dataclass
class ProcUsage:
    """CPU and memory of one process tree, from periodic /proc samples."""

    first_ticks: dict[int, int] = field(default_factory=dict)
    last_ticks: dict[int, int] = field(default_factory=dict)
    peak_rss_kb: dict[int, int] = field(default_factory=dict)
    role: dict[int, str] = field(default_factory=dict)
    peak_total_rss_kb: int = 0
    samples: int = 0

    def add(self, stats: Iterable[ProcStat], rss_kb: dict[int, int]) -> None:
        for st in stats:
            self.first_ticks.setdefault(st.pid, st.cpu_ticks)
            self.last_ticks[st.pid] = st.cpu_ticks
            self.peak_rss_kb[st.pid] = max(self.peak_rss_kb.get(st.pid, 0), rss_kb.get(st.pid, 0))
        self.peak_total_rss_kb = max(self.peak_total_rss_kb, sum(rss_kb.values()))
        self.samples += 1

    def cpu_seconds(self, role: str | None = None) -> float:
        ticks = sum(self.last_ticks[p] - self.first_ticks[p] for p in self.last_ticks
                    if role is None or self.role.get(p) == role)
        return ticks / CLK_TCK

    def peak_rss_by_role(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for pid, kb in sorted(self.peak_rss_kb.items()):
            out.setdefault(self.role.get(pid, "?"), []).append(kb)
        return out


class ProcSampler:
    """Samples CPU ticks and RSS of a process tree every `interval` s on a thread."""

    def __init__(self, root_pid: int, interval: float = 0.5) -> None:
        self.root_pid = root_pid
        self.interval = interval
        self.usage = ProcUsage()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="proc-sampler", daemon=True)

    def sample(self) -> None:
        stats = all_stats()
        tree = descendants([self.root_pid], stats)
        mine = [s for s in stats if s.pid in tree]
        rss = {}
        for st in sorted(mine, key=lambda s: s.pid):
            if st.pid not in self.usage.role:
                role = process_role(st.pid, st.comm)
                parent = self.usage.role.get(st.ppid)
                if role not in ROLES and parent in ("worker", "supervisor"):
                    role = f"{parent} helper"  # e.g. a multiprocessing child of a worker
                self.usage.role[st.pid] = role
            rss[st.pid] = parse_rss_kb(_read(f"/proc/{st.pid}/status") or "")
        self.usage.add(mine, rss)

    def __enter__(self) -> ProcSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except OSError:
                log.exception("sampling /proc failed")
