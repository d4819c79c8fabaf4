"""TTS engines, routing and recorded prompt files (broken fixtures included)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from audio_models.frames import AudioFrame
from audio_models.protocols import ModelError, TTSCapabilities, TTSEngine
from audio_models.tts import (
    AudioFileError,
    EspeakTTS,
    PiperTTS,
    TTSRouter,
    load_audio_file,
    mandarin_to_pinyin,
)
from tests.audio_data import FIXTURES

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="no espeak-ng")


def _rms_dbfs(frame: AudioFrame) -> float:
    x = frame.to_float32()
    return 20 * np.log10(np.sqrt(np.mean(x**2)) + 1e-12)


@pytest.fixture(scope="module")
def piper() -> PiperTTS:
    return PiperTTS()


def test_piper_renders_plausible_english(piper):
    assert isinstance(piper, TTSEngine)
    assert piper.capabilities.languages == ("en",) and piper.capabilities.sample_rate == 22050
    piper.synthesize_sync("Warm up.", "en")
    t0 = time.perf_counter()
    audio = piper.synthesize_sync("Thank you for calling. How can I help you today?", "en-US")
    elapsed = time.perf_counter() - t0
    print(f"\nPiper: {elapsed * 1000:.0f} ms for {audio.duration:.2f} s of audio")
    assert audio.sample_rate == 22050
    assert 1.5 < audio.duration < 6.0
    assert _rms_dbfs(audio) > -35
    assert np.abs(audio.to_float32()).max() < 0.95  # headroom for resampling
    with pytest.raises(ValueError):
        piper.synthesize_sync("你好", "zh")


def test_piper_missing_voice_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        PiperTTS(tmp_path / "nope.onnx")


@needs_espeak
@pytest.mark.parametrize(
    ("voice", "text", "min_s", "max_s"),
    [
        ("zh", "您好，欢迎致电。请按1号键查询余额。", 1.5, 8.0),
        ("yue", "你好，歡迎致電。請按一字。", 1.0, 8.0),
    ],
)
def test_espeak_renders_chinese(voice, text, min_s, max_s):
    tts = EspeakTTS(voice)
    assert isinstance(tts, TTSEngine)
    tts.synthesize_sync(text[:3], voice)
    t0 = time.perf_counter()
    audio = tts.synthesize_sync(text, voice)
    print(f"\nespeak {voice}: {(time.perf_counter() - t0) * 1000:.0f} ms, {audio.duration:.2f} s")
    assert audio.sample_rate == 22050
    assert min_s < audio.duration < max_s
    assert _rms_dbfs(audio) > -40
    assert np.abs(audio.to_float32()).max() < 0.9  # -3 dB gain keeps it off full scale


def test_mandarin_text_becomes_tone_numbered_pinyin():
    assert mandarin_to_pinyin("您好，请按1号键。") == "nin2 hao3, qing3 an4 yi1 hao4 jian4."
    assert mandarin_to_pinyin("共205元") == "gong4 liang3 bai3 ling2 wu3 yuan2"
    assert mandarin_to_pinyin("拨13800") == "bo1 yi1 san1 ba1 ling2 ling2"  # long: digit by digit
    assert mandarin_to_pinyin("2024年") == "er4 ling2 er4 si4 nian2"
    assert mandarin_to_pinyin("女") == "nv3"
    assert mandarin_to_pinyin("“VIP”客户？") == "VIP ke4 hu4?"


@needs_espeak
def test_espeak_rejects_what_it_cannot_say():
    with pytest.raises(ValueError):
        EspeakTTS("fr")
    with pytest.raises(ValueError, match="nothing to say"):
        EspeakTTS("zh").synthesize_sync("……", "zh")
    with pytest.raises(ValueError):
        EspeakTTS("zh").synthesize_sync("hello", "yue")


class _Fake:
    def __init__(self, languages: tuple[str, ...], rate: int = 16000) -> None:
        self.capabilities = TTSCapabilities(languages=languages, sample_rate=rate)
        self.voice_id = "fake:" + "+".join(languages)

    def synthesize_sync(self, text: str, language: str) -> AudioFrame:
        return AudioFrame.silence(0.1, self.capabilities.sample_rate)


def test_router_picks_by_language_prefix():
    en, zh, yue = _Fake(("en",)), _Fake(("zh",)), _Fake(("yue",))
    router = TTSRouter([en, zh, yue, _Fake(("en",))])
    assert router.engine_for("en-US") is en
    assert router.engine_for("zh-CN") is zh
    assert router.engine_for("zh_TW") is zh
    assert router.engine_for("yue") is yue
    assert router.engine_for("zh-HK") is yue
    assert router.synthesize_sync("x", "EN-gb").sample_rate == 16000
    with pytest.raises(ValueError, match="no TTS engine speaks 'de-DE'.*en, zh, yue"):
        router.engine_for("de-DE")


def test_load_audio_file_reads_flac_and_mixes_down(tmp_path):
    frame = load_audio_file(FIXTURES / "ok_LJ001-0002.flac")
    assert frame.sample_rate == 8000 and frame.duration == pytest.approx(1.8995, abs=1e-3)
    import soundfile as sf

    stereo = np.stack([np.full(800, 0.5), np.zeros(800)], axis=1)
    sf.write(tmp_path / "st.wav", stereo, 8000, subtype="PCM_16")
    mono = load_audio_file(tmp_path / "st.wav")
    assert mono.samples == 800
    assert mono.to_float32()[0] == pytest.approx(0.25, abs=1e-3)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("truncated_LJ001-0002.flac", "cannot read"),
        ("truncated_LJ001-0002.wav", "truncated"),
        ("truncated_header.flac", "cannot read"),
        ("garbage.wav", "cannot read"),
        ("empty.wav", "no samples"),
        ("missing.wav", "does not exist"),
    ],
)
def test_broken_audio_files_name_the_file(name, message):
    with pytest.raises(AudioFileError, match=message) as info:
        load_audio_file(FIXTURES / name)
    assert name in str(info.value)
    assert isinstance(info.value, ValueError)


def test_real_recorded_prompt_if_installed():
    prompt = Path("/usr/share/asterisk/sounds/en_US_f_Allison/vm-goodbye.wav")
    if not prompt.is_file():
        prompt = Path("/usr/share/asterisk/sounds/en/vm-goodbye.wav")
    if not prompt.is_file():
        pytest.skip("asterisk-core-sounds-en-wav not installed")
    frame = load_audio_file(prompt)
    assert frame.sample_rate == 8000 and 0.3 < frame.duration < 3
