"""The figures issue 22 added to a load level's summary, and the sweep table.

- memory per worker (peak RSS of each `ivr serve` worker, idle and under load) and per call:
  (peak total RSS of the service under load - its idle RSS) / concurrent calls;
- per-call stage times the IVR stores (ASR, end of speech -> ASR done, prosody), the stages it
  does not time named as such, and the CPU per call by process role;
- per mix and profile: the first turn's language detection and the caller's speech share;
- the sweep table over profiles, mixes and levels, and the largest passing level of each.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from testkit.loadtest.calls import CallResult
from testkit.loadtest.proc_usage import ProcUsage
from testkit.loadtest.report import P95_LIMIT_MS, largest_passing

# Stages of issue 22's list the IVR stores no per-call timing for: reported as "not measured
# per call", never estimated (their threads' CPU is in the per-thread line instead).
UNMEASURED_STAGES = ("tts (inference server / prompt cache)", "playout and RTP (media clock "
                     "thread)", "storage (writer thread)", "call recording")
# The worker's CPU by stage, per call (`ivr.call.stage_cpu`, stored with `call_ended`).
CPU_STAGES = ("echo", "vad", "dialogue", "meaning", "emotion")
MEASURED_STAGES = {"asr": "ASR (recognition wall time)",
                   "eos_to_asr": "end of speech -> ASR done",
                   "prosody": "emotion prosody"}


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def memory_figures(idle: ProcUsage, load: ProcUsage, m: int) -> dict[str, Any]:
    """RSS per worker process (MB, by pid order) idle and at its peak under load, and the
    per-call figure (peak total under load - idle total) / m."""
    def workers(u: ProcUsage) -> list[float]:
        return [kb / 1024 for pid, kb in sorted(u.peak_rss_kb.items())
                if u.role.get(pid) == "worker"]

    idle_w, load_w = workers(idle), workers(load)
    inference = [kb / 1024 for pid, kb in sorted(load.peak_rss_kb.items())
                 if load.role.get(pid) == "inference"]
    return {"worker_idle_rss_mb": idle_w, "worker_peak_rss_mb": load_w,
            "inference_peak_rss_mb": inference,
            "rss_per_worker_mb": _mean(load_w),
            "rss_per_call_mb": (load.peak_total_rss_kb - idle.peak_total_rss_kb) / 1024 / m
            if m else None}


def stage_figures(results: Iterable[CallResult], cpu_s_by_role: dict[str, float]
                  ) -> dict[str, Any]:
    """Mean per completed call of every stage time the IVR stored, and the CPU-seconds per
    call (every call, failed ones too, used the service) by process role."""
    results = list(results)
    done = [r for r in results if r.ok]
    stages = {key: _mean([r.stages.get(key, 0.0) for r in done]) for key in MEASURED_STAGES}
    cpu = {key: _mean([r.stages.get(f"cpu:{key}", 0.0) for r in done]) for key in CPU_STAGES
           if any(f"cpu:{key}" in r.stages for r in done)}
    n = len(results)
    return {"stage_ms_per_call": stages, "cpu_ms_per_call_by_stage": cpu,
            "cpu_s_per_call_by_role": {k: v / n for k, v in cpu_s_by_role.items()} if n else {},
            "unmeasured_stages": list(UNMEASURED_STAGES)}


def caller_figures(results: Iterable[CallResult]) -> dict[str, Any]:
    """Language detection on the first turn and the caller's share of speech (completed calls)."""
    done = [r for r in results if r.ok]
    langs: dict[str, int] = {}
    for r in done:
        key = r.language or "none"
        langs[key] = langs.get(key, 0) + 1
    shares = [r.speech_s / r.duration_s for r in done if r.duration_s > 0]
    return {"languages": langs, "speech_share": _mean(shares),
            "call_s_mean": _mean([r.duration_s for r in done]),
            "spoken_turns_mean": _mean([float(len(r.turns)) for r in done]),
            "confirmed": sum(r.confirmed for r in results)}


def _fmt(v: float | None, spec: str = ".0f") -> str:
    return "-" if v is None else format(v, spec)


def format_breakdown(s: dict[str, Any]) -> str:
    """The lines added below `format_report`'s."""
    mem, st, cf = s["memory"], s["stages"], s["callers"]
    lines = [f"   mix {s['mix']}, profile {s['profile']}: mean call "
             f"{_fmt(cf['call_s_mean'], '.1f')} s, "
             f"{_fmt(cf['spoken_turns_mean'], '.1f')} spoken turns, caller speech "
             f"{_fmt(None if cf['speech_share'] is None else 100 * cf['speech_share'])}% of the"
             f" call; first-turn language detected: "
             + (", ".join(f"{k} x{v}" for k, v in sorted(cf["languages"].items())) or "-")
             + f"; \"did you mean\" answered yes: {cf.get('confirmed', 0)}"]
    lines.append("   memory: worker RSS idle "
                 + ", ".join(f"{x:.0f}" for x in mem["worker_idle_rss_mb"])
                 + " MB, peak under load "
                 + ", ".join(f"{x:.0f}" for x in mem["worker_peak_rss_mb"])
                 + f" MB; per call (peak - idle) / M: {_fmt(mem['rss_per_call_mb'])} MB"
                 + ("; shared inference service peak "
                    + ", ".join(f"{x:.0f}" for x in mem["inference_peak_rss_mb"]) + " MB"
                    if mem.get("inference_peak_rss_mb") else ""))
    stages = ", ".join(f"{label} {_fmt(st['stage_ms_per_call'].get(key))} ms"
                       for key, label in MEASURED_STAGES.items())
    roles = ", ".join(f"{k} {v:.2f}" for k, v in st["cpu_s_per_call_by_role"].items())
    lines.append(f"   per call: {stages}; CPU-s by process: {roles or '-'}")
    by_stage = st.get("cpu_ms_per_call_by_stage") or {}
    lines.append("   worker CPU per call by stage (ms of thread CPU): "
                 + (", ".join(f"{k} {v:.0f}" for k, v in by_stage.items()) or "-"))
    lines.append("   not measured per call (see the per-thread line): "
                 + ", ".join(st["unmeasured_stages"]))
    return "\n".join(lines)


SWEEP_HEADER = (f"{'profile':10} {'mix':3} {'M':>3} {'wrk':>3} {'done':>4} {'fail':>4} "
                f"{'p50':>5} {'p95':>5} {'intent':>7} {'CPU-s/cmin':>10} {'MB/wrk':>6} "
                f"{'MB/call':>7}")


def sweep_row(s: dict[str, Any]) -> str:
    p = s["eos_to_reply_ms"]
    acc = f"{s['intent_right']}/{s['turns']}"
    return (f"{s['profile']:10} {s['mix']:3} {s['calls']:3d} {s['workers']:3d} "
            f"{s['completed']:4d} {s['failed']:4d} {_fmt(p['p50']):>5} {_fmt(p['p95']):>5} "
            f"{acc:>7} {_fmt(s['cpu_s_per_call_min'], '.1f'):>10} "
            f"{_fmt(s['memory']['rss_per_worker_mb']):>6} "
            f"{_fmt(s['memory']['rss_per_call_mb']):>7}")


def sweep_verdicts(summaries: list[dict[str, Any]], limit_ms: float = P95_LIMIT_MS
                   ) -> dict[tuple[str, str], int | None]:
    """(profile, mix) -> the largest M whose p95 stays under the limit with 0 failed calls
    (every smaller level of the same profile and mix passing too)."""
    groups: dict[tuple[str, str], dict[int, float | None]] = {}
    for s in summaries:
        p95 = s["eos_to_reply_ms"]["p95"]
        groups.setdefault((s["profile"], s["mix"]), {})[s["calls"]] = (
            p95 if s["failed"] == 0 else None)
    return {k: largest_passing(v, limit_ms) for k, v in groups.items()}


def format_sweep(summaries: list[dict[str, Any]]) -> str:
    lines = ["", SWEEP_HEADER] + [sweep_row(s) for s in summaries]
    for (profile, mix), best in sweep_verdicts(summaries).items():
        lines.append(f"largest M, {profile} {mix}, p95 (end of speech -> reply audio) < "
                     f"{P95_LIMIT_MS / 1000:.1f} s and 0 failed: "
                     f"{best if best is not None else 'none'}")
    return "\n".join(lines)
