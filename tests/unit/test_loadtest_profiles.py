"""The load test's traffic profiles (testkit/loadtest/profiles.py): seeded, bounded sampling
of think times, turns and call lengths; the aggressive profile keeps every earlier sweep's
calls."""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest

from testkit.loadtest.mixes import Mix, Request
from testkit.loadtest.profiles import PROFILES, plan_call, speech_share, think_time

AGGRESSIVE, REALISTIC = PROFILES["aggressive"], PROFILES["realistic"]


def req(name: str, intent: str, seconds: float = 3.0) -> Request:
    return Request(Path(name), intent, seconds)


EN = Mix("en", (req("agent.wav", "agent", 2.5), req("bill.wav", "bill_enquiry", 2.1),
                req("fault.wav", "broadband_fault", 2.0)), key="9",
         continues=frozenset({"bill_enquiry", "broadband_fault"}),
         aggressive_continues=frozenset({"bill_enquiry"}))
ZH = Mix("zh", (req("w213", "agent", 4.4), req("w374", "broadband_fault", 7.1),
                req("w381", "broadband_fault", 4.2), req("w396", "broadband_fault", 4.7)),
         key=None, continues=frozenset({"broadband_fault"}),
         aggressive_continues=frozenset({"broadband_fault"}))


def test_aggressive_english_calls_are_the_earlier_sweeps_calls() -> None:
    rng = random.Random(1)
    plans = [plan_call(AGGRESSIVE, EN, n, rng) for n in range(6)]
    intents = [[r.intent for r in p.requests] for p in plans]
    # cycling agent / bill / fault, a second bill enquiry only after a bill enquiry
    assert intents == [["agent"], ["bill_enquiry", "bill_enquiry"], ["broadband_fault"]] * 2
    assert all(p.target_s is None for p in plans)
    assert all(0.5 <= t <= 2.0 for p in plans for t in p.thinks)
    assert all(len(p.thinks) == len(p.requests) + 2 for p in plans)
    one = plan_call(AGGRESSIVE, EN, 1, random.Random(1), max_turns=1)
    assert [r.intent for r in one.requests] == ["bill_enquiry"]


def test_aggressive_mandarin_second_turn_is_another_clip_of_the_same_intent() -> None:
    p = plan_call(AGGRESSIVE, ZH, 1, random.Random(3))
    assert [r.clip.name for r in p.requests] == ["w374", "w381"]
    last = plan_call(AGGRESSIVE, ZH, 3, random.Random(3))
    assert [r.clip.name for r in last.requests] == ["w396", "w374"]  # wraps around
    assert [r.intent for r in plan_call(AGGRESSIVE, ZH, 0, random.Random(3)).requests] == [
        "agent"]  # the agent ends the call: no second turn


def test_realistic_plans_stay_inside_the_profile() -> None:
    rng = random.Random(7)
    plans = [plan_call(REALISTIC, ZH, n, rng) for n in range(300)]
    assert {len(p.requests) for p in plans} == {2, 3, 4}
    for p in plans:
        assert p.target_s is not None and 30.0 <= p.target_s <= 60.0
        assert all(r.intent == "broadband_fault" for r in p.requests[:-1])  # caller goes on
        assert all(0.5 <= t <= 5.0 for t in p.thinks)
    thinks = [t for p in plans for t in p.thinks]
    assert statistics.median(thinks) == pytest.approx(1.5, abs=0.15)
    assert {p.requests[-1].intent for p in plans} == {"agent", "broadband_fault"}


def test_plans_are_repeatable_with_the_seed_and_differ_without_it() -> None:
    def run(seed: int) -> list:
        rng = random.Random(seed)
        return [plan_call(REALISTIC, EN, n, rng) for n in range(20)]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_turn_cap_applies_to_the_realistic_profile_too() -> None:
    rng = random.Random(2)
    assert {len(plan_call(REALISTIC, EN, n, rng, max_turns=2).requests)
            for n in range(50)} == {2}


def test_think_time_is_clamped_to_its_range() -> None:
    rng = random.Random(0)
    xs = [think_time(REALISTIC, rng) for _ in range(2000)]
    assert min(xs) >= 0.5 and max(xs) <= 5.0
    assert min(xs) == 0.5 and max(xs) == 5.0  # the log-normal's tails hit the bounds


def test_speech_share() -> None:
    assert speech_share(12.0, 48.0) == 0.25
    assert speech_share(3.0, 0.0) is None
