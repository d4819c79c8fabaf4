"""The dialplan verbs through the pure dialogue engine, on small inline dialplans:
set, branch, language, hours, flow/return, include, webhook, gather confirmation, global
choices, multi-key menus, turn history, env(), static prompts and the loop guard."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from ivr.dialplan import DialplanError, load_dialplan
from ivr.dialplan.actions import (
    CallerInput,
    Hangup,
    Listen,
    NoInput,
    Say,
    SetLanguage,
    SetVariables,
    Transfer,
    Understanding,
    Unintelligible,
    Webhook,
    WebhookResult,
)
from ivr.dialplan.engine import DialogEngine, DialogState, History

HEAD = "name: t\nlanguages: [zh-CN, en-US]\ndefault_language: zh-CN\nstart: s\n"
NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)  # Friday 10:00 in Shanghai
FACTS = {"now": NOW, "emotion": {}}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def plan_file(tmp_path: Path, nodes: str, head: str = "", name: str = "main.yaml") -> Path:
    text = (HEAD + textwrap.dedent(head) + "nodes:\n"
            + textwrap.indent(textwrap.dedent(nodes), "  "))
    return write(tmp_path / name, text)


def engine(tmp_path: Path, nodes: str, head: str = "") -> DialogEngine:
    return DialogEngine(load_dialplan(plan_file(tmp_path, nodes, head)).plan)


def says(actions) -> list[str]:
    return [a.text for a in actions if isinstance(a, Say)]


# ---------------------------------------------------------------- set
def test_set_literals_templates_and_expressions(tmp_path):
    e = engine(tmp_path, """
        s:
          set:
            a: 1
            greeting: "Hi {caller}"
            c: "=a + 1"
            n: "=len(caller)"
            vip: "=caller in ['10086', '10010']"
            flag: true
            ratio: 0.5
            empty: null
            lang: "{language}"
          next: x
        x:
          hangup: {say: "{a}|{greeting}|{c}|{n}|{vip}"}
    """, "variables: {a: 5}\n")
    step = e.start({"caller": "10086"}, FACTS)
    values = {"a": 1, "greeting": "Hi 10086", "c": 6, "n": 5, "vip": True, "flag": True,
              "ratio": 0.5, "empty": None, "lang": "zh-CN"}
    assert step.actions == [
        SetVariables(values),
        Say("1|Hi 10086|6|5|yes", "zh-CN", None, "x"),
        Hangup("completed"),
    ]
    # expressions read the variables from before the node (a was 5)
    assert step.state.variables == {"a": 1, "caller": "10086", **values}
    assert step.state.ended is True


def test_set_counts_up_across_nodes(tmp_path):
    e = engine(tmp_path, """
        s: {set: {tries: "=tries + 1"}, next: t}
        t: {set: {tries: "=tries * 10"}, next: x}
        x: {hangup: {}}
    """, "variables: {tries: 0}\n")
    step = e.start({}, FACTS)
    assert step.state.variables == {"tries": 10}
    assert [a for a in step.actions if isinstance(a, SetVariables)] == [
        SetVariables({"tries": 1}), SetVariables({"tries": 10})]


def test_set_rejects_bad_expression_at_load(tmp_path):
    path = plan_file(tmp_path, """
        s: {set: {x: "=1 +"}, next: y}
        y: {hangup: {}}
    """)
    with pytest.raises(DialplanError) as exc:
        load_dialplan(path)
    assert "bad expression '1 +' at column 4" in str(exc.value)


# ---------------------------------------------------------------- branch
BRANCH = """
s:
  branch:
    - {if: "emotion.anger >= 0.7", goto: angry}
    - {if: "amount > 1000", goto: big}
  next: normal
angry: {hangup: {reason: angry}}
big: {hangup: {reason: big}}
normal: {hangup: {reason: normal}}
"""


@pytest.mark.parametrize(
    ("variables", "emotion", "reason"),
    [
        ({"amount": 2000}, {"anger": 0.8}, "angry"),  # first case wins
        ({"amount": 2000}, {"anger": 0.2}, "big"),
        ({"amount": 500}, {"anger": 0.2}, "normal"),
        ({"amount": 500}, {"anger": 0.7}, "angry"),
        ({}, {}, "normal"),  # no emotion, no amount: null comparisons are false
        ({"amount": "lots"}, {}, "normal"),  # "lots" > 1000: false, no crash
    ],
)
def test_branch_on_variables_and_emotion(tmp_path, variables, emotion, reason):
    e = engine(tmp_path, BRANCH)
    step = e.start(variables, {"now": NOW, "emotion": emotion})
    assert step.actions == [Hangup(reason)]


def test_branch_on_turns_failures(tmp_path):
    e = engine(tmp_path, """
        s:
          menu:
            prompt: 请按1
            max_attempts: 2
            on_failure: route
            choices: [{dtmf: "1", goto: route}]
        route:
          branch:
            - {if: "turns.failures >= 2", goto: agent}
          next: bye
        agent: {transfer: {target: "queue:general", reason: failures}}
        bye: {hangup: {}}
    """)
    first = e.start({}, FACTS)
    s1 = e.step(first.state, NoInput(), FACTS)
    s2 = e.step(s1.state, CallerInput("dtmf", "7"), FACTS)
    assert s2.actions == [Transfer("queue:general", "failures")]
    assert s2.state.history.failures == 2
    assert s2.state.variables == {"failure_reason": "no_match"}
    ok = e.step(first.state, CallerInput("dtmf", "1"), FACTS)
    assert ok.actions == [Hangup("completed")]


# ---------------------------------------------------------------- language
def test_language_verb(tmp_path):
    e = engine(tmp_path, """
        s: {language: en-US, next: hello}
        hello:
          say: {zh-CN: 你好, en-US: Hello}
          next: ask
        ask:
          menu:
            prompt: {zh-CN: 请按1, en-US: Press 1}
            choices: [{dtmf: "1", goto: bye}]
        bye: {hangup: {}}
    """)
    step = e.start({}, FACTS)
    assert step.actions == [
        SetLanguage("en-US", "en-US"),
        Say("Hello", "en-US", None, "hello"),
        Say("Press 1", "en-US", None, "ask"),
        Listen("ask", "en-US", None, 1, 1, dtmf_choices=("1",)),
    ]
    assert step.state.language == "en-US"
    assert e.env(step.state, FACTS)["language"] == "en-US"


# ---------------------------------------------------------------- hours
HOURS = """
calendars:
  office:
    timezone: Asia/Shanghai
    weekly: {mon-fri: "09:00-18:00", sat: ["09:00-12:00", "14:00-17:00"]}
    holidays: [2026-10-01]
  always:
    weekly: {mon-sun: "00:00-24:00"}
    holidays: [2026-10-01]
"""
HOURS_NODES = """
s:
  hours: {calendar: office, open: open, closed: closed}
open: {hangup: {reason: open}}
closed: {hangup: {reason: closed}}
a:
  hours: {calendar: always, open: open, closed: closed}
"""


@pytest.mark.parametrize(
    ("utc", "reason"),
    [
        (dt.datetime(2026, 11, 20, 2, 0), "open"),  # Fri 10:00 Shanghai
        (dt.datetime(2026, 11, 20, 1, 0), "open"),  # Fri 09:00 Shanghai (01:00 UTC)
        (dt.datetime(2026, 11, 20, 0, 59), "closed"),  # Fri 08:59 Shanghai
        (dt.datetime(2026, 11, 20, 9, 59), "open"),  # Fri 17:59
        (dt.datetime(2026, 11, 20, 10, 0), "closed"),  # Fri 18:00: end is exclusive
        (dt.datetime(2026, 11, 19, 23, 30), "closed"),  # Fri 07:30 (Thu in UTC)
        (dt.datetime(2026, 11, 21, 3, 0), "open"),  # Sat 11:00
        (dt.datetime(2026, 11, 21, 5, 0), "closed"),  # Sat 13:00: lunch break
        (dt.datetime(2026, 11, 21, 6, 30), "open"),  # Sat 14:30
        (dt.datetime(2026, 11, 22, 2, 0), "closed"),  # Sunday
        (dt.datetime(2026, 10, 1, 2, 0), "closed"),  # holiday (a Thursday)
    ],
)
def test_hours_calendar_time_zone(tmp_path, utc, reason):
    e = engine(tmp_path, HOURS_NODES, HOURS)
    assert e.start({}, {"now": utc.replace(tzinfo=dt.UTC)}).actions == [Hangup(reason)]


@pytest.mark.parametrize(
    ("utc", "reason"),
    [
        (dt.datetime(2026, 9, 30, 15, 30), "open"),  # Sep 30 23:30 in Shanghai
        (dt.datetime(2026, 9, 30, 16, 30), "closed"),  # Oct 1 00:30 in Shanghai: holiday
        (dt.datetime(2026, 10, 1, 16, 0), "open"),  # Oct 2 00:00 in Shanghai (Oct 1 UTC)
    ],
)
def test_hours_holiday_is_a_local_date(tmp_path, utc, reason):
    e = engine(tmp_path, HOURS_NODES, HOURS)
    state = DialogState("a", "zh-CN")
    step = e._run(state, [], None, {"now": utc.replace(tzinfo=dt.UTC)})
    assert step.actions == [Hangup(reason)]


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


# ---------------------------------------------------------------- webhook
WEBHOOK = """
s:
  webhook:
    url: "https://crm.example.com/c/{caller}?name={name}&x={missing}"
    method: POST
    headers: {Authorization: "Bearer {token}", X-Lang: "{language}"}
    body: {phone: "{caller}", nested: {n: "{name}", list: ["{caller}", 3]}, num: 5}
    timeout_s: 2
    retries: 2
    save: {cust: data.name, first: items.0.id, second: items.1.id, gone: items.5.id}
    on_failure: fail
  next: ok
ok: {hangup: {say: "ok {cust} {first} {webhook_status}"}}
fail: {hangup: {say: "fail {webhook_status} {webhook_error}", reason: fail}}
"""
CALLER = {"caller": "+86 138/00?&", "name": "张 三", "token": "abc"}


def test_webhook_action_fields(tmp_path):
    e = engine(tmp_path, WEBHOOK)
    step = e.start(dict(CALLER), FACTS)
    assert step.actions == [Webhook(
        node="s", method="POST",
        url="https://crm.example.com/c/%2B86%20138%2F00%3F%26?name=%E5%BC%A0%20%E4%B8%89&x=",
        headers={"Authorization": "Bearer abc", "X-Lang": "zh-CN"},
        body={"phone": "+86 138/00?&", "nested": {"n": "张 三", "list": ["+86 138/00?&", 3]},
              "num": 5},
        timeout_s=2.0, retries=2)]
    assert step.state.node == "s"
    assert step.state.ended is False


def test_webhook_defaults(tmp_path):
    e = engine(tmp_path, """
        s: {webhook: {url: "http://crm/x"}, next: ok}
        ok: {hangup: {}}
    """)
    assert e.start({}, FACTS).actions == [Webhook("s", "GET", "http://crm/x", {}, None, 3.0, 1)]


def test_webhook_ok_saves_paths(tmp_path):
    e = engine(tmp_path, WEBHOOK)
    first = e.start(dict(CALLER), FACTS)
    data = {"data": {"name": "Li"}, "items": [{"id": 7}, {"id": 8}]}
    step = e.step(first.state, WebhookResult(True, 200, data), FACTS)
    values = {"cust": "Li", "first": 7, "second": 8, "gone": None, "webhook_status": 200,
              "webhook_error": None}
    assert step.actions == [SetVariables(values), Say("ok Li 7 200", "zh-CN", None, "ok"),
                            Hangup("completed")]
    assert step.state.variables == {**CALLER, **values}


def test_webhook_ok_with_no_json_body(tmp_path):
    e = engine(tmp_path, WEBHOOK)
    first = e.start(dict(CALLER), FACTS)
    step = e.step(first.state, WebhookResult(True, 204, None), FACTS)
    assert step.actions[0] == SetVariables(
        {"cust": None, "first": None, "second": None, "gone": None, "webhook_status": 204,
         "webhook_error": None})
    assert step.actions[-1] == Hangup("completed")


def test_webhook_failure_goes_to_on_failure(tmp_path):
    e = engine(tmp_path, WEBHOOK)
    first = e.start(dict(CALLER), FACTS)
    step = e.step(first.state, WebhookResult(False, 503, None, "HTTP 503"), FACTS)
    assert step.actions == [SetVariables({"webhook_status": 503, "webhook_error": "HTTP 503"}),
                            Say("fail 503 HTTP 503", "zh-CN", None, "fail"), Hangup("fail")]


def test_webhook_failure_without_on_failure_goes_next(tmp_path):
    e = engine(tmp_path, """
        s: {webhook: {url: "http://crm/x"}, next: ok}
        ok:
          branch:
            - {if: "webhook_error != null", goto: err}
          next: fine
        err: {hangup: {say: "err {webhook_error}", reason: err}}
        fine: {hangup: {reason: fine}}
    """)
    first = e.start({}, FACTS)
    step = e.step(first.state, WebhookResult(False, None, None, "timed out after 3 s"), FACTS)
    assert step.actions == [
        SetVariables({"webhook_status": None, "webhook_error": "timed out after 3 s"}),
        Say("err timed out after 3 s", "zh-CN", None, "err"), Hangup("err")]


def test_webhook_ignores_caller_input(tmp_path):
    e = engine(tmp_path, WEBHOOK)
    first = e.start(dict(CALLER), FACTS)
    step = e.step(first.state, CallerInput("speech", "hello"), FACTS)
    assert step.actions == []
    assert step.state == first.state


def test_webhook_success_clears_previous_error(tmp_path):
    e = engine(tmp_path, """
        s: {webhook: {url: "http://crm/a"}, next: t}
        t: {webhook: {url: "http://crm/b"}, next: u}
        u:
          branch:
            - {if: "webhook_error", goto: err}
          next: fine
        err: {hangup: {reason: err}}
        fine: {hangup: {reason: fine}}
    """)
    first = e.start({}, FACTS)
    second = e.step(first.state, WebhookResult(False, 503, None, "HTTP 503"), FACTS)
    assert second.actions[-1] == Webhook("t", "GET", "http://crm/b", {}, None, 3.0, 1)
    third = e.step(second.state, WebhookResult(True, 200, {}), FACTS)
    assert third.actions[-1] == Hangup("fine")


# ---------------------------------------------------------------- gather confirmation
CONFIRM = """
s:
  gather:
    prompt: {zh-CN: 请说金额, en-US: Say the amount}
    slot: {name: amount, type: amount}
    confirm: true
    next: done
done: {hangup: {say: "got {amount}"}}
"""
CONFIRM_HEAD = """
defaults:
  no_input: [{zh-CN: 没听到, en-US: Did not hear}]
  no_match: [{zh-CN: 没听懂, en-US: Did not understand}]
"""
YES_NO_LISTEN = Listen("s", "zh-CN", None, 1, 1, dtmf_choices=("1", "2"))
AMOUNT_LISTEN = Listen("s", "zh-CN", None, 20, 1, digits_slot=True)


@pytest.fixture
def confirming(tmp_path):
    e = engine(tmp_path, CONFIRM, CONFIRM_HEAD)
    first = e.start({}, FACTS)
    assert first.actions == [Say("请说金额", "zh-CN", None, "s"), AMOUNT_LISTEN]
    step = e.step(first.state, CallerInput("speech", "五十八块五"), FACTS)
    assert step.actions == [Say("您说的是58.5，对吗？", "zh-CN", None, "s"), YES_NO_LISTEN]
    assert step.state.confirming == ("amount", 58.5)
    assert step.state.variables == {}
    return e, step.state


@pytest.mark.parametrize("event", [CallerInput("speech", "是的"), CallerInput("dtmf", "1")])
def test_confirm_yes_goes_next_with_value(confirming, event):
    e, state = confirming
    step = e.step(state, event, FACTS)
    assert step.actions == [SetVariables({"amount": 58.5}), Say("got 58.5", "zh-CN", None, "done"),
                            Hangup("completed")]
    assert step.understanding == Understanding("match", None, 1.0, {"amount": 58.5})
    assert step.state.variables == {"amount": 58.5}
    assert step.state.confirming is None


@pytest.mark.parametrize("event", [CallerInput("speech", "不是"), CallerInput("dtmf", "2")])
def test_confirm_no_asks_again(confirming, event):
    e, state = confirming
    step = e.step(state, event, FACTS)
    assert step.actions == [Say("请说金额", "zh-CN", None, "s"), AMOUNT_LISTEN]
    assert step.state.confirming is None
    assert step.state.node == "s"
    assert step.state.variables == {}
    assert step.understanding == Understanding("match", "deny", 1.0)
    # and the new value is confirmed in turn
    again = e.step(step.state, CallerInput("dtmf", "60#"), FACTS)
    assert again.actions == [Say("您说的是60，对吗？", "zh-CN", None, "s"), YES_NO_LISTEN]


def test_silence_during_confirmation_is_no_input(confirming):
    e, state = confirming
    step = e.step(state, NoInput(), FACTS)
    assert step.actions[0] == Say("没听到", "zh-CN", None, "s")
    assert step.understanding.outcome == "no_input"
    assert step.state.no_input == 1
    assert step.state.history.no_input == 1
    assert step.state.history.failures == 1


def test_unclear_answer_during_confirmation_is_no_match(confirming):
    e, state = confirming
    step = e.step(state, CallerInput("speech", "天气晴朗"), FACTS)
    assert step.actions[0] == Say("没听懂", "zh-CN", None, "s")
    assert step.understanding.outcome == "no_match"
    assert step.state.no_match == 1
    step3 = e.step(state, CallerInput("dtmf", "3"), FACTS)
    assert step3.understanding.outcome == "no_match"


def test_silence_during_confirmation_repeats_the_question(confirming):
    e, state = confirming
    step = e.step(state, NoInput(), FACTS)
    assert step.actions == [Say("没听到", "zh-CN", None, "s"),
                            Say("您说的是58.5，对吗？", "zh-CN", None, "s"), YES_NO_LISTEN]
    assert step.state.confirming == ("amount", 58.5)


def test_confirm_prompt_english_default(tmp_path):
    e = engine(tmp_path, CONFIRM, CONFIRM_HEAD)
    state = DialogState("s", "en-US")
    step = e.step(state, CallerInput("speech", "twelve dollars and fifty cents"), FACTS)
    assert step.actions[0] == Say("I heard 12.5. Is that right?", "en-US", None, "s")


def test_custom_confirm_prompt(tmp_path):
    e = engine(tmp_path, """
        s:
          gather:
            prompt: 请输入手机号
            slot: {name: phone, type: phone}
            confirm: true
            confirm_prompt: {zh-CN: "号码是{value}，{caller}对吗", en-US: "Number {value}?"}
            next: done
        done: {hangup: {}}
    """)
    first = e.start({"caller": "张三"}, FACTS)
    step = e.step(first.state, CallerInput("dtmf", "13800138000#"), FACTS)
    assert step.actions == [Say("号码是13800138000，张三对吗", "zh-CN", None, "s"), YES_NO_LISTEN]


# ---------------------------------------------------------------- global choices, menus
GLOBAL_HEAD = """
intents:
  agent: {keywords: {zh-CN: [人工, 转人工], en-US: [agent]}}
  billing: {keywords: {zh-CN: [话费], en-US: [bill]}}
global_choices:
  - {dtmf: "0", intent: agent, goto: agent}
  - {dtmf: "*9", goto: secret}
"""
GLOBAL_NODES = """
s:
  gather:
    prompt: {zh-CN: 请讲, en-US: Go ahead}
    slot: {name: note, type: text}
    next: got
got: {hangup: {say: "note={note}"}}
agent: {transfer: {target: "queue:general", say: 转人工}}
secret: {hangup: {say: secret}}
menu:
  menu:
    prompt: 菜单
    max_attempts: 5
    choices:
      - {dtmf: "1", intent: billing, goto: got}
      - {dtmf: "12", goto: twelve}
      - {dtmf: "123", goto: got}
twelve: {hangup: {reason: twelve}}
welcome:
  say: For English, press 9.
  prompt_language: en-US
  next: menu
"""


@pytest.mark.parametrize("text", ["转人工", "我想要转人工服务"])
def test_global_agent_keyword_wins_over_text_slot(tmp_path, text):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    first = e.start({}, FACTS)
    step = e.step(first.state, CallerInput("speech", text), FACTS)
    assert step.actions == [Say("转人工", "zh-CN", None, "agent"),
                            Transfer("queue:general", "dialplan")]
    assert step.understanding.intent == "agent"
    assert step.understanding.choice == "agent"
    assert "note" not in step.state.variables


def test_text_slot_takes_other_speech(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    first = e.start({}, FACTS)
    step = e.step(first.state, CallerInput("speech", "我的宽带坏了", 0.8), FACTS)
    assert step.actions == [SetVariables({"note": "我的宽带坏了"}),
                            Say("note=我的宽带坏了", "zh-CN", None, "got"), Hangup("completed")]
    assert step.understanding == Understanding("match", None, 0.8, {"note": "我的宽带坏了"})


@pytest.mark.parametrize(("keys", "said"), [("0", "转人工"), ("*9", "secret")])
def test_global_dtmf_in_gather(tmp_path, keys, said):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    first = e.start({}, FACTS)
    step = e.step(first.state, CallerInput("dtmf", keys), FACTS)
    assert says(step.actions) == [said]


def test_multi_key_menu_choices(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    step = e._run(DialogState("menu", "zh-CN"), [], None, FACTS)
    assert step.actions == [Say("菜单", "zh-CN", None, "menu"),
                            Listen("menu", "zh-CN", None, 3, 1,
                                   dtmf_choices=("1", "12", "123", "0", "*9"))]
    assert e.step(step.state, CallerInput("dtmf", "12"), FACTS).actions == [Hangup("twelve")]
    assert e.step(step.state, CallerInput("dtmf", "*9"), FACTS).actions[-1] == Hangup(
        "completed")
    miss = e.step(step.state, CallerInput("dtmf", "13"), FACTS)
    assert miss.understanding.outcome == "no_match"


# ---------------------------------------------------------------- history and env
def test_turn_history_counters(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    state = e._run(DialogState("menu", "zh-CN"), [], None, FACTS).state
    assert state.history == History()
    s1 = e.step(state, NoInput(), FACTS).state
    assert s1.history == History(count=1, failures=1, no_match=0, no_input=1)
    s2 = e.step(s1, CallerInput("speech", "blah blah"), FACTS).state
    assert s2.history == History(count=2, failures=2, no_match=1, no_input=1)
    s3 = e.step(s2, Unintelligible("mumble", 0.1), FACTS).state
    assert s3.history == History(count=3, failures=3, no_match=2, no_input=1)
    s4 = e.step(s3, CallerInput("speech", "话费"), FACTS)
    # success resets consecutive failures but not the totals, and records the intent
    assert s4.state.history == History(count=4, failures=0, no_match=2, no_input=1,
                                       last_intent="billing")
    assert s4.understanding.intent == "billing"


def test_failures_count_across_nodes(tmp_path):
    e = engine(tmp_path, """
        s:
          menu:
            prompt: 一
            max_attempts: 1
            on_failure: t
            choices: [{dtmf: "1", goto: t}]
        t:
          menu:
            prompt: 二
            choices: [{dtmf: "1", goto: s}]
    """)
    first = e.start({}, FACTS)
    s1 = e.step(first.state, NoInput(), FACTS)
    assert s1.state.node == "t"
    assert s1.state.no_input == 0  # per-node counter reset on moving
    assert s1.state.history.failures == 1  # consecutive failures carry on
    s2 = e.step(s1.state, NoInput(), FACTS)
    assert s2.state.history.failures == 2


def test_env_contents(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    state = DialogState("menu", "en-US", {"caller": "10086", "amount": 50},
                        history=History(3, 1, 2, 1, "billing"))
    facts = {"now": dt.datetime(2026, 11, 22, 23, 5, tzinfo=dt.UTC),
             "emotion": {"anger": 0.5}}
    assert e.env(state, facts) == {
        "caller": "10086",
        "amount": 50,
        "language": "en-US",
        "node": "menu",
        "turns": {"count": 3, "failures": 1, "no_match": 2, "no_input": 1,
                  "last_intent": "billing"},
        "emotion": {"anger": 0.5},
        # 23:05 UTC on Sunday is 07:05 on Monday in the dialplan's Asia/Shanghai
        "now": {"hour": 7, "minute": 5, "weekday": 1, "date": "2026-11-23"},
    }


def test_env_without_emotion(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    env = e.env(DialogState("menu", "zh-CN"), {"now": NOW})
    assert env["emotion"] == {}
    assert env["now"] == {"hour": 10, "minute": 0, "weekday": 5, "date": "2026-11-20"}


def test_static_prompts(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD + CONFIRM_HEAD)
    assert e.static_prompts() == {
        ("请讲", "zh-CN"), ("Go ahead", "en-US"),
        ("转人工", "zh-CN"), ("转人工", "en-US"),
        ("secret", "zh-CN"), ("secret", "en-US"),
        ("菜单", "zh-CN"), ("菜单", "en-US"),
        ("For English, press 9.", "en-US"),  # only in the node's prompt_language
        ("没听到", "zh-CN"), ("Did not hear", "en-US"),
        ("没听懂", "zh-CN"), ("Did not understand", "en-US"),
    }


def test_prompt_language_node_speaks_its_language(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    step = e._run(DialogState("welcome", "zh-CN"), [], None, FACTS)
    assert step.actions[0] == Say("For English, press 9.", "en-US", None, "welcome")
    assert step.state.language == "zh-CN"


# ---------------------------------------------------------------- loop guard
def test_say_loop_hangs_up(tmp_path):
    e = engine(tmp_path, "s: {say: loop, next: s}\n")
    step = e.start({}, FACTS)
    assert len(step.actions) == 201
    assert step.actions[:2] == [Say("loop", "zh-CN", None, "s")] * 2
    assert step.actions[-1] == Hangup("dialplan_loop")
    assert step.state.ended is True


def test_set_loop_hangs_up(tmp_path):
    e = engine(tmp_path, "s: {set: {n: \"=n + 1\"}, next: s}\n", "variables: {n: 0}\n")
    step = e.start({}, FACTS)
    assert step.actions[-1] == Hangup("dialplan_loop")
    assert step.state.variables == {"n": 200}


def test_ended_call_ignores_events(tmp_path):
    e = engine(tmp_path, "s: {hangup: {}}\n")
    step = e.start({}, FACTS)
    assert e.step(step.state, CallerInput("dtmf", "1"), FACTS).actions == []


# ---------------------------------------------------------------- date slots and time zone
def test_date_slot_uses_the_callers_local_day(tmp_path):
    e = engine(tmp_path, """
        s:
          gather:
            prompt: 哪天
            slot: {name: day, type: date}
            next: done
        done: {hangup: {}}
    """)
    first = e.start({}, FACTS)
    late = {"now": dt.datetime(2026, 11, 21, 17, 0, tzinfo=dt.UTC)}
    step = e.step(first.state, CallerInput("speech", "明天"), late)
    assert step.state.variables == {"day": "2026-11-23"}


def test_date_slot_in_engine(tmp_path):
    e = engine(tmp_path, """
        s:
          gather:
            prompt: 哪天
            slot: {name: day, type: date}
            next: done
        done: {hangup: {}}
    """)
    first = e.start({}, FACTS)
    step = e.step(first.state, CallerInput("speech", "明天"), FACTS)
    assert step.state.variables == {"day": "2026-11-21"}
    assert step.actions == [SetVariables({"day": "2026-11-21"}), Hangup("completed")]
