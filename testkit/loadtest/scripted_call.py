"""One load-test call played from a `CallPlan` through a real softphone (baresip) against the
shipped hotline, measured into a `CallResult`: the IVR's own per-turn timings and intents,
the stage times it stores (ASR, prosody), the first turn's language detection, and the
audio gaps the caller heard.

The call: greeting; key 9 for an English caller (none for a Mandarin one, who speaks on the
Mandarin menu); each planned request spoken after its pause, at the main menu then at
"anything else?" (a broadband fault's account is keyed in first); asked "did you mean X?"
about the request it made, the caller presses 1 (yes); after the last reply the
caller hangs up (aggressive) or stays on the line until the planned call length (realistic).
A request routed to another intent than expected ends the turns there: the miss is counted
in the intent accuracy, the call is not a failure.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from testkit.harness import Event, IvrProcess, ScriptedCaller
from testkit.loadtest.audio_gaps import audible_seconds, find_gaps, read_wav
from testkit.loadtest.calls import CallResult, Step
from testkit.loadtest.mixes import ACCOUNT_KEYS, Mix, Request
from testkit.loadtest.profiles import CallPlan

log = logging.getLogger(__name__)
_REPLY_END = ("prompt_end", "transfer", "call_ended")
CONFIRM_YES = "1"  # the hotline's "did you mean ...?": 1 yes, 2 no (ivr.dialplan.confirmation)


def caller_id(slot: int, n: int) -> str:
    """A distinct caller ID per call: the hotline greets a caller it heard from this week
    about a service with a "same matter?" question, which no request here expects."""
    return f"load{slot}n{n}"


def run_planned_call(ivr: IvrProcess, work: Path, slot: int, n: int, plan: CallPlan,
                     mix: Mix) -> CallResult:
    step, t0 = Step(), time.monotonic()
    res = CallResult(slot, ok=False, mix=mix.name)
    spoken: list[Request] = []
    ended = False
    try:
        with ScriptedCaller(ivr, work, user=caller_id(slot, n)) as c:
            step("dial")
            c.dial()
            if mix.key:
                step("greeting")
                c.wait("prompt_end", node="welcome_english_offer", interrupted=False,
                       timeout=60)
                time.sleep(plan.thinks[0])
                c.press(mix.key)
            step("main menu")
            c.wait("prompt_end", node="main_menu", interrupted=False, timeout=90)
            for i, req in enumerate(plan.requests):
                time.sleep(plan.thinks[1 + i])
                step(f"turn {i + 1}: speak")
                c.say(req.clip)
                spoken.append(req)
                res.speech_s += req.speech_s
                step(f"turn {i + 1}: recognised")
                turn = c.wait("turn", timeout=60)
                step(f"turn {i + 1}: reply played")
                end = c.wait_until(lambda e: e["type"] in _REPLY_END, timeout=60)
                ended = end["type"] == "call_ended"
                if not ended and asks_to_confirm(turn, req.intent):
                    step(f"turn {i + 1}: confirm")  # "did you mean X?": yes, key 1
                    time.sleep(plan.thinks[1 + i])
                    c.press(CONFIRM_YES)
                    res.confirmed += 1
                    turn = c.wait("turn", timeout=60)
                    end = c.wait_until(lambda e: e["type"] in _REPLY_END, timeout=60)
                    ended = end["type"] == "call_ended"
                more = i + 1 < len(plan.requests)
                if not more or turn["data"].get("intent") != req.intent or ended:
                    break  # last turn, or a miss (counted in the accuracy), or the end
                if end["type"] != "prompt_end":
                    raise RuntimeError(f"no next turn: the IVR went to {end['type']}")
                if req.intent == "broadband_fault":
                    step(f"turn {i + 1}: account keys")
                    time.sleep(plan.thinks[1 + i])
                    c.press(ACCOUNT_KEYS)
                step(f"turn {i + 1}: anything else")
                c.wait("prompt_end", node="anything_else", interrupted=False, timeout=60)
            step("hang up")
            if not ended:
                hold = plan.thinks[-1]
                if plan.target_s is not None:
                    hold = max(hold, plan.target_s - (time.monotonic() - t0))
                ended = _hold(c, hold)
            if not ended:
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
    _measure(res, call, spoken)
    samples, rate = read_wav(heard)
    res.gaps = find_gaps(samples, rate)
    res.heard_s = audible_seconds(samples, rate)
    return res


def asks_to_confirm(turn: Event, expected: str) -> bool:
    """The IVR heard the expected request but not surely enough, and asks "did you mean
    ...?" (a `no_match` turn naming the intent): a caller answers yes, as people do. A
    question about another intent is a recognition miss and is left to count as one."""
    data = turn.get("data") or {}
    return data.get("outcome") == "no_match" and data.get("intent") == expected


def _hold(c: ScriptedCaller, seconds: float) -> bool:
    """Stay on the line for `seconds` (listening, on hold); True if the IVR ended the call."""
    if seconds <= 0:
        return False
    try:
        c.wait_until(lambda e: e["type"] == "call_ended", timeout=seconds)
    except TimeoutError:
        return False
    return True


def stage_times(events: list[dict[str, Any]]) -> dict[str, float]:
    """Summed per-stage milliseconds of one call from the events the IVR stored: ASR
    (`utterance.asr_ms`), end of speech -> ASR done, prosody (`emotion.prosody_ms`, only when
    the voice was analysed), and the worker's CPU by stage stored at the call's end
    (`call_ended.cpu_ms`, as `cpu:<stage>`). Stages the IVR does not time are absent, never
    guessed."""
    out: dict[str, float] = {}
    for e in events:
        data = e.get("data") or {}
        if e.get("type") == "utterance":
            for key, stage in (("asr_ms", "asr"), ("eos_to_asr_ms", "eos_to_asr")):
                if isinstance(data.get(key), (int, float)):
                    out[stage] = out.get(stage, 0.0) + float(data[key])
        elif e.get("type") == "emotion" and isinstance(data.get("prosody_ms"), (int, float)):
            out["prosody"] = out.get("prosody", 0.0) + float(data["prosody_ms"])
        elif e.get("type") == "call_ended" and isinstance(data.get("cpu_ms"), dict):
            for stage, ms in data["cpu_ms"].items():  # CPU by stage (ivr.call.stage_cpu)
                if isinstance(ms, (int, float)):
                    out[f"cpu:{stage}"] = out.get(f"cpu:{stage}", 0.0) + float(ms)
    return out


def _measure(res: CallResult, call: dict[str, Any], spoken: list[Request]) -> None:
    events = call.get("events") or []
    res.stages = stage_times(events)
    detected = [e["data"].get("language") for e in events if e.get("type") == "language_detected"]
    res.language = detected[0] if detected else None
    speech = [t for t in call["turns"] if t["input_mode"] == "speech"]
    for req, t in zip(spoken, speech, strict=False):
        res.turns.append({**t["timings"], "intent": t["intent"], "expected": req.intent,
                          "text": t["caller_text"]})
    missing = [i + 1 for i, t in enumerate(res.turns) if t.get("eos_to_reply_audio_ms") is None]
    if len(speech) < len(spoken):
        modes = [t["input_mode"] for t in call["turns"]]
        res.reason = f"only {len(speech)} of {len(spoken)} speech turns recorded (turns: {modes})"
    elif missing:
        res.reason = f"no reply audio after turn {missing} (outcomes " \
                     f"{[t.get('outcome') for t in speech]})"
    else:
        res.ok = True
