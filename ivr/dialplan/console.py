"""The terminal of `ivr simulate`: `Console` (where the simulator reads lines and writes,
injectable for tests) and `print_turn`, what one turn of the call did, in reading order.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from ivr.dialplan.turn_result import TurnResult

__all__ = ["Console", "key_values", "print_turn"]


@dataclass
class Console:
    """Where the simulator reads and writes (injectable for tests)."""

    read: Callable[[str], str]  # shows the prompt, returns a line; EOFError at the end
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    interactive: bool = False  # a person types (go on after --audio)

    @classmethod
    def terminal(cls) -> Console:
        if sys.stdin.isatty():
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401 - line editing and history for input()
            return cls(input, sys.stdout, sys.stderr, True)

        def read(prompt: str) -> str:  # piped: echo so the transcript reads like a session
            sys.stdout.write(prompt)
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            sys.stdout.write(line if line.endswith("\n") else line + "\n")
            return line.rstrip("\n")

        return cls(read, sys.stdout, sys.stderr, False)

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)


# ---------------------------------------------------------------- printing
def _value(v: Any) -> str:
    if isinstance(v, str):
        return v if v and " " not in v and "=" not in v else repr(v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def key_values(values: dict[str, Any]) -> str:
    """`a=1, b='two words'`: variables, slots and emotions on one line."""
    return ", ".join(f"{k}={_value(v)}" for k, v in values.items())


def print_turn(console: Console, turn: TurnResult, *, show_changed: bool = True) -> None:
    """What one turn did, in reading order."""
    p = console.print
    u = turn.understanding
    if u is not None:
        if u.outcome == "match" and u.answer and u.intent != "affirm":  # (yes: it helped)
            via = f" (the menu heard {u.intent})" if u.intent else ""
            head = f"  answered from the knowledge base: {u.answer} {u.score:.2f}{via}"
        elif u.outcome == "match" and u.intent:
            head = f"  understood: {u.intent} {u.score:.2f}"
        elif u.outcome == "match":
            head = "  understood" + (" (slot)" if u.slots else "")
        elif u.outcome == "no_input":
            head = "  no input"
        else:
            head = f"  not understood ({u.outcome})"
        scores = [f"{n} {s:.2f}" for n, s in turn.intent_scores[:3] if s > 0]
        p(head + (f"    top: {', '.join(scores)}" if scores else ""))
        if u.slots:
            p(f"  slots: {key_values(u.slots)}")
    for call in turn.webhooks:
        r = call.result
        outcome = f"{r.status} ok" if r.ok else f"failed: {r.error or r.status}"
        p(f"  webhook {call.method} {call.url} -> {outcome} ({call.elapsed_ms} ms)")
    for prompt in turn.prompts:
        p(f"IVR [{prompt.language}]: {prompt.text}")
    if turn.visited and (turn.visited != [turn.node_before] or turn.input == "start"):
        path = turn.visited if turn.visited[0] == turn.node_before else [
            turn.node_before, *turn.visited]
        p(f"  node: {' -> '.join(path)}")
    if show_changed and turn.changed:
        p(f"  set: {key_values(turn.changed)}")
    if turn.recording is not None:
        p("  recording: " + ("the caller agreed" if turn.recording else "declined, not recorded"))
    if turn.callback:
        p(f"  call back booked to {turn.callback['number'] or '(no number)'} "
          f"(queue {turn.callback['queue']})")
    if turn.voicemail:
        p(f"  message recorded: {turn.voicemail['seconds']} s, {turn.voicemail['text']!r}")
    if turn.transfer:
        p(f"*** transfer to {turn.transfer.target} (reason: {turn.transfer.reason}); "
          "the call has ended")
    elif turn.hangup:
        p(f"*** the IVR hung up (reason: {turn.hangup}); the call has ended")
