"""Caller mixes of the load test: which real recordings a caller speaks and the intent the
shipped hotline (dialplans/hotline.yaml) should route each one to.

- `en`: Asterisk's Allison prompts (real human speech, CC BY-SA 3.0); the caller presses 9
  after the greeting, as every load test before the Mandarin mix did.
- `zh`: AISHELL-1 read news (speaker S0150, ../shared/data/asr_zh_aishell). No key 9: the
  caller speaks on the hotline's Mandarin main menu, so the first turn includes the language
  detection of a Mandarin-first line. Read news is not a hotline request, so a clip is used
  only when its transcript holds a zh-CN keyword of exactly one of the hotline's intents
  (e.g. 网络 -> broadband_fault, 领导 / 主管 -> agent); crisis and yes/no intents are never
  expected. The expected intent is what the hotline's keywords say about the *transcript*:
  a turn routed elsewhere is a recognition (or routing) miss, counted as such.

`continues`: the intents after which the hotline asks "anything else?" so the caller can
speak again (bill enquiry directly; broadband fault after the account is keyed in).
"""

from __future__ import annotations

import csv
import wave
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from testkit.bench.flow import intent_keywords
from testkit.loadtest.calls import REQUESTS

REPO = Path(__file__).resolve().parents[2]
HOTLINE = REPO / "dialplans" / "hotline.yaml"
AISHELL = REPO.parent / "shared" / "data" / "asr_zh_aishell"
ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
# Intents a request may be expected to reach: the hotline's services and the agent.
SERVICE_INTENTS = ("bill_enquiry", "broadband_fault", "top_up", "agent")
# Intents whose keywords rule a clip out (a crisis word makes the expected routing unclear).
EXCLUDING_INTENTS = ("self_harm", "chest_pain", "breathing")
ACCOUNT_KEYS = "55203318"  # an 8-digit broadband account, keyed in (max_length ends it)


@dataclass(frozen=True)
class Request:
    """One real recording and the intent the hotline should reach with it."""

    clip: Path
    intent: str
    speech_s: float  # the recording's length: the caller's speaking time
    text: str = ""  # its transcript (for the report's mistakes)


@dataclass(frozen=True)
class Mix:
    name: str  # "en" or "zh"
    requests: tuple[Request, ...]
    key: str | None  # the key pressed after the greeting (9 for English), None: none
    continues: frozenset[str] = field(default_factory=frozenset)
    # the aggressive profile's second turn follows only these (today's English: bill only)
    aggressive_continues: frozenset[str] = field(default_factory=frozenset)

    def continuing(self) -> tuple[Request, ...]:
        return tuple(r for r in self.requests if r.intent in self.continues)


# What Allison says in each request of `REQUESTS` (for the report's mistakes).
ENGLISH_TEXT = {"queue-callswaiting.wav": "Waiting to speak with a representative",
                "info-about-last-call.wav": "Information about your last call.",
                "sorry-youre-having-problems.wav": "Sorry you're having problems."}


def english_mix(sounds: Path = ALLISON) -> Mix:
    """The requests every earlier load test spoke (`calls.REQUESTS`), lengths from the WAVs."""
    def req(name: str, intent: str) -> Request:
        path = sounds / name
        try:
            with wave.open(str(path)) as w:
                seconds = w.getnframes() / w.getframerate()
        except (OSError, EOFError, wave.Error):
            seconds = 0.0
        return Request(path, intent, seconds, ENGLISH_TEXT.get(name, ""))

    return Mix("en", tuple(req(name, intent) for name, intent in REQUESTS), key="9",
               continues=frozenset({"bill_enquiry", "broadband_fault"}),
               aggressive_continues=frozenset({"bill_enquiry"}))


def hotline_keywords(plan: Mapping, language: str = "zh-CN",
                     intents: Iterable[str] = SERVICE_INTENTS + EXCLUDING_INTENTS
                     ) -> dict[str, list[str]]:
    return {name: intent_keywords(dict(plan), name, language) for name in intents}


def select_requests(rows: Iterable[Mapping[str, str]], keywords: Mapping[str, list[str]],
                    base: Path) -> list[Request]:
    """The manifest rows whose raw transcript holds keywords of exactly one intent, that
    intent a service one (not a crisis one), in manifest order."""
    out = []
    for r in rows:
        text = r.get("transcript_raw") or r.get("transcript", "").replace(" ", "")
        named = {name for name, words in keywords.items() if any(w and w in text for w in words)}
        if len(named) == 1 and (intent := named.pop()) in SERVICE_INTENTS:
            try:
                seconds = float(r.get("duration_s") or 0.0)
            except ValueError:
                seconds = 0.0
            out.append(Request(base / r["path"], intent, seconds, text))
    return out


def mandarin_mix(dialplan: Path = HOTLINE, data: Path = AISHELL) -> Mix:
    with open(data / "manifest.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    plan = yaml.safe_load(dialplan.read_text(encoding="utf-8"))
    requests = select_requests(rows, hotline_keywords(plan), data)
    if not requests:
        raise SystemExit(f"no AISHELL clip names a hotline intent ({data})")
    return Mix("zh", tuple(requests), key=None, continues=frozenset({"broadband_fault"}),
               aggressive_continues=frozenset({"broadband_fault"}))


def load_mixes(name: str) -> list[Mix]:
    """`en`, `zh` or `both` (English first)."""
    if name not in ("en", "zh", "both"):
        raise ValueError(f"unknown mix {name!r}")
    return ([english_mix()] if name in ("en", "both") else []) + (
        [mandarin_mix()] if name in ("zh", "both") else [])
