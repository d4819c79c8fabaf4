"""Caller memory (issue 21): the variables a call starts with, `caller` (the caller ID, as
before) and `history`, what the store remembers of the number's earlier calls, so that a
dialplan can greet a returning caller with context:

    history.calls           ended calls of the number within `dialog.history_days`
    history.last_intent     what the last of them was about (its last service intent: the
                            same rule as the agent's summary, `summary_facts.main_intent`)
    history.last_outcome    its outcome (`ivr.storage.outcomes`: contained, abandoned_in_ivr...)
    history.last_call_days  whole 24-hour periods since it ended (0: within the last day)
    history.open_callback   true while a callback request or voicemail of the number waits
                            in the agents' list

A first-time caller, an anonymous or withheld number, a caller ID that is not a phone number
(a SIP name such as ``alice``: the test softphones call as ``caller``, ``agent``...) and a
service with `dialog.history_days: 0` have no history: the call does not set `history`, so
the dialplan's own value stands (the hotline declares ``history: false``). The number is
looked up, never copied into `history` or a log line. The store query is
`ivr.storage.caller_history`; only stored rows count, so retention and `ivr forget` take the
history with the calls.

`of(session)` gives a starting call its variables. `ivr test` builds the same `history`
from a test case's `caller_history`, so a dialplan's conditions read one shape in tests and
on calls.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any, Protocol

from ivr.escalation.summary_facts import main_intent
from ivr.storage.caller_history import CallerHistory, caller_history

__all__ = ["EMPTY", "StartingCall", "has_history", "history_for", "look_up", "of"]

log = logging.getLogger("ivr.call")

DAY_S = 86400.0
EMPTY: dict[str, Any] = {"calls": 0, "last_intent": None, "last_outcome": None,
                         "last_call_days": None, "open_callback": False}
_PHONE_NUMBER = re.compile(r"\+?\d{3,20}")
_VISUAL_SEPARATORS = str.maketrans("", "", " -.()")  # a tel URI may write +86-138-...


def has_history(caller: str | None) -> bool:
    """Whether a caller ID can have a history: a phone number (digits, a leading +), not
    empty, anonymous, withheld or a SIP user name."""
    return bool(caller) and bool(
        _PHONE_NUMBER.fullmatch((caller or "").strip().translate(_VISUAL_SEPARATORS)))


def history_for(found: CallerHistory, now: float) -> dict[str, Any]:
    """The `history` variable of what the store found (`now`: UNIX seconds)."""
    if not found.calls:
        return {**EMPTY, "open_callback": found.open_callback}
    days = None
    if found.last_ended_at is not None:
        days = max(0, int((now - found.last_ended_at) // DAY_S))
    return {"calls": found.calls, "last_intent": main_intent(list(found.last_turns)),
            "last_outcome": found.last_outcome, "last_call_days": days,
            "open_callback": found.open_callback}


def look_up(store: Any, caller: str | None, days: float, dialplan: str | None = None,
            now: float | None = None) -> dict[str, Any]:
    """The `history` variable of `caller`'s calls to `dialplan` within `days` days; `EMPTY`
    when it can have none, when `days` is 0, or when the store cannot answer (logged, never
    raised: a call starts without its history rather than not at all)."""
    db = getattr(store, "db", None)
    if db is None or days <= 0 or not has_history(caller):
        return dict(EMPTY)
    assert caller is not None
    now = time.time() if now is None else now
    try:
        found = caller_history(db, caller, now, days * DAY_S, dialplan)
    except Exception as e:  # noqa: BLE001 - the store's failure must not stop the call
        log.warning("caller history not available: %s", type(e).__name__)
        return dict(EMPTY)
    history = history_for(found, now)
    log.debug("caller history: %d earlier call(s), last intent %s, %s day(s) ago",
              history["calls"], history["last_intent"], history["last_call_days"])
    return history


class StartingCall(Protocol):
    """What `of` reads of a call being set up (`ivr.call.session.CallSession`)."""

    caller: str
    deps: Any  # its `SessionDeps`: settings, dialplan, store


def of(call: StartingCall) -> dict[str, Any]:
    """The variables `call` starts with: `caller` (its caller ID) and, for a returning caller
    (an earlier call within the window, or a callback still open), `history`; a first-time
    caller has none (the dialplan's own `history`, e.g. ``false``, stands)."""
    deps = call.deps
    history = look_up(deps.store, call.caller, deps.settings.dialog.history_days,
                      deps.dialplan.plan.name)
    returning = history["calls"] or history["open_callback"]
    return {"caller": call.caller, **({"history": history} if returning else {})}
