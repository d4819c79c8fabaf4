"""The facts of an escalation summary, read from a stored call: its language, the steps and
path through the dialplan, the slots collected (and which a read-back or the keypad
verified), the main intent, emotion, why the IVR handed over, the caller's earlier calls and
the caller's key utterances.

Everything here only reorganises what the call store recorded (turns, events, earlier calls
of the same number) and reads the dialplan's prompts to tell answers from questions;
nothing is invented and nothing is masked (redaction is a separate feature). The words come
later (`summary_text`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ivr.call import events as ev
from ivr.dialplan.say_as import TEMPLATE

if TYPE_CHECKING:
    from ivr.dialplan.models import Dialplan
    from ivr.dialplan.summary_phrases import IntentPhrases

# Intents that steer the dialog rather than say what the caller wants.
CONTROL_INTENTS = frozenset({"affirm", "deny", "english", "chinese", "repeat",
                             "emotion_escalation"})
AGENT_INTENTS = frozenset({"agent", "callback"})
MAX_KEY_UTTERANCES = 5
SAID_CHARS = 60  # an IVR prompt is shortened to about this many characters
UPSET = 0.5  # anger (or distress) from which a turn counts as emotional
VAR = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.]*(?:\|[^{}]*)?\}")  # `{name}`, `{name|filter}`

Row = dict[str, Any]  # a turn or event row of the call store


@dataclass(frozen=True)
class EarlierCalls:
    count: int = 0
    last_date: str | None = None  # YYYY-MM-DD in the hotline's time zone
    last_end_reason: str | None = None
    last_intent: str | None = None


@dataclass(frozen=True)
class SlotValue:
    name: str
    value: Any
    verified: bool  # confirmed by a read-back "yes", or keyed on the keypad
    node: str | None = None


@dataclass(frozen=True)
class Step:
    seq: int
    node: str | None
    caller: str | None  # what the caller said, or "[keys 123]"
    outcome: str | None
    intent: str | None
    said: str | None  # what the IVR answered, shortened


@dataclass(frozen=True)
class EmotionPoint:
    seq: int
    anger: float
    distress: float
    label: str


def shorten(text: str | None, limit: int = SAID_CHARS) -> str | None:
    """First sentences of a prompt, cut at about `limit` characters."""
    if not text:
        return None
    first = next((line for line in text.splitlines() if line.strip()), "")
    text = " ".join(first.split())  # the first prompt is the answer; menus follow
    if len(text) <= limit:
        return text
    cut = text[:limit]
    ends = [m.end() for m in re.finditer(r"[。！？!?；;]|[.](?=\s)", cut)]
    if ends and ends[-1] >= limit // 3:
        return cut[: ends[-1]].strip()
    return cut.rstrip(" ,，、") + "…"


def needs_apology(peak_anger: float, code: str) -> bool:
    """Should the agent apologise first: the caller was angry, or handed over dissatisfied."""
    return peak_anger >= UPSET or code == "dissatisfaction"


def language_of(call: Row, turns: list[Row], events: list[Row],
                plan: Dialplan | None) -> tuple[str, str | None, str | None]:
    """(language, profile, dialect) of the call."""
    language = call.get("language")
    profile = call.get("profile")
    dialect = None
    for e in events:
        data = e.get("data") if isinstance(e.get("data"), dict) else {}
        if e.get("type") == ev.Language.TYPE and data.get("language"):
            language = language or data["language"]
            profile = data.get("profile") or profile
        elif e.get("type") == ev.DialectDetected.TYPE and data.get("profile"):
            dialect = data["profile"]
    if not language and turns:
        language = turns[-1].get("language")
    if not language:
        language = plan.default_language if plan is not None else "zh-CN"
    if dialect is None and profile and profile != language:
        dialect = profile
    return str(language), profile, dialect


def variables(events: list[Row]) -> dict[str, Any]:
    """The call's variables as last reported by its `variables` events."""
    out: dict[str, Any] = {}
    for e in events:
        if e.get("type") == ev.Variables.TYPE and isinstance(e.get("data"), dict):
            out.update(e["data"])
    return out


def _caller_input(t: Row) -> str | None:
    if t.get("caller_text"):
        return str(t["caller_text"])
    if t.get("dtmf"):
        return f"[keys {t['dtmf']}]"
    if t.get("input_mode") == "none" or t.get("outcome") == "no_input":
        return "[silence]"
    return None


def step(t: Row) -> Step:
    return Step(seq=int(t.get("seq") or 0), node=t.get("node"), caller=_caller_input(t),
                outcome=t.get("outcome"), intent=t.get("intent"), said=shorten(t.get("prompt")))


def _texts(prompt: Any) -> list[str]:
    if isinstance(prompt, str):
        return [prompt]
    return list(prompt.values()) if isinstance(prompt, dict) else []


def answers_given(turns: list[Row], plan: Dialplan | None, most: int = 3) -> list[str]:
    """Lines the IVR said after understood input that are not questions, menus, retries or
    hand-over announcements (from the dialplan when known), shortened; the last `most`."""
    skip: set[str] = set()
    if plan is not None:
        for node in plan.nodes.values():
            for listener in (node.menu, node.gather):
                if listener is not None:
                    skip.update(_texts(listener.prompt))
            if node.transfer is not None and node.transfer.say is not None:
                skip.update(_texts(node.transfer.say))
        if plan.emotion.apology is not None:
            skip.update(_texts(plan.emotion.apology))
    templates = [re.compile(".+?".join(re.escape(part) for part in VAR.split(text)))
                 for text in skip if VAR.search(text)]  # "您要充值{amount}元…" as said
    out: list[str] = []
    for t in turns:
        if t.get("outcome") != "match" or not t.get("prompt"):
            continue
        for line in str(t["prompt"]).splitlines():
            line = line.strip()
            if (not line or line in skip or "?" in line or "？" in line
                    or any(x.fullmatch(line) for x in templates)):
                continue
            short = shorten(line)
            if short and short not in out:
                out.append(short)
    return out[-most:]


def path_of(turns: list[Row], events: list[Row]) -> list[str]:
    """The nodes the call went through, each run of one node once."""
    nodes = [t["node"] for t in turns if t.get("node")]
    last_next = [e["data"].get("next") for e in events
                 if e.get("type") == ev.Turn.TYPE and isinstance(e.get("data"), dict)]
    if last_next and last_next[-1]:
        nodes.append(last_next[-1])
    path: list[str] = []
    for n in nodes:
        if not path or path[-1] != n:
            path.append(n)
    return path


def chosen_values(phrases: IntentPhrases | None, variables: dict[str, Any],
                  plan: Dialplan | None) -> list[SlotValue]:
    """Values the intent needs that no `gather` asks for but a menu choice's `set` chose (the
    clinic's department), from the call's variables; chosen, so verified."""
    if phrases is None or plan is None:
        return []
    gathered = {n.gather.slot.name for n in plan.nodes.values() if n.gather is not None}
    return [SlotValue(name, variables[name], True) for name in phrases.needs
            if name not in gathered and variables.get(name) not in (None, "")]


def slots_of(turns: list[Row], plan: Dialplan | None = None) -> list[SlotValue]:
    """Each slot's last value; verified when keyed, or when a read-back was answered yes: the
    engine's own (the heard value on one turn and, once confirmed, the same value again on
    the next turn of the same node), or a confirmation menu right after the value was taken
    whose prompt reads the slot back (`您要充值{amount}元，确认请说是…`)."""
    found: dict[str, SlotValue] = {}
    prev: Row | None = None
    for t in turns:
        slots = t.get("slots") if isinstance(t.get("slots"), dict) else {}
        if prev is not None and t.get("intent") == "affirm" and t.get("outcome") == "match":
            for name in _read_back(plan, t.get("node"), prev):
                if name in found:
                    found[name] = replace(found[name], verified=True)
        for name, value in slots.items():
            keyed = t.get("input_mode") == "dtmf" and t.get("intent") is None and bool(
                t.get("dtmf"))
            read_back_yes = (prev is not None and prev.get("node") == t.get("node")
                             and isinstance(prev.get("slots"), dict)
                             and prev["slots"].get(name) == value
                             and t.get("outcome") == "match")
            old = found.get(name)
            verified = keyed or read_back_yes or bool(
                old and old.value == value and old.verified)
            found[name] = SlotValue(name, value, verified, t.get("node"))
        if t.get("intent") == "deny" and prev is not None:  # "no" to a read-back
            for name in (prev.get("slots") or {}) if isinstance(prev.get("slots"), dict) else ():
                if name in found and not found[name].verified:
                    del found[name]
        prev = t
    return list(found.values())


def _read_back(plan: Dialplan | None, node_id: str | None, prev: Row) -> list[str]:
    """Slots taken on turn `prev` that the menu at `node_id` reads back in its prompt."""
    taken = prev.get("slots") if isinstance(prev.get("slots"), dict) else {}
    node = plan.nodes.get(node_id or "") if plan is not None else None
    if not taken or node is None or node.menu is None:
        return []
    read = {m.group(1) for m in TEMPLATE.finditer(" ".join(_texts(node.menu.prompt)))}
    return [name for name in taken if name in read]  # `{amount}` or `{amount|money}`


def main_intent(turns: list[Row]) -> str | None:
    """The last recognised service intent; else the last agent request."""
    service = [t["intent"] for t in turns if t.get("intent") and t.get("outcome") == "match"
               and t["intent"] not in CONTROL_INTENTS | AGENT_INTENTS]
    if service:
        return service[-1]
    agent = [t["intent"] for t in turns if t.get("intent") in AGENT_INTENTS
             and t.get("outcome") == "match"]
    return agent[-1] if agent else None


def emotion_point(t: Row) -> EmotionPoint:
    e = t["emotion"]
    return EmotionPoint(int(t.get("seq") or 0), round(float(e.get("anger") or 0.0), 3),
                        round(float(e.get("distress") or 0.0), 3), str(e.get("label") or ""))


def escalation(call: Row, turns: list[Row], events: list[Row], crisis: frozenset[str]
               ) -> tuple[str, str | None, str | None]:
    """(reason code, the dialplan's own reason, transfer target); `crisis` are the dialplan's
    emergency intents."""
    transfers = [e["data"] for e in events
                 if e.get("type") == ev.Transfer.TYPE and isinstance(e.get("data"), dict)]
    target = transfers[-1].get("target") if transfers else call.get("transfer_target")
    raw = transfers[-1].get("reason") if transfers else None
    intents = {t.get("intent") for t in turns if t.get("outcome") == "match"}
    emotional = any(e.get("type") == ev.EmotionEscalation.TYPE for e in events) or (
        "emotion_escalation" in intents)
    if emotional and raw in (None, "caller_upset") and _emotion_why(events) == (
            "dissatisfaction"):
        return "dissatisfaction", None, target
    if raw in ("caller_request", "repeated_failure", "caller_upset", "crisis"):
        return raw, None, target
    if raw is None and not target:
        return ("caller_upset", None, None) if emotional else ("none", None, None)
    if emotional:
        return "caller_upset", raw, target
    if intents & crisis:
        return "crisis", raw, target
    return "dialplan", raw, target


def _emotion_why(events: list[Row]) -> str | None:
    """Why the emotion policy handed over: the engine's `escalation_reason` variable
    (dissatisfaction or emotion), or the reason on the service's escalation event."""
    why = variables(events).get("escalation_reason")
    for e in events:
        data = e.get("data") if isinstance(e.get("data"), dict) else {}
        if e.get("type") == ev.EmotionEscalation.TYPE and data.get("why"):
            why = why or data["why"]
    return str(why) if why else None


def earlier_calls(call: Row, history: list[Row], plan: Dialplan | None) -> EarlierCalls:
    """The same number's earlier calls of this dialplan: how many, and the last one."""
    started = call.get("started_at")
    same = [h for h in history if h.get("id") != call.get("id")
            and (not call.get("dialplan") or not h.get("dialplan")
                 or h["dialplan"] == call["dialplan"])
            and (started is None or (h.get("started_at") or 0) < started)]
    if not same:
        return EarlierCalls()
    last = max(same, key=lambda h: h.get("started_at") or 0)
    date = None
    if last.get("started_at"):
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(plan.timezone if plan is not None else "Asia/Shanghai")
        date = dt.datetime.fromtimestamp(float(last["started_at"]), tz).date().isoformat()
    intent = last.get("intent") or main_intent(last.get("turns") or [])
    end = last.get("end_reason")
    if end == "caller_hangup" and last.get("escalated") and not last.get("agent_id"):
        end = "hangup_before_agent"  # handed over, but hung up before an agent answered
    return EarlierCalls(len(same), date, end, intent)


def completed(phrases: IntentPhrases | None, slots: list[SlotValue], answers: list[str]) -> bool:
    """Did the IVR itself finish the task: the intent says what a finished one is
    (`next_action_done`), every slot it needs was verified and one of the IVR's answers names
    them all ("充值成功，2000元已到账")."""
    if phrases is None or phrases.next_action_done is None:
        return False
    verified = {s.name: s.value for s in slots if s.verified}
    names = phrases.needs
    return bool(names) and all(n in verified for n in names) and any(
        all(str(verified[n]) in a for n in names) for a in answers)


def key_utterances(turns: list[Row], crisis: frozenset[str]) -> list[str]:
    """Caller utterances (verbatim) that carried an intent or emotion, or that the IVR could
    not understand (the agent must), at most five, in call order; when there are more, the
    emergencies (`crisis` intents), the most emotional and the intent-bearing ones win."""
    scored: list[tuple[float, int, str]] = []
    for i, t in enumerate(turns):
        text = t.get("caller_text")
        if not text:
            continue
        e = t.get("emotion") if isinstance(t.get("emotion"), dict) else {}
        feeling = max(float(e.get("anger") or 0), float(e.get("distress") or 0))
        has_intent = (t.get("outcome") == "match" and t.get("intent")
                      and t["intent"] not in CONTROL_INTENTS)
        urgent = t.get("intent") in crisis
        missed = t.get("outcome") in ("no_match", "unintelligible")
        if not (has_intent or missed or feeling >= UPSET or e.get("cues")):
            continue
        scored.append((2.0 * urgent + feeling + 0.5 * bool(has_intent) + 0.25 * missed, i,
                       str(text)))
    best = sorted(scored, key=lambda s: (-s[0], s[1]))[:MAX_KEY_UTTERANCES]
    return [text for _, _, text in sorted(best, key=lambda s: s[1])]
