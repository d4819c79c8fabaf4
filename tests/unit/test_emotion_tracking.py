"""Call-level emotion: word cues, fusion with prosody, trajectory, soothing and escalation
policies, and how the dialplan engine acts on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.dialplan.actions import CallerInput, Say, Transfer
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.loader import load_dialplan
from ivr.emotion import EmotionPolicy, EmotionTracker, text_cues

HOTLINE = Path(__file__).resolve().parents[2] / "dialplans" / "hotline.yaml"
CALM = {"anger": 0.02, "distress": 0.01, "arousal": 0.1, "label": "neutral"}
FURIOUS = {"anger": 0.97, "distress": 0.02, "arousal": 1.0, "label": "angry"}


@pytest.mark.parametrize(("text", "anger", "distress"), [
    ("我要投诉，多次联系都没解决", 0.96, 0.0),  # three cues add up
    ("this is ridiculous", 0.7, 0.0),
    ("what the fuck", 0.9, 0.0),
    ("救命，我好害怕", 0.0, 0.96),
    ("我想查一下话费", 0.0, 0.0),
    ("shell company", 0.0, 0.0),  # "hell" only as a word
])
def test_text_cues(text: str, anger: float, distress: float) -> None:
    a, d, _cues = text_cues(text)
    assert (round(a, 2), round(d, 2)) == (anger, distress)


def test_voice_or_words_alone_can_carry_a_turn_and_together_add_up() -> None:
    t = EmotionTracker()
    calm = t.add(CALM, "我想查话费")
    loud = t.add(FURIOUS, "我想查话费")
    words = t.add(CALM, "我要投诉，受够了")
    both = t.add(FURIOUS, "我要投诉，受够了")
    assert calm.anger < 0.05
    assert loud.anger == pytest.approx(0.75 * 0.97, abs=1e-6) and loud.label == "angry"
    assert words.anger > 0.6 and words.label == "angry"  # calmly said, still a complaint
    assert both.anger > max(loud.anger, words.anger)


def test_soothing_and_escalation_policy() -> None:
    t = EmotionTracker(EmotionPolicy(escalate_turns=2))
    t.add(CALM, "hello")
    assert not t.soothing and not t.escalate
    t.add(FURIOUS, "")
    assert t.soothing and not t.escalate and t.facts()["angry_turns"] == 1
    t.add(CALM, "ok")  # a calm turn breaks the run
    assert t.facts()["angry_turns"] == 0 and t.soothing  # soothing stays for the call
    t.add(FURIOUS, "")
    t.add(FURIOUS, "")
    assert t.escalate
    f = t.facts()
    assert f["peak_anger"] == pytest.approx(0.7275, abs=1e-3) and f["label"] == "angry"
    assert f["trend"] == pytest.approx(f["anger"] - t.turns[-3].anger, abs=1e-3)


def test_sensitivity_scales_scores() -> None:
    dull, keen = EmotionTracker(EmotionPolicy(sensitivity=0.5)), EmotionTracker(
        EmotionPolicy(sensitivity=1.3))
    assert dull.add(FURIOUS, "").anger < 0.6 <= keen.add(FURIOUS, "").anger


def test_turn_without_audio_uses_words_only() -> None:
    turn = EmotionTracker().add(None, "this is ridiculous")
    assert turn.prosody_anger is None and turn.anger == pytest.approx(0.9 * 0.7)


# ---------------------------------------------------------------- the engine acting on it
@pytest.fixture(scope="module")
def engine() -> DialogEngine:
    return DialogEngine(load_dialplan(HOTLINE).plan)


def test_soothing_apologises_once_and_calms_the_menu(engine: DialogEngine) -> None:
    start = engine.start({"caller": "1"})
    upset = {"emotion": {"soothing": True, "anger": 0.7}}
    step = engine.step(start.state, CallerInput("speech", "啊啊啊"), upset)
    says = [a.text for a in step.actions if isinstance(a, Say)]
    assert says[0].startswith("非常抱歉给您带来不便")
    assert says[-1].startswith("我明白，我们一步一步来")  # the menu's soothing wording
    again = engine.step(step.state, CallerInput("speech", "嗯嗯嗯"), upset)
    texts = [a.text for a in again.actions if isinstance(a, Say)]
    assert not any(t.startswith("非常抱歉给您带来不便") for t in texts)  # apology once
    assert step.state.soothing and again.state.soothing


def test_repeated_anger_escalates_to_the_dialplans_node(engine: DialogEngine) -> None:
    start = engine.start({"caller": "1"})
    step = engine.step(start.state, CallerInput("speech", "查话费"),
                       {"emotion": {"escalate": True}})
    assert step.state.node == "upset_caller" and step.state.ended
    assert step.state.variables["escalation_reason"] == "emotion"
    assert step.understanding.intent == "emotion_escalation"
    assert step.actions[-1] == Transfer("queue:general", "caller_upset")
