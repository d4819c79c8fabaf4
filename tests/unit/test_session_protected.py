"""No caller input is lost over a prompt that cannot be interrupted (issue 18): CallSession on
fakes (tests/unit/call_runner.py), the real endpointer on real speech.

- speech over the disclosure is recognised and answers the first question; the prompts said
  before that question (greeting, offer, menu) are cut once the disclosure has ended;
- a key or speech over a protected notice: the notice plays to its end, the menu queued behind
  it is cut, the reply to the answer plays in full after the notice;
- the disclosure in each of the dialplan's languages, default first (or a configured order).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.unit.call_runner import MENU_ZH, OFFER, WELCOME_ZH, Call, run_call, speech_clip
from tests.unit.fakes import transcript

DISCLOSURE = {"zh": "您好，您正在与智能语音助手通话，本次通话将被录音。",
              "en": "Hello, you are speaking with an automated assistant, and this call is "
                    "recorded."}
NOTICE = "重要提示：银行工作人员不会向您索要密码，请勿向任何人透露。"
MENU = "查余额请按1或说查余额，人工服务请按0。"
BALANCE = "您的余额为五十八元，再见。"
PLAN = f"""
name: protected
languages: [zh-CN]
default_language: zh-CN
start: notice
intents:
  balance:
    keywords: {{zh-CN: [余额, 查余额]}}
nodes:
  notice:
    say: {NOTICE}
    barge_in: false
    next: menu
  menu:
    menu:
      prompt: {MENU}
      choices:
        - {{dtmf: "1", intent: balance, goto: balance}}
  balance:
    hangup: {{say: {BALANCE}, reason: done}}
"""
SPEED = 0.2  # prompts play at a fifth of real time: a notice lasts ~0.3 s


def bank(tmp_path: Path) -> Path:
    path = tmp_path / "protected.yaml"
    path.write_text(PLAN, encoding="utf-8")
    return path


def heard_in_full(c: Call, text: str, language: str = "zh-CN") -> bool:
    pb = c.media.playback_of(c.prompts.rendered[(text, language)])
    return pb.started_at is not None and pb.finished_at is not None and not pb.interrupted


async def over_the_notice(c: Call) -> None:
    await c.wait_event("prompt", node="notice")
    assert c.session._playout.protected  # the notice still plays


def test_a_key_over_a_protected_prompt_cuts_the_menu_queued_behind_it(tmp_path) -> None:
    async def scenario(c: Call) -> None:
        await over_the_notice(c)
        await c.wait_event("listen", node="menu")  # the menu is queued behind the notice
        assert c.session._playout.protected
        c.dtmf("1")

    c = run_call(tmp_path, scenario, plan_path=bank(tmp_path), speed=SPEED)
    assert heard_in_full(c, NOTICE)  # protected: it plays to its end
    assert not heard_in_full(c, MENU)  # made obsolete by the key
    assert heard_in_full(c, BALANCE)  # the reply, held back while the notice played
    (turn,) = c.row()["turns"]
    assert (turn["dtmf"], turn["intent"]) == ("1", "balance")
    assert c.events("barge_in") == [{"cause": "dtmf", "node": "menu", "latency_ms": None,
                                     "deferred": True}]
    types = [(e["type"], e["data"].get("node")) for e in c.row()["events"]]
    assert types.index(("prompt_end", "notice")) < types.index(("prompt", "balance"))
    assert c.row()["end_reason"] == "done"


def test_speech_over_a_protected_prompt_answers_the_question(tmp_path) -> None:
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="menu")
        await over_the_notice(c)
        c.say(speech_clip())  # begins and ends while the notice plays

    c = run_call(tmp_path, scenario, plan_path=bank(tmp_path), speed=SPEED,
                 asr_script=[transcript("我想查一下余额", "zh")])
    assert c.events("speech_during_protected_prompt")[0]["kept"] is True
    (turn,) = c.row()["turns"]
    assert (turn["input_mode"], turn["intent"]) == ("speech", "balance")
    assert heard_in_full(c, NOTICE) and not heard_in_full(c, MENU) and heard_in_full(c, BALANCE)
    assert c.events("barge_in") == [{"cause": "speech", "node": "menu", "latency_ms": None,
                                     "deferred": True}]


def test_speech_over_the_disclosure_answers_the_first_question(tmp_path) -> None:
    """"我要查话费" said while the disclosure plays: the main menu takes it; the greeting, the
    English offer and the Mandarin menu (11 s on a call) are cut, the bill is read out."""
    async def scenario(c: Call) -> None:
        await c.wait_event("prompt", node="disclosure")
        assert c.session._playout.protected
        c.say(speech_clip())
        await c.wait_event("prompt_end", node="bill_info")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, speed=SPEED, language_detection=False,
                 asr_script=[transcript("我要查话费", "zh")], privacy={"disclosure": DISCLOSURE})
    assert [e["kept"] for e in c.events("speech_during_protected_prompt")] == [True]
    turn = c.row()["turns"][0]
    assert (turn["node"], turn["input_mode"], turn["intent"]) == (
        "main_menu", "speech", "bill_enquiry")
    assert heard_in_full(c, DISCLOSURE["zh"]) and heard_in_full(c, DISCLOSURE["en"], "en-US")
    for text, language in ((WELCOME_ZH, "zh-CN"), (OFFER, "en-US"), (MENU_ZH, "zh-CN")):
        assert not heard_in_full(c, text, language), text
    assert [e["deferred"] for e in c.events("barge_in")] == [True]
    assert c.events("prompt_end", node="bill_info") == [{"node": "bill_info",
                                                         "interrupted": False}]


def test_noise_over_a_protected_prompt_cuts_a_bargeable_prompt_after_it(tmp_path) -> None:
    """The caller still speaks (or is being recognised) when the protection ends: like speech
    over a bargeable prompt, it stops the one that follows; noise answers nothing."""
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="menu")
        await over_the_notice(c)
        c.say(speech_clip())
        await c.wait_event("speech_ignored")
        c.dtmf("1")

    c = run_call(tmp_path, scenario, plan_path=bank(tmp_path), speed=SPEED,
                 asr_script=[transcript("", "zh", no_speech_prob=0.95)], asr_delay_s=0.5)
    assert heard_in_full(c, NOTICE) and not heard_in_full(c, MENU)
    (turn,) = c.row()["turns"]
    assert (turn["input_mode"], turn["intent"]) == ("dtmf", "balance")


def test_noise_heard_while_the_protected_prompt_plays_withdraws_its_barge_in(tmp_path) -> None:
    """Noise over the notice, judged noise before the notice ends: nothing was said, so the
    menu queued behind the notice plays in full, and the later answer cuts nothing."""
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="menu")
        await over_the_notice(c)
        c.say(speech_clip())
        await c.wait_event("speech_ignored")
        assert c.session._playout.protected  # (judged while the notice still plays)
        await c.wait_event("prompt_end", node="menu")
        c.dtmf("1")

    c = run_call(tmp_path, scenario, plan_path=bank(tmp_path), speed=SPEED,
                 asr_script=[transcript("", "zh", no_speech_prob=0.95)])
    assert heard_in_full(c, NOTICE) and heard_in_full(c, MENU) and heard_in_full(c, BALANCE)
    assert c.events("barge_in") == []
    (turn,) = c.row()["turns"]
    assert (turn["input_mode"], turn["intent"]) == ("dtmf", "balance")


def prompts_of(c: Call, node: str) -> list[tuple[Any, Any]]:
    return [(e["language"], e["text"]) for e in c.events("prompt") if e["node"] == node]


def test_the_disclosure_is_said_in_every_language_default_first(tmp_path) -> None:
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, privacy={"disclosure": DISCLOSURE})
    assert prompts_of(c, "disclosure") == [("zh-CN", DISCLOSURE["zh"]),
                                          ("en-US", DISCLOSURE["en"][:80])]
    types = c.event_types()  # both heard in full before the dialplan begins
    assert [t for t in types[:types.index("listen")] if t == "prompt_end"] == ["prompt_end"] * 2
    assert c.events("prompt_end")[:2] == [{"node": "disclosure", "interrupted": False}] * 2


def test_the_disclosure_languages_setting_orders_them(tmp_path) -> None:
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, privacy={"disclosure": DISCLOSURE,
                                              "disclosure_languages": ["en-US", "zh-CN"]})
    assert [lang for lang, _ in prompts_of(c, "disclosure")] == ["en-US", "zh-CN"]
    assert [e["node"] for e in c.events("prompt")][:3] == ["disclosure", "disclosure", "welcome"]
