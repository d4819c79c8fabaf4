"""Stored event rows read back as typed events, whichever module defines them
(`ivr.call.events`, `ivr.escalation.events`, `ivr.escalation.callback_events`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ivr.call import events as call_events
from ivr.call.events import CallEvent
from ivr.escalation import callback_events
from ivr.escalation import events as handover_events


def _registry() -> dict[str, type[CallEvent]]:
    modules = (call_events, handover_events, callback_events)
    found = [c for module in modules for c in vars(module).values()
             if isinstance(c, type) and issubclass(c, CallEvent) and c is not CallEvent
             and c.__module__ == module.__name__]
    registry = {c.TYPE: c for c in found}
    if len(registry) != len(found):
        raise RuntimeError("two call events have the same TYPE")
    return registry


EVENT_TYPES: dict[str, type[CallEvent]] = _registry()


def parse(row: Mapping[str, Any]) -> CallEvent | None:
    """The event of a stored row (`{"type": ..., "data": {...}}`, data a dict or its JSON);
    None for a type no class is for."""
    kind = row.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return None
    data = row.get("data")
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError:  # (UnicodeDecodeError too) a damaged row reads as an empty one
            data = None
    return cls.from_data(data if isinstance(data, Mapping) else {})
