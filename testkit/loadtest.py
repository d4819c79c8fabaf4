"""Building blocks of `scripts/loadtest`: statistics, audio-gap detection, /proc sampling.

The pure parts (percentiles, gap detection, the sweep decision, /proc parsing) are unit-tested
in tests/unit/test_loadtest.py; the call script that drives real softphones is in
`run_call`, and the script wires them together.

Audio gaps (what the caller hears): baresip records the decoded audio of each call. A *gap*
is a run of at least `min_gap_ms` (40 ms) of digital silence (every sample within
`threshold`, i.e. at most one mu-law step around zero) that has non-silent audio on both
sides within `max_gap_ms` (300 ms): a hole inside a prompt, not the silence between prompts
or while the caller speaks. A TTS voice can itself produce such runs (a pause between words
rendered as exact zeros), so the figure is only meaningful against the same measurement on
an idle system (the M=1 point of a sweep): gaps that appear only under load are starvation
(a frame the IVR did not have ready) or lost RTP packets.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import re
import threading
import time
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from testkit.harness import ASTERISK_SOUNDS, IvrProcess, ScriptedCaller

log = logging.getLogger("testkit.loadtest")

# Real human speech (Asterisk core sounds, CC BY-SA 3.0) and the intent each should reach.
REQUESTS = [
    ("queue-callswaiting.wav", "agent"),  # "Waiting to speak with a representative"
    ("info-about-last-call.wav", "bill_enquiry"),  # "Information about your last call."
    ("sorry-youre-having-problems.wav", "broadband_fault"),  # "Sorry you're having problems."
]
# The second turn of a call: asked again at "anything else?", reaches bill_info again.
SECOND_TURN = ("info-about-last-call.wav", "bill_enquiry")

P95_LIMIT_MS = 1500.0


# ------------------------------------------------------------------ statistics
def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between order statistics
    (numpy's default method); None for no values."""
    xs = sorted(values)
    if not xs:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def largest_passing(p95_by_m: dict[int, float | None], limit_ms: float = P95_LIMIT_MS
                    ) -> int | None:
    """The largest M of a sweep whose p95 is under `limit_ms`, with every smaller M of the
    sweep also under it (a noisy pass above a failure does not count). None: M=smallest
    already failed, or it had no measured turn."""
    best = None
    for m in sorted(p95_by_m):
        p95 = p95_by_m[m]
        if p95 is None or p95 >= limit_ms:
            break
        best = m
    return best


# ------------------------------------------------------------------ audio gaps
@dataclass(frozen=True)
class Gap:
    start_s: float
    duration_ms: float


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono 16-bit PCM samples (first channel) and the sample rate."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit, expected 16-bit PCM")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        channels, rate = w.getnchannels(), w.getframerate()
    return data[::channels].astype(np.int32), rate


def silence_runs(samples: np.ndarray, threshold: int) -> list[tuple[int, int]]:
    """(start, end) sample indices of maximal runs with |x| <= threshold."""
    quiet = np.abs(samples) <= threshold
    if not quiet.size:
        return []
    edges = np.diff(np.concatenate(([0], quiet.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(),
                    strict=True))


def find_gaps(samples: np.ndarray, rate: int, *, threshold: int = 8, min_gap_ms: float = 40.0,
              max_gap_ms: float = 300.0) -> list[Gap]:
    """Runs of digital silence of min_gap_ms..max_gap_ms with audio on both sides."""
    gaps = []
    for start, end in silence_runs(samples, threshold):
        if start == 0 or end == len(samples):
            continue  # leading / trailing silence: not between audio
        ms = (end - start) * 1000 / rate
        if min_gap_ms <= ms <= max_gap_ms:
            gaps.append(Gap(start / rate, ms))
    return gaps


def audible_seconds(samples: np.ndarray, rate: int, threshold: int = 8,
                    max_gap_ms: float = 300.0) -> float:
    """Seconds of prompt audio heard: everything except silence runs longer than max_gap_ms
    (the silence between prompts), so gaps per minute can be compared between runs."""
    long_quiet = sum(end - start for start, end in silence_runs(samples, threshold)
                     if (end - start) * 1000 / rate > max_gap_ms)
    return (len(samples) - long_quiet) / rate


# ------------------------------------------------------------------ /proc sampling
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


ROLES = ("kamailio", "worker", "supervisor")


def process_role(pid: int, comm: str) -> str:
    """'kamailio', 'worker' (an `ivr serve` process with SIP), 'supervisor' or comm."""
    if comm.startswith("kamailio"):
        return "kamailio"
    cmd = (_read(f"/proc/{pid}/cmdline") or "").split("\0")
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


# ------------------------------------------------------------------ one call
@dataclass
class CallResult:
    slot: int
    ok: bool
    reason: str = ""
    duration_s: float = 0.0
    turns: list[dict[str, Any]] = field(default_factory=list)  # speech turns: timings, intents
    gaps: list[Gap] = field(default_factory=list)
    heard_s: float = 0.0


class Step:
    """Names the step a call is in, so a failure says where it happened."""

    def __init__(self) -> None:
        self.name = "start"

    def __call__(self, name: str) -> None:
        self.name = name


def run_call(ivr: IvrProcess, work: Path, slot: int, n: int, rng: random.Random, *,
             turns: int = 2, think: tuple[float, float] = (0.5, 2.0)) -> CallResult:
    """One scripted call: greeting, key 9, a spoken request, the reply, optionally a second
    spoken turn at "anything else?", hang up. Pauses of `think` seconds before each action."""
    clip, expected = REQUESTS[n % len(REQUESTS)]
    step, t0 = Step(), time.monotonic()
    res = CallResult(slot, ok=False)
    caller = ScriptedCaller(ivr, work)
    try:
        with caller as c:
            step("dial")
            c.dial()
            step("greeting")
            c.wait("prompt_end", node="welcome_english_offer", interrupted=False, timeout=60)
            time.sleep(rng.uniform(*think))
            c.press("9")
            step("main menu")
            c.wait("prompt_end", node="main_menu", interrupted=False, timeout=60)
            plan = [(clip, expected)] + [SECOND_TURN] * (turns - 1 if expected == "bill_enquiry"
                                                         else 0)
            for i, (said, _) in enumerate(plan):
                time.sleep(rng.uniform(*think))
                step(f"turn {i + 1}: speak")
                c.say(ASTERISK_SOUNDS / said)
                step(f"turn {i + 1}: recognised")
                c.wait("turn", timeout=60)
                step(f"turn {i + 1}: reply played")
                end = c.wait_until(lambda e: e["type"] in ("prompt_end", "transfer",
                                                           "call_ended"), timeout=60)
                if i + 1 < len(plan):
                    step(f"turn {i + 1}: anything else")
                    if end["type"] != "prompt_end":
                        raise RuntimeError(f"no second turn: the IVR went to {end['type']}")
                    c.wait("prompt_end", node="anything_else", interrupted=False, timeout=60)
            time.sleep(rng.uniform(*think))
            step("hang up")
            c.hangup()
            c.wait_closed(30)
            step("call record")
            call = ivr.wait_call_ended(c.call_id, 60)
            heard, _ = c.recordings()
    except Exception as e:  # noqa: BLE001 - any failure is a failed call, with its reason
        first_line = str(e).splitlines()[0][:120] if str(e) else ""
        res.reason = f"{step.name}: {type(e).__name__}: {first_line}"
        res.duration_s = time.monotonic() - t0
        log.info("slot %d call %d failed: %s", slot, n, res.reason)
        return res
    res.duration_s = time.monotonic() - t0
    speech = [t for t in call["turns"] if t["input_mode"] == "speech"]
    for (_, exp), t in zip(plan, speech, strict=False):
        res.turns.append({**t["timings"], "intent": t["intent"], "expected": exp,
                          "text": t["caller_text"]})
    missing = [i + 1 for i, t in enumerate(res.turns) if t.get("eos_to_reply_audio_ms") is None]
    if len(speech) < len(plan):
        modes = [t["input_mode"] for t in call["turns"]]
        res.reason = f"only {len(speech)} of {len(plan)} speech turns recorded (turns: {modes})"
    elif missing:
        outcome = [t.get("outcome") for t in speech]
        res.reason = f"no reply audio after turn {missing} (outcomes {outcome})"
    else:
        res.ok = True
    samples, rate = read_wav(heard)
    res.gaps = find_gaps(samples, rate)
    res.heard_s = audible_seconds(samples, rate)
    return res


# ------------------------------------------------------------------ report
def summarize(m: int, minutes: float, results: list[CallResult], usage: ProcUsage,
              wall_s: float, idle_rss_kb: int) -> dict[str, Any]:
    """Every figure of one load level, as a dict (printed by `format_report`)."""
    done = [r for r in results if r.ok]
    reasons: dict[str, int] = {}
    for r in results:
        if not r.ok:
            reasons[r.reason] = reasons.get(r.reason, 0) + 1
    turns = [t for r in results for t in r.turns]

    def pcts(key: str) -> dict[str, float | None]:
        vals = [float(t[key]) for t in turns if t.get(key) is not None]
        return {"n": len(vals), **{f"p{q}": percentile(vals, q) for q in (50, 95, 99)}}

    call_minutes = sum(r.duration_s for r in results) / 60
    gaps = [g for r in done for g in r.gaps]
    heard_min = sum(r.heard_s for r in done) / 60
    cpu = usage.cpu_seconds()
    return {
        "calls": m, "minutes": minutes, "completed": len(done),
        "failed": len(results) - len(done), "reasons": reasons,
        "eos_to_reply_ms": pcts("eos_to_reply_audio_ms"), "asr_ms": pcts("asr_ms"),
        "eos_to_asr_ms": pcts("eos_to_asr_ms"),
        "intent_right": sum(t["intent"] == t["expected"] for t in turns), "turns": len(turns),
        "gaps": len(gaps), "gap_calls": sum(bool(r.gaps) for r in done),
        "heard_minutes": heard_min,
        "gaps_per_heard_min": len(gaps) / heard_min if heard_min else None,
        "gap_ms_p50": percentile([g.duration_ms for g in gaps], 50),
        "gap_ms_max": max((g.duration_ms for g in gaps), default=None),
        "wall_s": wall_s, "cpu_s": cpu, "cpu_pct": 100 * cpu / wall_s if wall_s else None,
        "cpu_s_by_role": {role: usage.cpu_seconds(role)
                          for role in sorted(set(usage.role.values()))},
        "call_minutes": call_minutes,
        "cpu_s_per_call_min": cpu / call_minutes if call_minutes else None,
        "peak_rss_by_role_mb": {k: [round(v / 1024) for v in vs]
                                for k, vs in usage.peak_rss_by_role().items()},
        "idle_rss_mb": idle_rss_kb / 1024, "peak_rss_mb": usage.peak_total_rss_kb / 1024,
        "rss_per_call_mb": (usage.peak_total_rss_kb - idle_rss_kb) / 1024 / m,
        "mistakes": [(t["expected"], t["intent"], t["text"]) for t in turns
                     if t["intent"] != t["expected"]],
    }


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


def _fmt(v: float | None, spec: str = ".0f") -> str:
    return "-" if v is None else format(v, spec)


def format_report(s: dict[str, Any]) -> str:
    lines = [f"== M={s['calls']} concurrent calls, {s['minutes']} min: {s['completed']} completed, "
             f"{s['failed']} failed"]
    lines += [f"   failed x{n}: {why}" for why, n in sorted(s["reasons"].items())]
    lines.append(f"   {'per turn (ms)':28} {'n':>4} {'p50':>6} {'p95':>6} {'p99':>6}")
    for key, label in [("eos_to_reply_ms", "end of speech -> reply audio"),
                       ("eos_to_asr_ms", "end of speech -> ASR done"), ("asr_ms", "ASR time")]:
        p = s[key]
        lines.append(f"   {label:28} {p['n']:4d} {_fmt(p['p50']):>6} {_fmt(p['p95']):>6} "
                     f"{_fmt(p['p99']):>6}")
    lines.append(f"   intent accuracy: {s['intent_right']}/{s['turns']} turns")
    lines += [f"     expected {e}, got {g}: {t!r}" for e, g, t in s["mistakes"][:5]]
    lines.append(f"   audio gaps (40-300 ms digital silence inside prompts): {s['gaps']} in "
                 f"{s['heard_minutes']:.1f} min of prompt audio "
                 f"({_fmt(s['gaps_per_heard_min'], '.1f')}/min; {s['gap_calls']} calls with gaps; "
                 f"median {_fmt(s['gap_ms_p50'])} ms, max {_fmt(s['gap_ms_max'])} ms)")
    roles = ", ".join(f"{k} {v:.1f}" for k, v in s["cpu_s_by_role"].items())
    lines.append(f"   CPU: {s['cpu_s']:.1f} s over {s['wall_s']:.0f} s wall "
                 f"({_fmt(s['cpu_pct'])}% of one core; {roles}); "
                 f"{_fmt(s['cpu_s_per_call_min'], '.1f')} CPU-s per call-minute")
    rss = "; ".join(f"{k} {', '.join(map(str, v))}" for k, v in s["peak_rss_by_role_mb"].items())
    lines.append(f"   RSS peak per process (MB): {rss}")
    lines.append(f"   RSS total: idle {s['idle_rss_mb']:.0f} MB, peak {s['peak_rss_mb']:.0f} MB, "
                 f"+{s['rss_per_call_mb']:.0f} MB per concurrent call")
    if (h := s.get("service")) is not None:
        lines.append(f"   service: exit code {h['exit_code']}, worker restarts "
                     f"{h['worker_restarts']}, native crashes {h['native_crashes']}")
    return "\n".join(lines)


def setting_env(pairs: list[str]) -> dict[str, str]:
    """["vad.end_silence_ms=500"] -> {"IVR_VAD__END_SILENCE_MS": "500"} (a full IVR_* name
    is passed through as is)."""
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SystemExit(f"--set needs KEY=VALUE, got {pair!r}")
        env[key if key.startswith("IVR_") else "IVR_" + key.upper().replace(".", "__")] = value
    return env
