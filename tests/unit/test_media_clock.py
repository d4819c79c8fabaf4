"""The media clock rate (`sip.clock_rate`, issue 22): the setting reaches the SIP endpoint,
and every consumer of the call's frames works at 8 kHz as at 16 kHz: the media buffers,
prompts rendered at the call's rate, the endpointer, what the recogniser gets (the
utterance at the clock rate, resampled by Whisper once), the recording and the echo gate."""

from __future__ import annotations

import functools
import wave

import numpy as np
import pjsua2 as pj
import pytest
from pydantic import ValidationError

from audio_models.frames import AudioFrame
from audio_models.prompt_cache import PromptCache
from audio_models.tts import TTSRouter
from audio_models.tts_espeak import EspeakTTS
from ivr.config import load_settings
from ivr.config_sections import SipSettings
from ivr.sip_edge import sip_config
from telephony.media import CallMedia
from telephony.pcm import write_frame
from tests.audio_data import load_clip
from tests.unit import call_runner
from tests.unit.call_runner import CALL_ID, CLIP, MENU_EN, Call, run_call
from tests.unit.fakes import FakeMedia, FakePrompts, transcript

NARROW = 8000


# ---------------------------------------------------------------- the setting
def test_clock_rate_defaults_to_16k_and_is_read_from_the_environment() -> None:
    assert load_settings(environ={}).sip.clock_rate == 16000
    assert load_settings(environ={"IVR_SIP__CLOCK_RATE": "8000"}).sip.clock_rate == NARROW


@pytest.mark.parametrize("rate", [11025, 22050, 48000, 0])
def test_clock_rate_other_than_8k_or_16k_is_refused(rate: int) -> None:
    with pytest.raises(ValidationError, match="clock_rate"):
        SipSettings(clock_rate=rate)


@pytest.mark.parametrize("rate", [NARROW, 16000])
def test_the_endpoint_config_gets_the_clock_rate(rate: int) -> None:
    assert sip_config(SipSettings(clock_rate=rate)).clock_rate == rate


# ---------------------------------------------------------------- the media buffers
def test_call_media_at_8k_moves_20_ms_frames_of_320_bytes() -> None:
    m = CallMedia(NARROW)
    assert m.frame_bytes == 320
    short = pj.MediaFrame()  # a short frame from the bridge is padded, never passed on short
    short.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
    write_frame(short, b"\x01\x00" * 50)
    short.size = 100
    m._on_frame_received(short)
    (got,) = m.read_frames()
    assert (got.sample_rate, got.pcm) == (NARROW, b"\x01\x00" * 50 + bytes(220))
    with pytest.raises(ValueError, match="8000 Hz"):
        m.play(AudioFrame(bytes(640), 16000))
    pcm = (np.arange(400) % 1000).astype("<i2").tobytes()  # 50 ms: three frames, the last padded
    pb = m.play(AudioFrame(pcm, NARROW))
    sent = [m.next_tx_pcm(float(i)) for i in range(4)]
    assert [len(s) for s in sent] == [320] * 4
    assert b"".join(sent[:3])[: len(pcm)] == pcm
    assert sent[3] == bytes(320)  # silence after the prompt
    assert pb.done and not pb.interrupted


# ---------------------------------------------------------------- prompts at the call's rate
def test_prompts_are_rendered_once_at_the_clock_rate(tmp_path) -> None:
    """The cache resamples the voice's 22.05 kHz output to the call's rate; the 8 and 16 kHz
    renderings are the same prompt (same length) under different keys."""
    router = TTSRouter([EspeakTTS("zh")])
    secret = b"s" * 32
    narrow = PromptCache(router, NARROW, tmp_path, secret=secret)
    wide = PromptCache(router, 16000, tmp_path, secret=secret)
    a = narrow.get_sync("请按1", "zh-CN")
    b = wide.get_sync("请按1", "zh-CN")
    assert (a.sample_rate, b.sample_rate) == (NARROW, 16000)
    assert a.duration == pytest.approx(b.duration, abs=0.01) and a.duration > 0.3
    assert narrow.key("请按1", "zh-CN") != wide.key("请按1", "zh-CN")
    narrow.close()
    wide.close()


# ---------------------------------------------------------------- a call at 8 kHz
def _run_at(rate: int, tmp_path, clip: AudioFrame) -> Call:
    """The hotline call of test_session_speech (key 9, speech over the English menu) with
    the media clock and the prompts at `rate`."""
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("9")
        await c.wait_event("prompt", node="main_menu", language="en-US")
        c.say(clip)  # while the English menu is playing

    said = "Waiting to speak with a representative."
    mp = pytest.MonkeyPatch()
    mp.setattr(call_runner, "FakeMedia", functools.partial(FakeMedia, clock_rate=rate))
    mp.setattr(call_runner, "FakePrompts", functools.partial(FakePrompts, rate=rate))
    try:
        return run_call(tmp_path, scenario, asr_script=[transcript(said, "en", 0.9, 0.02)],
                        speed=0.05)
    finally:
        mp.undo()


def test_a_call_at_8k_barges_in_recognises_and_records_at_the_clock_rate(tmp_path) -> None:
    clip = load_clip(*CLIP)  # real 8 kHz read speech, as a PCMU line delivers it
    assert clip.sample_rate == NARROW
    c = _run_at(NARROW, tmp_path, clip)

    assert c.session._listening._echo is not None  # the echo gate runs at 8 kHz too
    assert c.events("barge_in", cause="speech")[0]["node"] == "main_menu"
    assert c.media.playback_of(c.prompts.rendered[(MENU_EN, "en-US")]).interrupted is True
    # the endpointer cut the utterance at the clock rate; the recogniser resamples it, once
    audio, language, _ = c.asr.calls[0]
    assert (audio.sample_rate, language) == (NARROW, "en")
    assert clip.duration < audio.duration < clip.duration + 1.0
    assert c.row()["turns"][1]["intent"] == "agent"

    with wave.open(str(c.settings.recordings_dir / f"{CALL_ID}.wav"), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, NARROW)
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    caller = np.abs(data[:, 0].astype(np.int32))
    assert caller.max() > 1000  # the caller's speech on the left, at 8 kHz
    assert np.abs(data[:, 1]).max() > 1000  # the prompts on the right


def test_the_utterance_lasts_as_long_at_either_clock_rate(tmp_path) -> None:
    """The same speech through a 16 kHz and an 8 kHz clock: the endpointer cuts utterances
    of the same length (within a frame or two), so turn timing does not depend on the rate."""
    from audio_models.resample import resample

    clip = load_clip(*CLIP)
    narrow = _run_at(NARROW, tmp_path / "narrow", clip).asr.calls[0][0]
    wide = _run_at(16000, tmp_path / "wide", resample(clip, 16000)).asr.calls[0][0]
    assert wide.sample_rate == 16000
    assert narrow.duration == pytest.approx(wide.duration, abs=0.1)
