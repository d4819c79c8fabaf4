"""Emotion model on real EmoDB recordings: per-speaker ordering of anger and arousal, the
per-caller baseline, the ONNX export against the training-time prediction, errors, and
reproducible training."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from audio_models.emotion.baseline import PopulationStats, SpeakerBaseline, speaker_zscores
from audio_models.emotion.features import N_FEATURES, feature_index, prosody_features, warm_up
from audio_models.emotion.model import MODEL_DIR, EmotionEstimate, EmotionModel
from audio_models.frames import AudioFrame
from audio_models.protocols import ModelError
from tests.audio_data import load_clip, manifest, shared_data_dir

CORPUS = "emotion_emodb_de"
REPO = Path(__file__).resolve().parents[2]


@cache
def corpus() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features [n, F], labels, speakers) of every EmoDB clip, sorted by path."""
    warm_up()
    rows = sorted(manifest(CORPUS), key=lambda r: r["path"])
    feats = np.array([prosody_features(load_clip(CORPUS, r["path"])) for r in rows])
    return (feats, np.array([r["label"] for r in rows]), np.array([r["speaker"] for r in rows]))


@pytest.fixture(scope="module")
def model() -> EmotionModel:
    return EmotionModel()


def _leave_one_out_z(x: np.ndarray, calm: np.ndarray, stats: PopulationStats,
                     prior_turns: float) -> np.ndarray:
    """Each row normalised by a SpeakerBaseline fed all the *other* calm rows (same speaker):
    a caller whose earlier turns were calm, as the model is trained (`neutral_zscores`)."""
    z = np.empty_like(x, dtype=np.float32)
    for i in range(len(x)):
        b = SpeakerBaseline(stats, prior_turns)
        for j in np.flatnonzero(calm):
            if j != i:
                b.update(x[j])
        z[i] = b.normalise(x[i])
    return z


# ------------------------------------------------------------------ real recordings
def test_anger_and_arousal_higher_for_each_speakers_anger_clips(model):
    feats, labels, speakers = corpus()
    for s in sorted(set(speakers)):
        sel = speakers == s
        z = _leave_one_out_z(feats[sel], labels[sel] == "neutral", model.priors["de"],
                             model.prior_turns)
        ests = [model.estimate_sync(row) for row in z]
        lab = labels[sel]
        anger = np.array([e.anger for e in ests])
        arousal = np.array([e.arousal for e in ests])
        a, n = lab == "anger", lab == "neutral"
        assert anger[a].mean() > anger[n].mean() + 0.3, s
        assert arousal[a].mean() > arousal[n].mean() + 0.3, s
        sad = lab == "sadness"
        distress = np.array([e.distress for e in ests])
        assert distress[sad].mean() > distress[n].mean(), s


def test_held_out_speaker_still_ordered():
    """The shipped model has seen every speaker; retrain without each one and check it."""
    pytest.importorskip("sklearn")
    from audio_models.emotion import training

    feats, labels, speakers = corpus()
    for s in sorted(set(speakers)):
        test = speakers == s
        p = training.fit(feats[~test], labels[~test], speakers[~test])
        z = _leave_one_out_z(feats[test], labels[test] == "neutral", p.priors["de"],
                             p.prior_turns)
        probs, arousal = training.predict(z, p)
        anger = probs[:, p.classes.index("angry")]
        lab = labels[test]
        assert anger[lab == "anger"].mean() > anger[lab == "neutral"].mean() + 0.3, s
        assert arousal[lab == "anger"].mean() > arousal[lab == "neutral"].mean() + 0.3, s


def test_analyse_a_call(model):
    """Turn by turn on one speaker's real clips: calm turns, then an angry one (read as
    angry, and not added to the baseline, which is the caller's calm level)."""
    rows = {r["path"]: r for r in manifest(CORPUS) if r["speaker"] == "03"}
    neutral = [p for p, r in sorted(rows.items()) if r["label"] == "neutral"][:4]
    angry = [p for p, r in sorted(rows.items()) if r["label"] == "anger"][0]
    baseline = model.new_baseline()
    estimates = [model.analyse(load_clip(CORPUS, p), baseline) for p in neutral]
    assert baseline.turns == 4
    last = model.analyse(load_clip(CORPUS, angry), baseline)
    assert baseline.turns == 4
    assert last.anger > 0.5 and last.label == "angry"
    assert last.anger > max(e.anger for e in estimates)
    assert last.arousal > max(e.arousal for e in estimates)
    assert 0 < last.processing_time < 0.5


def test_analyse_normalises_before_updating(model):
    clip = load_clip(CORPUS, "audio/03a01Wa.flac")
    features = prosody_features(clip)
    baseline = model.new_baseline()
    est = model.analyse(clip, baseline)
    expected = model.estimate_sync(model.new_baseline().normalise(features))
    assert est.probabilities == pytest.approx(expected.probabilities, abs=1e-6)
    assert baseline.turns == 1
    np.testing.assert_allclose(baseline.caller_mean, features, rtol=1e-6)
    # a silent turn is scored but does not move the caller's baseline
    quiet = model.analyse(AudioFrame.silence(1.0, 8000), baseline)
    assert baseline.turns == 1 and not quiet.reliable
    assert sum(quiet.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    # update=False leaves the baseline alone
    model.analyse(clip, baseline, update=False)
    assert baseline.turns == 1


# ------------------------------------------------------------------ baseline
def _stats(n: int = N_FEATURES) -> PopulationStats:
    rng = np.random.default_rng(0)
    within = rng.uniform(0.5, 2.0, n)
    return PopulationStats(rng.normal(0, 3, n), within, rng.uniform(0.5, 4.0, n), 0.05 * within)


def test_first_turn_uses_the_population_prior():
    st = _stats()
    b = SpeakerBaseline(st)
    x = np.random.default_rng(1).normal(0, 3, N_FEATURES)
    np.testing.assert_allclose(b.normalise(x), (x - st.mean) / np.sqrt(st.total_var), rtol=1e-5)
    assert b.weights == (0.0, 0.0)


def test_blending_weights_and_formula():
    st = _stats()
    k = 3.0
    b = SpeakerBaseline(st, prior_turns=k)
    rows = np.random.default_rng(2).normal(1.0, 2.0, (6, N_FEATURES))
    for n, row in enumerate(rows, 1):
        b.update(row)
        w_mean, w_var = b.weights
        assert w_mean == pytest.approx(n / (n + k))
        assert w_var == pytest.approx((n - 1) / (n - 1 + k))
        seen = rows[:n]
        caller_var = seen.var(axis=0, ddof=1) if n > 1 else np.zeros(N_FEATURES)
        mean = (1 - w_mean) * st.mean + w_mean * seen.mean(axis=0)
        var = (1 - w_var) * (st.within_var + (1 - w_mean) * st.between_var) + w_var * caller_var
        got_mean, got_var = b.mean_var()
        np.testing.assert_allclose(got_mean, mean, rtol=1e-9)
        np.testing.assert_allclose(got_var, np.maximum(var, st.min_var), rtol=1e-9)
    assert b.turns == 6
    b.reset()
    assert b.turns == 0 and b.weights == (0.0, 0.0)


def test_no_prior_reproduces_training_normalisation():
    feats, _, speakers = corpus()
    sel = speakers == "08"
    st = PopulationStats.from_speakers(feats, speakers)
    b = SpeakerBaseline(st, prior_turns=0)
    for row in feats[sel]:
        b.update(row)
    np.testing.assert_allclose(b.normalise(feats[sel]),
                               speaker_zscores(feats[sel], ["08"] * int(sel.sum()), st),
                               rtol=1e-5, atol=1e-5)


def test_uniformly_shifted_speaker_gets_the_same_z_scores(model):
    """A speaker whose every feature is offset (higher pitch, brighter voice...) looks the
    same after normalisation by their own turns; the prior's pull shrinks with turns."""
    feats, _, speakers = corpus()
    x = feats[speakers == "11"].astype(np.float64)
    offset = np.zeros(N_FEATURES)
    offset[[feature_index(n) for n in ("f0_mean_st", "f0_p10_st", "f0_p50_st", "f0_p90_st")]] = 5
    offset[feature_index("centroid_mean_hz")] = 300.0
    shifted = x + offset

    def zs(rows, prior_turns):
        b = SpeakerBaseline(model.population, prior_turns)
        for r in rows[:-1]:
            b.update(r)
        return b.normalise(rows[-1])

    np.testing.assert_allclose(zs(shifted, 0), zs(x, 0), atol=1e-4)
    gap_few = np.abs(zs(shifted[-3:], 3) - zs(x[-3:], 3)).max()
    gap_many = np.abs(zs(shifted, 3) - zs(x, 3)).max()
    assert gap_many < 0.15 * gap_few
    assert gap_many < 0.3


def test_louder_recording_gets_the_same_scores(model):
    """The same speaker recorded 12 dB quieter: the same baseline, the same scores."""
    rows = [r for r in sorted(manifest(CORPUS), key=lambda r: r["path"]) if r["speaker"] == "14"]
    clips = [load_clip(CORPUS, r["path"]) for r in rows[:12]]
    quiet = [AudioFrame.from_float32(c.to_float32() * 10 ** (-12 / 20), 8000) for c in clips]
    b1, b2 = model.new_baseline(), model.new_baseline()
    for c1, c2 in zip(clips, quiet, strict=True):
        e1, e2 = model.analyse(c1, b1), model.analyse(c2, b2)
        assert e1.anger == pytest.approx(e2.anger, abs=0.05)
        assert e1.arousal == pytest.approx(e2.arousal, abs=0.05)


def test_baseline_rejects_bad_input():
    b = SpeakerBaseline(_stats())
    with pytest.raises(ValueError):
        b.update(np.zeros(N_FEATURES - 1))
    with pytest.raises(ValueError):
        b.update(np.full(N_FEATURES, np.nan))
    with pytest.raises(ValueError):
        SpeakerBaseline(_stats(), prior_turns=-1)


# ------------------------------------------------------------------ ONNX model
def test_model_loads_and_outputs_are_probabilities(model):
    caps = model.capabilities
    assert caps.classes == ("neutral", "angry", "sad", "fearful")
    assert caps.n_features == N_FEATURES and caps.sample_rate == 8000
    z = np.random.default_rng(3).normal(0, 2, (64, N_FEATURES)).astype(np.float32)
    probs, arousal = model.predict_batch(z)
    assert probs.shape == (64, 4) and arousal.shape == (64,)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.all((arousal >= 0) & (arousal <= 1))
    est = model.estimate_sync(z[0])
    assert isinstance(est, EmotionEstimate)
    assert est.anger == est.probabilities["angry"]
    assert est.distress == pytest.approx(est.probabilities["sad"] + est.probabilities["fearful"])
    assert est.label == max(est.probabilities, key=est.probabilities.get)
    assert set(est.as_facts()) >= {"anger", "distress", "arousal"}
    with pytest.raises(ValueError):
        model.predict_batch(np.zeros((1, 3), np.float32))


def test_onnx_matches_training_time_prediction(model):
    pytest.importorskip("sklearn")
    from audio_models.emotion import training

    feats, labels, speakers = corpus()
    p = training.fit(feats, labels, speakers)
    z = speaker_zscores(feats, speakers, p.priors["de"])
    z = np.concatenate([z, 3 * z[:50]])  # also beyond the clip range
    probs_np, arousal_np = training.predict(z, p)
    probs, arousal = model.predict_batch(z)
    np.testing.assert_allclose(probs, probs_np, atol=1e-5)
    np.testing.assert_allclose(arousal, arousal_np, atol=1e-5)
    # the German prior is EmoDB's own (the others need the calm speech sets: see
    # test_training_reproduces_the_shipped_model)
    np.testing.assert_allclose(model.priors["de"].mean, p.priors["de"].mean, rtol=1e-12)


def _copy_model(tmp_path: Path) -> Path:
    d = tmp_path / "model"
    shutil.copytree(MODEL_DIR, d)
    return d


def test_missing_model_file(tmp_path):
    d = _copy_model(tmp_path)
    (d / "emotion.onnx").unlink()
    with pytest.raises(ModelError, match="missing"):
        EmotionModel(d)
    with pytest.raises(ModelError, match="missing"):
        EmotionModel(tmp_path / "nowhere")


@pytest.mark.parametrize("damage", ["onnx-garbage", "onnx-truncated", "json-garbage",
                                    "json-features", "json-population"])
def test_corrupt_model_files(tmp_path, damage):
    d = _copy_model(tmp_path)
    onnx_file, json_file = d / "emotion.onnx", d / "emotion.json"
    meta = json.loads(json_file.read_text())
    if damage == "onnx-garbage":
        onnx_file.write_bytes(b"not an onnx model at all")
    elif damage == "onnx-truncated":
        onnx_file.write_bytes(onnx_file.read_bytes()[:300])
    elif damage == "json-garbage":
        json_file.write_text("{ nope")
    elif damage == "json-features":
        meta["feature_names"][0] = "something_else"
        json_file.write_text(json.dumps(meta))
    else:
        meta["population"]["within_var"] = meta["population"]["within_var"][:-1]
        json_file.write_text(json.dumps(meta))
    with pytest.raises(ModelError):
        EmotionModel(d)


def test_onnx_cost(model, capsys):
    import time

    z = np.zeros(N_FEATURES, np.float32)
    for _ in range(20):
        model.estimate_sync(z)
    t0 = time.perf_counter()
    for _ in range(500):
        model.estimate_sync(z)
    us = (time.perf_counter() - t0) / 500 * 1e6
    with capsys.disabled():
        print(f"\n[emotion model] estimate_sync: {us:.0f} us per turn")
    assert us < 2000


# ------------------------------------------------------------------ training
def test_training_reproduces_the_shipped_model(tmp_path):
    """scripts/train_emotion (train on all data + export, no evaluation; ~6 s) writes the
    shipped emotion.onnx and emotion.json byte for byte."""
    pytest.importorskip("sklearn")
    pytest.importorskip("onnx")
    data = shared_data_dir() / CORPUS
    out = tmp_path / "model"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "train_emotion"), "--skip-eval",
         "--data", str(data), "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "feature cost per 3.0 s utterance" in proc.stdout
    assert (out / "emotion.json").read_bytes() == (MODEL_DIR / "emotion.json").read_bytes()
    new, shipped = (out / "emotion.onnx").read_bytes(), (MODEL_DIR / "emotion.onnx").read_bytes()
    if new != shipped:  # fall back to numbers: same graph, weights within 1e-6
        import onnx
        from onnx import numpy_helper

        a, b = onnx.load_from_string(new), onnx.load_from_string(shipped)
        assert [n.op_type for n in a.graph.node] == [n.op_type for n in b.graph.node]
        for ta, tb in zip(a.graph.initializer, b.graph.initializer, strict=True):
            np.testing.assert_allclose(numpy_helper.to_array(ta), numpy_helper.to_array(tb),
                                       atol=1e-6)
