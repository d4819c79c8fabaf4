"""Review flags and dashboard metrics on a real CallStore with seeded calls."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.storage.call_store import CallStore, open_store
from ivr.web.flags import FLAG_CODES, flags_for
from ivr.web.metrics import compute, percentile, prometheus_text

NOW = time.time()


def _turn(outcome: str = "match", conf: float | None = 0.9, anger: float = 0.1,
          distress: float = 0.0, mode: str = "speech", **extra: Any) -> dict[str, Any]:
    return {"outcome": outcome, "asr_confidence": conf, "input_mode": mode,
            "emotion": {"anger": anger, "distress": distress}, **extra}


def codes(call: dict[str, Any]) -> list[str]:
    return [f.code for f in flags_for(call)]


def test_a_quiet_call_has_no_flags() -> None:
    assert codes({"turns": [_turn(), _turn()], "events": []}) == []


def test_each_flag_and_its_threshold() -> None:
    assert codes({"peak_anger": 0.6, "turns": [], "events": []}) == ["anger"]
    assert codes({"peak_anger": 0.59, "turns": [], "events": []}) == []
    assert codes({"turns": [], "events": [{"type": "emotion_escalation", "data": {}}]}) == [
        "anger"]
    assert codes({"turns": [_turn(distress=0.5)], "events": []}) == ["distress"]
    assert codes({"escalated": 1, "turns": [], "events": []}) == ["escalation"]
    fails = [_turn("no_match"), _turn("no_input", conf=None), _turn("unintelligible")]
    assert codes({"turns": fails, "events": []}) == ["repeated_failure"]
    assert codes({"turns": [*fails[:2], _turn(), fails[2]], "events": []}) == []
    assert codes({"turns": [_turn(conf=0.39)], "events": []}) == ["low_confidence"]
    assert codes({"turns": [_turn(conf=0.55), _turn(conf=0.6)], "events": []}) == [
        "low_confidence"]
    assert codes({"turns": [_turn(conf=0.1, mode="dtmf")], "events": []}) == []
    silence = [{"type": "no_input", "data": {}}] * 2
    assert codes({"turns": [], "events": silence}) == ["long_silence"]
    assert codes({"turns": [], "events": silence[:1]}) == []


def test_crisis_comes_first_with_its_escalation() -> None:
    call = {"escalated": 1, "turns": [_turn(anger=0.9)],
            "events": [{"type": "transfer", "data": {"target": "queue:urgent",
                                                     "reason": "crisis"}}]}
    flags = flags_for(call)
    assert [f.code for f in flags] == ["crisis", "anger", "escalation"]
    assert flags[0].severity == "critical" and "crisis" in flags[2].reason
    assert set(codes(call)) <= set(FLAG_CODES)
    repeated = {"turns": [], "events": [{"type": "transfer",
                                         "data": {"reason": "repeated_failure"}}]}
    assert codes(repeated) == ["escalation", "repeated_failure"]


def seed(store: CallStore) -> None:
    """Four calls: contained, escalated (crisis) and escalated (caller_request), both hung
    up before an agent answered (abandoned in the queue), abandoned in the IVR (no turn)."""
    day = 86400
    for i, (cid, profile, esc, reason) in enumerate([
            ("c1", "zh-sichuan", False, None), ("c2", "zh-CN", True, "crisis"),
            ("c3", "zh-sichuan", True, "caller_request"), ("c4", None, False, None)]):
        start = NOW - day + i * 60
        store.call_started(cid, caller=f"1380000000{i}", started_at=start,
                           answered_at=start + 1, profile=profile)
        store.add_event(cid, "first_audio", {"answer_to_audio_ms": 400 + 100 * i})
        if cid != "c4":
            store.add_turn(cid, 1, input_mode="speech", caller_text="查话费", intent="bill",
                           asr_confidence=0.5 + 0.1 * i, speech_end=start + 5,
                           reply_first_audio=start + 5 + 0.5 + 0.25 * i,
                           emotion={"anger": 0.2 * (i + 1)})
        if esc:
            store.update_call(cid, escalated=1, transfer_target="queue:x")
            store.add_event(cid, "transfer", {"target": "queue:x", "reason": reason})
        store.call_ended(cid, "caller_hangup", ended_at=start + 61)
    store.call_started("live", caller="1", started_at=NOW - 5)


@pytest.fixture
def store(tmp_path: Path, db_url: str | None) -> Iterator[CallStore]:
    s = open_store(db_url, tmp_path / "ivr.sqlite")
    seed(s)
    yield s
    s.close()


def test_compute_metrics_over_a_period(store: CallStore) -> None:
    m = compute(store, NOW - 1.5 * 86400, NOW + 1)
    assert (m["calls"], m["ended"], m["abandoned"], m["contained"], m["escalated"]) == (
        5, 4, 3, 1, 0)
    assert m["outcomes"]["abandoned_in_queue"] == 2 and m["outcomes"]["abandoned_in_ivr"] == 1
    assert m["containment_rate"] == pytest.approx(1 / 4, abs=1e-3)
    assert m["abandonment_rate"] == pytest.approx(3 / 4, abs=1e-3)
    assert m["escalation_rate"] == pytest.approx(2 / 4, abs=1e-3)
    assert m["escalation_reasons"] == {"crisis": 1, "caller_request": 1}
    assert m["avg_handle_time_s"] == pytest.approx(60.0)
    assert m["answer_to_first_prompt"] == {"count": 4, "p50_ms": 550.0, "p95_ms": 685.0}
    assert m["eos_to_reply"]["count"] == 3 and m["eos_to_reply"]["p50_ms"] == 750.0
    assert m["top_intents"] == [{"intent": "bill", "count": 3}]
    assert m["dialect_mix"] == {"zh-sichuan": 2, "zh-CN": 1, "unknown": 2}
    assert m["emotion_trend"]["bucket"] == "hour"
    points = m["emotion_trend"]["points"]
    assert sum(p["turns"] for p in points) == 3
    assert max(p["peak_anger"] for p in points) == pytest.approx(0.6)
    assert m["recognition_confidence"]["mean"] == pytest.approx(0.6)
    assert compute(store, NOW - 30 * 86400, NOW)["emotion_trend"]["bucket"] == "day"
    empty = compute(store, 0, 1)
    assert empty["calls"] == 0 and empty["containment_rate"] is None


def test_prometheus_text(store: CallStore) -> None:
    text = prometheus_text(store, active_calls=3)
    assert "# TYPE ivr_calls_total counter" in text
    assert 'ivr_calls_total{end_reason="caller_hangup"} 4' in text
    assert 'ivr_escalations_total{reason="crisis"} 1' in text
    assert "ivr_active_calls 3" in text
    assert "# TYPE ivr_eos_to_reply_seconds histogram" in text
    assert 'ivr_eos_to_reply_seconds_bucket{le="+Inf"} 3' in text
    assert 'ivr_eos_to_reply_seconds_bucket{le="0.5"} 1' in text
    assert "ivr_answer_to_first_prompt_seconds_count 4" in text
    assert "ivr_active_calls 1" in prometheus_text(store)


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 95) == 5.0
