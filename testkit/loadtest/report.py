"""The figures of a load level and the sweep: percentiles, the largest M whose p95 stays
under the limit, the summary of one level's calls and /proc usage, and its printed form."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from testkit.loadtest.calls import CallResult
from testkit.loadtest.proc_usage import ProcUsage

P95_LIMIT_MS = 1500.0


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
