"""One call's view of the store: every text it writes is masked first.

`CallSession` wraps the shared `CallStore` in a `RedactingStore` holding the call's secrets (the
values of its sensitive slots, kept only in memory for the call that needs them), so nothing
that reaches SQLite carries a personal number: turns (caller text, prompt, keys, slots), events,
callback and voicemail transcripts. Call metadata (caller ID, queue, agent) is written as is:
the caller's own number is what a callback needs. Masking happens on the caller's thread,
before `CallStore` queues the write for its writer thread (`ivr.storage.writer`): nothing
unmasked waits in the queue.
"""

from __future__ import annotations

from typing import Any

from ivr.privacy.redact import Redactor

_TURN_TEXT = ("caller_text", "prompt", "dtmf", "slots")
_CALLBACK_TEXT = ("transcript",)


class RedactingStore:
    """Delegates to `store`; `add_turn`, `update_turn`, `add_event` and `add_callback` mask."""

    def __init__(self, store: Any, redactor: Redactor) -> None:
        self.store = store
        self.redactor = redactor
        self.secrets: list[Any] = []  # values of this call's sensitive slots, memory only

    def add_secret(self, value: Any) -> None:
        """Mask `value` (and its spoken and spaced forms) in everything written from now on."""
        if value not in (None, "") and not isinstance(value, bool) and value not in self.secrets:
            self.secrets.append(value)

    def redact(self, obj: Any) -> Any:
        return self.redactor.redact_obj(obj, self.secrets)

    def add_turn(self, call_id: str, seq: int, **fields: Any) -> int:
        for key in _TURN_TEXT:
            if fields.get(key) is not None:
                fields[key] = self.redact(fields[key])
        return self.store.add_turn(call_id, seq, **fields)  # type: ignore[no-any-return]

    def update_turn(self, turn_id: int, **fields: Any) -> None:
        self.store.update_turn(turn_id, **{k: self.redact(v) if k in _TURN_TEXT else v
                                           for k, v in fields.items()})

    def add_event(self, call_id: str, type_: str, data: dict[str, Any] | None = None,
                  ts: float | None = None) -> None:
        self.store.add_event(call_id, type_, self.redact(data or {}), ts)

    def add_callback(self, call_id: str, **fields: Any) -> int:
        for key in _CALLBACK_TEXT:
            if fields.get(key) is not None:
                fields[key] = self.redact(fields[key])
        return self.store.add_callback(call_id, **fields)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)
