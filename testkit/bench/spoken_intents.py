"""The spoken part of `scripts/bench_intents` (part (b), skipped with --skip-audio): real
human digit strings (Free Spoken Digit Dataset clips of one speaker joined by 150-300 ms
pauses, seeded) and SYNTHETIC English requests (Piper TTS, labelled so: not an accuracy figure
for callers), each through the 8 kHz telephone channel and Whisper."""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from audio_models.frames import AudioFrame, concat
from audio_models.telephone import telephone_channel
from ivr.dialplan.models import Dialplan
from ivr.understanding.intents import extract_digits
from ivr.understanding.profiles import (
    BUILTIN_PROFILES,
    LanguageProfile,
    hotword_prompt,
    normalise_for,
)
from testkit.bench.asr_sets import load_audio
from testkit.bench.digit_sets import digit_errors
from testkit.bench.intent_variants import Item, pct

__all__ = ["digit_accuracy", "digit_strings", "run_spoken"]

# (text, profile, plan, candidates) -> (normalised, got, top, score, evidence)
Understand = Callable[[str, LanguageProfile, Dialplan, list[str]],
                      tuple[str, str | None, str | None, float, str]]


def digit_strings(data: Path, count: int, seed: int) -> list[tuple[str, str, AudioFrame]]:
    """`count` (digits, speaker, audio): alternately 4- and 8-digit strings, each made of one
    speaker's real clips with 150-300 ms pauses and 300 ms of silence around."""
    folder = data / "asr_en_digits"
    with open(folder / "manifest.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    words = "zero one two three four five six seven eight nine".split()
    by: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rows:
        by[(r["speaker"], str(words.index(r["transcript"])))].append(r["path"])
    speakers = sorted({r["speaker"] for r in rows})
    rng = random.Random(seed)
    out = []
    for n in range(count):
        length = 4 if n % 2 == 0 else 8
        speaker = speakers[(n // 2) % len(speakers)]
        digits = "".join(rng.choice("0123456789") for _ in range(length))
        parts = []
        for i, d in enumerate(digits):
            clip = load_audio(folder / rng.choice(by[(speaker, d)]))
            if i:
                parts.append(AudioFrame.silence(rng.uniform(0.15, 0.30), clip.sample_rate))
            parts.append(clip)
        rate = parts[0].sample_rate
        audio = concat([AudioFrame.silence(0.3, rate), *parts, AudioFrame.silence(0.3, rate)])
        out.append((digits, speaker, audio))
    return out


def digit_accuracy(ref: str, hyp: str) -> float:
    """1 - edit distance / length, floored at 0."""
    return max(0.0, 1 - digit_errors(ref, hyp) / len(ref))


def run_spoken(args: argparse.Namespace, items: list[Item], plan: Dialplan,
               candidates: list[str], understand: Understand) -> dict[str, Any]:
    """Part (b): real digit strings and synthetic English requests through the telephone
    channel and Whisper; `understand` is the benchmark's text understanding of part (a)."""
    from audio_models.model_store import resolve_asr_model
    from audio_models.tts import PiperTTS
    from audio_models.whisper_asr import WhisperASR

    out: dict[str, Any] = {}
    en = BUILTIN_PROFILES["en-US"]
    t0 = time.perf_counter()
    asr = WhisperASR(resolve_asr_model(args.model, args.cache_dir), name=args.model, beam_size=1,
                     short_window_s=args.short_window)
    asr.warmup()
    print(f"\n(b) SPOKEN: {args.codec} telephone channel -> Whisper {args.model} (beam 1, en) "
          f"[model ready in {time.perf_counter() - t0:.1f} s]")

    # real human digit strings
    strings = digit_strings(args.data, args.digit_strings, args.seed)
    rows = []
    for digits, speaker, audio in strings:
        tr = asr.transcribe_sync(telephone_channel(audio, args.codec), en.whisper_language)
        got = extract_digits(normalise_for(en, tr.text), en.prompt_language)
        rows.append({"digits": digits, "speaker": speaker, "hyp": tr.text, "got": got,
                     "exact": got == digits, "digit_acc": digit_accuracy(digits, got),
                     "audio_s": audio.duration, "asr_s": tr.processing_time})
    print(f"REAL SPEECH - digit strings (Free Spoken Digit Dataset, {len(rows)} strings, "
          f"4 speakers, seed {args.seed}):")
    print(f"  {'length':>6} {'strings':>7} {'exact':>14} {'digit acc':>9} {'mean ASR s':>10}")
    for length in (4, 8):
        sub = [r for r in rows if len(r["digits"]) == length]
        if sub:
            print(f"  {length:>6} {len(sub):>7} {pct(sum(r['exact'] for r in sub), len(sub)):>14} "
                  f"{100 * statistics.fmean(r['digit_acc'] for r in sub):8.1f}% "
                  f"{statistics.fmean(r['asr_s'] for r in sub):10.2f}")
    by_speaker: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_speaker[r["speaker"]].append(r)
    print("  by speaker (exact): " + ", ".join(
        f"{s} {pct(sum(r['exact'] for r in rs), len(rs)).strip()}" for s, rs in by_speaker.items()))
    for r in [r for r in rows if not r["exact"]][: args.show]:
        print(f"  miss {r['digits']} ({r['speaker']}): heard {r['hyp']!r} -> {r['got']!r}")
    out["digit_strings"] = rows

    # synthetic English requests
    standard = [it for it in items if it.group == "en" and it.category == "standard"]
    if args.limit is not None:
        standard = standard[: args.limit]
    tts = PiperTTS()
    vocab: list[str] = []
    for intent in plan.intents.values():
        kw = intent.keywords
        vocab += kw.get("en-US", []) if isinstance(kw, dict) else kw
    prompts = {"none": None, "hotwords": hotword_prompt(en.initial_prompt, vocab)}
    syn_rows = []
    for it in standard:
        audio = telephone_channel(tts.synthesize_sync(it.text, "en"), args.codec)
        for label, prompt in prompts.items():
            tr = asr.transcribe_sync(audio, en.whisper_language, prompt)
            norm, got, top, score, evidence = understand(tr.text, BUILTIN_PROFILES[it.profile],
                                                         plan, candidates)
            syn_rows.append({"text": it.text, "prompt": label, "expected": it.expected,
                             "hyp": tr.text, "got": got, "score": round(score, 3),
                             "ok": got == it.expected, "asr_s": tr.processing_time})
    print(f"SYNTHETIC SPEECH (Piper TTS joe-us, NOT real callers) - en standard requests, "
          f"{len(standard)} sentences -> match_intents:")
    for label in prompts:
        sub = [r for r in syn_rows if r["prompt"] == label]
        if sub:
            print(f"  prompt {label:8}: intent accuracy {pct(sum(r['ok'] for r in sub), len(sub))}"
                  f", mean ASR {statistics.fmean(r['asr_s'] for r in sub):.2f} s")
    for r in syn_rows:
        if not r["ok"]:
            print(f"  miss [{r['prompt']}] {r['text']!r}: heard {r['hyp']!r} -> "
                  f"{r['got'] or '(none)'} (expected {r['expected']}, score {r['score']})")
    out["synthetic_en"] = {"label": "SYNTHETIC (Piper TTS), not an accuracy figure for callers",
                           "prompts": prompts, "rows": syn_rows}
    asr.close()
    return out
