"""The shipped emotion model: per-caller normalised prosody features -> class probabilities
and an arousal score, via onnxruntime (one intra-op thread; ~10-50 us per turn).

    model = EmotionModel()                    # load once per process
    baseline = model.new_baseline()           # one per call
    est = model.analyse(turn_audio, baseline, language="zh")  # per caller turn
    est.anger, est.distress, est.arousal, est.label, est.prior

The first turn is judged against calm speakers of the caller's `language` ("zh-CN" and
"zh" both use the "zh" prior); a language without calm speech of its own uses the pooled
prior "*" (`EmotionEstimate.prior` says which was used; see calibration.py and the model
card). A turn with less than MIN_VOICED_SECONDS of voiced speech (a "yes", a digit) is not
reliable: on single words the model flagged calm speakers (FSDD digits), so such a turn is
scored but neither acted on (`reliable`) nor added to the baseline.

`analyse` normalises the turn by the caller's *earlier* turns and only then adds it to the
baseline: a turn normalised by statistics that include itself is pulled towards zero (with
few turns, strongly: after one turn, an angry first turn would look like the caller's
usual). Turns without voiced speech (silence, noise, a cough) are scored but not added to
the baseline, so they do not drag the caller's usual towards silence.

Scores are for flagging a call for human attention, not for decisions about people (see
model/MODEL_CARD.md: trained on acted German speech).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audio_models.emotion.baseline import PopulationStats, SpeakerBaseline
from audio_models.emotion.calibration import FALLBACK
from audio_models.emotion.features import FEATURE_NAMES, feature_index, prosody_features
from audio_models.frames import AudioFrame
from audio_models.protocols import ModelError

MODEL_DIR = Path(__file__).resolve().parent / "model"
MIN_VOICED_FRACTION = 0.05  # below this a turn is not added to the caller's baseline
MIN_VOICED_SECONDS = 0.5  # nor with less voiced speech than this (a word is no evidence)
CALM_BELOW = 0.5  # nor a turn read as angry or distressed: the baseline is the caller's calm level
_VOICED = feature_index("voiced_fraction")


@dataclass(frozen=True, slots=True)
class EmotionCapabilities:
    classes: tuple[str, ...]  # order of `EmotionEstimate.probabilities`
    n_features: int
    sample_rate: int = 8000  # features are computed at this rate (input is resampled)
    distress_classes: tuple[str, ...] = ("sad", "fearful")
    model_name: str = ""


@dataclass(frozen=True, slots=True)
class TurnProsody:
    """A turn's features (`EmotionModel.measure`, the costly part), to be judged once the
    call's language is known (`EmotionModel.judge`)."""

    features: np.ndarray
    duration: float  # seconds of audio
    processing_time: float = 0.0  # seconds to compute the features

    @property
    def voiced_seconds(self) -> float:
        return float(self.features[_VOICED]) * self.duration


@dataclass(frozen=True, slots=True)
class EmotionEstimate:
    probabilities: dict[str, float]  # per class, sums to 1
    label: str  # the most probable class
    arousal: float  # 0 (calm, low energy) .. 1 (agitated, high energy)
    anger: float  # p(angry)
    distress: float  # p(sad) + p(fearful)
    voiced_fraction: float = 1.0  # of the turn's speech span; ~0 means nothing to judge
    processing_time: float = 0.0  # seconds (features + model) when from `analyse`
    voiced_seconds: float | None = None  # voiced fraction x turn length (None: not known)
    prior: str = ""  # the first-turn prior used ("zh", "en", "de", "*": fallback)

    @property
    def reliable(self) -> bool:
        """False when the turn had (almost) no voiced speech, or too little of it."""
        return self.voiced_fraction >= MIN_VOICED_FRACTION and (
            self.voiced_seconds is None or self.voiced_seconds >= MIN_VOICED_SECONDS)

    def as_facts(self) -> dict[str, float]:
        """Scores for dialplan conditions (`emotion.anger >= 0.7`)."""
        facts = {"anger": self.anger, "distress": self.distress, "arousal": self.arousal}
        facts.update({f"p_{k}": v for k, v in self.probabilities.items()})
        return {k: round(float(v), 4) for k, v in facts.items()}


class EmotionModel:
    """The ONNX model and its normalisation constants. Thread-safe after construction."""

    def __init__(self, model_dir: Path | str = MODEL_DIR) -> None:
        path = Path(model_dir)
        onnx_path, json_path = path / "emotion.onnx", path / "emotion.json"
        for p in (onnx_path, json_path):
            if not p.is_file():
                raise ModelError(f"emotion model file {p} is missing "
                                 "(run scripts/train_emotion to build it)")
        try:
            meta = json.loads(json_path.read_text(encoding="utf-8"))
            classes = tuple(meta["classes"])
            names = tuple(meta["feature_names"])
            self.population = PopulationStats.from_json(meta["population"])
            self.priors = {k: PopulationStats.from_json(v)
                           for k, v in meta.get("priors", {}).items()}
            self.prior_turns = float(meta["prior_turns"])
            distress = tuple(meta["distress_classes"])
        except (ValueError, KeyError, TypeError) as e:
            raise ModelError(f"emotion model constants {json_path} are corrupt: {e}") from e
        if names != FEATURE_NAMES:
            raise ModelError(f"{json_path} was trained on other features than this code "
                             "computes: retrain with scripts/train_emotion")
        if any(p.size != len(names) for p in [self.population, *self.priors.values()]):
            raise ModelError(f"{json_path}: population statistics do not match the features")
        try:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            self._session = ort.InferenceSession(
                str(onnx_path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own exception types
            raise ModelError(f"emotion model {onnx_path} cannot be loaded: {e}") from e
        inputs = self._session.get_inputs()
        outputs = [o.name for o in self._session.get_outputs()]
        if (len(inputs) != 1 or inputs[0].shape[-1] != len(names)
                or outputs != ["probabilities", "arousal"]):
            raise ModelError(f"emotion model {onnx_path} has an unexpected signature")
        self._input = inputs[0].name
        self._index = {c: i for i, c in enumerate(classes)}
        if "angry" not in self._index or not set(distress) <= set(classes):
            raise ModelError(f"{json_path}: classes {classes} lack angry or {distress}")
        self.capabilities = EmotionCapabilities(
            classes=classes,
            n_features=len(names),
            distress_classes=distress,
            model_name=onnx_path.name,
        )

    def prior_for(self, language: str | None) -> tuple[str, PopulationStats]:
        """The first-turn prior for a language ("zh-CN", "zh", "en"...): its own calm
        speech if calibrated, else the pooled fallback ("*", `self.population`)."""
        base = (language or "").split("-")[0].split("_")[0].lower()
        if base in self.priors:
            return base, self.priors[base]
        return FALLBACK, self.population

    def new_baseline(self, language: str | None = None) -> SpeakerBaseline:
        """A fresh per-call baseline with the prior for `language` (None: the fallback;
        `analyse(..., language=)` switches it once the language is known)."""
        return SpeakerBaseline(self.prior_for(language)[1], self.prior_turns)

    def predict_batch(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw outputs for normalised features [N, F]: (probabilities [N, C], arousal [N])."""
        x = np.ascontiguousarray(np.atleast_2d(np.asarray(z, dtype=np.float32)))
        if x.shape[1] != self.capabilities.n_features:
            raise ValueError(f"expected {self.capabilities.n_features} features, got {x.shape}")
        try:
            probs, arousal = self._session.run(None, {self._input: x})
        except Exception as e:
            raise ModelError(f"emotion model failed: {e}", retryable=True) from e
        return probs, arousal

    def estimate_sync(
        self, features_normalised: np.ndarray, voiced_fraction: float = 1.0
    ) -> EmotionEstimate:
        """Estimate from one normalised feature vector (see `SpeakerBaseline.normalise`)."""
        probs, arousal = self.predict_batch(np.asarray(features_normalised).reshape(1, -1))
        p = {c: float(probs[0, i]) for c, i in self._index.items()}
        return EmotionEstimate(
            probabilities=p,
            label=max(p, key=p.__getitem__),
            arousal=float(arousal[0]),
            anger=p["angry"],
            distress=float(sum(p[c] for c in self.capabilities.distress_classes)),
            voiced_fraction=float(voiced_fraction),
        )

    def measure(self, frame: AudioFrame) -> TurnProsody:
        """The features of one caller turn (~5-15 ms: run it off the event loop)."""
        t0 = time.perf_counter()
        features = prosody_features(frame)
        return TurnProsody(features, frame.duration, time.perf_counter() - t0)

    def judge(
        self, turn: TurnProsody, baseline: SpeakerBaseline, *, update: bool = True,
        language: str | None = None,
    ) -> EmotionEstimate:
        """`turn` normalised by the caller's earlier turns (and the prior of the call's
        `language`, when given), then predicted (~50 us); afterwards the turn is added to
        `baseline` if reliable, calm (anger and distress under `CALM_BELOW`: the model was
        trained on z-scores against each speaker's neutral speech, so an angry turn in the
        baseline would make the next angry turn look calm) and `update`."""
        t0 = time.perf_counter()
        prior = ""
        if language is not None:
            prior, stats = self.prior_for(language)
            baseline.use_prior(stats)
        z = baseline.normalise(turn.features)
        voiced = float(turn.features[_VOICED])
        est = self.estimate_sync(z, voiced)
        seconds = turn.voiced_seconds
        calm = est.anger < CALM_BELOW and est.distress < CALM_BELOW
        if update and calm and voiced >= MIN_VOICED_FRACTION and seconds >= MIN_VOICED_SECONDS:
            baseline.update(turn.features)  # the caller's calm level, as training normalised
        return EmotionEstimate(
            est.probabilities, est.label, est.arousal, est.anger, est.distress,
            est.voiced_fraction, turn.processing_time + time.perf_counter() - t0, seconds,
            prior,
        )

    def analyse(
        self, frame: AudioFrame, baseline: SpeakerBaseline, *, update: bool = True,
        language: str | None = None,
    ) -> EmotionEstimate:
        """`measure` then `judge`: one caller turn, normalised by the caller's earlier turns
        (and the prior of the call's `language`, when given), then predicted; afterwards the
        turn is added to `baseline` (if reliable and `update`)."""
        return self.judge(self.measure(frame), baseline, update=update, language=language)
