"""Lint checks on the dialplan as a graph (`ivr lint`, through lint_checks.py): where a call
can go from each node, and what no call can reach or leave.

`edges` lists every node a node may continue at (branches, `next`, menu choices, failure
paths, global choices, follow-ups named by a knowledge base...), `reach` walks them; a sub-flow
is walked `local`ly (a nested `flow` comes back to its `next`) to see whether it returns.
"""

from __future__ import annotations

from ivr.dialplan.lint_knowledge import follow_ups
from ivr.dialplan.loader import Issue, LoadedDialplan
from ivr.dialplan.models import Dialplan

__all__ = ["edges", "graph_issues", "reach"]

NEXT_VERBS = ("say", "set", "branch", "webhook", "language", "flow", "consent", "callback",
              "voicemail", "survey")


def edges(plan: Dialplan, nid: str, local: bool = False) -> list[str]:
    """Nodes `nid` may continue at. `local`: within its sub-flow (a nested `flow` comes
    back to its `next`; global choices and defaults.on_failure leave the sub-flow)."""
    node = plan.nodes[nid]
    out = [c.goto for c in node.branch or []]
    if node.next and node.verb in NEXT_VERBS:
        out.append(node.next)
    if node.flow and not local:
        out.append(node.flow)
    listener = node.listener
    if node.gather:
        out.append(node.gather.next)
    if node.answer:
        out += [node.answer.next, *follow_ups(node.answer.knowledge)]
    if node.menu:
        out += [c.goto for c in node.menu.choices] + [node.menu.questions or ""]
    if listener is not None:
        if listener.on_failure or (not local and plan.defaults.on_failure):
            out.append(listener.on_failure or plan.defaults.on_failure or "")
        if not local:
            out += [c.goto for c in plan.global_choices]
    if node.webhook and node.webhook.on_failure:
        out.append(node.webhook.on_failure)
    if node.hours:
        out += [node.hours.open, node.hours.closed]
    if node.transfer:  # (nobody in time; the agent hung up first)
        out += [n for n in (node.transfer.on_unavailable, node.transfer.after_agent) if n]
    if node.voicemail and node.voicemail.on_empty:
        out.append(node.voicemail.on_empty)
    return [n for n in out if n in plan.nodes]


def reach(plan: Dialplan, start: str, local: bool = False) -> set[str]:
    """Every node a call at `start` may come to (`local`: without leaving its sub-flow)."""
    seen, todo = {start}, [start]
    while todo:
        for n in edges(plan, todo.pop(), local):
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


def graph_issues(loaded: LoadedDialplan) -> list[Issue]:
    """Unreachable nodes, `return`s outside any sub-flow, sub-flows that never return, and
    listening nodes with no failure path (warnings all)."""
    plan, pos = loaded.plan, loaded.positions
    out: list[Issue] = []

    def add(path: tuple[str, ...], message: str, code: str) -> None:
        out.append(pos.issue(path, message, "warning", code))

    reachable = reach(plan, plan.start)
    if plan.emotion.escalate_to:  # entered from any listening node on repeated anger
        reachable |= reach(plan, plan.emotion.escalate_to)
    for nid in plan.nodes:
        if nid not in reachable:
            add(("nodes", nid), f"node {nid!r} is unreachable from start {plan.start!r}",
                "unreachable")
    returns = {nid for nid, n in plan.nodes.items() if n.return_ is not None}
    sub = {n.flow: reach(plan, n.flow, local=True) for n in plan.nodes.values() if n.flow}
    in_flow = set().union(*sub.values())
    for nid in sorted(returns - in_flow):
        add(("nodes", nid, "return"), f"`return` node {nid!r} is not part of any sub-flow "
            "started by `flow` (outside a flow it hangs up)", "return-outside-flow")
    for nid, n in plan.nodes.items():
        if n.flow and not sub[n.flow] & returns:
            add(("nodes", nid, "flow"), f"sub-flow {n.flow!r} never reaches a `return` "
                f"node, so {n.next!r} is never reached from here", "flow-never-returns")
        listener = n.listener
        if listener is not None and not listener.on_failure and not plan.defaults.on_failure:
            add(("nodes", nid, n.verb), "no `on_failure` here nor in defaults: after "
                "max_attempts failures the call hangs up", "no-failure-path")
    return out
