"""Emotion features on real EmoDB speech: fixed length, never NaN, gain invariant, cheap."""

from __future__ import annotations

import time

import numpy as np
import pytest

from audio_models.emotion.baseline import PopulationStats
from audio_models.emotion.features import (
    FEATURE_NAMES,
    N_FEATURES,
    feature_index,
    prosody_features,
    warm_up,
)
from audio_models.emotion.features import features_from_samples as prosody_features_float
from audio_models.emotion.model import EmotionModel
from audio_models.frames import AudioFrame, concat
from audio_models.resample import resample
from tests.audio_data import load_clip, manifest

CORPUS = "emotion_emodb_de"
VOICED = feature_index("voiced_fraction")


@pytest.fixture(scope="module", autouse=True)
def _warm():
    warm_up()


@pytest.fixture(scope="module")
def within_std() -> np.ndarray:
    """Within-speaker spread of each feature over each EmoDB speaker's clips, all emotions
    (how much a feature moves between one speaker's turns; the model's priors are narrower,
    calm speech only, so they are not the scale of this test)."""
    rows = manifest(CORPUS)
    feats = np.array([prosody_features(load_clip(CORPUS, r["path"])) for r in rows])
    return np.sqrt(PopulationStats.from_speakers(feats, [r["speaker"] for r in rows]).within_var)


def _clip(name: str) -> AudioFrame:
    return load_clip(CORPUS, f"audio/{name}.flac")


def _scaled(frame: AudioFrame, db: float) -> AudioFrame:
    return AudioFrame.from_float32(frame.to_float32() * 10 ** (db / 20), frame.sample_rate)


def test_names_and_length():
    assert len(FEATURE_NAMES) == N_FEATURES == len(set(FEATURE_NAMES)) == 57
    v = prosody_features(_clip("03a01Wa"))
    assert v.shape == (N_FEATURES,) and v.dtype == np.float32
    assert np.all(np.isfinite(v))
    assert 0.2 < v[VOICED] <= 1.0
    assert sum(n.startswith("mfcc") and n.endswith("_mean") for n in FEATURE_NAMES) == 13


@pytest.mark.parametrize(
    "audio",
    [
        AudioFrame.silence(2.0, 8000),
        AudioFrame.silence(0.1, 8000),
        AudioFrame(b"", 8000),
        AudioFrame(bytes(2 * 7), 8000),
        AudioFrame.from_float32(
            0.3 * np.random.default_rng(1).standard_normal(16000).astype(np.float32), 8000),
        AudioFrame.from_float32(
            1e-4 * np.random.default_rng(2).standard_normal(16000).astype(np.float32), 16000),
        AudioFrame.from_float32(np.full(8000, 0.5, np.float32), 8000),  # DC only
    ],
    ids=["silence-2s", "silence-0.1s", "empty", "7-samples", "white-noise", "faint-noise-16k",
         "dc"],
)
def test_silence_noise_and_tiny_input_give_valid_vectors(audio):
    v = prosody_features(audio)
    assert v.shape == (N_FEATURES,)
    assert np.all(np.isfinite(v))
    assert v[VOICED] < 0.05  # nothing voiced


def test_short_real_speech_is_valid():
    clip = _clip("03a01Wa")
    for seconds in (0.1, 0.3):
        part = AudioFrame(clip.pcm[int(0.6 * 8000) * 2 : int((0.6 + seconds) * 8000) * 2], 8000)
        v = prosody_features(part)
        assert v.shape == (N_FEATURES,) and np.all(np.isfinite(v))


def test_gain_invariance(within_std):
    """The same clip 12 dB quieter gives nearly the same vector and the same scores.

    Float scaling alone changes nothing (gain normalisation); what remains is 16-bit
    requantisation flipping a few frames across the activity / voicing thresholds."""
    model = EmotionModel()
    p95 = []
    for row in manifest(CORPUS)[::10]:
        clip = load_clip(CORPUS, row["path"])
        ref = prosody_features(clip)
        est = model.estimate_sync(model.new_baseline().normalise(ref))
        for db, tol in ((-12.0, 0.05), (-24.0, 0.1)):
            v = prosody_features(_scaled(clip, db))
            dz = np.abs(v - ref) / within_std
            if db == -12.0:
                p95.append(np.percentile(dz, 95))
                worst = FEATURE_NAMES[int(np.argmax(dz))]
                assert dz.max() < 0.5, f"{row['path']}: {worst} moved {dz.max():.2f} std"
            e = model.estimate_sync(model.new_baseline().normalise(v))
            for k, p in est.probabilities.items():
                assert abs(e.probabilities[k] - p) < tol, (row["path"], db, k)
            assert abs(e.arousal - est.arousal) < tol
        float_only = prosody_features_float(clip.to_float32() * 10 ** (-12 / 20))
        np.testing.assert_allclose(float_only, ref, rtol=1e-4, atol=1e-4)
    assert np.median(p95) < 0.03


def test_input_rate_does_not_matter_much(within_std):
    clip = _clip("03a01Wa")
    ref = prosody_features(clip)
    for rate in (16000, 48000):
        v = prosody_features(resample(clip, rate))
        assert np.median(np.abs(v - ref) / within_std) < 0.05
        assert np.max(np.abs(v - ref) / within_std) < 0.5


def test_pitch_of_a_harmonic_tone():
    # a synthetic periodic signal only checks the F0 measurement itself (not an accuracy figure)
    t = np.arange(16000) / 8000
    tone = sum(0.2 / k * np.sin(2 * np.pi * 150 * k * t) for k in range(1, 8))
    v = prosody_features(AudioFrame.from_float32(tone.astype(np.float32), 8000))
    assert v[feature_index("f0_p50_st")] == pytest.approx(12 * np.log2(1.5), abs=0.2)
    assert v[feature_index("voiced_fraction")] > 0.9
    assert v[feature_index("f0_std_st")] < 0.2


def test_female_speakers_have_higher_f0_than_male():
    rows = manifest(CORPUS)
    f0 = {"F": [], "M": []}
    for r in rows:
        if r["label"] == "neutral":
            v = prosody_features(load_clip(CORPUS, r["path"]))
            f0[r["gender"]].append(v[feature_index("f0_p50_st")])
    assert np.median(f0["F"]) > np.median(f0["M"]) + 5  # ~an octave apart in practice


def test_cost_per_3s_utterance(capsys):
    rows = [r for r in manifest(CORPUS)][:40]
    clips = [load_clip(CORPUS, r["path"]) for r in rows]
    times = []
    for a, b in zip(clips[0::2], clips[1::2], strict=True):
        joined = concat([a, b])
        frame = AudioFrame(joined.pcm[: 3 * 8000 * 2], 8000)
        t0 = time.thread_time()  # CPU of this thread: other jobs on the machine do not count
        prosody_features(frame)
        times.append(time.thread_time() - t0)
    ms = np.array(times) * 1000
    with capsys.disabled():
        print(f"\n[emotion features] 3.0 s utterance: median {np.median(ms):.1f} ms CPU, "
              f"max {ms.max():.1f} ms (bound 50 ms; scripts/train_emotion's figure is the "
              "benchmark)")
    assert np.median(ms) < 50


def test_warm_up_is_repeatable():
    assert warm_up() < 5.0
