"""Words cut out of real read speech by forced alignment: Mandarin digit syllables and yes/no
words from AISHELL, English "no" from the shared English sentences and an Allison prompt.

How (deterministic; the result is cached in var/cache/bench/aligned_cuts_v1.json):
1. Which utterances: every AISHELL clip (../shared/data/asr_zh_aishell, one speaker, S0150,
   read news) whose transcript holds a digit character 零一二三四五六七八九 or one of the
   yes/no words below as a word of the manifest's word segmentation.
2. Forced alignment of the known transcript (manifest `transcript_raw`), not recognition:
   the multilingual whisper-base (the model the service ships, int8) encodes the clip in its
   30 s window and CTranslate2 `align` (through faster-whisper's `find_alignment`, the
   cross-attention DTW of the model's alignment heads) gives each character (each token run
   that decodes to whole characters) a start, an end and the probability of its tokens given
   the transcript so far and the audio.
3. A cut is a character (digits) or a segmented word (yes/no) that is a whole aligned unit,
   from its aligned start - `MARGIN_S` to its end + `MARGIN_S`, at least `MIN_CUT_S` long.
4. Kept when the recognised content matches: the aligned probability of its tokens in the
   utterance is at least `MIN_PROB` (the model, hearing the whole utterance, agrees the
   character is said there). The cut alone is not recognised to select it: that would select
   exactly the cuts free recognition gets right and bias the free-vs-grammar comparison.
   Digits read as words inside other words (三 of 三星, 一 of 一个) are real syllables of the
   digit and are kept; 两 is not a digit string reading and is left out.
Mandarin digit strings are then joined from these cuts like the English ones
(`digit_sets.build_strings`: 150-300 ms silences, one speaker since AISHELL here is one).

As built (v1, 163 utterances aligned, about 9 min on 2 busy cores): 170 digit cuts, 121 kept
(零 12, 一 39, 二 6, 三 30, 四 7, 五 9, 六 7, 七 3, 八 3, 九 5: every digit, 七 and 八 thin;
cuts 0.16-1.02 s, mean 0.39 s: a cut much longer than a syllable is a doubtful alignment);
yes/no words 59, kept 38 yes (对 17, 是 13, 好 5, 可以 3) and 13 no (不 6, 没有 5, 不是 1,
不用 1); English "no": 2 (LJ001-0012, vm-nomore). All Mandarin cuts are one speaker (S0150),
syllables of continuous read news (coarticulated with their neighbours), not digits read as a
digit string: a harder and different task than a caller reading an account number.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from testkit.bench.digit_sets import CACHE, DATA, RATE, Clip, load_clip, source_path

AISHELL = "asr_zh_aishell"
ZH_DIGITS = {"零": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6",
             "七": "7", "八": "8", "九": "9"}
ZH_YES = ("是", "对", "好", "可以", "是的", "对的", "好的", "没错", "行")
ZH_NO = ("不", "不是", "不对", "没有", "不用", "不要")
MARGIN_S = 0.04
MIN_CUT_S = 0.12
MIN_PROB = 0.5
CACHE_FILE = "aligned_cuts_v1.json"
# English "no": the shared English sentence with a spoken "no", and Allison's "No more messages".
EN_NO_SOURCES = (("asr_en_misc/audio/ljspeech/LJ001-0012.flac",
                  "especially as no more time is occupied, or cost incurred, in casting, "
                  "setting, or printing beautiful letters"),  # its manifest transcript
                 ("allison:vm-nomore.wav", "No more messages."))  # Asterisk's prompt text

__all__ = ["Aligner", "aligned_cuts", "zh_digit_pool", "zh_digit_runs",
           "zh_yes_no_clips"]


class Aligner:
    """Forced alignment of a known transcript with whisper-base (faster-whisper/CTranslate2)."""

    def __init__(self, model_dir: Path) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(str(model_dir), device="cpu", compute_type="int8",
                                  cpu_threads=2)

    def align(self, samples: np.ndarray, text: str, language: str) -> list[dict[str, Any]]:
        """[{word, start, end, probability}] for `text` in `samples` (8 kHz int16)."""
        from faster_whisper.tokenizer import Tokenizer

        from audio_models.frames import AudioFrame
        from audio_models.resample import to_float32

        audio = to_float32(AudioFrame(samples.astype(np.int16).tobytes(), RATE), 16000)
        feats = self.model.feature_extractor(audio)
        frames = min(feats.shape[-1], 3000)
        feats = np.pad(feats[:, :3000], ((0, 0), (0, 3000 - frames)))
        encoded = self.model.encode(feats)
        tok = Tokenizer(self.model.hf_tokenizer, True, task="transcribe", language=language)
        tokens = tok.encode(text if language == "zh" else " " + text.strip())
        words = self.model.find_alignment(tok, [tokens], encoded, frames)[0]
        return [{"word": w["word"], "start": float(w["start"]), "end": float(w["end"]),
                 "probability": float(w["probability"])} for w in words]


def _aishell_rows(data: Path) -> list[dict[str, str]]:
    with open(data / AISHELL / "manifest.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _targets(row: dict[str, str]) -> list[tuple[int, int, str, str]]:
    """(char start, char end, text, kind) of the digits and yes/no words in one transcript."""
    out: list[tuple[int, int, str, str]] = []
    pos = 0
    for word in row["transcript"].split():
        for k, ch in enumerate(word):
            if ch in ZH_DIGITS:
                out.append((pos + k, pos + k + 1, ch, "digit"))
        if word in ZH_YES or word in ZH_NO:
            out.append((pos, pos + len(word), word, "yes" if word in ZH_YES else "no"))
        pos += len(word)
    return out


def _cut(units: list[dict[str, Any]], a: int, b: int, duration: float
         ) -> tuple[float, float, float] | None:
    """(start, end, probability) of characters [a, b) when they are whole aligned units."""
    pos, first, last = 0, None, None
    for i, u in enumerate(units):
        n = len(u["word"].strip())
        if pos == a:
            first = i
        if pos + n == b and first is not None:
            last = i
            break
        pos += n
    if first is None or last is None:
        return None
    start = max(units[first]["start"] - MARGIN_S, 0.0)
    end = min(units[last]["end"] + MARGIN_S, duration)
    if end - start < MIN_CUT_S:
        return None
    prob = float(np.mean([units[i]["probability"] for i in range(first, last + 1)]))
    return round(start, 3), round(end, 3), round(prob, 3)


def _build(aligner: Aligner, data: Path) -> dict[str, Any]:
    cuts: list[dict[str, Any]] = []
    rows = [r for r in _aishell_rows(data) if _targets(r)]
    for r in rows:
        samples = load_clip(data / AISHELL / r["path"])
        text = r["transcript"].replace(" ", "")
        units = aligner.align(samples, text, "zh")
        if "".join(u["word"].strip() for u in units) != text:
            continue
        for a, b, word, kind in _targets(r):
            got = _cut(units, a, b, len(samples) / RATE)
            if got:
                cuts.append({"source": f"{AISHELL}/{r['path']}", "word": word, "kind": kind,
                             "speaker": r["speaker"], "start": got[0], "end": got[1],
                             "prob": got[2]})
    for source, text in EN_NO_SOURCES:
        samples = load_clip(source_path(source, data))
        units = aligner.align(samples, text, "en")
        for u in units:
            if u["word"].strip().lower() == "no":
                start = max(u["start"] - MARGIN_S, 0.0)
                end = min(u["end"] + MARGIN_S, len(samples) / RATE)
                cuts.append({"source": source, "word": "no", "kind": "no",
                             "speaker": "allison" if source.startswith("allison") else "LJ",
                             "start": round(start, 3), "end": round(end, 3),
                             "prob": round(u["probability"], 3)})
                break
    return {"aligned_utterances": len(rows), "cuts": cuts}


def aligned_cuts(model_dir: Path | None = None, data: Path = DATA, cache: Path = CACHE
                 ) -> dict[str, Any]:
    """Every candidate cut (kept or not: `prob` against `MIN_PROB`), built once and cached."""
    path = cache / CACHE_FILE
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    if model_dir is None:
        from audio_models.model_store import resolve_asr_model

        model_dir = resolve_asr_model("base", Path(__file__).resolve().parents[2]
                                      / "var" / "cache" / "models")
    built = _build(Aligner(model_dir), data)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(built, ensure_ascii=False, indent=0), encoding="utf-8")
    return built


def _kept(cuts: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [c for c in cuts["cuts"] if c["kind"] == kind and c["prob"] >= MIN_PROB]


def zh_digit_pool(cuts: dict[str, Any]) -> dict[str, dict[str, list[Clip]]]:
    """speaker -> digit -> kept Mandarin digit cuts (source order)."""
    pool: dict[str, dict[str, list[Clip]]] = {}
    for c in _kept(cuts, "digit"):
        clip = Clip(c["source"], ZH_DIGITS[c["word"]], c["speaker"], c["start"], c["end"])
        pool.setdefault(c["speaker"], {}).setdefault(clip.ref, []).append(clip)
    return pool


def zh_yes_no_clips(cuts: dict[str, Any], language: str = "zh-CN") -> list[Clip]:
    """Kept yes/no cuts of one language (zh-CN: AISHELL words; en-US: the English "no"s);
    `ref` is "yes" or "no"."""
    zh = language.startswith("zh")
    out = []
    for kind in ("yes", "no"):
        for c in _kept(cuts, kind):
            if c["source"].startswith(AISHELL) == zh:
                out.append(Clip(c["source"], kind, c["speaker"], c["start"], c["end"]))
    return out


def zh_digit_runs(cuts: dict[str, Any], data: Path = DATA, min_len: int = 2
                  ) -> list[tuple[Clip, Clip]]:
    """Digits read one after another in the AISHELL news (years such as 二零一六, 一九九零;
    二三四 of 二三四线; 九零 of 九零后): (the run cut from its first digit's aligned start to
    its last digit's end, the whole utterance), `ref` the digit string. Real digit strings
    read continuously, unlike the joined single-syllable cuts; there are few (12 runs in 11
    utterances as built). Not filtered by `MIN_PROB`: the first digit of a run is always
    unlikely as text (二 after 于), whatever the audio says."""
    by_source: dict[str, list[dict[str, Any]]] = {}
    for c in cuts["cuts"]:
        if c["kind"] == "digit":
            by_source.setdefault(c["source"], []).append(c)
    out: list[tuple[Clip, Clip]] = []
    for row in _aishell_rows(data):
        source = f"{AISHELL}/{row['path']}"
        text = row["transcript"].replace(" ", "")
        places = [i for i, ch in enumerate(text) if ch in ZH_DIGITS]
        found = by_source.get(source, [])
        if not places or len(found) != len(places):
            continue  # a digit of this utterance was not cut: runs unknown
        run: list[int] = []
        for k, pos in enumerate([*places, -2]):
            if run and pos == places[run[-1]] + 1:
                run.append(k)
                continue
            if len(run) >= min_len:
                first, last = found[run[0]], found[run[-1]]
                ref = "".join(ZH_DIGITS[found[i]["word"]] for i in run)
                out.append((Clip(source, ref, row["speaker"], first["start"], last["end"]),
                            Clip(source, ref, row["speaker"])))
            run = [k]
    return out
