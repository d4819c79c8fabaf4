"""The figures of `scripts/bench_asr`: one `Run` per (set, model, prompt) collects a row per
clip; `report` prints the table, whether the hotword prompt helped (0.5 point threshold) and
the worst clips of each run, so a reader sees the errors behind a rate."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Run", "report"]


@dataclass
class Run:
    set: str
    model: str
    prompt: str
    prompt_text: str
    metric: str
    rows: list[dict[str, object]] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        rows = self.rows
        errors = sum(int(r["errors"]) for r in rows)
        ref_len = sum(int(r["ref_len"]) for r in rows)
        errors_raw = sum(int(r["errors_raw"]) for r in rows)
        latencies = [float(r["latency_s"]) for r in rows]
        audio = sum(float(r["audio_s"]) for r in rows)
        out: dict[str, object] = {
            "set": self.set, "model": self.model, "prompt": self.prompt,
            "prompt_text": self.prompt_text, "metric": self.metric, "clips": len(rows),
            "error_rate": errors / ref_len if ref_len else 0.0,
            "error_rate_raw": errors_raw / ref_len if ref_len else 0.0,
            "rtf": sum(latencies) / audio if audio else 0.0,
            "mean_latency_s": statistics.fmean(latencies) if latencies else 0.0,
            "p90_latency_s": float(np.percentile(latencies, 90)) if latencies else 0.0,
            "audio_s": audio,
            "hotword_leaks": sum(1 for r in rows if r.get("leaked")),
        }
        if self.set == "digits":
            out["ivr_digit_accuracy"] = statistics.fmean(
                1.0 if r["ivr_ok"] else 0.0 for r in rows) if rows else 0.0
        return out



def report(runs: list[Run], summaries: list[dict[str, object]], codec: str, show: int,
           prompts: dict[tuple[str, str], str | None], elapsed: float) -> None:
    """The table, the hotword verdicts and the `show` worst clips of each run, on stdout."""
    print(f"\nASR through a simulated {codec} telephone channel (8 kHz G.711), beam 1, "
          f"language fixed; {elapsed:.0f} s in all")
    for key, text in prompts.items():
        if text:
            print(f"  prompt {key[0]}/{key[1]}: {text}")
    head = (f"{'set':8} {'model':8} {'prompt':9} {'clips':>5} {'metric':>6} {'rate':>7} "
            f"{'no-num':>7} {'RTF':>6} {'mean s':>7} {'p90 s':>6} {'leaks':>5}")
    print("\n" + head)
    print("-" * len(head))
    for s in summaries:
        leaks = str(s["hotword_leaks"]) if s["prompt"] == "hotwords" else ""
        print(f"{s['set']:8} {s['model']:8} {s['prompt']:9} {s['clips']:>5} {s['metric']:>6} "
              f"{100 * s['error_rate']:6.1f}% {100 * s['error_rate_raw']:6.1f}% "
              f"{s['rtf']:6.3f} {s['mean_latency_s']:7.2f} {s['p90_latency_s']:6.2f} {leaks:>5}")
    print("rate: CER (aishell), WER (en_misc), digit error rate (digits: exactly the one digit, "
          "as word or numeral);\nno-num: the same without number normalisation "
          "(numerals vs words); RTF = wall time / audio duration;\nleaks: clips whose "
          "transcript contains a hotword the speaker did not say.")
    for s in summaries:
        if s["set"] == "digits":
            print(f"digits {s['model']}/{s['prompt']}: IVR-style accuracy (extract_digits, "
                  f"'to'->2 'for'->4) {100 * s['ivr_digit_accuracy']:.1f}%")

    # did hotwords help?
    by_key = {(s["set"], s["model"], s["prompt"]): s for s in summaries}
    verdicts = []
    for (set_name, model, prompt), s in by_key.items():
        if prompt != "hotwords":
            continue
        for baseline in ("none", "profile"):
            b = by_key.get((set_name, model, baseline))
            if b is None:
                continue
            delta = 100 * (float(s["error_rate"]) - float(b["error_rate"]))
            word = "helped" if delta < -0.5 else "hurt" if delta > 0.5 else "no change"
            verdicts.append(f"{set_name}/{model}: hotwords vs {baseline} {delta:+.1f} pts "
                            f"({word})")
        if set_name == "aishell" and (b := by_key.get((set_name, model, "profile"))):
            n = by_key[(set_name, model, "none")]
            d = 100 * (float(b["error_rate"]) - float(n["error_rate"]))
            verdicts.append(f"aishell/{model}: profile prompt vs none {d:+.1f} pts")
    print("\nConclusion: " + "; ".join(verdicts) if verdicts else "")
    helped = [v for v in verdicts if "(helped)" in v]
    print(f"Hotword prompt helped in {len(helped)} of "
          f"{sum(1 for v in verdicts if 'hotwords vs' in v)} comparisons (threshold 0.5 pts).")
    print("Caveat: AISHELL is read news and the digits set is isolated digit words: the "
          "dialplan's hotwords are off-domain for them, so these figures measure the cost of "
          "the prompt on off-topic speech (and hotword leakage), not its benefit on in-domain "
          "requests; en_misc is mostly read prose too.")

    if show:
        print("\nWorst clips per run (errors / reference length):")
        for run in runs:
            worst = sorted(run.rows, key=lambda r: (-int(r["errors"]) / max(int(r["ref_len"]), 1),
                                                    str(r["path"])))[:show]
            for r in worst:
                if int(r["errors"]) == 0:
                    continue
                print(f"  {run.set}/{run.model}/{run.prompt} {r['errors']}/{r['ref_len']} "
                      f"{Path(str(r['path'])).name}: ref={r['ref'][:70]!r} hyp={r['hyp'][:70]!r}")
