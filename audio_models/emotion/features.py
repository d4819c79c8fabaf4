"""Prosodic and spectral features of one caller turn, for the emotion model.

`prosody_features(frame)` returns a fixed-length float32 vector (names in `FEATURE_NAMES`):

- the turn is converted to 8 kHz (telephone band, whatever the input rate), its DC removed and
  band-limited to 250-3500 Hz, so wideband and narrowband callers and the 8 kHz training corpus
  see the same band;
- gain is normalised: the 95th percentile of the 32 ms frame RMS is scaled to -20 dBFS, so
  recording or line gain does not change any feature (only loudness *relative to the turn's
  own loud frames* is measured; absolute loudness differences between turns are lost on
  purpose, the per-caller baseline handles the rest);
- F0 from `librosa.yin` (60-400 Hz, 10 ms hop), with voicing decided by the normalised
  autocorrelation of the signal at the yin period (`periodicity`) and the frame's energy;
- energy contour in dB (relative to the reference level), pauses, an energy-peak rate
  (syllable-rate proxy), jitter (frame-to-frame period perturbation), shimmer (cycle peak
  amplitude perturbation inside voiced frames), spectral centroid/rolloff/flatness/tilt and a
  high/low band ratio, and 13 MFCC means and standard deviations.

Silence, noise and very short input give a valid vector (voiced fraction 0, neutral default
values for what cannot be measured) and never NaN. Cost: ~5-10 ms per 3 s of audio on one core
after `warm_up()` (the first `librosa.yin` call in a process pays ~1-15 s of imports and numba
compilation; call `warm_up()` at start-up, not on a caller's turn).
"""

from __future__ import annotations

import threading

import numpy as np

from audio_models.frames import AudioFrame
from audio_models.resample import to_float32

SAMPLE_RATE = 8000
HOP = 80  # 10 ms analysis hop
YIN_FRAME = 400  # 50 ms yin window (fits two periods of 60 Hz at 8 kHz)
WIN = 256  # 32 ms energy / spectrum window, centred in the yin window
FMIN, FMAX = 60.0, 400.0  # F0 search range (Hz)
BAND = (250.0, 3500.0)  # telephone band kept for every feature
REF_DBFS = -20.0  # the gain-normalised level of the turn's loud frames (95th percentile)
SILENCE_DBFS = -65.0  # a turn whose loud frames are below this is treated as silence
ACTIVE_DB = -30.0  # frames within 30 dB of the reference are "active" (speech or noise)
VOICING_MIN = 0.55  # normalised autocorrelation at the yin period for a voiced frame
PAUSE_MIN_FRAMES = 10  # an inactive run of >= 100 ms inside the speech span is a pause
N_MFCC = 13
N_MELS = 24

_F0_NAMES = (
    "f0_mean_st",  # semitones re 100 Hz, over voiced frames
    "f0_std_st",
    "f0_p10_st",
    "f0_p50_st",
    "f0_p90_st",
    "f0_range_st",  # p90 - p10
    "f0_slope_st_s",  # linear trend over the voiced frames (st/s)
    "f0_delta_st",  # mean |change| between consecutive voiced frames (st per 10 ms)
    "voiced_fraction",  # voiced frames / frames of the speech span
    "periodicity_mean",  # mean normalised autocorrelation of voiced frames (HNR proxy)
    "jitter",  # mean |T_i - mean(T_i-1, T_i, T_i+1)| / mean T over consecutive voiced frames
    "shimmer",  # mean |A_k - A_k-1| / mean A of cycle peak amplitudes in voiced frames
)
_ENERGY_NAMES = (
    "energy_mean_db",  # dB relative to the reference level, over active frames
    "energy_std_db",
    "energy_p10_db",
    "energy_p50_db",
    "energy_slope_db_s",
    "energy_delta_db",  # mean |change| between consecutive frames in the speech span
)
_RATE_NAMES = (
    "peak_rate_hz",  # energy peaks (syllable nuclei proxy) per second of speech span
    "pause_fraction",  # inactive frames / frames of the speech span
    "pause_mean_s",  # mean length of pauses >= 100 ms (0 when none)
    "pause_rate_hz",  # pauses per second of speech span
)
_SPECTRAL_NAMES = (
    "centroid_mean_hz",
    "centroid_std_hz",
    "rolloff85_mean_hz",
    "rolloff85_std_hz",
    "flatness_mean",
    "flatness_std",
    "tilt_mean_db_khz",  # slope of the log spectrum, 250-3500 Hz
    "tilt_std_db_khz",
    "band_ratio_db",  # energy 1-3.5 kHz over 0.25-1 kHz
)
FEATURE_NAMES: tuple[str, ...] = (
    _F0_NAMES
    + _ENERGY_NAMES
    + _RATE_NAMES
    + _SPECTRAL_NAMES
    + tuple(f"mfcc{i}_mean" for i in range(N_MFCC))
    + tuple(f"mfcc{i}_std" for i in range(N_MFCC))
)
N_FEATURES = len(FEATURE_NAMES)
_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}

# Values for what cannot be measured (no voiced / no active frames): plausible mid values,
# so a silent turn does not look like an extreme one after normalisation.
_DEFAULTS = {
    "f0_mean_st": 6.0,  # ~140 Hz
    "f0_p10_st": 6.0,
    "f0_p50_st": 6.0,
    "f0_p90_st": 6.0,
    "energy_mean_db": -10.0,
    "energy_p10_db": -20.0,
    "energy_p50_db": -10.0,
    "centroid_mean_hz": 1500.0,
    "rolloff85_mean_hz": 2800.0,
    "flatness_mean": 0.1,
    "tilt_mean_db_khz": -8.0,
}
DEFAULT_VECTOR = np.zeros(N_FEATURES, dtype=np.float32)
for _name, _value in _DEFAULTS.items():
    DEFAULT_VECTOR[_INDEX[_name]] = _value


def feature_index(name: str) -> int:
    """Position of `name` in the feature vector (KeyError for an unknown name)."""
    return _INDEX[name]


class _Tables:
    """Filters and matrices built once per process."""

    def __init__(self) -> None:
        import librosa
        from scipy.fft import dct
        from scipy.signal import butter

        self.sos = butter(4, BAND, btype="bandpass", fs=SAMPLE_RATE, output="sos")
        self.window = np.hanning(WIN + 2)[1:-1].astype(np.float64)
        freqs = np.fft.rfftfreq(WIN, 1.0 / SAMPLE_RATE)
        self.band = (freqs >= BAND[0]) & (freqs <= BAND[1])
        self.freqs = freqs[self.band]
        fk = self.freqs / 1000.0
        self.tilt_x = (fk - fk.mean()) / np.sum((fk - fk.mean()) ** 2)
        self.low = (self.freqs < 1000.0)
        mel = librosa.filters.mel(
            sr=SAMPLE_RATE, n_fft=WIN, n_mels=N_MELS, fmin=BAND[0], fmax=BAND[1], norm="slaney"
        )
        self.mel = mel[:, self.band].astype(np.float64)
        self.dct = dct(np.eye(N_MELS), type=2, norm="ortho", axis=0)[:N_MFCC]


_tables: _Tables | None = None
_tables_lock = threading.Lock()


def _get_tables() -> _Tables:
    global _tables
    if _tables is None:
        with _tables_lock:
            if _tables is None:
                _tables = _Tables()
    return _tables


def warm_up() -> float:
    """Build the tables and run librosa.yin once (imports, numba). Returns seconds spent."""
    import time

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = 0.3 * np.sin(2 * np.pi * 150 * t) + 0.01 * rng.standard_normal(t.size)
    prosody_features(AudioFrame.from_float32(tone.astype(np.float32), SAMPLE_RATE))
    return time.perf_counter() - t0


def _linear_slope(t: np.ndarray, y: np.ndarray) -> float:
    if t.size < 3:
        return 0.0
    tc = t - t.mean()
    den = float(np.dot(tc, tc))
    return float(np.dot(tc, y - y.mean()) / den) if den > 0 else 0.0


def _runs(mask: np.ndarray) -> list[int]:
    """Lengths of runs of True in a 1-D bool array."""
    if not mask.any():
        return []
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    d = np.diff(padded)
    return list(np.flatnonzero(d == -1) - np.flatnonzero(d == 1))


def _shimmer(x: np.ndarray, starts: np.ndarray, periods: np.ndarray) -> float:
    """Cycle peak-amplitude perturbation over the voiced frames (every other one, for cost)."""
    num = den = 0.0
    for s, p in zip(starts[::2], periods[::2], strict=True):
        k = YIN_FRAME // p
        if k < 3:
            continue
        peaks = np.abs(x[s : s + k * p].reshape(k, p)).max(axis=1)
        num += float(np.abs(np.diff(peaks)).sum()) / (k - 1)
        den += float(peaks.mean())
    return num / den if den > 0 else 0.0


def prosody_features(frame: AudioFrame) -> np.ndarray:
    """The feature vector of one turn (any sample rate), float32 of length `N_FEATURES`."""
    return features_from_samples(to_float32(frame, SAMPLE_RATE))


def features_from_samples(samples: np.ndarray) -> np.ndarray:
    """Same as `prosody_features` for float samples in [-1, 1] already at 8 kHz."""
    import librosa
    from scipy.signal import find_peaks, sosfilt

    tb = _get_tables()
    out = DEFAULT_VECTOR.copy()
    x = np.asarray(samples, dtype=np.float64)
    if x.size:
        x = sosfilt(tb.sos, x - x.mean())
    if x.size < YIN_FRAME + HOP:
        x = np.concatenate([x, np.zeros(YIN_FRAME + HOP - x.size)])
    n_frames = 1 + (x.size - YIN_FRAME) // HOP
    starts = np.arange(n_frames) * HOP
    xp = np.concatenate([x, np.zeros(YIN_FRAME)])  # room for lagged windows at the end

    # --- gain normalisation on the frame RMS of the turn's loud frames
    win_idx = (starts + (YIN_FRAME - WIN) // 2)[:, None] + np.arange(WIN)
    frames = xp[win_idx]
    rms = np.sqrt(np.mean(frames**2, axis=1) + 1e-20)
    ref = float(np.percentile(rms, 95))
    if not np.isfinite(ref) or 20 * np.log10(ref + 1e-20) < SILENCE_DBFS:
        return out  # silence: nothing measurable
    gain = 10 ** (REF_DBFS / 20) / ref
    x *= gain
    xp *= gain
    frames *= gain
    db = 20 * np.log10(rms * gain + 1e-10) - REF_DBFS  # 0 dB = the reference level
    active = db > ACTIVE_DB
    act_idx = np.flatnonzero(active)
    first, last = int(act_idx[0]), int(act_idx[-1])
    span = slice(first, last + 1)
    span_frames = last - first + 1
    span_s = span_frames * HOP / SAMPLE_RATE
    t = np.arange(n_frames) * HOP / SAMPLE_RATE

    # --- F0 and voicing
    f0 = librosa.yin(
        x, fmin=FMIN, fmax=FMAX, sr=SAMPLE_RATE, frame_length=YIN_FRAME, hop_length=HOP,
        center=False,
    )[:n_frames]
    period = np.clip(np.rint(SAMPLE_RATE / f0), 2, YIN_FRAME // 2).astype(np.int64)
    ac_start = starts + (YIN_FRAME - WIN) // 4
    a_idx = ac_start[:, None] + np.arange(WIN)
    a = xp[a_idx]
    b = xp[a_idx + period[:, None]]
    periodicity = np.sum(a * b, axis=1) / np.sqrt(
        np.sum(a * a, axis=1) * np.sum(b * b, axis=1) + 1e-20
    )
    voiced = active & (periodicity > VOICING_MIN) & (f0 > FMIN * 1.02) & (f0 < FMAX * 0.98)
    v_idx = np.flatnonzero(voiced)
    out[_INDEX["voiced_fraction"]] = v_idx.size / span_frames
    if v_idx.size >= 3:
        st = 12 * np.log2(f0[v_idx] / 100.0)
        med = float(np.median(st))
        keep = np.abs(st - med) < 12.0  # drop octave errors
        st, vt = st[keep], t[v_idx][keep]
        p10, p50, p90 = np.percentile(st, [10, 50, 90])
        out[_INDEX["f0_mean_st"]] = st.mean()
        out[_INDEX["f0_std_st"]] = st.std()
        out[_INDEX["f0_p10_st"]] = p10
        out[_INDEX["f0_p50_st"]] = p50
        out[_INDEX["f0_p90_st"]] = p90
        out[_INDEX["f0_range_st"]] = p90 - p10
        out[_INDEX["f0_slope_st_s"]] = _linear_slope(vt, st)
        consecutive = np.diff(v_idx) == 1
        if consecutive.any():
            st_all = 12 * np.log2(f0[v_idx] / 100.0)
            out[_INDEX["f0_delta_st"]] = np.abs(np.diff(st_all))[consecutive].mean()
        # jitter: period deviation from the mean of its two neighbours (RAP-like, so a
        # smooth intonation movement is not counted), over runs of 3 consecutive voiced
        # frames whose periods differ by less than a factor 1.3 (Praat's maximum period
        # factor: larger jumps are tracking errors, not perturbation)
        per = SAMPLE_RATE / f0[v_idx]
        ratio = np.maximum(per[1:] / per[:-1], per[:-1] / per[1:])
        ok = (np.diff(v_idx) == 1) & (ratio < 1.3)
        triple = ok[1:] & ok[:-1]
        if triple.any():
            dev = np.abs(per[1:-1] - (per[:-2] + per[1:-1] + per[2:]) / 3)
            out[_INDEX["jitter"]] = dev[triple].mean() / per.mean()
        out[_INDEX["periodicity_mean"]] = periodicity[v_idx].mean()
        out[_INDEX["shimmer"]] = _shimmer(xp, starts[v_idx], period[v_idx])

    # --- energy contour, pauses, rate
    da = db[act_idx]
    out[_INDEX["energy_mean_db"]] = da.mean()
    out[_INDEX["energy_std_db"]] = da.std()
    e10, e50 = np.percentile(da, [10, 50])
    out[_INDEX["energy_p10_db"]] = e10
    out[_INDEX["energy_p50_db"]] = e50
    out[_INDEX["energy_slope_db_s"]] = _linear_slope(t[act_idx], da)
    db_span = np.maximum(db[span], ACTIVE_DB - 10)
    if db_span.size > 1:
        out[_INDEX["energy_delta_db"]] = np.abs(np.diff(db_span)).mean()
    smooth = np.convolve(db_span, np.ones(5) / 5, mode="same")
    peaks, _ = find_peaks(smooth, height=ACTIVE_DB + 10, prominence=4.0, distance=8)
    out[_INDEX["peak_rate_hz"]] = peaks.size / span_s
    inactive = ~active[span]
    pauses = [n for n in _runs(inactive) if n >= PAUSE_MIN_FRAMES]
    out[_INDEX["pause_fraction"]] = inactive.sum() / span_frames
    out[_INDEX["pause_mean_s"]] = (np.mean(pauses) * HOP / SAMPLE_RATE) if pauses else 0.0
    out[_INDEX["pause_rate_hz"]] = len(pauses) / span_s

    # --- spectrum of the active frames
    spec = np.abs(np.fft.rfft(frames[act_idx] * tb.window, axis=1)) ** 2
    spec = spec[:, tb.band] + 1e-12
    total = spec.sum(axis=1)
    centroid = spec @ tb.freqs / total
    cum = np.cumsum(spec, axis=1)
    rolloff = tb.freqs[np.argmax(cum >= 0.85 * total[:, None], axis=1)]
    flatness = np.exp(np.mean(np.log(spec), axis=1)) / np.mean(spec, axis=1)
    log_spec = 10 * np.log10(spec)
    tilt = log_spec @ tb.tilt_x
    out[_INDEX["centroid_mean_hz"]] = centroid.mean()
    out[_INDEX["centroid_std_hz"]] = centroid.std()
    out[_INDEX["rolloff85_mean_hz"]] = rolloff.mean()
    out[_INDEX["rolloff85_std_hz"]] = rolloff.std()
    out[_INDEX["flatness_mean"]] = flatness.mean()
    out[_INDEX["flatness_std"]] = flatness.std()
    out[_INDEX["tilt_mean_db_khz"]] = tilt.mean()
    out[_INDEX["tilt_std_db_khz"]] = tilt.std()
    low = spec[:, tb.low].sum()
    high = spec[:, ~tb.low].sum()
    out[_INDEX["band_ratio_db"]] = 10 * np.log10(high / low)

    # --- MFCC (log mel of the gain-normalised power spectrum)
    mfcc = np.log(spec @ tb.mel.T + 1e-8) @ tb.dct.T
    i0 = _INDEX["mfcc0_mean"]
    out[i0 : i0 + N_MFCC] = mfcc.mean(axis=0)
    out[i0 + N_MFCC : i0 + 2 * N_MFCC] = mfcc.std(axis=0)

    np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return out
