"""First turns judged against calm speakers of the caller's language (issue 18): real calm
Mandarin and English clips through the real feature extractor, the shipped model and the
IVR's EmotionTracker are not soothed; EmoDB anger still is; other languages fall back to the
pooled prior; a single word is not judged. Clips come from the *evaluation* part of the calm
sets (audio_models/emotion/calibration.py), never from the clips that made the priors."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from audio_models.emotion.baseline import SpeakerBaseline
from audio_models.emotion.calibration import FALLBACK
from audio_models.emotion.model import EmotionEstimate, EmotionModel
from ivr.understanding.emotion import EmotionTracker
from ivr.web.flags import DISTRESS_PEAK
from tests.audio_data import load_clip, manifest

AISHELL, EN_MISC, DIGITS = "asr_zh_aishell", "asr_en_misc", "asr_en_digits"
EMODB = "emotion_emodb_de"


@cache
def model() -> EmotionModel:
    return EmotionModel()


def _aishell_evaluation() -> list[dict[str, str]]:
    """AISHELL's evaluation half: the second half of the clips in path order."""
    rows = sorted(manifest(AISHELL), key=lambda r: r["path"])
    return rows[len(rows) // 2:]


def _first_turn(folder: str, row: dict[str, str], language: str | None
                ) -> tuple[EmotionEstimate, EmotionTracker]:
    """One clip as a caller's first turn, its transcript as the words."""
    m = model()
    est = m.analyse(load_clip(folder, row["path"]), m.new_baseline(), language=language)
    tracker = EmotionTracker()
    prosody = {"anger": est.anger, "distress": est.distress, "arousal": est.arousal,
               "label": est.label} if est.reliable else None
    tracker.add(prosody, row.get("transcript", ""))
    return est, tracker


def _flagged(tracker: EmotionTracker) -> bool:
    """Soothing mode, or the dashboard's distress flag (ivr/web/flags.py)."""
    return tracker.soothing or tracker.turns[-1].distress >= DISTRESS_PEAK


def test_calm_mandarin_first_turns_are_not_soothed() -> None:
    rows = _aishell_evaluation()[::10]  # 19 clips spread over the evaluation half
    calibrated = [_first_turn(AISHELL, r, "zh-CN") for r in rows]
    for (est, tracker), r in zip(calibrated, rows, strict=True):
        assert est.prior == "zh" and est.reliable, r["path"]
        assert not _flagged(tracker), (r["path"], est.probabilities)
    # the same clips against the German prior (EmoDB's actors) are soothed: what calibration
    # fixed, and proof that these clips can fail the test
    german = [_flagged(_first_turn(AISHELL, r, "de")[1]) for r in rows]
    assert np.mean(german) >= 0.8


@pytest.mark.parametrize("path", ["audio/librispeech/1272-128104-0000.flac",
                                  "audio/librispeech/1995-1837-0001.flac"])
def test_calm_english_first_turn_is_not_soothed(path: str) -> None:
    """LibriSpeech readers (not the LJ Speech speaker who calibrated English)."""
    row = next((r for r in manifest(EN_MISC) if r["path"] == path), None)
    if row is None:
        pytest.skip(f"{path} not in {EN_MISC}")
    est, tracker = _first_turn(EN_MISC, row, "en-US")
    assert est.prior == "en" and est.reliable
    assert not _flagged(tracker), est.probabilities
    assert _flagged(_first_turn(EN_MISC, row, "de")[1])  # the German prior soothed it


def test_emodb_anger_still_soothes_on_the_first_turn() -> None:
    """Speaker 03 held out (the model retrained on the other nine, as the model card's
    leave-one-speaker-out evaluation): most of their anger soothes a first turn (the policy
    needs p(angry) >= 0.67 from the voice alone), their neutral speech does not."""
    pytest.importorskip("sklearn")
    from audio_models.emotion import training

    rows = sorted(manifest(EMODB), key=lambda r: r["path"])
    feats = np.array([model().measure(load_clip(EMODB, r["path"])).features for r in rows])
    labels = np.array([r["label"] for r in rows])
    speakers = np.array([r["speaker"] for r in rows])
    test = speakers == "03"
    p = training.fit(feats[~test], labels[~test], speakers[~test])

    def soothed(x: np.ndarray) -> bool:
        probs, arousal = training.predict(SpeakerBaseline(p.priors["de"]).normalise(x)[None], p)
        pr = dict(zip(p.classes, probs[0], strict=True))
        t = EmotionTracker()
        t.add({"anger": pr["angry"], "distress": pr["sad"] + pr["fearful"],
               "arousal": float(arousal[0]), "label": "neutral"}, "")
        return t.soothing

    anger = [soothed(x) for x in feats[test & (labels == "anger")]]
    neutral = [soothed(x) for x in feats[test & (labels == "neutral")]]
    # 11 of 14 anger clips (0.79) and 0 of 11 neutral ones when written
    assert np.mean(anger) >= 0.7 and np.mean(neutral) <= 0.1, (anger, neutral)
    # and the shipped model on one of those anger clips, through analyse
    row = next(r for r in rows if r["speaker"] == "03" and r["label"] == "anger")
    est, tracker = _first_turn(EMODB, row, "de")
    assert est.prior == "de" and est.label == "angry" and tracker.soothing


def test_a_language_without_calm_speech_falls_back_to_the_pooled_prior() -> None:
    m = model()
    assert m.prior_for("zh-CN")[0] == "zh" and m.prior_for("zh")[0] == "zh"
    assert m.prior_for("en-GB")[0] == "en" and m.prior_for("de")[0] == "de"
    for language in ("fr-FR", "yue", "", None):
        key, stats = m.prior_for(language)
        assert key == FALLBACK and stats is m.population
    # the fallback is wider than each language's own prior in most features (how far the
    # languages' means differ is added to the speaker spread)
    for key in ("zh", "en", "de"):
        assert np.median(m.population.total_var / m.priors[key].total_var) > 1.05, key
    row = _aishell_evaluation()[0]
    est, _ = _first_turn(AISHELL, row, "fr-FR")
    assert est.prior == FALLBACK
    est, _ = _first_turn(AISHELL, row, None)  # no language given: the prior is left alone
    assert est.prior == ""


def test_language_known_later_keeps_the_callers_turns() -> None:
    """The baseline starts with the fallback; the language switches the prior, not the
    caller's own turns (a language detected on the first utterance)."""
    m = model()
    b = m.new_baseline()
    rows = _aishell_evaluation()
    m.analyse(load_clip(AISHELL, rows[0]["path"]), b, language="zh")
    assert b.turns == 1 and b.stats is m.priors["zh"]
    m.analyse(load_clip(AISHELL, rows[1]["path"]), b, language="en")
    # the first turn is kept (the second is added only if it reads calm against English)
    assert b.turns >= 1 and b.stats is m.priors["en"]


def test_a_single_word_is_not_judged() -> None:
    """An FSDD digit (< 0.5 s of voiced speech): scored, but not reliable and not added to
    the caller's baseline (on single digits the model flagged calm speakers)."""
    m = model()
    row = sorted(manifest(DIGITS), key=lambda r: r["path"])[0]
    b = m.new_baseline("en")
    est = m.analyse(load_clip(DIGITS, row["path"]), b, language="en")
    assert est.voiced_seconds is not None and est.voiced_seconds < 0.5
    assert not est.reliable and b.turns == 0
    assert sum(est.probabilities.values()) == pytest.approx(1.0, abs=1e-5)


# ---------------------------------------------------------------- the call's hearing stage
def _hear(tmp_path, folder: str, row: dict[str, str], language: str, whisper: str
          ) -> tuple[list[object], object]:
    """One real clip as the first utterance of a hotline call (Hearing with the shipped
    model; the ASR is scripted with the clip's transcript): the events it emits and the
    prior the caller's baseline ended with."""
    import asyncio
    import time

    from audio_models.protocols import SpeechEnded, Transcript
    from ivr.call.deps import SessionDeps
    from ivr.call.hearing import Hearing
    from ivr.config import Settings
    from ivr.dialplan.engine import DialogEngine
    from ivr.dialplan.loader import load_dialplan
    from tests.unit.call_runner import HOTLINE
    from tests.unit.fakes import FakeASR, FakeControl, FakePrompts, WatchedStore

    async def main() -> tuple[list[object], object]:
        settings = Settings(data_dir=tmp_path)
        loaded = load_dialplan(HOTLINE)
        loaded.plan.language_detection = False
        clip = load_clip(folder, row["path"])
        asr = FakeASR([Transcript(row["transcript"], whisper, 0.9, -0.1, 0.0, clip.duration,
                                  0.1)])
        store = WatchedStore(settings.db_path)
        deps = SessionDeps(settings, loaded, DialogEngine(loaded.plan), asr, FakePrompts(),
                           store, FakeControl(), emotion_model=model())
        events: list[object] = []
        hearing = Hearing("cal-1", deps, emit=events.append,
                          spawn=lambda coro, name: asyncio.get_running_loop().create_task(coro),
                          language=lambda: (language, None))
        now = time.monotonic()
        heard = await hearing.hear(SpeechEnded(clip, now - clip.duration, now, now))
        hearing.assess(heard)
        store.close()
        return events, hearing._baseline.stats

    return asyncio.run(main())


def test_hearing_judges_a_calm_mandarin_first_turn_in_mandarin(tmp_path) -> None:
    row = _aishell_evaluation()[5]
    events, prior = _hear(tmp_path, AISHELL, row, "zh-CN", "zh")
    assert prior is model().priors["zh"]  # the call's language reached the model
    kinds = [type(e).__name__ for e in events]
    assert "Emotion" in kinds and "Soothing" not in kinds, events
    emotion = next(e for e in events if type(e).__name__ == "Emotion")
    assert emotion.prosody_anger is not None and emotion.distress < DISTRESS_PEAK


def test_hearing_soothes_an_angry_first_turn(tmp_path) -> None:
    row = next(r for r in sorted(manifest(EMODB), key=lambda r: r["path"])
               if r["speaker"] == "03" and r["label"] == "anger")
    events, prior = _hear(tmp_path, EMODB, {**row, "transcript": "Das geht so nicht"}, "de-DE",
                          "de")
    assert prior is model().priors["de"]
    assert "Soothing" in [type(e).__name__ for e in events], events
