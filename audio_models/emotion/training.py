"""Training, evaluation and ONNX export of the emotion model (used by scripts/train_emotion).

Needs scikit-learn and onnx (training-time only; the IVR needs neither). Deterministic: fixed
feature code, sorted inputs, single-threaded BLAS, lbfgs (no random state involved), float32
weights and a graph built with fixed names, opset and no timestamps, so a re-run on the same
data writes the same bytes.

Model: multinomial logistic regression over per-speaker z-scored features (clipped to
+-Z_CLIP) for CLASSES, plus a binary logistic "arousal" head (high: anger, fear, happiness vs
low: neutral, boredom, sadness) whose sigmoid is the arousal score in [0, 1].
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
    speaker_zscores,
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
FORMAT = 1
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
    population: PopulationStats
    z_clip: float = Z_CLIP
    prior_turns: float = DEFAULT_PRIOR_TURNS


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
) -> Params:
    """Train both heads on per-speaker z-scores of `features`."""
    class_of_label = CLASS_OF_LABEL if class_of_label is None else class_of_label
    labels = np.asarray(labels)
    pop = PopulationStats.from_speakers(features, speakers)
    z = speaker_zscores(features, speakers, pop)

    sel = np.array([lab in class_of_label for lab in labels])
    y = np.array([list(classes).index(class_of_label[lab]) for lab in labels[sel]])
    clf = _fit_logreg(z[sel], y, C_CLASSES)
    if list(clf.classes_) != list(range(len(classes))):
        raise ValueError("every class needs training clips")

    sel_a = np.isin(labels, AROUSAL_HIGH + AROUSAL_LOW)
    ya = np.isin(labels[sel_a], AROUSAL_HIGH).astype(int)
    ar = _fit_logreg(z[sel_a], ya, C_AROUSAL)
    return Params(
        tuple(classes),
        clf.coef_.T.astype(np.float32).copy(),
        clf.intercept_.astype(np.float32).copy(),
        ar.coef_[0].astype(np.float32).copy(),
        float(np.float32(ar.intercept_[0])),
        pop,
    )


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
    }


def save(p: Params, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "emotion.onnx"
    json_path = out_dir / "emotion.json"
    onnx_path.write_bytes(build_onnx(p).SerializeToString(deterministic=True))
    json_path.write_text(json.dumps(params_json(p), indent=1) + "\n", encoding="utf-8")
    return onnx_path, json_path


# ------------------------------------------------------------------ evaluation
def uar(y_true: Sequence, y_pred: Sequence, classes: Sequence) -> float:
    """Unweighted average recall over `classes` present in y_true."""
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    recalls = [np.mean(yp[yt == c] == c) for c in classes if np.any(yt == c)]
    return float(np.mean(recalls))


def auc(scores_pos: np.ndarray, scores_neg: np.ndarray) -> float:
    """Area under the ROC curve (probability a positive outscores a negative; ties 1/2)."""
    pos, neg = np.asarray(scores_pos)[:, None], np.asarray(scores_neg)[None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def confusion(y_true: Sequence, y_pred: Sequence, rows: Sequence, cols: Sequence) -> np.ndarray:
    m = np.zeros((len(rows), len(cols)), dtype=int)
    for t, pr in zip(y_true, y_pred, strict=True):
        if t in rows:
            m[list(rows).index(t), list(cols).index(pr)] += 1
    return m


def loso_predictions(
    c: Corpus,
    mode: str = "speaker",
    classes: Sequence[str] = CLASSES,
    class_of_label: dict[str, str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-speaker-out probabilities and arousal for every clip.

    The held-out speaker's clips are normalised as at run time, by `mode`:
    - "speaker": by all of that speaker's clips (the training normalisation; a caller with
      many turns),
    - "baseline": each clip by a SpeakerBaseline (default prior) fed the speaker's *other*
      clips, with the prior from the training speakers only,
    - "3turns": each clip by a SpeakerBaseline fed 3 other clips of the speaker (the next
      three in path order, cyclically: a few turns into a call),
    - "prior": by the training population only (a caller's first turn).
    """
    spk = np.asarray(c.speakers)
    probs = np.zeros((len(spk), len(classes)))
    arousal = np.zeros(len(spk))
    for s in sorted(set(c.speakers)):
        test = spk == s
        p = fit(c.features[~test], np.asarray(c.labels)[~test].tolist(), spk[~test].tolist(),
                classes, class_of_label)
        x = c.features[test]
        if mode == "speaker":
            z = speaker_zscores(x, [s] * len(x), p.population)
        elif mode in ("baseline", "3turns", "prior"):
            z = np.zeros_like(x)
            for i in range(len(x)):
                b = SpeakerBaseline(p.population, p.prior_turns)
                if mode == "baseline":
                    others = [j for j in range(len(x)) if j != i]
                elif mode == "3turns":
                    others = [(i + k) % len(x) for k in (1, 2, 3)]
                else:
                    others = []
                for j in others:
                    b.update(x[j])
                z[i] = b.normalise(x[i])
        else:
            raise ValueError(f"unknown mode {mode!r}")
        probs[test], arousal[test] = predict(z, p)
    return probs, arousal


def metrics(
    c: Corpus,
    probs: np.ndarray,
    arousal: np.ndarray,
    classes: Sequence[str] = CLASSES,
    class_of_label: dict[str, str] | None = None,
) -> dict:
    class_of_label = CLASS_OF_LABEL if class_of_label is None else class_of_label
    labels = np.asarray(c.labels)
    pred = np.asarray(classes)[probs.argmax(axis=1)]
    sel = np.array([lab in class_of_label for lab in labels])
    truth = [class_of_label[lab] for lab in labels[sel]]
    angry, neutral = classes.index("angry"), classes.index("neutral")
    an = np.isin(labels, ("anger", "neutral"))
    an_pred = np.where(probs[an, angry] > probs[an, neutral], "anger", "neutral")
    high, low = np.isin(labels, AROUSAL_HIGH), np.isin(labels, AROUSAL_LOW)
    excluded = sorted(set(labels) - set(class_of_label))
    return {
        "n_clips": int(sel.sum()),
        "uar_all": uar(truth, pred[sel], classes),
        "recall": {k: float(np.mean(pred[sel][np.asarray(truth) == k] == k)) for k in classes},
        "confusion": confusion(truth, pred[sel], classes, classes).tolist(),
        "uar_anger_neutral": uar(labels[an], an_pred, ("anger", "neutral")),
        "auc_anger_neutral": auc(probs[labels == "anger", angry],
                                 probs[labels == "neutral", angry]),
        "auc_arousal": auc(arousal[high], arousal[low]),
        "excluded": {lab: confusion([lab] * int((labels == lab).sum()), pred[labels == lab],
                                    [lab], classes)[0].tolist() for lab in excluded},
    }
