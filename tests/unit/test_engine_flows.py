"""Sub-flows and shared files: the `flow` and `return` verbs through the pure dialogue
engine, and `include` of other YAML files (merging, versions, duplicates, cycles, the
positions of errors)."""

from __future__ import annotations

import pytest

from ivr.dialplan import DialplanError, load_dialplan
from ivr.dialplan.actions import (
    CallerInput,
    Hangup,
    Say,
    SetVariables,
)
from ivr.dialplan.engine import DialogEngine
from tests.unit.inline_plans import FACTS, engine, plan_file, says, write


# ---------------------------------------------------------------- flow / return
def test_nested_flows_return_to_their_callers(tmp_path):
    e = engine(tmp_path, """
        s: {flow: f1, next: after}
        f1: {say: in f1, next: f1b}
        f1b: {flow: f2, next: f1c}
        f1c: {say: back in f1, next: f1r}
        f1r: {return: true}
        f2: {say: in f2, next: f2r}
        f2r: {return: true}
        after: {hangup: {say: done}}
    """)
    step = e.start({}, FACTS)
    assert says(step.actions) == ["in f1", "in f2", "back in f1", "done"]
    assert step.actions[-1] == Hangup("completed")
    assert step.state.stack == ()


def test_flow_stack_survives_waiting_for_input(tmp_path):
    e = engine(tmp_path, """
        s: {flow: ask, next: after}
        ask:
          menu:
            prompt: 请按1
            choices: [{dtmf: "1", goto: done}]
        done: {return: true}
        after: {hangup: {reason: after}}
    """)
    first = e.start({}, FACTS)
    assert first.state.stack == ("after",)
    assert first.state.node == "ask"
    step = e.step(first.state, CallerInput("dtmf", "1"), FACTS)
    assert step.actions == [Hangup("after")]
    assert step.state.stack == ()


def test_return_outside_flow_hangs_up(tmp_path):
    e = engine(tmp_path, """
        s: {say: hi, next: r}
        r: {return: true}
    """)
    step = e.start({}, FACTS)
    assert step.actions == [Say("hi", "zh-CN", None, "s"), Hangup("return_outside_flow")]
    assert step.state.ended is True


# ---------------------------------------------------------------- include
SUB = """\
intents:
  verify_ok:
    keywords: [ok]
variables: {verified: false}
nodes:
  sub_start:
    set: {verified: true}
    next: sub_end
  sub_end:
    return: true
"""


def test_include_merges_nodes_intents_and_variables(tmp_path):
    sub = write(tmp_path / "common" / "sub.yaml", SUB)
    main = plan_file(tmp_path, """
        s: {flow: sub_start, next: fin}
        fin: {hangup: {say: "v={verified}"}}
    """, "include: [common/sub.yaml]\n")
    loaded = load_dialplan(main)
    assert sorted(loaded.plan.nodes) == ["fin", "s", "sub_end", "sub_start"]
    assert list(loaded.plan.intents) == ["verify_ok"]
    assert loaded.plan.variables == {"verified": False}
    assert loaded.files == (main.resolve(), sub.resolve())
    step = DialogEngine(loaded.plan).start({}, FACTS)
    assert step.actions == [SetVariables({"verified": True}),
                            Say("v=yes", "zh-CN", None, "fin"), Hangup("completed")]
    # positions of included nodes point into the included file
    assert loaded.positions.locate(("nodes", "sub_end")) == (str(sub.resolve()), 9, 3)


def test_include_changes_version(tmp_path):
    sub = write(tmp_path / "common" / "sub.yaml", SUB)
    main = plan_file(tmp_path, """
        s: {flow: sub_start, next: fin}
        fin: {hangup: {}}
    """, "include: [common/sub.yaml]\n")
    before = load_dialplan(main).version
    sub.write_text(SUB.replace("verified: false", "verified: true"), encoding="utf-8")
    assert load_dialplan(main).version != before


def test_include_duplicate_node_names_both_places(tmp_path):
    sub = write(tmp_path / "common" / "sub.yaml", SUB)
    main = plan_file(tmp_path, """
        s: {flow: sub_start, next: sub_end}
        sub_end: {hangup: {}}
    """, "include: [common/sub.yaml]\n")
    with pytest.raises(DialplanError) as exc:
        load_dialplan(main)
    [issue] = exc.value.issues
    assert (issue.file, issue.line, issue.column) == (str(sub.resolve()), 9, 3)
    assert issue.message == "duplicate node 'sub_end' (also in main.yaml:9)"
    assert issue.code == "duplicate"


def test_include_cycle(tmp_path):
    write(tmp_path / "c2.yaml", "include: [main.yaml]\nnodes:\n  x: {hangup: {}}\n")
    main = plan_file(tmp_path, "s: {hangup: {}}\n", "include: [c2.yaml]\n")
    with pytest.raises(DialplanError) as exc:
        load_dialplan(main)
    [issue] = exc.value.issues
    assert (issue.file, issue.line, issue.column) == (str((tmp_path / "c2.yaml").resolve()), 1,
                                                      11)
    assert issue.message == "include cycle: main.yaml"


def test_include_self(tmp_path):
    main = plan_file(tmp_path, "s: {hangup: {}}\n", "include: [main.yaml]\n")
    with pytest.raises(DialplanError) as exc:
        load_dialplan(main)
    assert str(exc.value) == f"{main}:5:11: error: include cycle: main.yaml [include]"


def test_include_missing_file(tmp_path):
    main = plan_file(tmp_path, "s: {hangup: {}}\n", "include: [common/nope.yaml]\n")
    with pytest.raises(DialplanError) as exc:
        load_dialplan(main)
    assert str(exc.value) == (f"{main}:5:11: error: included file not found: "
                              "common/nope.yaml [include]")


def test_included_file_with_forbidden_top_level_key(tmp_path):
    sub = write(tmp_path / "sub.yaml", "nodes:\n  x: {hangup: {}}\nstart: x\n")
    main = plan_file(tmp_path, "s: {hangup: {}}\n", "include: [sub.yaml]\n")
    with pytest.raises(DialplanError) as exc:
        load_dialplan(main)
    [issue] = exc.value.issues
    assert (issue.file, issue.line, issue.column) == (str(sub.resolve()), 3, 1)
    assert issue.message == ("an included file may only hold nodes, intents, calendars, "
                             "variables; not 'start'")


def test_nested_include_relative_to_the_including_file(tmp_path):
    write(tmp_path / "lib" / "a.yaml", "include: [deep/b.yaml]\nnodes:\n  a: {flow: b, next: a2}\n"
          "  a2: {return: true}\n")
    write(tmp_path / "lib" / "deep" / "b.yaml", "nodes:\n  b: {return: true}\n")
    main = plan_file(tmp_path, "s: {flow: a, next: z}\nz: {hangup: {reason: z}}\n",
                     "include: [lib/a.yaml]\n")
    loaded = load_dialplan(main)
    assert sorted(loaded.plan.nodes) == ["a", "a2", "b", "s", "z"]
    assert DialogEngine(loaded.plan).start({}, FACTS).actions == [Hangup("z")]


def test_diamond_include_of_a_shared_file(tmp_path):
    write(tmp_path / "dd.yaml", "nodes:\n  shared: {return: true}\n")
    write(tmp_path / "db.yaml", "include: [dd.yaml]\nnodes:\n  b: {flow: shared, next: bx}\n"
          "  bx: {return: true}\n")
    write(tmp_path / "dc.yaml", "include: [dd.yaml]\nnodes:\n  c: {flow: shared, next: cx}\n"
          "  cx: {return: true}\n")
    main = plan_file(tmp_path, "s: {flow: b, next: t}\nt: {flow: c, next: e}\n"
                     "e: {hangup: {}}\n", "include: [db.yaml, dc.yaml]\n")
    assert "shared" in load_dialplan(main).plan.nodes
