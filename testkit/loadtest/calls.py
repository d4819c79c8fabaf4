"""The load test's English requests (`REQUESTS`, also spoken by scripts/bench_latency and
bench_vs_pipecat), a call's measured result (`CallResult`: turn timings, intents, stage
times, the audio gaps heard) and `Step`, which names where a call failed. The call itself is
played by `testkit.loadtest.scripted_call` from a traffic profile's plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from testkit.loadtest.audio_gaps import Gap

# Real human speech (Asterisk core sounds, CC BY-SA 3.0) and the intent each should reach.
REQUESTS = [
    ("queue-callswaiting.wav", "agent"),  # "Waiting to speak with a representative"
    ("info-about-last-call.wav", "bill_enquiry"),  # "Information about your last call."
    ("sorry-youre-having-problems.wav", "broadband_fault"),  # "Sorry you're having problems."
]


@dataclass
class CallResult:
    slot: int
    ok: bool
    reason: str = ""
    duration_s: float = 0.0
    turns: list[dict[str, Any]] = field(default_factory=list)  # speech turns: timings, intents
    gaps: list[Gap] = field(default_factory=list)
    heard_s: float = 0.0
    mix: str = "en"
    speech_s: float = 0.0  # seconds of recorded caller speech played into the call
    stages: dict[str, float] = field(default_factory=dict)  # per-stage ms the IVR stored
    language: str | None = None  # the first turn's detected language, if detection ran
    confirmed: int = 0  # "did you mean ...?" questions about the right request answered yes


class Step:
    """Names the step a call is in, so a failure says where it happened."""

    def __init__(self) -> None:
        self.name = "start"

    def __call__(self, name: str) -> None:
        self.name = name
