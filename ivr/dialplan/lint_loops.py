"""Lint check `input-free-loop`: a cycle of nodes the engine walks without waiting for anyone.

The engine (`NodeWalker.run` in verbs.py) walks `say`, `set`, `branch`, `language`, `hours`, `flow`
and `return` nodes back to back in one step; it stops only at a node that waits (`menu` and
`gather` for the caller, `webhook` for an HTTP answer) or ends the call (`transfer`,
`hangup`). So `a: say → b`, `b: say → a` talks on until the runtime guard hangs up after 200
nodes: 135 prompts in one breath. The loader cannot see it; this check does.

It must never cry wolf on a working dialplan, so it reports a cycle only when the call cannot
get out once it has gone round it:

- nodes that wait or end break every cycle through them. A `webhook` counts as waiting: a
  poll (webhook, branch on its answer, say "still checking", webhook) is a fair design;
- every way out of the cycle's strongly connected part must be a `branch` case or `next`
  whose conditions cannot change while going round: no node of the part `set`s a variable
  they read, no `language` node changes `language` when they read it, and they do not read
  `now` (time passes). Such a branch chooses the same way every time round, so a call that
  went round once goes round forever. A counter (`set: {i: "=i + 1"}` and `if: i < 3`) and
  an `hours` node (the clock decides) are ways out, and not reported;
- a `return` is a way out (it goes back to the caller's `next`); a `flow` node may go on to
  its sub-flow or, after a return, to its `next`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ivr.dialplan.expr import compile_expr
from ivr.dialplan.loader import Issue, LoadedDialplan
from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Node

WALKED = frozenset({"say", "set", "branch", "language", "hours", "flow", "return",
                    "callback"})
ENGINE_HOPS = 200  # ivr.dialplan.verbs.MAX_HOPS: the runtime guard this check pre-empts


def _successors(node: Node) -> list[str]:
    """Where the engine may go from a node it walks through (a `return`: nowhere we know)."""
    verb = node.verb
    if verb == "branch":
        return [c.goto for c in node.branch or []] + [node.next or ""]
    if verb == "hours":
        assert node.hours is not None
        return [node.hours.open, node.hours.closed]
    if verb == "flow":
        return [node.flow or "", node.next or ""]
    if verb == "return":
        return []
    return [node.next or ""]


def _components(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative: a hostile dialplan may hold a chain
    of thousands of nodes, deeper than Python's recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, i = work[-1]
            succ = graph[v]
            if i < len(succ):
                work[-1] = (v, i + 1)
                w = succ[i]
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == index[v]:
                part: list[str] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    part.append(w)
                    if w == v:
                        break
                out.append(part)
    return out


def _writes(plan: Dialplan, part: Iterable[str]) -> set[str]:
    """Variables the nodes of `part` may change while the engine walks them."""
    out: set[str] = set()
    for nid in part:
        node = plan.nodes[nid]
        out |= set(node.set or {})
        if node.verb == "language":
            out.add("language")
    return out


def _frozen_exit(plan: Dialplan, nid: str, writes: set[str]) -> bool:
    """Does branch `nid` choose the same way every time round (conditions read nothing that
    changes while going round)?"""
    node = plan.nodes[nid]
    if node.verb != "branch":
        return False
    for case in node.branch or []:
        heads = {name.partition(".")[0] for name in compile_expr(case.if_).names}
        if "now" in heads or heads & writes:
            return False
    return True


def _cycle(graph: dict[str, list[str]], part: set[str], start: str) -> list[str]:
    """A shortest cycle through `start` within `part`, as node ids (start first)."""
    came: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt: list[str] = []
        for v in frontier:
            for w in graph[v]:
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came[path[-1]])
                    return path[::-1]
                if w in part and w not in came:
                    came[w] = v
                    nxt.append(w)
        frontier = nxt
    return [start]  # unreachable: every node of a component lies on a cycle


def input_free_loops(loaded: LoadedDialplan) -> list[Issue]:
    """One `input-free-loop` error per cycle a call can never leave once it went round it."""
    plan, pos = loaded.plan, loaded.positions
    after = {nid: [s for s in _successors(n) if s in plan.nodes]
             for nid, n in plan.nodes.items() if n.verb in WALKED}
    graph = {nid: [s for s in succ if s in after] for nid, succ in after.items()}
    issues: list[Issue] = []
    for component in _components(graph):
        part = set(component)
        first = next(nid for nid in plan.nodes if nid in part)  # the one written first
        if len(part) == 1 and first not in graph[first]:
            continue  # a single node that does not lead to itself: no cycle
        writes = _writes(plan, part)
        exits = {nid for nid in part if plan.nodes[nid].verb == "return"
                 or any(s not in part for s in after[nid])}
        if any(not _frozen_exit(plan, nid, writes) for nid in exits):
            continue
        loop = " -> ".join([*_cycle(graph, part, first), first])
        issues.append(pos.issue(("nodes", first), f"nodes {loop} loop without waiting for "
                                "the caller (no menu, gather or webhook on the way): a call "
                                "that goes round once never leaves, and is hung up after "
                                f"{ENGINE_HOPS} nodes", code="input-free-loop"))
    return issues
