"""What one phone call leaves in the store, its personal data masked: events and turns.

Every write of the call goes through a `RedactingStore` holding the call's secrets (`store`):
- `emit(event)` logs and stores a typed event (`ivr.call.events`); `event(type_, **data)` the
  same for the few emitters that still name the type as a string (the driver, turn taking).
  The log line and the stored row are redacted alike;
- `turn(...)` stores the caller's answer with the engine's understanding of it, and the `turn`
  event. Values of the dialplan's sensitive slots become the call's secrets (memory only: they
  are masked in everything written afterwards), and the answer to a sensitive prompt is stored
  as `SECRET_MASK` (keys of four or more also become secrets).

Threads: on the call's event loop. `CallStore` queues its writes to its one writer thread,
except `add_turn`, which returns the turn's id.
"""

from __future__ import annotations

import logging
from typing import Any

from ivr.call import events as ev
from ivr.dialplan.actions import DialogEvent, Say
from ivr.dialplan.engine import Step
from ivr.privacy import SECRET_MASK, Redactor
from ivr.privacy.store import RedactingStore
from ivr.storage.call_store import CallStore

__all__ = ["CallRecord"]

log = logging.getLogger("ivr.call")


class CallRecord:
    """One call's rows (see the module docstring); `sensitive_slots` are the dialplan's."""

    def __init__(self, call_id: str, store: CallStore, redactor: Redactor,
                 sensitive_slots: set[str]) -> None:
        self.call_id = call_id
        self.store = RedactingStore(store, redactor)
        self._sensitive_slots = sensitive_slots
        self._seq = 0

    # ------------------------------------------------------------ events
    def event(self, type_: str, **data: Any) -> None:
        data = self.store.redact(data)  # the log line and the stored event alike
        detail = " ".join(f"{k}={_fmt(v)}" for k, v in data.items())
        log.info("call=%s %s %s", self.call_id, type_, detail)
        try:
            self.store.store.add_event(self.call_id, type_, data)
        except Exception as e:  # storage trouble is logged, the call goes on
            log.error("call=%s cannot store event %s: %s", self.call_id, type_, e)

    def emit(self, event: ev.CallEvent) -> None:
        self.event(event.TYPE, **event.data())

    # ------------------------------------------------------------ turns
    def turn(self, before: Step, answer: tuple[DialogEvent, dict[str, Any]], new: Step, *,
             secret: bool) -> int:
        """Store the answer that moved the dialogue from `before` to `new` (`secret`: it
        answered a sensitive prompt); the turn's id."""
        info = dict(answer[1])
        u = new.understanding
        self._remember_secrets(new, info, secret)
        self._seq += 1
        says = [a.text for a in new.actions if isinstance(a, Say)]
        row = {
            "node": before.state.node, "language": before.state.language,
            "prompt": "\n".join(says) or None,
            "outcome": u.outcome if u else None, "intent": u.intent if u else None,
            "intent_score": round(u.score, 3) if u else None, "slots": u.slots if u else None,
            "answer": u.answer if u else None, **info,
        }
        turn_id = self.store.add_turn(self.call_id, self._seq, **row)
        self.emit(ev.Turn(seq=self._seq, node=before.state.node, outcome=row["outcome"],
                          intent=row["intent"], score=row["intent_score"], slots=row["slots"],
                          text=info.get("caller_text") or info.get("dtmf"),
                          answer=row["answer"], next=new.state.node))
        return turn_id

    def _remember_secrets(self, new: Step, info: dict[str, Any], secret: bool) -> None:
        """Values of sensitive slots become the call's secrets (memory only); the input of a
        sensitive prompt is stored masked."""
        u = new.understanding
        values = dict(u.slots) if u else {}
        if new.state.confirming is not None:
            values.setdefault(new.state.confirming[0], new.state.confirming[1])
        for name in self._sensitive_slots:
            for value in (values.get(name), new.state.variables.get(name)):
                self.store.add_secret(value)
        if secret:
            keys = info.get("dtmf") or ""
            if len(keys) >= 4:
                self.store.add_secret(keys)
            for key in ("caller_text", "dtmf"):
                if info.get(key):
                    info[key] = SECRET_MASK


def _fmt(v: Any) -> str:
    if isinstance(v, str):
        return repr(v) if (" " in v or not v) else v
    return str(v)
