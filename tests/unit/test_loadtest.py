"""The pure parts of scripts/loadtest: percentiles, audio-gap detection, the sweep decision,
/proc parsing and the report."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np
import pytest

from testkit.loadtest import (
    CLK_TCK,
    CallResult,
    Gap,
    ProcSampler,
    ProcStat,
    ProcUsage,
    audible_seconds,
    descendants,
    find_gaps,
    format_report,
    largest_passing,
    parse_rss_kb,
    parse_stat,
    percentile,
    read_wav,
    service_health,
    service_logs,
    setting_env,
    summarize,
)

RATE = 8000
ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison")


def tone(seconds: float, amp: int = 3000, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int32)


def quiet(seconds: float, value: int = 2) -> np.ndarray:
    """Decoded mu-law silence (baresip decodes the zero code to 2 / -8)."""
    return np.full(int(seconds * RATE), value, dtype=np.int32)


# ------------------------------------------------------------------ percentiles
def test_percentile_matches_numpy_linear_interpolation() -> None:
    vals = [820.0, 1310.0, 990.0, 1500.0, 1020.0, 1700.0, 880.0]
    for q in (0, 50, 95, 99, 100):
        assert percentile(vals, q) == pytest.approx(float(np.percentile(vals, q)))


def test_percentile_edge_cases() -> None:
    assert percentile([], 95) is None
    assert percentile([1234.0], 99) == 1234.0
    assert percentile([1.0, 2.0], 50) == 1.5
    with pytest.raises(ValueError):
        percentile([1.0], 101)


# ------------------------------------------------------------------ sweep decision
def test_largest_passing_takes_the_last_m_before_the_first_failure() -> None:
    assert largest_passing({1: 900.0, 2: 1100.0, 4: 1450.0, 6: 1620.0, 8: 2400.0}) == 4
    # a noisy pass above a failure does not count
    assert largest_passing({1: 900.0, 2: 1600.0, 4: 1400.0}) == 1
    # exactly at the limit fails ("under 1.5 s")
    assert largest_passing({1: 1500.0}) is None
    # a level with no measured turn fails
    assert largest_passing({1: 800.0, 2: None, 4: 900.0}) == 1
    assert largest_passing({4: 1000.0, 1: 700.0}, limit_ms=900.0) == 1


# ------------------------------------------------------------------ audio gaps
def test_gap_inside_a_prompt_is_found_with_its_position_and_length() -> None:
    x = np.concatenate([quiet(0.5), tone(0.4), quiet(0.06), tone(0.3), quiet(1.0)])
    gaps = find_gaps(x, RATE)
    assert len(gaps) == 1
    assert gaps[0].start_s == pytest.approx(0.9, abs=0.002)
    assert gaps[0].duration_ms == pytest.approx(60, abs=2)


def test_short_dips_long_pauses_and_edges_are_not_gaps() -> None:
    x = np.concatenate([quiet(0.2), tone(0.3), quiet(0.02),  # 20 ms: a zero crossing region
                        tone(0.3), quiet(0.8),  # 800 ms: between two prompts
                        tone(0.3), quiet(0.5)])
    assert find_gaps(x, RATE) == []
    # low-level audio (above one mu-law step) is not silence
    y = np.concatenate([tone(0.3), tone(0.1, amp=40), tone(0.3)])
    assert find_gaps(y, RATE) == []


def test_audible_seconds_excludes_only_long_silences() -> None:
    x = np.concatenate([quiet(1.0), tone(0.5), quiet(0.1), tone(0.5), quiet(2.0)])
    assert audible_seconds(x, RATE) == pytest.approx(1.1, abs=0.01)


def test_dropped_frames_in_a_real_recording_are_found(tmp_path: Path) -> None:
    """Real speech (Allison) with 3 frames (60 ms) zeroed mid-word: exactly one more gap."""
    src = ALLISON / "info-about-last-call.wav"
    if not src.exists():
        pytest.skip("asterisk-core-sounds-en-wav not installed")
    x, rate = read_wav(src)
    assert rate == RATE
    before = find_gaps(x, rate)
    loud = np.flatnonzero(np.abs(x) > 2000)
    mid = int(loud[len(loud) // 2])  # inside speech
    damaged = x.copy()
    damaged[mid:mid + int(0.06 * rate)] = 2
    path = tmp_path / "damaged.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(damaged.astype("<i2").tobytes())
    y, _ = read_wav(path)
    after = find_gaps(y, rate)
    new = [g for g in after if g not in before]
    assert len(new) == 1
    assert abs(new[0].start_s - mid / rate) < 0.05 and new[0].duration_ms >= 60


# ------------------------------------------------------------------ /proc parsing
STAT = ("4242 (ivr serve (w1)) S 4200 4242 4242 0 -1 4194560 9000 0 3 0 "
        "1234 567 0 0 20 0 12 0 55555 900000000 200000 18446744073709551615")


def test_parse_stat_handles_spaces_and_parentheses_in_the_name() -> None:
    st = parse_stat(STAT)
    assert st == ProcStat(pid=4242, comm="ivr serve (w1)", ppid=4200, cpu_ticks=1234 + 567)


def test_parse_real_proc_files_of_this_process() -> None:
    st = parse_stat(Path(f"/proc/{os.getpid()}/stat").read_text())
    assert st.pid == os.getpid() and st.ppid == os.getppid() and st.cpu_ticks >= 0
    rss = parse_rss_kb(Path(f"/proc/{os.getpid()}/status").read_text())
    assert 1000 < rss < 10_000_000
    assert parse_rss_kb("Name:\tkthreadd\nState:\tS\n") == 0


def test_descendants_walks_the_whole_tree_only() -> None:
    stats = [ProcStat(1, "init", 0, 0), ProcStat(10, "ivr", 1, 0), ProcStat(11, "w0", 10, 0),
             ProcStat(12, "kamailio", 10, 0), ProcStat(13, "kamailio", 12, 0),
             ProcStat(20, "other", 1, 0)]
    assert descendants([10], stats) == {10, 11, 12, 13}


def test_usage_counts_cpu_from_the_first_sample_and_peak_rss() -> None:
    u = ProcUsage(role={1: "worker", 2: "kamailio", 3: "worker"})
    u.add([ProcStat(1, "a", 0, 100), ProcStat(2, "b", 0, 50)], {1: 500_000, 2: 10_000})
    u.add([ProcStat(1, "a", 0, 100 + 3 * CLK_TCK), ProcStat(2, "b", 0, 50 + CLK_TCK),
           ProcStat(3, "c", 0, 7)], {1: 600_000, 2: 10_000, 3: 400_000})
    assert u.cpu_seconds() == pytest.approx(4.0)  # pid 3 appeared late: counted from there
    assert u.cpu_seconds("kamailio") == pytest.approx(1.0)
    assert u.peak_total_rss_kb == 1_010_000
    assert u.peak_rss_by_role() == {"worker": [600_000, 400_000], "kamailio": [10_000]}


def test_sampler_sees_this_process() -> None:
    s = ProcSampler(os.getpid())
    s.sample()
    assert os.getpid() in s.usage.peak_rss_kb and s.usage.peak_total_rss_kb > 0


# ------------------------------------------------------------------ settings and report
def test_setting_env() -> None:
    assert setting_env(["vad.end_silence_ms=500", "IVR_SIP__MAX_CALLS=4"]) == {
        "IVR_FRONT__PIKE_REQUESTS": "0",  # all callers share 127.0.0.1: no flood limit
        "IVR_VAD__END_SILENCE_MS": "500", "IVR_SIP__MAX_CALLS": "4"}
    assert setting_env(["front.pike_requests=100"])["IVR_FRONT__PIKE_REQUESTS"] == "100"
    with pytest.raises(SystemExit):
        setting_env(["novalue"])


def test_summary_and_report() -> None:
    turn = {"eos_to_reply_audio_ms": 1200, "eos_to_asr_ms": 1100, "asr_ms": 950,
            "intent": "agent", "expected": "agent", "text": "waiting to speak"}
    ok = CallResult(0, True, duration_s=30.0, turns=[turn, {**turn, "intent": "x"}],
                    gaps=[Gap(1.0, 60.0)], heard_s=30.0)
    bad = CallResult(1, False, reason="dial: TimeoutError: no event", duration_s=30.0)
    u = ProcUsage(role={1: "worker"})
    u.add([ProcStat(1, "a", 0, 0)], {1: 700_000})
    u.add([ProcStat(1, "a", 0, 30 * CLK_TCK)], {1: 800_000})
    s = summarize(2, 1.0, [ok, bad], u, wall_s=60.0, idle_rss_kb=700_000)
    assert (s["completed"], s["failed"]) == (1, 1)
    assert s["reasons"] == {"dial: TimeoutError: no event": 1}
    assert s["eos_to_reply_ms"]["p95"] == 1200
    assert s["intent_right"] == 1 and s["turns"] == 2
    assert s["gaps_per_heard_min"] == pytest.approx(2.0)
    assert s["cpu_s_per_call_min"] == pytest.approx(30.0)
    assert s["rss_per_call_mb"] == pytest.approx(100_000 / 1024 / 2)
    text = format_report(s)
    assert "1 completed, 1 failed" in text and "x1: dial: TimeoutError" in text


def test_service_health_counts_restarts_and_native_crashes(tmp_path: Path) -> None:
    supervisor = ("12:00:01.000 WARNING ivr.cluster: worker1: exited with -11 after 40.2 s; "
                  "restarting in 1.0 s\n12:00:09.000 INFO ivr.cluster: worker1: started\n")
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "worker-1.log").write_text(
        "Fatal Python error: Segmentation fault\n\nThread 0x7f (most recent call first):\n")
    (tmp_path / "workers" / "worker-2.log").write_text("12:00:00.000 INFO ivr.server: ready:\n")
    logs = service_logs(tmp_path, supervisor)
    assert len(logs) == 3
    h = service_health(0, logs)
    assert h == {"exit_code": 0, "worker_restarts": 1, "native_crashes": 1}
    assert service_health(0, ["12:00:00.000 INFO ivr.server: ready:\n"]) == {
        "exit_code": 0, "worker_restarts": 0, "native_crashes": 0}
    s = summarize(1, 1.0, [], ProcUsage(role={}), wall_s=60.0, idle_rss_kb=0)
    s["service"] = h
    assert "service: exit code 0, worker restarts 1, native crashes 1" in format_report(s)


def test_the_caller_confirms_only_a_question_about_its_own_request():
    from testkit.loadtest.scripted_call import asks_to_confirm

    def turn(outcome, intent):
        return {"type": "turn", "data": {"outcome": outcome, "intent": intent}}

    assert asks_to_confirm(turn("no_match", "broadband_fault"), "broadband_fault")
    assert not asks_to_confirm(turn("match", "broadband_fault"), "broadband_fault")
    assert not asks_to_confirm(turn("no_match", "bill_enquiry"), "broadband_fault")
    assert not asks_to_confirm(turn("no_match", None), "broadband_fault")
    assert not asks_to_confirm({"type": "turn"}, "agent")


def test_stage_times_read_the_cpu_by_stage_stored_at_the_end():
    from testkit.loadtest.scripted_call import stage_times

    events = [{"type": "utterance", "data": {"asr_ms": 400, "eos_to_asr_ms": 500}},
              {"type": "call_ended", "data": {"reason": "caller_hangup", "duration_s": 40,
                                              "cpu_ms": {"vad": 31.5, "echo": 12.0,
                                                         "bad": "x"}}}]
    assert stage_times(events) == {"asr": 400.0, "eos_to_asr": 500.0, "cpu:vad": 31.5,
                                   "cpu:echo": 12.0}
