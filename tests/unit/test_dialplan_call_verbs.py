"""The `consent`, `callback` and `voicemail` verbs and `transfer.on_unavailable`, through the
call driver on scripted input (what `ivr test` and `ivr simulate` run)."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.dialplan.conversation import Conversation
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.loader import DialplanError, load_dialplan
from ivr.dialplan.models import Dialplan

BASE: dict[str, Any] = {
    "name": "verbs", "languages": ["zh-CN", "en-US"], "default_language": "zh-CN",
    "start": "ask",
}
NODES: dict[str, Any] = {
    "ask": {"consent": {"prompt": {"zh-CN": "同意录音请按1。", "en-US": "Press 1 to agree."},
                        "refuse": "hangup", "refused_say": "好的，再见。"},
            "next": "menu"},
    "menu": {"menu": {"prompt": "回电请按1，留言请按2，人工请按0。", "choices": [
        {"dtmf": "1", "goto": "book"}, {"dtmf": "2", "goto": "message"},
        {"dtmf": "0", "goto": "agent"}]}},
    "book": {"callback": {"number": "+86 {phone}", "queue": "cards", "say": "已预约。"},
             "next": "bye"},
    "message": {"voicemail": {"prompt": "请留言。", "max_s": 20, "on_empty": "bye"},
                "next": "thanks"},
    "agent": {"transfer": {"target": "queue:general", "on_unavailable": "menu"}},
    "thanks": {"hangup": {"say": "谢谢。", "reason": "voicemail"}},
    "bye": {"hangup": {"say": "再见。"}},
}


def plan(**changes: Any) -> Dialplan:
    return Dialplan.model_validate({**BASE, "nodes": NODES, **changes})


def conversation(p: Dialplan | None = None, **kw: Any) -> Conversation:
    return Conversation(p or plan(), variables={"phone": "139-0000-1111"}, **kw)


def test_consent_by_key_records_and_goes_on() -> None:
    with conversation() as conv:
        start = conv.start()
        assert start.said == ["同意录音请按1。"] and conv.node == "ask"
        turn = conv.press("1")
        assert turn.recording is True and conv.recording is True
        assert turn.intent == "affirm" and conv.node == "menu"
        assert conv.variables["recording_consent"] is True


def test_consent_refused_by_speech_hangs_up() -> None:
    with conversation() as conv:
        conv.start()
        turn = conv.say_text("不同意")
        assert turn.recording is False and turn.hangup == "consent_declined"
        assert turn.said == ["好的，再见。"] and conv.ended
        assert ("recording_declined", {"answer": "no", "then": "hangup"}) in conv.events


def test_consent_asked_twice_then_counted_as_refused() -> None:
    nodes = {**NODES, "ask": {**NODES["ask"], "consent": {
        **NODES["ask"]["consent"], "refuse": "continue"}}}
    with conversation(plan(nodes=nodes)) as conv:
        conv.start()
        again = conv.silence()
        assert again.said == ["同意录音请按1。"] and again.outcome == "no_input"
        turn = conv.say_text("请问你们几点下班")
        assert turn.recording is False and conv.node == "menu" and not conv.ended
        assert ("recording_declined", {"answer": "none", "then": "continue"}) in conv.events


def test_callback_books_the_digits_of_its_number() -> None:
    with conversation() as conv:
        conv.start()
        conv.press("1")
        turn = conv.press("1")
        assert conv.callbacks == [{"number": "8613900001111", "queue": "cards"}]
        assert turn.said == ["已预约。", "再见。"] and turn.hangup == "completed"
        assert conv.variables["callback_number"] == "8613900001111"


def test_voicemail_records_the_next_speech_or_goes_to_on_empty() -> None:
    with conversation() as conv:
        conv.start()
        conv.press("1")
        assert conv.press("2").said == ["请留言。"]
        turn = conv.say_text("我的卡丢了")
        assert turn.voicemail == {"seconds": 2.0, "text": "我的卡丢了"}
        assert turn.hangup == "voicemail" and conv.variables["voicemail_text"] == "我的卡丢了"
    with conversation() as conv:
        conv.start()
        conv.press("1")
        conv.press("2")
        turn = conv.silence()
        assert turn.voicemail == {"seconds": 0.0, "text": ""} and turn.said == ["再见。"]


@pytest.mark.parametrize(("available", "node", "ended"), [(True, "agent", True),
                                                          (False, "menu", False)])
def test_transfer_with_a_fallback(available: bool, node: str, ended: bool) -> None:
    with conversation(agents_available=available) as conv:
        conv.start()
        conv.press("1")
        turn = conv.press("0")
        assert conv.node == node and conv.ended is ended
        assert (turn.transfer is not None) is available
        if not available:
            assert conv.variables["transfer_failed"] == "no_agent"
            assert turn.said[-1].startswith("回电请按1")


def test_dialplan_wide_consent_is_the_first_node() -> None:
    consent = {"prompt": "同意录音请按1。", "refuse": "continue"}
    nodes = {k: v for k, v in NODES.items() if k != "ask"}
    engine = DialogEngine(plan(start="menu", nodes=nodes, consent=consent))
    assert engine.plan.start == "consent" and engine.plan.nodes["consent"].next == "menu"
    assert engine.asks_consent()
    taken = {**nodes, "consent": {"say": "hi", "next": "menu"}}
    engine = DialogEngine(plan(start="menu", nodes=taken, consent=consent))
    assert engine.plan.start == "_consent"
    assert not DialogEngine(plan(start="menu", nodes=nodes)).asks_consent()


def test_verbs_need_next_and_known_nodes(tmp_path) -> None:
    with pytest.raises(DialplanError, match="needs `next`"):
        load_dialplan(_yaml(tmp_path, book={"callback": {}}))
    with pytest.raises(DialplanError, match="nowhere"):
        load_dialplan(_yaml(tmp_path, message={"voicemail": {"prompt": "x", "on_empty":
                                                             "nowhere"}, "next": "bye"}))
    with pytest.raises(DialplanError, match="nowhere"):
        load_dialplan(_yaml(tmp_path, agent={"transfer": {"target": "queue:general",
                                                          "on_unavailable": "nowhere"}}))


def _yaml(tmp_path, **nodes: Any):
    import json

    path = tmp_path / "plan.yaml"
    path.write_text(json.dumps({**BASE, "nodes": {**NODES, **nodes}}, ensure_ascii=False),
                    encoding="utf-8")
    return path
