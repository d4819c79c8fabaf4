"""The `webhook` verb through the pure dialogue engine: the action it asks for (URL,
headers and body templated and escaped), saving parts of the reply, failures."""

from __future__ import annotations

from ivr.dialplan.actions import (
    CallerInput,
    Hangup,
    Say,
    SetVariables,
    Webhook,
    WebhookResult,
)
from tests.unit.inline_plans import FACTS, engine

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
