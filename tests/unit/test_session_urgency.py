"""How a call's recognitions are scheduled among the machine's model calls: a speculative
pass is low priority with a deadline at the end of the end-of-speech silence, a final one is
high priority; a speculative pass the machine had no time for (DeadlineMissed) is recognised
again at the end of speech, with no error."""

from __future__ import annotations

import asyncio

from audio_models.inference import FINAL, SPECULATIVE, DeadlineMissed
from tests.unit.call_runner import Call, run_call, speech_clip
from tests.unit.fakes import transcript
from tests.unit.test_session_early import AGENT, Timeline, english_menu, silence


def test_speculative_then_final_urgency_and_a_dropped_speculation(tmp_path):
    async def scenario(c: Call) -> None:
        await english_menu(c)
        tl = Timeline()
        tl.feed(c, silence(0.5), speech_clip(), silence(0.3))  # a pause: speculation
        await asyncio.sleep(0.1)
        tl.feed(c, silence(0.6))  # the end of speech
        await c.wait_event("turn", count=2)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario,
                 asr_script=[DeadlineMissed("busy"), transcript(AGENT)], speed=0.01,
                 early_commit_score=0)
    (spec_prio, spec_deadline), (final_prio, final_deadline) = c.asr.urgency
    assert (spec_prio, final_prio) == (SPECULATIVE, FINAL)
    assert spec_deadline is not None and final_deadline is not None
    assert 0.6 < final_deadline - spec_deadline < 1.4  # pause + 0.7 s silence vs EOS + 2 s
    assert [e["why"] for e in c.events("asr_early_discarded")] == ["machine_busy"]
    assert not c.events("error")
    turn = c.row()["turns"][1]
    assert (turn["caller_text"], turn["intent"]) == (AGENT, "agent")
