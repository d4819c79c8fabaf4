"""Lint: an intent that leads to an irreversible webhook must be confirmed by the caller.

One-edit fuzzy matching once heard "last" as `lost` and sent a balance enquiry into card
blocking with no question asked (issue 19). Recognition will always err now and then; what it
must not do is act irreversibly on an error. So `ivr lint` warns (`unconfirmed-irreversible`)
when an intent, chosen at a menu or globally, leads to an irreversible webhook and has no
`confirm: always`.

- **Irreversible**: a webhook whose `irreversible` is true, or, when it is not set, whose
  method is not GET (`Webhook.is_irreversible`). A POST that only reads (a balance, a check
  of identity) says `irreversible: false`.
- **Leads to**: the webhook is reached from the choice's `goto` before the caller chooses
  again: through `say`, `set`, `branch`, `language`, `hours`, `flow` (into the sub-flow and on
  to its `next`), `callback`, `voicemail` and `webhook` nodes, and through `gather` nodes too —
  a gather asks for data (an ID number, a date), not whether to go on: the caller who gives
  the ID number for a balance still gets the card blocked. The walk stops at a `menu`, an
  `answer`, a `consent` question, a `return`, a transfer or a hang-up. Failure paths
  (`on_failure`, no-match handling) are not followed.
"""

from __future__ import annotations

from collections.abc import Iterator

from ivr.dialplan.loader import Issue, LoadedDialplan
from ivr.dialplan.models import Dialplan

_ON = ("say", "set", "language", "callback", "voicemail", "webhook", "flow")  # then `next`


def _onward(plan: Dialplan, nid: str) -> Iterator[str]:
    """The nodes `nid` goes on to without the caller choosing again."""
    node = plan.nodes[nid]
    if node.menu or node.answer or node.consent or node.return_:
        return
    if node.verb in _ON and node.next:
        yield node.next
    if node.flow:
        yield node.flow
    yield from (c.goto for c in node.branch or [])
    if node.branch and node.next:
        yield node.next
    if node.gather:
        yield node.gather.next
    if node.hours:
        yield from (node.hours.open, node.hours.closed)


def irreversible_from(plan: Dialplan, start: str) -> str | None:
    """The first irreversible webhook node reached from `start` before the caller chooses
    again (breadth first: the nearest), or None."""
    seen, todo = {start}, [start]
    while todo:
        nid = todo.pop(0)
        node = plan.nodes.get(nid)
        if node is None:
            continue
        if node.webhook is not None and node.webhook.is_irreversible:
            return nid
        for nxt in _onward(plan, nid):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return None


def unconfirmed_irreversible(plan: Dialplan) -> dict[str, tuple[str, str]]:
    """intent -> (the choice's goto, the irreversible webhook node) for every intent without
    `confirm: always` that a menu or global choice leads to such a webhook."""
    choices = [*plan.global_choices,
               *(c for n in plan.nodes.values() if n.menu for c in n.menu.choices)]
    out: dict[str, tuple[str, str]] = {}
    for c in choices:
        if not c.intent or c.intent in out or c.intent not in plan.intents:
            continue
        if plan.intents[c.intent].confirm == "always":
            continue
        hook = irreversible_from(plan, c.goto)
        if hook is not None:
            out[c.intent] = (c.goto, hook)
    return out


def confirm_issues(loaded: LoadedDialplan) -> list[Issue]:
    """The `unconfirmed-irreversible` warnings of a dialplan, at each intent."""
    plan, pos = loaded.plan, loaded.positions
    issues: list[Issue] = []
    for intent, (goto, hook) in sorted(unconfirmed_irreversible(plan).items()):
        webhook = plan.nodes[hook].webhook
        assert webhook is not None
        how = "irreversible: true" if webhook.irreversible else f"method {webhook.method}"
        issues.append(pos.issue(
            ("intents", intent),
            f"intent {intent!r} leads (via {goto!r}) to the irreversible webhook {hook!r} "
            f"({how}) without asking the caller: give it `confirm: always` and a `label`, or "
            "mark a webhook that changes nothing `irreversible: false`",
            "warning", "unconfirmed-irreversible"))
    return issues
