"""`ivr.dialplan.lint_graph`: where a call can go from each node, and the graph warnings
(unreachable nodes, sub-flows that never return, `return` outside a flow)."""

from __future__ import annotations

from ivr.config import REPO_ROOT
from ivr.dialplan.lint_graph import edges, graph_issues, reach
from ivr.dialplan.loader import load_dialplan

BROKEN = REPO_ROOT / "tests" / "fixtures" / "dialplans" / "broken"


def test_reach_skips_a_node_nothing_leads_to() -> None:
    loaded = load_dialplan(BROKEN / "unreachable.yaml")
    assert reach(loaded.plan, "welcome") == {"welcome", "bye"}
    assert [(i.code, i.severity) for i in graph_issues(loaded)] == [("unreachable", "warning")]


def test_a_flow_node_goes_to_its_sub_flow_only_when_not_local() -> None:
    plan = load_dialplan(BROKEN / "flow_return.yaml").plan
    assert edges(plan, "sub") == ["stray_return", "endless"]
    assert edges(plan, "sub", local=True) == ["stray_return"]
    assert reach(plan, "endless", local=True) == {"endless"}


def test_flow_warnings() -> None:
    codes = [i.code for i in graph_issues(load_dialplan(BROKEN / "flow_return.yaml"))]
    assert codes == ["return-outside-flow", "flow-never-returns"]


def test_shipped_hotline_has_no_graph_warning() -> None:
    assert graph_issues(load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml")) == []
