"""jieba's part-of-speech tags from a table shared by a machine's workers (issue 22): every
word has the tag of posseg's own dict, sentences are tagged the same, words added at run time
still count, and a table that does not match is refused (the dict stays)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from ivr import word_table, word_tags, worker_memory

SENTENCES = ["我的宽带坏了怎么办", "请问怎么开通国际漫游", "还款日期是几号", "重听一遍",
             "我想查一下银行卡的余额", "我要投诉你们的客服态度太差了", "hello 我想办理5G套餐",
             "给女儿的游戏里充值", "我家的猫不吃饭怎么办"]


@pytest.fixture()
def posseg(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - jieba.posseg, its dict restored
    import jieba
    from jieba import posseg

    jieba.setLogLevel(logging.WARNING)
    monkeypatch.setattr(posseg.dt, "word_tag_tab", posseg.dt.word_tag_tab)
    return posseg


def _tagged(posseg) -> list[list[tuple[str, str]]]:  # noqa: ANN001
    return [[(p.word, p.flag) for p in posseg.lcut(s)] for s in SENTENCES]


def test_every_word_keeps_its_tag_and_sentences_are_tagged_the_same(tmp_path: Path,
                                                                    posseg) -> None:  # noqa: ANN001
    own = posseg.dt.word_tag_tab
    assert isinstance(own, dict) and len(own) > 300_000
    expected = _tagged(posseg)
    assert word_tags.share_tags(tmp_path)
    mapped = posseg.dt.word_tag_tab
    assert isinstance(mapped, word_tags.MappedTags) and len(mapped) == len(own)
    assert all(mapped.get(w) == t for w, t in own.items())  # every word of the dictionary
    assert mapped.get("不是一个词语啊", "x") == "x" and "不是一个词语啊" not in mapped
    assert _tagged(posseg) == expected
    assert not word_tags.share_tags(tmp_path)  # already mapped: left alone
    mapped.update({"宽带坏了": "nz"})  # what posseg merges from jieba.add_word(..., tag=)
    assert mapped["宽带坏了"] == "nz" and len(mapped) == len(own) + 1
    mapped["余额"] = "v"
    assert mapped.get("余额") == "v" and len(mapped) == len(own) + 1


def test_a_table_is_only_used_for_the_dict_it_was_written_from(tmp_path: Path,
                                                               posseg,  # noqa: ANN001
                                                               caplog: pytest.LogCaptureFixture,
                                                               ) -> None:
    assert word_tags.table_dir(tmp_path, {"银行": "n"}) != word_tags.table_dir(
        tmp_path, {"银行": "v"})
    own = posseg.dt.word_tag_tab
    broken = word_tags.table_dir(tmp_path, own)
    word_table.write_table(broken, [("银行".encode(), b"n")])  # the same name, 1 word
    with caplog.at_level(logging.WARNING):
        assert not word_tags.share_tags(tmp_path)
    assert "the tagger keeps its dict" in caplog.text
    assert posseg.dt.word_tag_tab is own


def test_a_worker_on_the_mapped_word_table_shares_its_tags(tmp_path: Path, posseg,  # noqa: ANN001
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """`release_startup_memory` swaps the tags only where jieba's words are mapped (a worker
    on the shared inference server), into a table beside them."""
    import jieba

    worker_memory.release_startup_memory()
    assert isinstance(posseg.dt.word_tag_tab, dict)  # jieba's own words: its own tags
    freq = word_table.MappedFreq(word_table.build_table(tmp_path))
    monkeypatch.setattr(jieba.dt, "FREQ", freq)
    monkeypatch.setitem(sys.modules, "jieba", jieba)
    worker_memory.release_startup_memory()
    assert isinstance(posseg.dt.word_tag_tab, word_tags.MappedTags)
    assert list(tmp_path.glob("jieba-tags-v1-*/meta.json"))
