"""Evaluation of the emotion model on EmoDB (used by scripts/train_emotion): leave one speaker
out, normalised as a call would be, and the figures of the model card."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from audio_models.emotion.baseline import SpeakerBaseline, neutral_zscores
from audio_models.emotion.calibration import CalmSet
from audio_models.emotion.training import (
    AROUSAL_HIGH,
    AROUSAL_LOW,
    CLASS_OF_LABEL,
    CLASSES,
    Corpus,
    fit,
    predict,
)


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
    calm: Sequence[CalmSet] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-speaker-out probabilities and arousal for every clip (the model and its
    German prior from the other speakers; `calm` calibration sets in every fold).

    The held-out speaker's clips are normalised as at run time, by `mode`:
    - "speaker": against all of that speaker's neutral clips (the training normalisation),
    - "baseline": each clip by a SpeakerBaseline fed the speaker's *other* neutral clips (a
      caller after many calm turns),
    - "3turns": each clip by a SpeakerBaseline fed 3 other neutral clips of the speaker (the
      next three in path order, cyclically: a few calm turns into a call),
    - "prior": by the training speakers' German neutral prior only (a caller's first turn).
    """
    spk = np.asarray(c.speakers)
    labels = np.asarray(c.labels)
    probs = np.zeros((len(spk), len(classes)))
    arousal = np.zeros(len(spk))
    for s in sorted(set(c.speakers)):
        test = spk == s
        p = fit(c.features[~test], labels[~test].tolist(), spk[~test].tolist(),
                classes, class_of_label, calm)
        german = p.priors["de"]
        x, neutral = c.features[test], labels[test] == "neutral"
        if mode == "speaker":
            z = neutral_zscores(x, [s] * len(x), neutral, german)
        elif mode in ("baseline", "3turns", "prior"):
            z = np.zeros_like(x)
            calm_turns = np.flatnonzero(neutral)
            for i in range(len(x)):
                b = SpeakerBaseline(german, p.prior_turns)
                others = [j for j in calm_turns if j != i]
                if mode == "3turns":
                    later = [j for j in others if j > i] + [j for j in others if j < i]
                    others = later[:3]
                elif mode == "prior":
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
