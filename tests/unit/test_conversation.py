"""`Conversation`: the dialogue engine driven like a call, without audio — against the shipped
hotline, small inline dialplans, and webhooks answered by a real local aiohttp server."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from audio_models.protocols import Transcript
from ivr.config import REPO_ROOT
from ivr.dialplan import load_dialplan
from ivr.dialplan.conversation import Conversation, ConversationEnded
from ivr.dialplan.fake_webhooks import FakeResponse, FakeWebhookServer
from ivr.dialplan.turn_result import TransferInfo

HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"
CRM = Path(__file__).resolve().parents[1] / "fixtures" / "dialplan_tests" / "crm.yaml"
MENU_ZH = "请问您需要办理什么业务？"
TZ8 = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(scope="module")
def hotline():  # type: ignore[no-untyped-def]
    return load_dialplan(HOTLINE)


@pytest.fixture
def conv(hotline):  # type: ignore[no-untyped-def]
    with Conversation(hotline, caller="13800138000") as c:
        yield c


def _plan(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _transcript(text: str, confidence: float = 0.9, no_speech: float = 0.01,
                duration: float = 2.0) -> Transcript:
    return Transcript(text, "zh", confidence, -0.1, no_speech, duration, 0.1)


# ---------------------------------------------------------------- the hotline
def test_start_says_the_welcome_and_waits_at_the_main_menu(conv: Conversation) -> None:
    turn = conv.start()
    assert turn.input == "start" and turn.node_before == "welcome"
    assert turn.node_after == "main_menu" == conv.node
    assert [(p.language, p.node) for p in turn.prompts] == [
        ("zh-CN", "welcome"), ("en-US", "welcome_english_offer"), ("zh-CN", "main_menu")]
    assert turn.said[2].startswith(MENU_ZH)
    assert turn.visited == ["welcome", "welcome_english_offer", "main_menu"]
    assert turn.listening is not None and turn.listening.node == "main_menu"
    assert turn.variables == {"caller": "13800138000", "history": False}  # a first-time caller
    assert turn.language == "zh-CN"
    assert not turn.ended and turn.understanding is None
    with pytest.raises(RuntimeError, match="already started"):
        conv.start()


def test_input_before_start_is_refused(conv: Conversation) -> None:
    with pytest.raises(RuntimeError, match="start"):
        conv.say_text("查话费")


def test_speech_is_understood_with_scores_of_the_node_intents(conv: Conversation) -> None:
    conv.start()
    turn = conv.say_text("我想查一下话费")
    assert (turn.intent, turn.outcome, turn.node_before, turn.node_after) == (
        "bill_enquiry", "match", "main_menu", "anything_else")
    assert turn.score == pytest.approx(0.89)
    names = [n for n, _ in turn.intent_scores]
    assert names[0] == "bill_enquiry"
    # main_menu's choices plus the global choices (agent, crisis), best first
    assert set(names) == {"bill_enquiry", "broadband_fault", "top_up", "question", "english",
                          "chinese", "agent", "self_harm", "chest_pain", "breathing"}
    assert [s for _, s in turn.intent_scores] == sorted(
        (s for _, s in turn.intent_scores), reverse=True)
    assert "九十八元" in turn.said[0]
    assert turn.visited == ["bill_info", "anything_else"]


def test_key_9_switches_to_english(conv: Conversation) -> None:
    conv.start()
    turn = conv.press("9")
    assert turn.language == "en-US" == conv.language
    assert turn.intent == "english" and turn.intent_scores == []  # keys have no scores
    assert turn.said == [p for p in turn.said if p.startswith("How can I help")]
    assert turn.prompts[0].language == "en-US"


def test_keys_are_cut_like_a_call_cuts_them(conv: Conversation) -> None:
    conv.start()
    turn = conv.press("212345678")  # "2" ends the menu input, 8 digits fill the slot
    assert turn.node_before == "main_menu" and turn.node_after == "anything_else"
    assert turn.slots == {"account": "12345678"}
    assert turn.changed == {"account": "12345678"}
    assert any("账号幺二三四五六七八" in s for s in turn.said)
    assert turn.input == "keys: 2 + keys: 12345678"


def test_keys_without_hash_are_judged_after_the_interdigit_timeout(
        conv: Conversation) -> None:
    conv.start()
    conv.press("2")
    turn = conv.press("1234")  # too short, no '#'
    assert turn.outcome == "no_match" and turn.node_after == "broadband_account"
    with pytest.raises(ValueError, match="digits"):
        conv.press("12a")


def test_topup_with_confirmation_and_variables(conv: Conversation) -> None:
    conv.start()
    conv.press("3")
    turn = conv.say_text("五十")
    assert turn.slots == {"amount": 50} and turn.node_after == "topup_confirm"
    assert turn.said == ["您要充值五十元，确认请说是或按1，取消请说不或按2。"]
    turn = conv.say_text("是的")
    assert turn.intent == "affirm" and turn.said[0] == "充值成功，五十元已到账。"
    assert conv.variables["amount"] == 50


def test_no_input_escalates_then_transfers(conv: Conversation) -> None:
    conv.start()
    first = conv.silence()
    assert first.outcome == "no_input" and first.said[0] == "不好意思，我没有听到您的声音。"
    second = conv.silence()
    assert second.said[0].startswith("还是没有听到")
    third = conv.silence()
    assert third.transfer == TransferInfo("queue:general", "repeated_failure")
    assert third.ended and conv.ended and third.listening is None
    assert third.variables["failure_reason"] == "no_input"
    assert conv.transfer == third.transfer
    with pytest.raises(ConversationEnded):
        conv.say_text("你好")


def test_hangup_reason_and_end(conv: Conversation) -> None:
    conv.start()
    conv.press("1")
    assert conv.press("2").hangup is None  # the satisfaction survey comes first
    turn = conv.press("5")
    assert turn.hangup == "completed" == conv.hangup and turn.ended
    assert turn.said == ["谢谢您的评价。", "感谢您的来电，再见。"] and turn.transfer is None


def test_low_confidence_speech_is_not_understood(conv: Conversation) -> None:
    conv.start()
    turn = conv.say_text("查话费", confidence=0.1)
    assert turn.outcome == "unintelligible" and turn.node_after == "main_menu"
    assert turn.said[0] == "抱歉，我没有听懂。"


def test_hear_applies_the_call_rules_for_transcripts(conv: Conversation) -> None:
    conv.start()
    assert conv.hear(_transcript("")).outcome == "no_input"
    assert conv.hear(_transcript("谢谢", no_speech=0.6)).outcome == "no_input"  # invention
    assert conv.hear(_transcript("查话费", confidence=0.1)).outcome == "unintelligible"
    # the third failure in a row goes to the escalation
    assert conv.ended and conv.transfer is not None


def test_hear_understands_confident_speech(conv: Conversation) -> None:
    conv.start()
    turn = conv.hear(_transcript("转人工"))
    assert turn.intent == "agent" and turn.transfer == TransferInfo("queue:general",
                                                                    "caller_request")


def test_start_language_option(hotline) -> None:  # type: ignore[no-untyped-def]
    with Conversation(hotline, language="en-US") as c:
        turn = c.start()
        assert turn.language == "en-US" and turn.said[0].startswith("Welcome to Xinghe")
    with pytest.raises(ValueError, match="fr"):
        Conversation(hotline, language="fr")


def test_path_and_variables_options() -> None:
    with Conversation(HOTLINE, variables={"vip": True}, caller="10086") as c:
        assert c.start().variables == {"vip": True, "caller": "10086", "history": False}


# ---------------------------------------------------------------- inline plans
CLOCK_AND_MOOD = """\
name: t
languages: [zh-CN]
default_language: zh-CN
start: open
calendars:
  office: {timezone: Asia/Shanghai, weekly: {mon-fri: "09:00-18:00"}}
nodes:
  open:
    hours: {calendar: office, open: hello, closed: closed}
  hello:
    set: {hour: "=now.hour", weekday: "=now.weekday"}
    next: ask
  closed:
    hangup: {say: 已下班。, reason: closed}
  ask:
    menu:
      prompt: 请讲。
      choices:
        - {dtmf: "1", goto: route}
  route:
    branch:
      - {if: emotion.anger >= 0.7, goto: calm}
    next: bye
  calm:
    transfer: {say: 别着急。, target: "queue:care", reason: angry}
  bye:
    hangup: {say: 再见。}
"""


def test_fixed_clock_drives_hours_and_now(tmp_path: Path) -> None:
    plan = _plan(tmp_path, CLOCK_AND_MOOD)
    monday_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=TZ8)
    with Conversation(plan, now=monday_10) as c:
        turn = c.start()
        assert turn.node_after == "ask"
        assert c.facts()["now"] == monday_10  # the fixed clock, whatever the zone
        assert turn.variables["hour"] == c.engine.env(c.state, c.facts())["now"]["hour"]
        assert turn.variables["weekday"] == 1
    with Conversation(plan, now=dt.datetime(2026, 11, 22, 10, 0, tzinfo=TZ8)) as c:  # Sunday
        turn = c.start()
        assert turn.hangup == "closed" and turn.said == ["已下班。"]
    with pytest.raises(ValueError, match="time zone"):
        Conversation(plan, now=dt.datetime(2026, 11, 23, 10, 0))


def test_emotion_feeds_conditions(tmp_path: Path) -> None:
    plan = _plan(tmp_path, CLOCK_AND_MOOD)
    monday_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=TZ8)
    with Conversation(plan, now=monday_10) as c:
        c.start()
        mood = c.set_emotion({"anger": 0.9})
        assert mood.input == "emotion" and mood.node_after == "ask" and not mood.prompts
        turn = c.press("1")
        assert turn.transfer == TransferInfo("queue:care", "angry")
    with Conversation(plan, now=monday_10) as c:
        c.start()
        assert c.press("1").hangup == "completed"


def test_close_is_idempotent_and_final(hotline) -> None:  # type: ignore[no-untyped-def]
    c = Conversation(hotline)
    c.start()
    c.close()
    c.close()
    with pytest.raises(RuntimeError, match="closed"):
        c.press("1")


# ---------------------------------------------------------------- webhooks
CUSTOMER = FakeResponse(method="GET", path="/customers",
                        json={"data": {"name": "张三", "balance": 58.2}})


def test_webhook_success_saves_mapped_values() -> None:
    with FakeWebhookServer([CUSTOMER]) as server, \
            Conversation(CRM, caller="13800138000", url_rewrite=server.rewrite) as c:
        turn = c.start()
        assert turn.node_after == "menu"
        assert turn.variables["name"] == "张三" and turn.variables["balance"] == 58.2
        assert turn.variables["webhook_status"] == 200
        assert turn.said[0] == "张三您好，您的余额为58.2元。"
        assert turn.visited == ["lookup", "greet", "menu"]
        [call] = turn.webhooks
        assert call.method == "GET" and call.node == "lookup"
        assert call.url == "https://crm.example.com/customers?phone=13800138000"
        assert call.sent_url == f"{server.base_url}/customers?phone=13800138000"
        assert call.result.ok and call.result.status == 200
        assert call.result.data == {"data": {"name": "张三", "balance": 58.2}}
        [req] = server.requests
        assert (req.method, req.path, req.query) == ("GET", "/customers",
                                                     {"phone": "13800138000"})


def test_webhook_timeout_goes_to_on_failure_with_the_error() -> None:
    slow = CUSTOMER.model_copy(update={"delay_s": 2.0})
    with FakeWebhookServer([slow]) as server, \
            Conversation(CRM, caller="13800138000", url_rewrite=server.rewrite) as c:
        turn = c.start()
        assert turn.node_after == "menu"
        assert turn.visited == ["lookup", "lookup_failed", "menu"]
        assert turn.variables["webhook_error"] == "timed out after 0.5 s"
        assert turn.variables["webhook_status"] is None
        assert "name" not in turn.variables
        assert turn.said[0].startswith("系统繁忙")
        [call] = turn.webhooks
        assert not call.result.ok and call.elapsed_ms >= 1000  # two attempts of 0.5 s
        assert len(server.requests) == 2  # retries: 1


def test_webhook_500_then_retry_succeeds() -> None:
    responses = [CUSTOMER,
                 FakeResponse(method="POST", path="/tickets", status=500, times=1),
                 FakeResponse(method="POST", path="/tickets", status=201,
                              json={"data": {"id": "T-1001"}})]
    with FakeWebhookServer(responses) as server, \
            Conversation(CRM, caller="13800138000", url_rewrite=server.rewrite) as c:
        c.start()
        turn = c.press("1")
        [call] = turn.webhooks
        assert call.method == "POST" and call.body == {"phone": "13800138000",
                                                       "kind": "callback"}
        assert call.result.ok and call.result.status == 201
        assert [r.status for r in server.requests if r.path == "/tickets"] == [500, 201]
        assert [r.body for r in server.requests if r.path == "/tickets"] == [
            {"phone": "13800138000", "kind": "callback"}] * 2
        assert turn.variables["ticket"] == "T-1001"
        assert turn.said == ["已为您登记回电，工单号T-1001。"] and turn.hangup == "completed"
        assert c.webhooks[-1] is call and len(c.webhooks) == 2


def test_webhook_client_error_is_not_retried() -> None:
    with FakeWebhookServer([]) as server, \
            Conversation(CRM, caller="1", url_rewrite=server.rewrite) as c:
        turn = c.start()  # nothing matches: 404
        assert turn.variables["webhook_status"] == 404
        assert turn.variables["webhook_error"] == "HTTP 404"
        assert len(server.requests) == 1 and server.unmatched == server.requests
