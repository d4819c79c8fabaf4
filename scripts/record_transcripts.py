"""Record real calls to the shipped hotline as summary fixtures.

Each scenario is a real SIP call: a baresip softphone dials `ivr serve` (the shipped
bilingual hotline, embedded defaults) and speaks real human speech from ../shared/data
(AISHELL-1 Mandarin, LJSpeech, EmoDB) and Asterisk's recorded prompts, or presses keys.
The call record the IVR stored (what `GET /api/calls/{id}` returns: call row, turns,
events) and the caller's earlier calls are saved to `tests/fixtures/transcripts/<name>.json`
with absolute paths stripped, for the golden tests in tests/unit/test_summary_recorded.py.

    .venv/bin/python scripts/record_transcripts.py [NAME ...] [--out DIR] [--keep-data]

Calls that reach an agent queue are hung up by the caller soon after the transfer
announcement (with no agents configured the IVR would otherwise keep the caller waiting).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from testkit.harness import ASTERISK_SOUNDS, IvrProcess, ScriptedCaller  # noqa: E402

DATA = REPO.parent / "shared" / "data"
OUT = REPO / "tests" / "fixtures" / "transcripts"
AISHELL = DATA / "asr_zh_aishell" / "audio" / "S0150"
LJSPEECH = DATA / "asr_en_misc" / "audio" / "ljspeech"
EMODB = DATA / "emotion_emodb_de" / "audio"
# Events left out of a fixture: timing noise the summary never reads, and the summary the
# IVR made during the call (the tests make it again with the code under test).
DROPPED_EVENTS = frozenset({"first_audio", "listen", "escalation_summary"})


# ---------------------------------------------------------------------------- helpers
def _wait_menu(c: ScriptedCaller, node: str = "main_menu", timeout: float = 60) -> None:
    """Until the node's prompt has played to the end (the caller then speaks)."""
    c.wait("prompt_end", node=node, interrupted=False, timeout=timeout)


def _hang_up_after_transfer(c: ScriptedCaller, timeout: float = 60) -> None:
    """Wait for the hand-over (its announcement has been queued before the transfer event),
    give the announcement time to play, then hang up unless the IVR already did."""
    c.wait("transfer", timeout=timeout)
    with contextlib.suppress(TimeoutError):
        c.phone.wait_event("CALL_CLOSED", 6)
        return
    with contextlib.suppress(Exception):
        c.hangup()
    with contextlib.suppress(TimeoutError):
        c.wait_closed(20)


# ---------------------------------------------------------------------------- scenarios
def zh_topup_then_agent(c: ScriptedCaller) -> None:
    """Mandarin: key 3 (top-up), says "赔了两千元医药费" (the amount 2000 is heard), confirms
    with key 1, then asks for a person with key 0."""
    c.dial()
    c.wait("listen", node="main_menu")
    c.press("3")
    _wait_menu(c, "topup_amount", 40)
    c.say(AISHELL / "BAC009S0150W0455.flac")
    c.wait("turn", node="topup_amount", timeout=40)
    _wait_menu(c, "topup_confirm", 40)
    c.press("1")
    _wait_menu(c, "anything_else", 40)
    c.press("0")
    _hang_up_after_transfer(c)


def zh_bill_not_understood_agent(c: ScriptedCaller) -> None:
    """Mandarin, the same number again: key 1 (the bill is read), then at "anything else?"
    two sentences the IVR cannot place (real read news speech), then key 0 for a person."""
    c.dial()
    c.wait("listen", node="main_menu")
    c.press("1")
    _wait_menu(c, "anything_else", 40)
    # "张女士给武隆上坎镇派出所民警打去电话" (Ms Zhang phoned the police station)
    c.say(AISHELL / "BAC009S0150W0466.flac")
    c.wait("turn", node="anything_else", timeout=40)
    _wait_menu(c, "anything_else", 40)
    # "很多人不满道这届组委会就应该彻底解散" (many complained the committee should go)
    c.say(AISHELL / "BAC009S0150W0382.flac")
    c.wait("turn", node="anything_else", timeout=40)
    _wait_menu(c, "anything_else", 40)
    c.press("0")
    _hang_up_after_transfer(c)


def en_not_understood(c: ScriptedCaller) -> None:
    """English (key 9); three sentences the hotline does not understand (LJSpeech) hand
    the call over for repeated failure."""
    c.dial()
    c.wait("listen", node="main_menu")
    c.press("9")
    c.wait("language", language="en-US")
    _wait_menu(c)
    for clip in ("LJ001-0002.flac", "LJ001-0008.flac", "LJ001-0013.flac"):
        c.say(LJSPEECH / clip)
        ev = c.wait("turn", timeout=40)
        if ev["data"].get("next") != "main_menu":
            break
        _wait_menu(c)
    _hang_up_after_transfer(c)


def en_detected_agent(c: ScriptedCaller) -> None:
    """An English caller who never presses 9: "Waiting to speak with a representative"
    (Asterisk's Allison) on the Mandarin menu is detected as English and put through."""
    c.dial()
    c.wait("listen", node="main_menu")
    _wait_menu(c)
    c.say(ASTERISK_SOUNDS / "queue-callswaiting.wav")
    _hang_up_after_transfer(c)


def en_dissatisfied_voice(c: ScriptedCaller) -> None:
    """English (key 9), one EmoDB actor alternating calm and angry sentences (real, acted
    German speech): three angry turns that are never two in a row, with keys between that
    move the call on, hand it over as dissatisfied, not as repeated anger."""
    c.dial()
    c.wait("listen", node="main_menu")
    c.press("9")
    c.wait("language", language="en-US")
    _wait_menu(c)
    plan = [("03a01Nc.flac", None), ("03a01Wa.flac", "1"), ("03a02Nc.flac", None),
            ("03a02Wb.flac", "1"), ("03a04Nc.flac", None), ("03a04Wc.flac", None)]
    for clip, key in plan:
        c.say(EMODB / clip)
        ev = c.wait("turn", timeout=40)
        node = ev["data"].get("next")
        if node in ("upset_caller", "escalate", "agent"):
            break
        _wait_menu(c, node, 60)
        if key:
            c.press(key)
            ev = c.wait("turn", timeout=40)
            _wait_menu(c, ev["data"].get("next"), 60)
    _hang_up_after_transfer(c)


SCENARIOS: dict[str, tuple[str, Callable[[ScriptedCaller], None]]] = {
    "zh_topup_then_agent": ("13800138000", zh_topup_then_agent),
    "zh_bill_not_understood_agent": ("13800138000", zh_bill_not_understood_agent),
    "en_not_understood": ("447700900123", en_not_understood),
    "en_detected_agent": ("14155550100", en_detected_agent),
    "en_dissatisfied_voice": ("447700900456", en_dissatisfied_voice),
}


# ---------------------------------------------------------------------------- saving
def _strip_paths(value: Any, roots: tuple[str, ...]) -> Any:
    """Absolute paths under the data or work directories become file names."""
    if isinstance(value, dict):
        return {k: _strip_paths(v, roots) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_paths(v, roots) for v in value]
    if isinstance(value, str) and value.startswith(roots):
        return Path(value).name
    return value


def fixture(ivr: IvrProcess, call_id: str, roots: tuple[str, ...]) -> dict[str, Any]:
    call = ivr.wait_call_ended(call_id, 120)
    call["events"] = [e for e in call["events"] if e["type"] not in DROPPED_EVENTS]
    history = [h for h in ivr.api(f"/api/calls?limit=50&caller={call['caller']}")["calls"]
               if h["id"] != call_id and h["started_at"] < call["started_at"]]
    return _strip_paths({"call": call, "history": history}, roots)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help=f"scenarios (default all): {', '.join(SCENARIOS)}")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--keep-data", action="store_true", help="keep the IVR's data directory")
    args = ap.parse_args(argv)
    names = args.names or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(unknown)}")
    for folder in (AISHELL, LJSPEECH, EMODB, ASTERISK_SOUNDS):
        if not folder.is_dir():
            print(f"missing speech data: {folder}", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="record-transcripts-"))
    ivr = IvrProcess(work / "data").start()
    roots = (str(work), str(REPO), str(Path(tempfile.gettempdir())) + "/")
    failed = 0
    try:
        for name in names:
            number, scenario = SCENARIOS[name]
            started = time.monotonic()
            caller = ScriptedCaller(ivr, work / name)
            caller.phone.user = number  # the caller ID the IVR sees
            try:
                with caller:
                    scenario(caller)
                data = fixture(ivr, caller.call_id, roots)
            except Exception as e:  # one failed call does not lose the others
                failed += 1
                print(f"{name}: FAILED {type(e).__name__}: {e}", file=sys.stderr)
                continue
            path = args.out / f"{name}.json"
            path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n",
                            encoding="utf-8")
            turns = [(t["caller_text"] or t["dtmf"] or "-", t["outcome"], t["intent"])
                     for t in data["call"]["turns"]]
            print(f"{name}: {time.monotonic() - started:.0f} s, {data['call']['end_reason']}, "
                  f"{path.stat().st_size // 1024} KiB, turns {turns}")
    finally:
        code = ivr.stop()
        if code != 0:
            print(f"ivr serve exited with {code}; log in {ivr.log_path}", file=sys.stderr)
        if not args.keep_data and not failed and code == 0:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"data kept in {work}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
