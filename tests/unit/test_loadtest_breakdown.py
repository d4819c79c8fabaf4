"""The load test's added figures (testkit/loadtest/breakdown.py, scripted_call.stage_times):
memory per worker and per call, stage times per call from the stored events, the caller
figures, the sweep table and its verdict per profile and mix."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from testkit.loadtest import CallResult, ProcStat, ProcUsage, process_role
from testkit.loadtest.breakdown import (
    UNMEASURED_STAGES,
    caller_figures,
    format_breakdown,
    format_sweep,
    memory_figures,
    stage_figures,
    sweep_verdicts,
)
from testkit.loadtest.scripted_call import stage_times


def usage(rss_by_pid: dict[int, int], roles: dict[int, str]) -> ProcUsage:
    u = ProcUsage(role=dict(roles))
    u.add([ProcStat(pid, "ivr", 1, 0) for pid in rss_by_pid], rss_by_pid)
    return u


def test_memory_per_worker_and_per_call() -> None:
    roles = {10: "supervisor", 11: "worker", 12: "worker", 13: "kamailio"}
    idle = usage({10: 100 * 1024, 11: 900 * 1024, 12: 920 * 1024, 13: 40 * 1024}, roles)
    load = usage({10: 110 * 1024, 11: 1000 * 1024, 12: 1060 * 1024, 13: 50 * 1024}, roles)
    mem = memory_figures(idle, load, m=4)
    assert mem["worker_idle_rss_mb"] == [900.0, 920.0]
    assert mem["worker_peak_rss_mb"] == [1000.0, 1060.0]
    assert mem["rss_per_worker_mb"] == 1030.0
    # (2220 - 1960) MB over 4 concurrent calls
    assert mem["rss_per_call_mb"] == pytest.approx(65.0)
    assert memory_figures(idle, load, m=0)["rss_per_call_mb"] is None
    assert mem["inference_peak_rss_mb"] == []


def test_a_shared_inference_service_is_counted_apart_from_the_workers() -> None:
    roles = {11: "worker", 12: "worker", 20: "inference"}
    idle = usage({11: 150 * 1024, 12: 150 * 1024, 20: 900 * 1024}, roles)
    load = usage({11: 200 * 1024, 12: 220 * 1024, 20: 1000 * 1024}, roles)
    mem = memory_figures(idle, load, m=8)
    assert mem["rss_per_worker_mb"] == 210.0 and mem["inference_peak_rss_mb"] == [1000.0]
    assert mem["rss_per_call_mb"] == pytest.approx(27.5)  # (1420 - 1200) / 8
    assert "shared inference service peak 1000 MB" in format_breakdown(
        {**summary("aggressive", "zh", 8, 900.0), "memory": mem})


def test_a_python_module_named_inference_gets_its_role(tmp_path: Path) -> None:
    (tmp_path / "fake_inference_service.py").write_text("import time\ntime.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-m", "fake_inference_service"], cwd=tmp_path)
    try:
        time.sleep(0.2)
        assert process_role(proc.pid, "python") == "inference"
        assert process_role(proc.pid + 10**7, "python") == "python"  # gone: its comm
    finally:
        proc.kill()
        proc.wait()


def test_stage_times_sum_what_the_ivr_stored_and_invent_nothing() -> None:
    events = [
        {"type": "utterance", "data": {"asr_ms": 391, "eos_to_asr_ms": 587}},
        {"type": "emotion", "data": {"prosody_ms": 20.2}},
        {"type": "utterance", "data": {"asr_ms": 409, "eos_to_asr_ms": 613}},
        {"type": "emotion", "data": {"anger": 0.1}},  # voice not analysed: no prosody time
        {"type": "utterance", "data": {"asr_ms": "junk"}},  # not a number: ignored
        {"type": "turn", "data": None},
    ]
    assert stage_times(events) == {"asr": 800.0, "eos_to_asr": 1200.0, "prosody": 20.2}
    assert stage_times([]) == {}


def result(ok: bool, stages: dict[str, float] | None = None, duration: float = 40.0,
           speech: float = 10.0, language: str | None = "zh", turns: int = 2) -> CallResult:
    r = CallResult(0, ok=ok, duration_s=duration, speech_s=speech, language=language,
                   stages=stages or {})
    r.turns = [{"intent": "x", "expected": "x"}] * turns
    return r


def test_stage_figures_average_completed_calls_and_spread_cpu_over_all_calls() -> None:
    rs = [result(True, {"asr": 800.0, "prosody": 20.0, "cpu:vad": 30.0, "cpu:dialogue": 8.0}),
          result(True, {"asr": 400.0, "cpu:vad": 50.0}),
          result(False, {"asr": 5000.0, "cpu:vad": 900.0})]
    st = stage_figures(rs, {"worker": 9.0, "kamailio": 0.3})
    assert st["stage_ms_per_call"] == {"asr": 600.0, "eos_to_asr": 0.0, "prosody": 10.0}
    assert st["cpu_s_per_call_by_role"] == {"worker": 3.0, "kamailio": pytest.approx(0.1)}
    assert st["cpu_ms_per_call_by_stage"] == {"vad": 40.0, "dialogue": 4.0}  # completed calls
    assert set(st["unmeasured_stages"]) == set(UNMEASURED_STAGES)
    assert any(s.startswith("tts") for s in UNMEASURED_STAGES)
    empty = stage_figures([], {"worker": 1.0})
    assert empty["cpu_s_per_call_by_role"] == {} and empty["stage_ms_per_call"]["asr"] is None


def test_caller_figures() -> None:
    rs = [result(True, duration=40.0, speech=10.0), result(True, duration=50.0, speech=15.0,
                                                            language=None, turns=4),
          result(False, duration=5.0, speech=0.0)]
    cf = caller_figures(rs)
    assert cf["languages"] == {"zh": 1, "none": 1}
    assert cf["speech_share"] == pytest.approx((0.25 + 0.3) / 2)
    assert cf["call_s_mean"] == 45.0 and cf["spoken_turns_mean"] == 3.0


def summary(profile: str, mix: str, m: int, p95: float | None, failed: int = 0) -> dict:
    return {"profile": profile, "mix": mix, "calls": m, "workers": 1, "completed": 5,
            "failed": failed, "eos_to_reply_ms": {"p50": 600.0, "p95": p95},
            "intent_right": 9, "turns": 10, "cpu_s_per_call_min": 5.7,
            "memory": {"rss_per_worker_mb": 1014.0, "rss_per_call_mb": 93.0,
                       "worker_idle_rss_mb": [921.0], "worker_peak_rss_mb": [1014.0]},
            "stages": {"stage_ms_per_call": {"asr": 391.0, "eos_to_asr": 587.0,
                                             "prosody": None},
                       "cpu_s_per_call_by_role": {"worker": 5.6},
                       "unmeasured_stages": list(UNMEASURED_STAGES)},
            "callers": {"languages": {"zh": 5}, "speech_share": 0.07, "call_s_mean": 59.2,
                        "spoken_turns_mean": 1.0}}


def test_sweep_verdict_per_profile_and_mix_counts_failed_calls_as_a_failure() -> None:
    ss = [summary("aggressive", "zh", 1, 900.0), summary("aggressive", "zh", 2, 1200.0),
          summary("aggressive", "zh", 4, 1400.0, failed=1),
          summary("realistic", "zh", 1, 800.0), summary("realistic", "zh", 2, 1300.0),
          summary("aggressive", "en", 1, 1600.0)]
    assert sweep_verdicts(ss) == {("aggressive", "zh"): 2, ("realistic", "zh"): 2,
                                  ("aggressive", "en"): None}
    table = format_sweep(ss)
    assert "largest M, aggressive zh" in table and ": none" in table
    assert "9/10" in table and "1014" in table


def test_breakdown_lines_name_unmeasured_stages() -> None:
    text = format_breakdown(summary("realistic", "zh", 2, 900.0))
    assert "zh x5" in text and "7% of the call" in text
    assert "ASR (recognition wall time) 391 ms" in text and "emotion prosody - ms" in text
    assert "not measured per call" in text and "tts" in text
    assert "worker CPU per call by stage (ms of thread CPU): -" in text
    assert "per call (peak - idle) / M: 93 MB" in text
