"""Where a call's dialogue is: `DialogState` (carried from one engine step to the next), its
`History`, and `Step`, the result of one step: the new state and the actions to perform.

Plain frozen data and two pure transitions every verb uses (`moved`, `succeeded`); the
engine (`engine.py`) and the verbs (`verbs.py`, `confirmation.py`) produce them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ivr.dialplan.actions import Action, Understanding


@dataclass(frozen=True)
class History:
    """What happened so far in the call, readable by conditions as `turns.*`."""

    count: int = 0  # caller inputs handled
    failures: int = 0  # consecutive no-input / no-match, across nodes
    no_match: int = 0  # totals for the call
    no_input: int = 0
    last_intent: str | None = None


@dataclass(frozen=True)
class DialogState:
    node: str
    language: str
    variables: dict[str, Any] = field(default_factory=dict)
    no_input: int = 0  # at the current node
    no_match: int = 0
    ended: bool = False
    history: History = field(default_factory=History)
    stack: tuple[str, ...] = ()  # return nodes of the sub-flows we are in
    confirming: tuple[str, Any] | None = None  # (slot name, value) awaiting yes/no
    profile: str | None = None  # the caller's language/dialect profile, e.g. zh-sichuan
    soothing: bool = False  # the caller is upset: calmer prompts, optional steps skipped
    escalated: bool = False  # the emotion policy already handed the call over


@dataclass(frozen=True)
class Step:
    state: DialogState
    actions: list[Action]
    understanding: Understanding | None = None


def moved(state: DialogState, node: str) -> DialogState:
    """At `node`, with its attempt counters fresh and nothing awaiting yes/no."""
    return replace(state, node=node, no_input=0, no_match=0, confirming=None)


def succeeded(state: DialogState, intent: str | None) -> DialogState:
    """A caller input was understood: counted, and the run of failures is over."""
    h = state.history
    return replace(state, history=replace(h, count=h.count + 1, failures=0,
                                          last_intent=intent or h.last_intent))
