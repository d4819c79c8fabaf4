"""jieba's and pypinyin's dictionaries as memory-mapped tables shared by a machine's workers
(issue 22): built from the installed packages, they give the same segmentation and the same
readings as the packages' own dicts; a damaged table is refused and the package keeps its
own dictionary."""

from __future__ import annotations

import copy
import logging
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from ivr import pinyin_table, word_table

SENTENCES = ["我的宽带坏了怎么办", "请问怎么开通国际漫游", "还款日期是几号", "重听一遍",
             "银行行长说长大了", "我要投诉你们的客服态度太差了", "hello 我想办理5G套餐"]


def test_bytes_tables_find_exactly_what_was_written(tmp_path: Path) -> None:
    items = [(f"词{i}".encode(), str(i).encode()) for i in range(2000)] + [(b"", b"empty")]
    word_table.write_table(tmp_path / "t", items)
    table = word_table.BytesTable(tmp_path / "t")
    assert len(table) == 2001
    assert all(bytes(table.find(k.decode())) == v for k, v in items)  # type: ignore[arg-type]
    assert table.find("词2000") is None and table.find(42) is None
    np.save(tmp_path / "t" / "hashes.npy", np.zeros(3, np.uint32))  # damaged
    with pytest.raises(ValueError, match="inconsistent"):
        word_table.BytesTable(tmp_path / "t")


def test_jieba_segments_the_same_from_the_mapped_table(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    own = jieba.Tokenizer()
    expected = [own.lcut(s) for s in SENTENCES]
    directory = word_table.build_table(tmp_path)
    freq = word_table.MappedFreq(directory)
    assert freq.total == own.total and len(freq) == len(own.FREQ)
    sample = random.Random(1).sample(sorted(own.FREQ), 5000)
    assert all(freq[w] == own.FREQ[w] for w in sample)
    assert "不是一个词语啊" not in freq and freq.get("不是一个词语啊", 1) == 1
    fresh = jieba.Tokenizer()  # a default tokenizer that has not loaded its dictionary
    monkeypatch.setattr(jieba, "dt", fresh)
    assert word_table.attach(tmp_path)
    assert isinstance(fresh.FREQ, word_table.MappedFreq)
    assert [fresh.lcut(s) for s in SENTENCES] == expected  # (= jieba.lcut in a worker)
    fresh.add_word("宽带坏了")  # a run-time word goes to the overlay
    assert fresh.FREQ["宽带坏了"] > 0 and "宽带坏了" in fresh.lcut("我的宽带坏了")
    assert not word_table.attach(tmp_path)  # already attached: left alone


def test_pypinyin_reads_the_same_from_the_mapped_table(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    from pypinyin import Style, lazy_pinyin, pinyin
    from pypinyin.phrases_dict import phrases_dict
    from pypinyin.seg import mmseg

    sample = random.Random(2).sample(sorted(phrases_dict), 2000)
    readings = copy.deepcopy({k: phrases_dict[k] for k in sample})
    texts = SENTENCES + ["".join(sample[i:i + 4]) for i in range(0, 400, 4)]

    def read() -> list[object]:
        return [(lazy_pinyin(t, style=Style.TONE3, neutral_tone_with_five=True),
                 pinyin(t, heteronym=True)) for t in texts]

    expected = read()
    for name in pinyin_table._USERS:  # restored after the test
        monkeypatch.setattr(sys.modules[name], "PHRASES_DICT", sys.modules[name].PHRASES_DICT)
    monkeypatch.setattr(sys.modules["pypinyin.phrases_dict"], "phrases_dict", phrases_dict)
    monkeypatch.setattr(mmseg.p_set, "_set", mmseg.p_set._set)
    models = tmp_path / "models"
    directory = pinyin_table.build_table(models)
    phrases = pinyin_table.MappedPhrases(directory / "phrases")
    assert all(phrases[k] == v for k, v in readings.items())  # every sampled phrase
    assert pinyin_table.attach(models)
    assert isinstance(mmseg.PHRASES_DICT, pinyin_table.MappedPhrases)
    assert read() == expected
    monkeypatch.setattr(pinyin_table, "table_dir", lambda _: tmp_path / "elsewhere")
    (tmp_path / "elsewhere" / "prefixes").mkdir(parents=True)
    (tmp_path / "elsewhere" / "prefixes" / "meta.json").write_text("{}")  # broken
    for name in pinyin_table._USERS:
        monkeypatch.setattr(sys.modules[name], "PHRASES_DICT", phrases_dict)
    monkeypatch.setattr(mmseg.p_set, "_set", set())
    with caplog.at_level(logging.WARNING):
        assert not pinyin_table.attach(models)
    assert "pypinyin keeps its own dict" in caplog.text
    assert mmseg.PHRASES_DICT is phrases_dict
