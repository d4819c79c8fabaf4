"""Training, evaluation and ONNX export of the emotion model (used by scripts/train_emotion).

Needs scikit-learn and onnx (training-time only; the IVR needs neither). Deterministic: fixed
feature code, sorted inputs, single-threaded BLAS, lbfgs (no random state involved), float32
weights and a graph built with fixed names, opset and no timestamps, so a re-run on the same
data writes the same bytes.

Model: multinomial logistic regression over z-scored features (clipped to +-Z_CLIP) for
CLASSES, plus a binary logistic "arousal" head (high: anger, fear, happiness vs low: neutral,
boredom, sadness) whose sigmoid is the arousal score in [0, 1]. Every EmoDB clip is in the
training set twice, as a call sees it: against its speaker's own neutral clips
(`neutral_zscores`, a caller after some calm turns) and against the German neutral prior alone
(a first turn).

First-turn priors per language (`calibrated_priors`): the calm calibration clips of each
language (`calibration.load_calm`) give its statistics; real calm speech varies more from
clip to clip than EmoDB's acted neutral sentences, so those priors are widened by one factor,
the smallest of SPREAD_GRID whose calm calibration calls the model flags at most
CALIBRATION_FLAG_RATE of the time (a call: CALL_TURNS clips of one speaker; flagged: a turn's
p(angry) or p(sad) + p(fearful) reaches FLAG_P, what the default policy needs from the voice
alone to start soothing). The German prior stays EmoDB's own. The evaluation clips are not
used here.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from audio_models.emotion.baseline import (
    DEFAULT_PRIOR_TURNS,
    PopulationStats,
    SpeakerBaseline,
    neutral_zscores,
)
from audio_models.emotion.calibration import (
    FALLBACK,
    CalmSet,
    calls_of,
    language_priors,
    pooled_prior,
    widened,
)
from audio_models.emotion.features import FEATURE_NAMES, SAMPLE_RATE, prosody_features, warm_up
from audio_models.frames import AudioFrame

CORPUS = "emotion_emodb_de"
CLASSES: tuple[str, ...] = ("neutral", "angry", "sad", "fearful")
CLASS_OF_LABEL = {"neutral": "neutral", "anger": "angry", "sadness": "sad", "fear": "fearful"}
DISTRESS_CLASSES = ("sad", "fearful")
AROUSAL_HIGH = ("anger", "fear", "happiness")
AROUSAL_LOW = ("neutral", "boredom", "sadness")
C_CLASSES = 0.1  # inverse L2 strength of the classifier (chosen a priori, see MODEL_CARD)
C_AROUSAL = 0.1
Z_CLIP = 5.0
CALL_TURNS = 4  # turns of a simulated calm call
FLAG_P = 0.5 / 0.75  # soothing threshold / prosody weight (ivr EmotionPolicy defaults)
CALIBRATION_FLAG_RATE = 0.025  # half the target of 5% of calm calls
SPREAD_GRID = tuple(round(1 + 0.1 * i, 1) for i in range(21))  # 1.0 .. 3.0
MIN_VOICED_FRACTION, MIN_VOICED_SECONDS = 0.05, 0.5  # as audio_models.emotion.model
FORMAT = 2
ONNX_OPSET = 17
ONNX_IR_VERSION = 8


@dataclass
class Corpus:
    features: np.ndarray  # [n, F] float32
    labels: list[str]
    speakers: list[str]
    paths: list[str]
    seconds: list[float] = field(default_factory=list)  # feature cost per clip


@dataclass
class Params:
    """Everything the shipped model holds."""

    classes: tuple[str, ...]
    weights: np.ndarray  # [F, C] float32
    bias: np.ndarray  # [C] float32
    arousal_weights: np.ndarray  # [F] float32
    arousal_bias: float
    population: PopulationStats  # the fallback prior (languages without their own)
    z_clip: float = Z_CLIP
    prior_turns: float = DEFAULT_PRIOR_TURNS
    priors: dict[str, PopulationStats] = field(default_factory=dict)  # by language
    calm_spread: float = 1.0  # how much wider than their calm clips the priors are


# ------------------------------------------------------------------ data
def load_audio(path: Path) -> AudioFrame:
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="int16", always_2d=True)
    return AudioFrame(np.ascontiguousarray(data[:, 0]).tobytes(), rate)


def load_corpus(folder: Path, speakers: Sequence[str] | None = None) -> Corpus:
    """Features of every clip of the EmoDB folder (sorted by path), optionally some speakers."""
    warm_up()
    with open(folder / "manifest.csv", encoding="utf-8", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["path"])
    if speakers is not None:
        rows = [r for r in rows if r["speaker"] in set(speakers)]
    feats, seconds = [], []
    for r in rows:
        frame = load_audio(folder / r["path"])
        t0 = time.perf_counter()
        feats.append(prosody_features(frame))
        seconds.append(time.perf_counter() - t0)
    return Corpus(
        np.array(feats, dtype=np.float32),
        [r["label"] for r in rows],
        [r["speaker"] for r in rows],
        [r["path"] for r in rows],
        seconds,
    )


def feature_cost_3s(folder: Path, paths: Sequence[str], n: int = 40) -> dict[str, float]:
    """Median / p95 feature time (ms) on 3.0 s utterances made of pairs of real clips."""
    clips = [load_audio(folder / p) for p in paths[: 2 * n]]
    times = []
    for a, b in zip(clips[0::2], clips[1::2], strict=False):
        pcm = (a.pcm + b.pcm)[: 3 * SAMPLE_RATE * 2]
        frame = AudioFrame(pcm, SAMPLE_RATE)
        t0 = time.perf_counter()
        prosody_features(frame)
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000
    return {"median_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95))}


# ------------------------------------------------------------------ model
def _fit_logreg(z: np.ndarray, y: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        clf = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, tol=1e-8)
        clf.fit(np.clip(z, -Z_CLIP, Z_CLIP).astype(np.float64), y)
    return clf


def fit(
    features: np.ndarray,
    labels: Sequence[str],
    speakers: Sequence[str],
    classes: Sequence[str] = CLASSES,
    class_of_label: dict[str, str] | None = None,
    calm: Sequence[CalmSet] = (),
) -> Params:
    """Train both heads (see the module docstring); `calm`: calibration sets of calm speech."""
    class_of_label = CLASS_OF_LABEL if class_of_label is None else class_of_label
    labels = np.asarray(labels)
    spk = np.asarray(list(speakers))
    neutral = labels == "neutral"
    german = PopulationStats.from_speakers(features[neutral], spk[neutral])
    first = SpeakerBaseline(german, DEFAULT_PRIOR_TURNS)
    z = np.vstack([neutral_zscores(features, spk, neutral, german), first.normalise(features)])
    lab = np.concatenate([labels, labels])

    sel = np.array([x in class_of_label for x in lab])
    y = np.array([list(classes).index(class_of_label[x]) for x in lab[sel]])
    clf = _fit_logreg(z[sel], y, C_CLASSES)
    if list(clf.classes_) != list(range(len(classes))):
        raise ValueError("every class needs training clips")

    sel_a = np.isin(lab, AROUSAL_HIGH + AROUSAL_LOW)
    ya = np.isin(lab[sel_a], AROUSAL_HIGH).astype(int)
    ar = _fit_logreg(z[sel_a], ya, C_AROUSAL)
    p = Params(
        tuple(classes),
        clf.coef_.T.astype(np.float32).copy(),
        clf.intercept_.astype(np.float32).copy(),
        ar.coef_[0].astype(np.float32).copy(),
        float(np.float32(ar.intercept_[0])),
        german,
    )
    p.priors, p.calm_spread = calibrated_priors(p, calm, german)
    p.population = p.priors.pop(FALLBACK)
    return p


def calibrated_priors(p: Params, calm: Sequence[CalmSet], german: PopulationStats
                      ) -> tuple[dict[str, PopulationStats], float]:
    """({"de", calibrated languages..., FALLBACK: prior}, spread factor): see the module
    docstring."""
    raw = language_priors(list(calm), german.between_var)
    spread = SPREAD_GRID[-1]
    for factor in SPREAD_GRID:
        if calm_flag_rate(p, calm, {k: widened(v, factor) for k, v in raw.items()}
                          ) <= CALIBRATION_FLAG_RATE:
            spread = factor
            break
    if not raw:
        spread = 1.0
    priors = {"de": german, **{k: widened(v, spread) for k, v in raw.items()}}
    priors[FALLBACK] = pooled_prior(list(priors.values()))
    return priors, spread


def calm_flag_rate(p: Params, calm: Sequence[CalmSet], priors: dict[str, PopulationStats]
                   ) -> float:
    """Fraction of calm calls (CALL_TURNS clips each) with a turn whose p(angry) or distress
    reaches FLAG_P; turns with too little voiced speech are skipped, as at run time."""
    flagged = total = 0
    distress = [i for i, c in enumerate(p.classes) if c not in ("neutral", "angry")]
    voiced = FEATURE_NAMES.index("voiced_fraction")
    for c in calm:
        for call in calls_of(c, CALL_TURNS):
            b = SpeakerBaseline(priors[c.language], p.prior_turns)
            hit = False
            for i in call:
                v = float(c.features[i, voiced])
                if v < MIN_VOICED_FRACTION or v * c.durations[i] < MIN_VOICED_SECONDS:
                    continue
                probs, _ = predict(b.normalise(c.features[i])[None], p)
                b.update(c.features[i])
                hit |= max(probs[0, p.classes.index("angry")], probs[0, distress].sum()) >= FLAG_P
            flagged += hit
            total += 1
    return flagged / total if total else 0.0


def predict(z: np.ndarray, p: Params) -> tuple[np.ndarray, np.ndarray]:
    """numpy mirror of the ONNX graph: (probabilities [n, C], arousal [n])."""
    zc = np.clip(np.asarray(z, dtype=np.float32), -p.z_clip, p.z_clip).astype(np.float64)
    logits = zc @ p.weights.astype(np.float64) + p.bias
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    probs = e / e.sum(axis=1, keepdims=True)
    arousal = 1 / (1 + np.exp(-(zc @ p.arousal_weights.astype(np.float64) + p.arousal_bias)))
    return probs, arousal


def build_onnx(p: Params):
    """The ONNX graph: features [N, F] (normalised) -> probabilities [N, C], arousal [N]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n_feat, n_cls = p.weights.shape
    inits = [
        numpy_helper.from_array(np.array(-p.z_clip, np.float32), "z_min"),
        numpy_helper.from_array(np.array(p.z_clip, np.float32), "z_max"),
        numpy_helper.from_array(p.weights.astype(np.float32), "class_weights"),
        numpy_helper.from_array(p.bias.astype(np.float32), "class_bias"),
        numpy_helper.from_array(p.arousal_weights.astype(np.float32).reshape(n_feat, 1),
                                "arousal_weights"),
        numpy_helper.from_array(np.array([p.arousal_bias], np.float32), "arousal_bias"),
        numpy_helper.from_array(np.array([-1], np.int64), "flat_shape"),
    ]
    nodes = [
        helper.make_node("Clip", ["features", "z_min", "z_max"], ["z"], name="clip"),
        helper.make_node("MatMul", ["z", "class_weights"], ["class_mm"], name="class_matmul"),
        helper.make_node("Add", ["class_mm", "class_bias"], ["logits"], name="class_add"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["z", "arousal_weights"], ["ar_mm"], name="arousal_matmul"),
        helper.make_node("Add", ["ar_mm", "arousal_bias"], ["ar_logit"], name="arousal_add"),
        helper.make_node("Sigmoid", ["ar_logit"], ["ar_col"], name="arousal_sigmoid"),
        helper.make_node("Reshape", ["ar_col", "flat_shape"], ["arousal"], name="arousal_flat"),
    ]
    graph = helper.make_graph(
        nodes,
        "emotion",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", n_feat])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", n_cls]),
            helper.make_tensor_value_info("arousal", TensorProto.FLOAT, ["N"]),
        ],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        producer_name="voice-ivr scripts/train_emotion",
        producer_version=str(FORMAT),
        doc_string="Prosody emotion model: multinomial logistic regression + arousal head "
        "over per-caller z-scored features. See MODEL_CARD.md.",
    )
    model.ir_version = ONNX_IR_VERSION
    helper.set_model_props(model, {"classes": ",".join(p.classes),
                                   "n_features": str(n_feat)})
    onnx.checker.check_model(model)
    return model


def params_json(p: Params) -> dict:
    """The normalisation constants and class names shipped next to the ONNX file."""
    return {
        "format": FORMAT,
        "sample_rate": SAMPLE_RATE,
        "feature_names": list(FEATURE_NAMES),
        "classes": list(p.classes),
        "class_of_label": CLASS_OF_LABEL,
        "distress_classes": list(DISTRESS_CLASSES),
        "arousal": {"high": list(AROUSAL_HIGH), "low": list(AROUSAL_LOW)},
        "z_clip": p.z_clip,
        "prior_turns": p.prior_turns,
        "population": p.population.to_json(),
        "calm_spread": p.calm_spread,
        "priors": {k: v.to_json() for k, v in sorted(p.priors.items())},
    }


def save(p: Params, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "emotion.onnx"
    json_path = out_dir / "emotion.json"
    onnx_path.write_bytes(build_onnx(p).SerializeToString(deterministic=True))
    json_path.write_text(json.dumps(params_json(p), indent=1) + "\n", encoding="utf-8")
    return onnx_path, json_path
