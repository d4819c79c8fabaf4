"""Traffic profiles of the load test: how a caller behaves, drawn from a seeded random
generator so a run's calls (requests, pauses, call lengths) are the same every time.

- `aggressive` (every load test before issue 22): the caller speaks 0.5-2 s after each
  prompt ends, one request (a second one after a bill enquiry, or a Mandarin broadband
  fault), and hangs up 0.5-2 s after the reply: as much recognition per minute as a caller
  can make.
- `realistic`: an IVR call as contact centres see it (docs/loadtest.md: where the numbers
  come from and what is assumed): the call lasts 30-60 s, the caller speaks 2-4 times, thinks
  before speaking (log-normal, median 1.5 s), listens to every prompt to its end and, after
  the last reply, stays on the line (listening, on hold in the queue) until the call's
  length is reached.

Pure: `plan_call` only draws numbers; `testkit.loadtest.scripted_call` plays the plan.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from testkit.loadtest.mixes import Mix, Request


@dataclass(frozen=True)
class TrafficProfile:
    name: str
    think_median_s: float  # pause before each spoken turn or key press
    think_sigma: float  # log-normal shape; 0: uniform in think_range_s
    think_range_s: tuple[float, float]  # bounds (uniform range when think_sigma == 0)
    turns: tuple[int, int]  # spoken turns per call, inclusive; (1, 2): today's rule
    call_s: tuple[float, float] | None  # target call length; None: hang up after the reply


PROFILES = {
    "aggressive": TrafficProfile("aggressive", 1.25, 0.0, (0.5, 2.0), (1, 2), None),
    "realistic": TrafficProfile("realistic", 1.5, 0.5, (0.5, 5.0), (2, 4), (30.0, 60.0)),
}


@dataclass(frozen=True)
class CallPlan:
    """What one caller will do: the requests in order, the pause before each action
    (greeting key or first turn, then each turn, then the hang-up) and the call's target
    length (None: hang up right after the last reply)."""

    requests: tuple[Request, ...]
    thinks: tuple[float, ...]  # len(requests) + 2: before the key/first turn .. hang-up
    target_s: float | None

    @property
    def speech_s(self) -> float:
        return sum(r.speech_s for r in self.requests)


def think_time(profile: TrafficProfile, rng: random.Random) -> float:
    lo, hi = profile.think_range_s
    if profile.think_sigma <= 0:
        return rng.uniform(lo, hi)
    x = rng.lognormvariate(math.log(profile.think_median_s), profile.think_sigma)
    return min(hi, max(lo, x))


def plan_call(profile: TrafficProfile, mix: Mix, n: int, rng: random.Random, *,
              max_turns: int | None = None) -> CallPlan:
    """The plan of call number `n` (all slots' numbers are distinct).

    aggressive: the n-th request of the mix (cycling, as before), then a second turn when
    that request leads to "anything else?" (`mix.aggressive_continues`) and `max_turns`
    allows: for English the bill enquiry again (as every earlier sweep), for Mandarin the
    next broadband clip.
    realistic: 2-4 turns; all but the last are requests after which the caller can speak
    again (`mix.continues`), the last any request; each drawn at random.
    """
    lo, hi = profile.turns
    if max_turns is not None:  # --turns caps the count (at least one turn)
        hi = max(1, min(hi, max_turns))
        lo = min(lo, hi)
    if profile.call_s is None:  # aggressive
        first = mix.requests[n % len(mix.requests)]
        reqs = [first]
        if hi >= 2 and first.intent in mix.aggressive_continues:
            reqs.append(_second_turn(mix, first, n))
        target = None
    else:
        count = rng.randint(lo, hi)
        cont = mix.continuing() or mix.requests
        reqs = [rng.choice(cont) for _ in range(count - 1)] + [rng.choice(mix.requests)]
        target = rng.uniform(*profile.call_s)
    thinks = tuple(think_time(profile, rng) for _ in range(len(reqs) + 2))
    return CallPlan(tuple(reqs), thinks, target)


def _second_turn(mix: Mix, first: Request, n: int) -> Request:
    """English: the same bill enquiry (today's SECOND_TURN); otherwise the next clip of the
    same intent, so a Mandarin caller does not repeat the same recording."""
    same = [r for r in mix.requests if r.intent == first.intent]
    if mix.name == "en" or len(same) < 2:
        return first
    return same[(same.index(first) + 1) % len(same)]


def speech_share(speech_s: float, duration_s: float) -> float | None:
    """The share of the call the caller spent speaking (None for a zero-length call)."""
    return speech_s / duration_s if duration_s > 0 else None
