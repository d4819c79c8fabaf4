"""The base of every call event and its stored contract (see `ivr.call.events` for the
catalogue): `TYPE` and `data()` are what the `events` table holds; a field declared with
`omitted(default)` is left out of `data()` at that default."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Protocol, Self, TypeVar

_T = TypeVar("_T")
_OMIT = "omitted_at_default"


def omitted(default: _T) -> _T:
    """A field whose key is not stored when it has this value (as its emitter does)."""
    return field(default=default, metadata={_OMIT: True})


@dataclass(frozen=True, slots=True)
class CallEvent:
    """Base of every call event: `TYPE` is its stored type, `data()` its stored object."""

    TYPE: ClassVar[str] = ""

    def data(self) -> dict[str, Any]:
        """The stored keys and values, in the stored order."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if not (f.metadata.get(_OMIT) and value == f.default):
                out[f.name] = value
        return out

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        """The event of a stored object: unknown keys ignored, missing ones at their default
        or None (an old row is read, not validated)."""
        return cls(**{f.name: data.get(f.name, None if f.default is MISSING else f.default)
                      for f in fields(cls)})


Emit = Callable[[CallEvent], None]  # a callback that records a call's event


class Emitter(Protocol):
    """Where a call's events go: `CallSession.emit` logs and stores `TYPE`, `data()` redacted."""

    def emit(self, event: CallEvent) -> None: ...
