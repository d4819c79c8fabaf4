"""What a test of `ivr test` expects of the call, and what the call did.

`check` lists what does not hold of a step's `expect` for a `CallUnderTest` (the
conversation, what was said since the last input, the last turn); values compare loosely
(`123456` matches "123456", `50` matches 50.0) and mappings as subsets. `describe_turn` is
a turn on one line (for `-v`); `what_happened` is the call after a failed step.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from ivr.dialplan.case_spec import (
    CallbackExpect,
    Expect,
    TransferExpect,
    VoicemailExpect,
    WebhookExpect,
)
from ivr.dialplan.conversation import Conversation
from ivr.dialplan.turn_result import SaidPrompt, TurnResult

__all__ = ["CallUnderTest", "check", "describe_turn", "what_happened"]


@dataclass
class CallUnderTest:
    """What the checks look at: the conversation and its last input."""

    conv: Conversation
    said: list[SaidPrompt] = field(default_factory=list)  # since the last input
    last: TurnResult | None = None  # the last input's (or the start's) result
    last_label: str = "start"


# ---------------------------------------------------------------- checks
def _same(want: Any, got: Any) -> bool:
    if want == got and type(want) is type(got):
        return True
    if isinstance(want, bool) or isinstance(got, bool):
        return want == got and isinstance(want, bool) and isinstance(got, bool)
    if isinstance(want, int | float) and isinstance(got, int | float):
        return abs(float(want) - float(got)) < 1e-9
    if isinstance(want, int | float | str) and isinstance(got, int | float | str):
        return str(want) == str(got)
    return bool(want == got)


def _texts(value: str | list[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _subset(want: dict[str, Any], got: Any, where: str) -> list[str]:
    out: list[str] = []
    if not isinstance(got, dict):
        return [f"{where} to be a mapping holding {want!r}, got {got!r}"]
    for k, v in want.items():
        if k not in got:
            out.append(f"{where}.{k} = {v!r}, but it is missing")
        elif isinstance(v, dict):
            out += _subset(v, got[k], f"{where}.{k}")
        elif not _same(v, got[k]):
            out.append(f"{where}.{k} = {v!r}, got {got[k]!r}")
    return out


def check(expect: Expect, run: CallUnderTest) -> list[str]:
    """What does not hold of `expect` (each text completes "expected ...")."""
    conv, last = run.conv, run.last
    fields = expect.model_fields_set
    out: list[str] = []
    said = [p.text for p in run.said]
    if "node" in fields and conv.node != expect.node:
        out.append(f"node {expect.node!r}, got {conv.node!r}")
    for text in _texts(expect.said):
        if not any(text in s for s in said):
            out.append(f"a prompt containing {text!r}" + ("" if said else ", but nothing was "
                                                          "said since the last input"))
    for text in _texts(expect.not_said):
        hit = next((s for s in said if text in s), None)
        if hit is not None:
            out.append(f"no prompt containing {text!r}, got {hit!r}")
    u = last.understanding if last else None
    if "intent" in fields:  # what the call did, not the top candidate of a no-match
        got = u.intent if u and u.outcome == "match" else None
        if got != expect.intent:
            detail = f" (score {u.score:.2f}, {u.outcome})" if u else " (nothing understood)"
            top = f", top candidate {u.intent!r}" if u and u.intent and got is None else ""
            out.append(f"intent {expect.intent!r}, got {got!r}{detail}{top}")
    if "answer" in fields:
        got_answer = u.answer if u else None
        if got_answer != expect.answer:
            detail = f" (score {u.score:.2f}, {u.outcome})" if u else " (nothing understood)"
            out.append(f"the answer of entry {expect.answer!r}, got {got_answer!r}{detail}")
    if "confirm" in fields:
        asked = conv.confirming_intent()
        if asked != expect.confirm:
            out.append(f"a 'did you mean' question about {expect.confirm!r}, got {asked!r}")
    if "outcome" in fields:
        got_outcome = u.outcome if u else None
        if got_outcome != expect.outcome:
            out.append(f"outcome {expect.outcome!r}, got {got_outcome!r}")
    if expect.slots is not None:
        out += _subset(expect.slots, dict(u.slots) if u else {}, "slot")
    if expect.variables is not None:
        got_vars = conv.variables
        for k, v in expect.variables.items():
            if v is None:
                if got_vars.get(k) is not None:
                    out.append(f"variable {k} unset, got {got_vars[k]!r}")
            elif k not in got_vars:
                out.append(f"variable {k} = {v!r}, but it is not set")
            elif isinstance(v, dict):
                out += _subset(v, got_vars[k], f"variable {k}")
            elif not _same(v, got_vars[k]):
                out.append(f"variable {k} = {v!r}, got {got_vars[k]!r}")
    if "language" in fields and conv.language != expect.language:
        out.append(f"language {expect.language!r}, got {conv.language!r}")
    out += _check_transfer(expect, conv)
    if "hangup" in fields:
        h = expect.hangup
        if h is False and conv.hangup is not None:
            out.append(f"no hangup, got hangup {conv.hangup!r}")
        elif h is True and conv.hangup is None:
            out.append("a hangup, but the IVR did not hang up" + _end_note(conv))
        elif isinstance(h, str) and conv.hangup != h:
            out.append(f"hangup {h!r}, got " + (repr(conv.hangup) if conv.hangup else
                                                "no hangup" + _end_note(conv)))
    if expect.webhook is not None:
        out += _check_webhook(expect.webhook, conv)
    out += _check_callback(expect, conv) + _check_voicemail(expect, conv)
    if "recording" in fields and bool(conv.recording) != expect.recording:
        out.append(f"recording: {expect.recording}, got {bool(conv.recording)} (consent "
                   + ("not asked)" if conv.recording is None else "refused)" if
                      expect.recording else "given)"))
    if "ended" in fields and conv.ended != expect.ended:
        out.append(f"ended: {expect.ended}, got {conv.ended}" + _end_note(conv))
    return out


def _end_note(conv: Conversation) -> str:
    if conv.transfer:
        return f" (the call was transferred to {conv.transfer.target})"
    if conv.hangup:
        return f" (hangup {conv.hangup})"
    return "" if conv.ended else " (the call goes on)"


def _check_transfer(expect: Expect, conv: Conversation) -> list[str]:
    if "transfer" not in expect.model_fields_set:
        return []
    want, got = expect.transfer, conv.transfer
    if want is False or want is None:
        return [] if got is None else [f"no transfer, got transfer to {got.target}"]
    if got is None:
        return ["a transfer, but there was none" + _end_note(conv)]
    if isinstance(want, TransferExpect):
        out = []
        if want.target is not None and want.target != got.target:
            out.append(f"transfer target {want.target!r}, got {got.target!r}")
        if want.reason is not None and want.reason != got.reason:
            out.append(f"transfer reason {want.reason!r}, got {got.reason!r}")
        return out
    return []


def _check_callback(expect: Expect, conv: Conversation) -> list[str]:
    if "callback" not in expect.model_fields_set:
        return []
    want, got = expect.callback, (conv.callbacks[-1] if conv.callbacks else None)
    if want is False or want is None:
        return [] if got is None else [f"no call back, got one booked to {got['number']}"]
    if got is None:
        return ["a call back booked, but there was none" + _end_note(conv)]
    out = []
    if isinstance(want, CallbackExpect):
        for key in ("number", "queue"):
            value = getattr(want, key)
            if value is not None and str(value) != got[key]:
                out.append(f"call back {key} {value!r}, got {got[key]!r}")
    return out


def _check_voicemail(expect: Expect, conv: Conversation) -> list[str]:
    if "voicemail" not in expect.model_fields_set:
        return []
    want, got = expect.voicemail, (conv.voicemails[-1] if conv.voicemails else None)
    if want is False or want is None:
        return [] if got is None else [f"no message recorded, got {got['text']!r}"]
    if got is None:
        return ["a message recorded, but none was" + _end_note(conv)]
    if not isinstance(want, VoicemailExpect):
        return [] if got["seconds"] else ["a message recorded, but it was empty"]
    out = []
    if want.empty is not None and want.empty != (not got["seconds"]):
        out.append(f"an {'empty' if want.empty else 'recorded'} message, got "
                   f"{got['seconds']} s: {got['text']!r}")
    if want.text is not None and want.text not in got["text"]:
        out.append(f"a message containing {want.text!r}, got {got['text']!r}")
    return out


def _check_webhook(want: WebhookExpect, conv: Conversation) -> list[str]:
    if not conv.webhooks:
        return ["a webhook call, but none was made"]
    call = conv.webhooks[-1]
    parts = urllib.parse.urlsplit(call.url)
    out: list[str] = []
    if want.method is not None and want.method.upper() != call.method:
        out.append(f"webhook method {want.method.upper()}, got {call.method}")
    if want.path is not None:
        want_path, _, want_q = want.path.partition("?")
        if want_path != parts.path:
            out.append(f"webhook path {want_path!r}, got {parts.path!r} ({call.url})")
        if want_q:
            out += _subset(dict(urllib.parse.parse_qsl(want_q)),
                           dict(urllib.parse.parse_qsl(parts.query)), "webhook query")
    if want.query is not None:
        out += _subset(want.query, dict(urllib.parse.parse_qsl(parts.query)), "webhook query")
    if want.body is not None:
        out += _subset(want.body, call.body, "webhook body")
    if want.status is not None and call.result.status != want.status:
        out.append(f"webhook status {want.status}, got {call.result.status}"
                   + (f" ({call.result.error})" if call.result.error else ""))
    return out


# ---------------------------------------------------------------- describing
def _understood(turn: TurnResult | None) -> str:
    if turn is None or turn.understanding is None:
        return ""
    u = turn.understanding
    text = f"{u.outcome}" + (f", intent {u.intent} {u.score:.2f}" if u.intent else "")
    if u.answer:
        text += f", answer {u.answer}" + ("" if u.intent else f" {u.score:.2f}")
    if u.slots:
        text += f", slots {json.dumps(u.slots, ensure_ascii=False)}"
    return text


def describe_turn(turn: TurnResult) -> str:
    bits = [f"-> {turn.node_after}"]
    if understood := _understood(turn):
        bits.append(f"[{understood}]")
    if turn.prompts:
        bits.append("IVR: " + " | ".join(p.text for p in turn.prompts))
    if turn.recording is not None:
        bits.append("(recording consented)" if turn.recording else "(recording declined)")
    if turn.callback:
        bits.append(f"(call back booked to {turn.callback['number'] or '?'})")
    if turn.voicemail:
        bits.append(f"(message {turn.voicemail['seconds']} s: {turn.voicemail['text']!r})")
    if turn.transfer:
        bits.append(f"(transfer {turn.transfer.target}, {turn.transfer.reason})")
    if turn.hangup:
        bits.append(f"(hangup {turn.hangup})")
    return " ".join(bits)


def what_happened(run: CallUnderTest) -> list[str]:
    conv, last = run.conv, run.last
    lines = [f"  after {run.last_label}:", f"    node: {conv.node}"
             + (f" (came from {last.node_before})" if last and last.node_before != conv.node
                else "") + f", language {conv.language}"]
    if last is not None and last.understanding is not None:
        line = f"    understood: {_understood(last)}"
        if last.intent_scores:
            top = ", ".join(f"{n} {s:.2f}" for n, s in last.intent_scores[:3])
            line += f" (scores: {top})"
        lines.append(line)
    if run.said:
        lines.append("    IVR said:")
        lines += [f"      [{p.language}] {p.text}" for p in run.said]
    else:
        lines.append("    IVR said nothing")
    if conv.transfer:
        lines.append(f"    transferred to {conv.transfer.target} ({conv.transfer.reason})")
    if conv.hangup:
        lines.append(f"    hung up ({conv.hangup})")
    if last is not None:
        for call in last.webhooks:
            r = call.result
            lines.append(f"    webhook {call.method} {call.url} -> "
                         + (f"{r.status} ok" if r.ok else f"failed: {r.error or r.status}"))
    return lines
