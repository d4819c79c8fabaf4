"""`ivr.call.session_handover.HandoverHooks`: the hand-over's side of a call hands each request
to the stage that owns it (summary, audio pump, time limit); stages faked here."""

from __future__ import annotations

import types
from typing import Any

from ivr.call.session import CallSession
from ivr.call.session_handover import HandoverHooks


class _Limit:
    def __init__(self) -> None:
        self.when: Any = "set"

    def reschedule(self, when: Any) -> None:
        self.when = when


def _hooks(public_url: str | None = None) -> HandoverHooks:
    h = HandoverHooks()
    h.settings = types.SimpleNamespace(  # type: ignore[assignment]
        http=types.SimpleNamespace(host="10.0.0.2", port=8080),
        escalation=types.SimpleNamespace(public_url=public_url))
    h._summary = types.SimpleNamespace(data={"whisper": "Billing, caller angry."})  # type: ignore[assignment]
    h._pump = types.SimpleNamespace(bridged=False)  # type: ignore[assignment]
    h._limit = _Limit()  # type: ignore[assignment]
    h._hangup_reason = ""
    return h


def test_summary_url_and_whisper() -> None:
    assert _hooks().summary_base_url() == "http://10.0.0.2:8080"
    assert _hooks("https://ivr.example/").summary_base_url() == "https://ivr.example"
    assert _hooks().whisper_text() == "Billing, caller angry."


def test_bridged_stops_recognition_and_the_time_limit_only_while_talking() -> None:
    h = _hooks()
    h.bridged(False)
    assert h._pump.bridged is False and h._limit.when == "set"  # type: ignore[union-attr]
    h.bridged()
    assert h._pump.bridged is True and h._limit.when is None  # type: ignore[union-attr]


def test_end_reason_and_the_session_uses_the_mixin() -> None:
    h = _hooks()
    h.set_end_reason("agent_hangup")
    assert h.end_reason == "agent_hangup"
    assert issubclass(CallSession, HandoverHooks)
