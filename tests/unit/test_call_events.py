"""Typed call events (ivr/call/events.py): stored rows read back as they were written, old and
damaged rows never crash a reader, and every event type emitted in `ivr/` has its class."""

from __future__ import annotations

import ast
import json
import types
import typing
from dataclasses import MISSING, FrozenInstanceError, fields
from pathlib import Path
from typing import Any

import pytest

from ivr.call import events as ev
from ivr.call.event_rows import EVENT_TYPES, parse
from ivr.call.events import CallEvent
from ivr.escalation import events as hev
from ivr.understanding.emotion import TurnEmotion

IVR = Path(__file__).resolve().parents[2] / "ivr"
OPEN = {ev.Variables, ev.EscalationSummary}  # an open set of keys: one dict, stored unchanged


def _sample(hint: Any) -> Any:
    """A value of the annotated type, never the None or False a field may default to."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return _sample(next(a for a in typing.get_args(hint) if a is not type(None)))
    origin = typing.get_origin(hint) or hint
    return {str: "x é", int: 7, float: 0.25, bool: True, dict: {"k": [1, "v"]},
            list: ["cue"]}[origin]


def sample(cls: type[CallEvent]) -> CallEvent:
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: _sample(hints[f.name]) for f in fields(cls)})


def minimal(cls: type[CallEvent]) -> CallEvent:
    """Only the required fields: every optional one at its default."""
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: _sample(hints[f.name]) for f in fields(cls) if f.default is MISSING})


ALL = sorted(EVENT_TYPES.values(), key=lambda c: c.TYPE)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.TYPE)
def test_every_event_round_trips_through_a_stored_row(cls: type[CallEvent]) -> None:
    for event in (sample(cls), minimal(cls)):
        data = event.data()
        assert parse({"type": cls.TYPE, "data": data}) == event
        stored = json.dumps(data, ensure_ascii=False, default=str)  # as CallStore.add_event
        again = parse({"type": cls.TYPE, "data": stored})
        assert again == event
        assert again is not None and json.dumps(again.data(), ensure_ascii=False) == stored


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.TYPE)
def test_classes_are_small_frozen_values_named_after_their_type(cls: type[CallEvent]) -> None:
    assert cls.__name__ == "".join(p.capitalize() for p in cls.TYPE.split("_"))
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert cls.__slots__ == tuple(f.name for f in fields(cls))
    event = sample(cls)
    for f in fields(cls):
        with pytest.raises(FrozenInstanceError):
            setattr(event, f.name, None)


def test_the_registry_holds_every_event_class() -> None:
    from ivr.escalation import callback_events

    classes = {c for module in (ev, hev, callback_events) for c in vars(module).values()
               if isinstance(c, type) and issubclass(c, CallEvent) and c is not CallEvent}
    assert set(EVENT_TYPES.values()) == classes
    assert all(EVENT_TYPES[c.TYPE] is c for c in classes)
    assert len(classes) >= 55


def test_keys_an_emitter_leaves_out_are_left_out() -> None:
    assert ev.Listen(node="menu", language="en-US").data() == {"node": "menu",
                                                                "language": "en-US"}
    assert ev.Listen(node="pin", language="en-US", sensitive=True).data()["sensitive"] is True
    assert list(ev.Error(where="tts", text="Hello", error="boom").data()) == [
        "where", "text", "error"]
    assert ev.Error(where="asr", error="boom").data() == {"where": "asr", "error": "boom"}
    # None values an emitter does store stay stored
    assert ev.BargeIn(cause="dtmf", node="menu").data() == {"cause": "dtmf", "node": "menu",
                                                            "latency_ms": None}
    assert ev.RecordingConsented().data() == {} and hev.VoicemailEmpty().data() == {}
    # why the emotion policy handed the call over; old rows without it still read
    assert ev.EmotionEscalation(angry_turns=2, why="anger").data() == {"angry_turns": 2,
                                                                       "why": "anger"}
    assert parse({"type": "emotion_escalation", "data": {"angry_turns": 2}}) == (
        ev.EmotionEscalation(angry_turns=2))
    assert ev.Turn(seq=1, node="ask", next="ask").data().get("answer", "-") == "-"


def test_stored_json_is_what_the_string_events_wrote() -> None:
    turn = ev.Turn(seq=2, node="menu", outcome="match", intent="billing", score=0.91,
                   slots={"n": "12"}, text="my bill", next="billing")
    assert json.dumps(turn.data()) == (
        '{"seq": 2, "node": "menu", "outcome": "match", "intent": "billing", "score": 0.91, '
        '"slots": {"n": "12"}, "text": "my bill", "next": "billing"}')
    hook = ev.Webhook(node="n", method="GET", url="http://x", ok=False, status=None,
                      error=None, ms=12)
    assert list(hook.data()) == ["node", "method", "url", "ok", "status", "error", "ms"]


def test_emotion_has_the_keys_of_the_turn_estimate() -> None:
    turn = TurnEmotion(0.7, 0.2, 0.5, "angry", 0.6, 0.4, ("ridiculous",), True)
    data = {**turn.as_dict(), "prosody_ms": 12.5}  # as the session stores it
    event = parse({"type": "emotion", "data": data})
    assert isinstance(event, ev.Emotion) and event.data() == data
    assert ev.Emotion.from_data(turn.as_dict()).data() == turn.as_dict()  # no prosody


def test_open_events_store_their_dict_unchanged() -> None:
    values = {"account": "12", "escalation_reason": "emotion", "nested": {"a": [1]}}
    assert ev.Variables(values=values).data() == values
    assert parse({"type": "variables", "data": json.dumps(values)}) == ev.Variables(
        values=values)
    summary = {"intent": "billing", "text": "Caller wants...", "whisper": "Billing."}
    assert ev.EscalationSummary(summary=summary).data() == summary


@pytest.mark.parametrize("row", [
    {"type": "no_such_event", "data": {"x": 1}}, {"type": None}, {}, {"type": ["turn"]},
    {"type": 3, "data": "{}"}])
def test_a_type_no_class_is_for_reads_as_none(row: dict[str, Any]) -> None:
    assert parse(row) is None


def test_unknown_keys_are_ignored_and_missing_ones_read_as_defaults() -> None:
    newer = parse({"type": "transfer", "data": {"target": "queue:x", "reason": "crisis",
                                                "added_later": 1}})
    assert newer == ev.Transfer(target="queue:x", reason="crisis")
    older = parse({"type": "transfer", "data": '{"target": "queue:x"}'})
    assert isinstance(older, ev.Transfer) and older.reason is None
    listen = parse({"type": "listen", "data": {"node": "menu"}})
    assert isinstance(listen, ev.Listen) and listen.sensitive is False
    assert listen.language is None


@pytest.mark.parametrize("data", [None, "", "not json", "[1, 2]", '"text"', b"\xff\xfe",
                                  42, ["a"]])
def test_damaged_data_reads_as_an_empty_event(data: Any) -> None:
    event = parse({"type": "no_input", "data": data})
    assert isinstance(event, ev.NoInput) and event.node is None and event.timeout_s is None
    assert parse({"type": "recording_consented", "data": data}) == ev.RecordingConsented()


# ---------------------------------------------------------------- every emitted type has a class
def _literal_keys(node: ast.expr) -> list[str] | None:
    """The keys of a `**{...}` (or `**({...} if c else {})`) argument; None: not literal."""
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) for k in node.keys):
        return [k.value for k in node.keys]  # type: ignore[union-attr]
    if isinstance(node, ast.IfExp):
        body, other = _literal_keys(node.body), _literal_keys(node.orelse)
        return None if body is None or other is None else body + other
    return None


def emitted(source: str) -> list[tuple[int, str, list[str], list[str] | None]]:
    """String-typed events in `source`: (line, type, keys always passed, keys sometimes
    passed or None when unknown) of each `event("type", ...)`, `_event("type", ...)` and
    `add_event(call_id, "type", {...})`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", None))
        at = {"event": 0, "_event": 0, "add_event": 1}.get(str(name))
        if at is None or len(node.args) <= at:
            continue
        kind = node.args[at]
        if not (isinstance(kind, ast.Constant) and isinstance(kind.value, str)):
            continue
        keys: list[str] = []
        sometimes: list[str] | None = []
        for kw in node.keywords:
            if kw.arg is not None:
                keys.append(kw.arg)
            elif sometimes is not None:
                extra = _literal_keys(kw.value)
                sometimes = None if extra is None else sometimes + extra
        if name == "add_event" and len(node.args) > at + 1:
            sometimes = _literal_keys(node.args[at + 1])
        found.append((node.lineno, kind.value, keys, sometimes))
    return found


def test_the_scanner_finds_string_events() -> None:
    source = '''
self.event("turn", seq=1, node="a", next="b")
s.event("listen", node="n", language="en", **({"sensitive": True} if x else {}))
self._event("recording_failed", error=e)
io.event("variables", **action.values)
store.add_event(cid, "error", {"where": "start", "error": "x"})
phone.wait_event("CALL_CLOSED", 6)
self.event(kind, a=1)
'''
    assert emitted(source) == [
        (2, "turn", ["seq", "node", "next"], []),
        (3, "listen", ["node", "language"], ["sensitive"]),
        (4, "recording_failed", ["error"], []),
        (5, "variables", [], None),
        (6, "error", [], ["where", "error"]),
    ]


def test_every_event_emitted_in_ivr_has_a_class_with_its_keys() -> None:
    problems = []
    for path in sorted(IVR.rglob("*.py")):
        for line, kind, keys, sometimes in emitted(path.read_text(encoding="utf-8")):
            where = f"{path.relative_to(IVR.parent)}:{line} {kind!r}"
            cls = EVENT_TYPES.get(kind)
            if cls is None:
                problems.append(f"{where}: no class in ivr/call/events.py")
                continue
            if cls in OPEN:
                continue
            names = [f.name for f in fields(cls)]
            passed = keys + (sometimes or [])
            if unknown := [k for k in passed if k not in names]:
                problems.append(f"{where}: {cls.__name__} has no field {unknown}")
            elif keys != [n for n in names if n in keys]:  # the stored order of the keys
                problems.append(f"{where}: keys {keys} are not in the order of {names}")
            required = [f.name for f in fields(cls) if f.default is MISSING]
            if sometimes is not None and (missing := set(required) - set(passed)):
                problems.append(f"{where}: {cls.__name__} needs {sorted(missing)}")
    assert not problems, "\n".join(problems)


def test_a_failed_session_start_is_stored_as_before(tmp_path: Path) -> None:
    from ivr.call.watchdog import record_failed_start
    from ivr.storage.call_store import CallStore
    from telephony import CallInfo

    store = CallStore(tmp_path / "calls.db")
    call = CallInfo("c1", "sip:a@b", "1001", "2000", "sip:a@b", 0.0)
    record_failed_start(store, call, RuntimeError("no media port"))
    (row,) = store.db.query("select type, data from events where call_id = 'c1'")
    assert row == {"type": "error", "data": json.dumps(
        {"where": "session_start", "error": "RuntimeError('no media port')"})}
