"""The real-speech benchmark sets of issue 19 (testkit/bench/digit_sets.py, aligned_cuts.py):
deterministic, joined with 150-300 ms silences, scored as digit sequences. No model runs."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from testkit.bench.aligned_cuts import (
    _cut,
    _targets,
    zh_digit_pool,
    zh_digit_runs,
    zh_yes_no_clips,
)
from testkit.bench.digit_sets import (
    EDGE_S,
    FSDD,
    RATE,
    Clip,
    clip_audio,
    digit_errors,
    draw_strings,
    en_digit_strings,
    en_single_digits,
    fsdd_clips,
    join_clips,
    score_digits,
)

pytestmark = pytest.mark.skipif(not (FSDD / "manifest.csv").exists(),
                                reason="shared speech data not found")


def _samples(utt_audio) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.frombuffer(utt_audio.pcm, dtype="<i2")


def test_digit_strings_are_deterministic_one_speaker_test_takes() -> None:
    a, b = en_digit_strings(6, 8, seed=3), en_digit_strings(6, 8, seed=3)
    assert [u.ref for u in a] == [u.ref for u in b]
    assert all(np.array_equal(_samples(x.audio), _samples(y.audio))
               for x, y in zip(a, b, strict=True))
    assert [u.ref for u in en_digit_strings(6, 8, seed=4)] != [u.ref for u in a]
    test_files = {c.source for c in fsdd_clips("test")}
    for u in a:
        assert len(u.ref) == 8 and u.ref.isdigit()
        assert len(u.parts) == 8 and set(u.parts) <= test_files  # never a train take
        assert {p.split("/")[2] for p in u.parts} == {u.speaker}  # audio/<speaker>/<file>
        # each part is a take of the digit at its place (FSDD names files <digit>_<spk>_<n>)
        assert [p.rsplit("/", 1)[1][0] for p in u.parts] == list(u.ref)


def test_joins_use_150_to_300_ms_silences_exactly() -> None:
    u = en_digit_strings(3, 4, seed=11)[1]
    assert len(u.gaps_s) == 3 and all(0.150 <= g <= 0.300 for g in u.gaps_s)
    parts = [clip_audio(Clip(p, "", "")) for p in u.parts]
    expected = (2 * EDGE_S + sum(u.gaps_s)) * RATE + sum(len(p) for p in parts)
    assert len(_samples(u.audio)) == round(expected)
    # the samples between the first two takes are digital silence of the first gap
    start = round(EDGE_S * RATE) + len(parts[0])
    gap = _samples(u.audio)[start:start + round(u.gaps_s[0] * RATE)]
    assert not gap.any()
    nxt = _samples(u.audio)[start + len(gap):start + len(gap) + len(parts[1])]
    assert np.array_equal(nxt, parts[1])


def test_join_clips_gap_distribution() -> None:
    rng = random.Random(5)
    parts = [np.ones(80, dtype=np.int16)] * 200
    audio, gaps = join_clips(parts, rng)
    assert len(gaps) == 199 and min(gaps) >= 0.150 and max(gaps) <= 0.300
    assert max(gaps) - min(gaps) > 0.1  # spread over the range, not one value
    assert audio.sample_rate == RATE


def test_repeated_digits_use_other_takes_while_there_are_some() -> None:
    pool = {"s": {"1": [Clip("a", "1", "s"), Clip("b", "1", "s")], "2": [Clip("c", "2", "s")]}}
    strings = draw_strings(pool, 20, 4, seed=1, alphabet="12")
    assert all(set(d) <= {"1", "2"} for _, d, _ in strings)
    for _, digits, clips in strings:
        ones = [c.source for d, c in zip(digits, clips, strict=True) if d == "1"]
        if len(ones) == 2:
            assert sorted(ones) == ["a", "b"]
    assert any(len(set(d)) < len(d) for _, d, _ in strings)  # repeats occur naturally


def test_single_digits_cover_every_digit_and_speaker() -> None:
    utts = en_single_digits(40)
    assert len(utts) == 40
    assert {u.ref for u in utts} == set("0123456789")
    assert len({u.speaker for u in utts}) == 4
    assert len(en_single_digits()) == 200


@pytest.mark.parametrize(("ref", "hyp", "edits"), [
    ("69832548", "69832548", 0),
    ("69832548", "683548", 2),  # merged repeats / dropped digits: 2 deletions, not a number
    ("1234", "1244", 1),
    ("0471", "471", 1),  # a leading zero is a digit
    ("5", "", 1),
    ("12", "1122", 2),
])
def test_digit_errors_are_digit_by_digit(ref: str, hyp: str, edits: int) -> None:
    assert digit_errors(ref, hyp) == edits


def test_score_digits() -> None:
    got = score_digits([("69832548", "683548"), ("1234", "1234"), ("0", "8")])
    assert got["n"] == 3
    assert got["exact"] == pytest.approx(1 / 3)
    assert got["digit_error"] == pytest.approx(3 / 13)
    assert score_digits([])["n"] == 0


def test_aishell_targets_and_cuts() -> None:
    row = {"transcript": "其中 有 两个 是 内因 的 指标 三星 没有"}
    got = _targets(row)
    assert (5, 6, "是", "yes") in got  # a word of the segmentation
    assert (11, 12, "三", "digit") in got  # a digit syllable inside a word
    assert (13, 15, "没有", "no") in got
    assert not any(w == "两" for _, _, w, _ in got)  # 两 is not a digit string reading
    units = [{"word": "其", "start": 0.0, "end": 0.3, "probability": 0.1},
             {"word": "三", "start": 0.3, "end": 0.5, "probability": 0.9},
             {"word": "的人", "start": 0.5, "end": 0.9, "probability": 0.8}]
    assert _cut(units, 1, 2, 2.0) == (0.26, 0.54, 0.9)
    assert _cut(units, 2, 3, 2.0) is None  # 的 is not a whole aligned unit


def test_pools_keep_confident_cuts_only() -> None:
    cuts = {"cuts": [
        {"source": "asr_zh_aishell/a.flac", "word": "三", "kind": "digit", "speaker": "S",
         "start": 0.1, "end": 0.4, "prob": 0.9},
        {"source": "asr_zh_aishell/a.flac", "word": "九", "kind": "digit", "speaker": "S",
         "start": 0.5, "end": 0.8, "prob": 0.2},
        {"source": "asr_zh_aishell/b.flac", "word": "对", "kind": "yes", "speaker": "S",
         "start": 0.1, "end": 0.3, "prob": 0.7},
        {"source": "allison:vm-nomore.wav", "word": "no", "kind": "no", "speaker": "allison",
         "start": 0.0, "end": 0.3, "prob": 0.8}]}
    pool = zh_digit_pool(cuts)
    assert list(pool["S"]) == ["3"]
    assert [c.ref for c in zh_yes_no_clips(cuts, "zh-CN")] == ["yes"]
    assert [c.ref for c in zh_yes_no_clips(cuts, "en-US")] == ["no"]


def test_digit_runs_are_digits_read_in_a_row(tmp_path: Path) -> None:
    folder = tmp_path / "asr_zh_aishell"
    folder.mkdir()
    (folder / "manifest.csv").write_text(
        "path,transcript,speaker\n"
        "a.flac,于 二零一六 年 第一,S\n"  # a run of 4, then a lone 一
        "b.flac,二三四 线,S\n"  # one of its digits has no cut: skipped
        , encoding="utf-8")
    def cut(src: str, word: str, start: float, end: float) -> dict[str, object]:
        return {"source": f"asr_zh_aishell/{src}", "word": word, "kind": "digit",
                "speaker": "S", "start": start, "end": end, "prob": 0.01}
    cuts = {"cuts": [cut("a.flac", "二", 0.3, 0.6), cut("a.flac", "零", 0.55, 0.8),
                     cut("a.flac", "一", 0.75, 1.0), cut("a.flac", "六", 0.95, 1.2),
                     cut("a.flac", "一", 2.0, 2.2),
                     cut("b.flac", "二", 0.0, 0.3), cut("b.flac", "三", 0.3, 0.6)]}
    runs = zh_digit_runs(cuts, data=tmp_path)
    assert len(runs) == 1  # low alignment probabilities are kept (a run's first digit)
    run, whole = runs[0]
    assert (run.ref, run.start_s, run.end_s) == ("2016", 0.3, 1.2)
    assert (whole.ref, whole.source, whole.start_s, whole.end_s) == (
        "2016", "asr_zh_aishell/a.flac", 0.0, 0.0)
