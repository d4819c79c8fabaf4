"""`ivr simulate` with a caller who types: a scripted REPL session (what the IVR says, what it
understood, the nodes, slots and variables), end of input and Ctrl-C, /restart, no agents,
start options and bad ones, a broken dialplan, and webhooks performed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.dialplan.fake_webhooks import FakeResponse, FakeWebhookServer
from tests.unit.call_runner import MENU_ZH
from tests.unit.simulate_console import HOTLINE, Script, simulate, write_plan


def test_scripted_session(tmp_path: Path) -> None:
    s = Script("我想查一下话费", "/vars", "/emotion anger=0.8 calm=0.1", "/emotion", "",
               "#x", "/nope", "/help", "#2", "#5")
    assert simulate(s, str(HOTLINE)) == 0
    text = s.text
    assert text.startswith("ivr simulate: xinghe-telecom-hotline (")
    assert "caller 13800138000, language zh-CN\n" in text
    expected = """\
IVR [zh-CN]: 您好，您正在与智能语音助手通话，本次通话将被录音。
IVR [en-US]: Hello, you are speaking with an automated assistant, and this call is recorded.
IVR [zh-CN]: 欢迎致电星河通信客服热线。
IVR [en-US]: For English, press 9 or say English.
IVR [zh-CN]: <MENU>
  node: welcome -> welcome_english_offer -> main_menu
Type what the caller says; #123 presses keys; an empty line is silence; /help for more.
caller> 我想查一下话费
  understood: bill_enquiry 0.89    top: bill_enquiry 0.89, top_up 0.45, agent 0.36
IVR [zh-CN]: 您本月的账单为九十八元，当前余额为五十八元二角。
IVR [zh-CN]: 请问还有其他可以帮您的吗？有请说是或按1，没有请说没有或按2。
  node: main_menu -> bill_info -> anything_else
caller> /vars
  history=False, caller=13800138000
  language=zh-CN, node=anything_else
caller> /emotion anger=0.8 calm=0.1
  emotion: anger=0.8, calm=0.1
caller> /emotion
  emotion: anger=0.8, calm=0.1
caller><SP>
  no input
IVR [zh-CN]: 不好意思，我没有听到您的声音。
IVR [zh-CN]: 请问还有其他可以帮您的吗？有请说是或按1，没有请说没有或按2。
caller> #x
  keys must be digits, * or #, got 'x'
caller> /nope
  unknown command /nope; /help lists them
caller> /help
""".replace("<MENU>", MENU_ZH).replace("<SP>", " ")
    assert expected in text
    assert text.endswith("""\
caller> #2
  understood: deny 1.00
IVR [zh-CN]: 请您为本次服务打分，一到五分，五分为非常满意，一分为非常不满意。请说出分数或按键。
  node: anything_else -> satisfaction
  set: survey=satisfaction, survey_status=offered, survey_score=None
caller> #5
  understood (slot)
  slots: survey_score=5
IVR [zh-CN]: 谢谢您的评价。
IVR [zh-CN]: 感谢您的来电，再见。
  node: satisfaction -> goodbye
  set: survey_status=answered, survey_score=5, survey_answered_by=dtmf
*** the IVR hung up (reason: completed); the call has ended
""")
    assert s.err.getvalue() == ""


def test_slots_variables_and_transfer_are_shown() -> None:
    s = Script("#2", "#12345678#", "是", "转人工")
    assert simulate(s, str(HOTLINE), "--caller", "10086") == 0
    text = s.text
    assert "caller 10086," in text
    assert ("caller> #12345678#\n  understood (slot)\n  slots: account=12345678\n"
            "IVR [zh-CN]: 已为您登记宽带报修，账号幺二三四五六七八。") in text
    assert "  node: broadband_account -> broadband_logged -> anything_else\n" \
           "  set: account=12345678\n" in text
    assert text.endswith("*** transfer to queue:general (reason: caller_request); "
                         "the call has ended\n")


def test_end_of_input_ctrl_c_and_quit() -> None:
    s = Script("#9")
    assert simulate(s, str(HOTLINE)) == 0
    assert s.text.endswith("caller> \n(end of input)\n")
    s = Script(KeyboardInterrupt())
    assert simulate(s, str(HOTLINE)) == 0
    assert s.text.endswith("caller> \n(interrupted)\n")
    s = Script("/quit", "#1")
    assert simulate(s, str(HOTLINE)) == 0
    assert "IVR [zh-CN]: 您本月" not in s.text


def test_no_agents_sends_a_transfer_to_its_fallback_and_a_message_is_left() -> None:
    bank = str(Path(__file__).parents[1] / "fixtures" / "agreement" / "bank.yaml")
    s = Script("#1", "#0", "#2", "我的卡丢了")
    assert simulate(s, bank, "--no-agents") == 0
    assert "  recording: the caller agreed\n" in s.text
    assert "  node: menu -> agent -> busy\n  set: transfer_failed=no_agent\n" in s.text
    assert "  message recorded: 2.0 s, '我的卡丢了'\n" in s.text
    s = Script("#1", "#0")
    assert simulate(s, bank) == 0
    assert s.text.endswith("*** transfer to queue:general (reason: caller_request); "
                           "the call has ended\n")


def test_restart_starts_a_new_call() -> None:
    s = Script("#9", "/restart", "/vars")
    assert simulate(s, str(HOTLINE)) == 0
    after = s.text.split("--- new call ---\n", 1)[1]
    assert after.startswith("IVR [zh-CN]: 您好，您正在与智能语音助手通话")  # the disclosure
    assert "\nIVR [zh-CN]: 欢迎致电" in after
    assert "language=zh-CN, node=main_menu" in after


def test_start_language_time_and_options(tmp_path: Path) -> None:
    s = Script()
    assert simulate(s, str(HOTLINE), "--language", "en-US",
                     "--time", "2026-11-23T10:00:00+08:00") == 0
    assert "language en-US, time 2026-11-23T10:00:00+08:00" in s.text
    assert "IVR [en-US]: Welcome to Xinghe Telecom." in s.text


@pytest.mark.parametrize(("argv", "message"), [
    (["--language", "fr"], "ivr simulate: --language fr is neither one of the dialplan's "
                          "languages (zh-CN, en-US) nor a profile"),
    (["--time", "tomorrow"], "ivr simulate: --time 'tomorrow' is not an ISO time"),
    (["--time", "2026-11-23T10:00:00"], "needs a UTC offset"),
    (["--mic", "--audio", "a.wav"], "ivr simulate: use either --audio or --mic, not both"),
    (["--audio", "missing.wav"], "ivr simulate: audio file not found: missing.wav"),
])
def test_bad_options_give_one_clear_line(argv: list[str], message: str) -> None:
    s = Script()
    assert simulate(s, str(HOTLINE), *argv) == 2
    err = s.err.getvalue()
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_broken_dialplan_is_reported(tmp_path: Path) -> None:
    s = Script()
    assert simulate(s, write_plan(tmp_path, "name: x\nstart: nowhere\n")) == 2
    err = s.err.getvalue()
    assert err.startswith("ivr simulate: cannot load the dialplan:\n") and "plan.yaml:1:1" in err


def test_webhooks_are_performed_and_shown(tmp_path: Path) -> None:
    customer = FakeResponse(method="GET", path="/customers",
                            json={"data": {"name": "张三", "balance": 58.2}})
    with FakeWebhookServer([customer]) as server:
        plan = write_plan(tmp_path, f"""\
            name: crm
            languages: [zh-CN]
            default_language: zh-CN
            start: lookup
            nodes:
              lookup:
                webhook:
                  url: {server.base_url}/customers?phone={{caller}}
                  save: {{name: data.name}}
                next: hello
              hello:
                hangup: {{say: "{{name}}您好。"}}
            """)
        s = Script()
        assert simulate(s, plan) == 0
    text = s.text
    assert f"  webhook GET {server.base_url}/customers?phone=13800138000 -> 200 ok (" in text
    assert "IVR [zh-CN]: 张三您好。\n  node: lookup -> hello\n" in text
    assert "*** the IVR hung up (reason: completed)" in text
