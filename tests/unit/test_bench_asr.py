"""The pieces of `scripts/bench_asr` (testkit/bench/asr_sets.py, asr_scoring.py,
asr_report.py): clip choice is deterministic and fair, number normalisation does not count
"42" against "forty-two", and the report prints the verdicts. No model runs."""

from __future__ import annotations

from ivr.understanding.profiles import BUILTIN_PROFILES
from testkit.bench.asr_report import Run, report
from testkit.bench.asr_scoring import digit_tokens, en_words, leaked, score, zh_chars
from testkit.bench.asr_sets import spread, stratified_digits

ZH = BUILTIN_PROFILES["zh-CN"]
EN = BUILTIN_PROFILES["en-US"]


def test_spread_takes_evenly_and_all_when_short() -> None:
    rows = [{"path": str(i)} for i in range(10)]
    assert [r["path"] for r in spread(rows, 3)] == ["0", "4", "9"]  # 0, 4.5 -> 4, 9
    assert spread(rows, 20) == rows


def test_stratified_digits_hears_every_digit_and_speaker_first() -> None:
    rows = [{"transcript": d, "speaker": s} for d in ("one", "two") for s in ("a", "b")
            for _ in range(3)]
    first = stratified_digits(rows, 4)
    assert {(r["transcript"], r["speaker"]) for r in first} == {
        ("one", "a"), ("one", "b"), ("two", "a"), ("two", "b")}
    assert stratified_digits(rows, 4) == first  # seeded: the same clips every run
    assert len(stratified_digits(rows, 100)) == len(rows)


def test_en_words_numbers_become_one_digit_string() -> None:
    assert en_words("Forty-two") == ["42"]
    assert en_words("fourteen fifty five") == ["1455"]
    assert en_words("one hundred and five dollars") == ["105", "dollars"]
    assert en_words("1,000 Mr. Smith") == ["1000", "mister", "smith"]
    assert en_words("forty-two", numbers=False) == ["forty", "two"]


def test_zh_chars_reads_numerals_as_aishell_writes_them() -> None:
    assert "".join(zh_chars("2015年", ZH)) == "二零一五年"
    assert "".join(zh_chars("138", ZH)) == "一百三十八"
    assert "".join(zh_chars("25%", ZH)) == "百分之二十五"
    assert "".join(zh_chars("3.5", ZH)) == "三点五"
    assert "".join(zh_chars("69832548", ZH, digitwise=True)) == "六九八三二五四八"
    assert "".join(zh_chars("你好，世界。", ZH)) == "你好世界"


def test_score_per_set() -> None:
    assert score("en_misc", EN, "forty two apples", "42 apples") == (0, 2, 2, False)
    errors, ref_len, _, _ = score("aishell", ZH, "二零一五 年", "2015年")
    assert (errors, ref_len) == (0, 5)
    assert score("digits", EN, "two", "Two.") == (0, 1, 0, True)
    assert score("digits", EN, "two", "to")[:3] == (1, 1, 1)  # not the digit, as said
    assert digit_tokens("Forward") == [] and digit_tokens("oh 6") == ["0", "6"]


def test_leaked_hotword_only_when_not_said() -> None:
    assert leaked("en_misc", ["bill"], "a short note", "a short bill")
    assert not leaked("en_misc", ["bill"], "pay the bill", "pay the bill")
    assert leaked("aishell", ["宽带"], "今天天气", "今天宽带")
    assert not leaked("aishell", ["网"], "今天天气", "今天网")  # one character: too short


def _row(errors: int, ref_len: int, latency: float) -> dict[str, object]:
    return {"path": "a/x.flac", "ref": "r", "hyp": "h", "errors": errors, "ref_len": ref_len,
            "errors_raw": errors, "latency_s": latency, "audio_s": 2.0, "leaked": False,
            "ivr_ok": True}


def test_run_summary_and_report(capsys) -> None:  # type: ignore[no-untyped-def]
    none = Run("en_misc", "base", "none", "", "WER", [_row(1, 10, 1.0), _row(0, 10, 1.0)])
    hot = Run("en_misc", "base", "hotwords", "bill", "WER", [_row(3, 10, 1.0),
                                                             _row(1, 10, 1.0)])
    summaries = [none.summary(), hot.summary()]
    assert summaries[0]["error_rate"] == 0.05 and summaries[0]["rtf"] == 0.5
    report([none, hot], summaries, "pcmu", 1, {("en-US", "hotwords"): "bill"}, 3.0)
    out = capsys.readouterr().out
    assert "simulated pcmu telephone channel" in out
    assert "en_misc/base: hotwords vs none +15.0 pts (hurt)" in out
    assert "Hotword prompt helped in 0 of 1 comparisons" in out
    assert "en_misc/base/hotwords 3/10 x.flac" in out
