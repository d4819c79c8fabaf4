"""The agent desk's call card shows the call's complete transcript (issue 21): the greeting
and menu the IVR played, the caller's words with their emotion, what the IVR answered, and
the agent leg once transcribed, in time order."""

from __future__ import annotations

from pathlib import Path

from ivr.storage.call_store import CallStore
from ivr.storage.transcript import save_agent_leg
from ivr.web.card import call_card

T0 = 1_790_000_000.0


def test_the_card_has_every_prompt_the_caller_and_the_agent_in_order(tmp_path: Path) -> None:
    store = CallStore(tmp_path / "ivr.sqlite")
    try:
        store.call_started("c1", caller="13800138000", callee="hotline")
        store.update_call("c1", answered_at=T0, agent_id="8001")
        for ts, node, text in ((T0 + 0.5, "welcome", "欢迎致电星河通信客服热线。"),
                               (T0 + 3.0, "main_menu", "请问您需要办理什么业务？"),
                               (T0 + 9.0, "handover", "正在为您转接人工服务，请稍候。")):
            store.add_event("c1", "prompt", {"node": node, "language": "zh-CN", "text": text},
                            ts=ts)
        store.flush()
        store.db["turns"].insert({"call_id": "c1", "seq": 1, "created_at": T0 + 8.0,
                                  "node": "main_menu", "caller_text": "转人工",
                                  "input_mode": "speech", "intent": "agent",
                                  "emotion": '{"label": "angry", "anger": 0.8}'})
        save_agent_leg(store.db, "c1", [{"ts": T0 + 20.0, "speaker": "agent",
                                         "text": "您好，请问有什么可以帮您？"}], "done")
        card = call_card(store, "c1", "8001")
    finally:
        store.close()
    assert card is not None
    lines = [(line["speaker"], line["text"]) for line in card["transcript"]]
    assert lines == [("ivr", "欢迎致电星河通信客服热线。"), ("ivr", "请问您需要办理什么业务？"),
                     ("caller", "转人工"), ("ivr", "正在为您转接人工服务，请稍候。"),
                     ("agent", "您好，请问有什么可以帮您？")]
    assert [line["emotion"] for line in card["transcript"]] == [None, None, "angry", None, None]
