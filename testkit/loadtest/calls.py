"""The load test's caller: the recorded requests it speaks and one scripted call through a
real softphone (`run_call`), measured into a `CallResult` (turn timings, intents, the audio
gaps heard)."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testkit.harness import ASTERISK_SOUNDS, IvrProcess, ScriptedCaller
from testkit.loadtest.audio_gaps import Gap, audible_seconds, find_gaps, read_wav

log = logging.getLogger(__name__)

# Real human speech (Asterisk core sounds, CC BY-SA 3.0) and the intent each should reach.
REQUESTS = [
    ("queue-callswaiting.wav", "agent"),  # "Waiting to speak with a representative"
    ("info-about-last-call.wav", "bill_enquiry"),  # "Information about your last call."
    ("sorry-youre-having-problems.wav", "broadband_fault"),  # "Sorry you're having problems."
]
# The second turn of a call: asked again at "anything else?", reaches bill_info again.
SECOND_TURN = ("info-about-last-call.wav", "bill_enquiry")


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
