"""Language and dialect profiles: built-ins, lexicons, script, hotwords, dialect cues, overrides."""

from __future__ import annotations

import pytest

from ivr.understanding.profiles import (
    BUILTIN_PROFILES,
    CANTONESE,
    DONGBEI,
    ENGLISH_COLLOQUIAL,
    ENGLISH_GB,
    ENGLISH_IN,
    SICHUAN,
    LanguageProfile,
    apply_lexicon,
    detect_dialect,
    hotword_prompt,
    initial_prompts,
    normalise_for,
    resolve_profiles,
)

P = BUILTIN_PROFILES
ZH_PROMPT = "以下是普通话的句子。"


# ---------------------------------------------------------------- built-in profiles
def _fields(p: LanguageProfile) -> tuple:
    return (p.id, p.whisper_language, p.prompt_language, p.tts_voice, p.model,
            p.initial_prompt, p.script, p.cues, p.chinese)


def test_builtin_profile_ids():
    assert list(P) == ["zh-CN", "zh-sichuan", "zh-dongbei", "yue", "en-US", "en-GB", "en-IN"]
    assert all(pid == p.id for pid, p in P.items())


@pytest.mark.parametrize(("pid", "expected"), [
    ("zh-CN", ("zh-CN", "zh", "zh-CN", "zh", None, ZH_PROMPT, "t2s", (), True)),
    ("zh-sichuan", ("zh-sichuan", "zh", "zh-CN", "zh", None, "以下是四川话的句子。", "t2s",
                    ("啥子", "要得", "咋个", "啷个", "莫得", "晓得", "巴适", "安逸", "撒子",
                     "勒个"), True)),
    ("zh-dongbei", ("zh-dongbei", "zh", "zh-CN", "zh", None, "以下是东北话的句子。", "t2s",
                    ("嘎哈", "咋整", "唠嗑", "贼", "嘚瑟", "埋汰", "嗯呐", "杠杠的", "瞅",
                     "老鼻子"), True)),
    ("yue", ("yue", "yue", "zh-CN", "yue", None, "以下係廣東話。", "t2s",
             ("唔", "冇", "係", "佢", "咩", "乜嘢", "点解", "點解", "嘅", "喺", "啲", "咗", "揾",
              "搵"), True)),
    ("en-US", ("en-US", "en", "en-US", "en", None, "", None, (), False)),
    ("en-GB", ("en-GB", "en", "en-US", "en", None, "", None,
               ("mobile", "innit", "cheers", "quid", "fortnight"), False)),
    ("en-IN", ("en-IN", "en", "en-US", "en", None, "", None,
               ("do the needful", "prepone", "kindly", "revert", "good name"), False)),
])
def test_builtin_profile_fields(pid, expected):
    assert _fields(P[pid]) == expected


def test_builtin_lexicons():
    assert dict(P["zh-CN"].lexicon) == {}
    assert dict(P["zh-sichuan"].lexicon) == SICHUAN
    assert dict(P["zh-dongbei"].lexicon) == DONGBEI
    assert dict(P["yue"].lexicon) == CANTONESE
    assert dict(P["en-US"].lexicon) == ENGLISH_COLLOQUIAL
    assert dict(P["en-GB"].lexicon) == {**ENGLISH_COLLOQUIAL, **ENGLISH_GB}
    assert dict(P["en-IN"].lexicon) == {**ENGLISH_COLLOQUIAL, **ENGLISH_IN}
    # British and Indian English keep the colloquial words of American English
    assert P["en-GB"].lexicon["gonna"] == P["en-IN"].lexicon["gonna"] == "going to"
    assert "kindly" not in P["en-GB"].lexicon and "mobile" not in P["en-IN"].lexicon


def test_profiles_are_frozen():
    with pytest.raises(AttributeError):
        P["zh-CN"].model = "large-v3"  # type: ignore[misc]


# ---------------------------------------------------------------- lexicons
@pytest.mark.parametrize(("pid", "text", "expected"), [
    ("zh-sichuan", "啥子", "什么"),
    ("zh-sichuan", "要得", "好的"),
    ("zh-dongbei", "咋", "怎么"),
    ("yue", "唔", "不"),
    ("yue", "冇", "没有"),
    ("yue", "係", "是"),  # the Traditional form only
    ("en-US", "gonna", "going to"),
    ("en-US", "wanna", "want to"),
    ("en-GB", "gonna", "going to"),
    ("en-IN", "wanna", "want to"),
])
def test_lexicon_entry(pid, text, expected):
    assert normalise_for(P[pid], text) == expected


@pytest.mark.parametrize(("pid", "text", "expected"), [
    ("zh-sichuan", "你说的啥子哦，要得嘛", "你说的什么哦，好的嘛"),
    ("zh-sichuan", "宽带咋个又坏了", "宽带怎么又坏了"),
    ("zh-dongbei", "话费咋查", "话费怎么查"),
    ("zh-dongbei", "网咋整", "网怎么办"),  # the longer 咋整 before 咋
    ("zh-dongbei", "这是咋回事", "这是怎么回事"),
    ("zh-dongbei", "网贼慢", "网很慢"),
    ("yue", "係咪寬頻壞咗", "是不是宽带坏了"),
    ("yue", "唔該幫我查下", "谢谢帮我查下"),
    ("yue", "冇问题", "没问题"),  # the longer 冇问题 before 冇
    ("yue", "點樣查話費", "怎么查话费"),
    ("en-US", "I'm gonna pay, I wanna top up", "I'm going to pay, I want to top up"),
    ("en-US", "GONNA", "going to"),  # any case
    ("en-US", "yeah ok", "yes okay"),
    ("en-GB", "I wanna check my mobile bill", "I want to check my phone bill"),
    ("en-IN", "kindly do the needful", "please do what is needed"),
    ("en-IN", "please revert back soon", "please reply soon"),  # the longer phrase first
])
def test_lexicon_in_context(pid, text, expected):
    assert normalise_for(P[pid], text) == expected


@pytest.mark.parametrize(("pid", "text"), [
    ("yue", "系统"),  # 系 is "system": only the Traditional 係 means "is"
    ("yue", "我想查一下系统"),
    ("zh-sichuan", "哪个套餐"),
    ("zh-sichuan", "我想办哪个套餐"),
    ("zh-dongbei", "查话费"),
    ("en-IN", "only"),
    ("en-IN", "itself"),
    ("en-IN", "only the bill itself"),
    ("en-US", "gonnagain"),  # whole words only
    ("en-US", "wannabe"),
    ("en-US", "okay token"),
    ("en-GB", "my data tax"),  # ta -> thanks only as a word
    ("en-GB", "mobiles"),
])
def test_lexicon_leaves_common_words_alone(pid, text):
    assert normalise_for(P[pid], text) == text


@pytest.mark.parametrize("text", ["我想调整套餐", "整个月的话费", "完整"])
def test_dongbei_lexicon_keeps_words_with_zheng(text):
    assert normalise_for(P["zh-dongbei"], text) == text


@pytest.mark.parametrize(("text", "expected"), [("冇關係", "没有关系"), ("關係", "关系")])
def test_cantonese_lexicon_keeps_guanxi(text, expected):
    assert normalise_for(P["yue"], text) == expected


def test_lexicon_is_per_profile():
    assert normalise_for(P["zh-CN"], "啥子") == "啥子"
    assert normalise_for(P["zh-dongbei"], "啥子") == "什么子"  # dongbei only knows 啥
    assert normalise_for(P["zh-sichuan"], "唔") == "唔"
    assert normalise_for(P["en-US"], "kindly") == "kindly"
    assert normalise_for(P["en-US"], "my mobile") == "my mobile"


def test_apply_lexicon_directly():
    assert apply_lexicon("anything", {}, chinese=False) == "anything"
    assert apply_lexicon("a  b", {}, chinese=False) == "a  b"  # no lexicon: untouched
    assert apply_lexicon("I  gotta  go", ENGLISH_COLLOQUIAL, chinese=False) == "I got to go"
    assert apply_lexicon("要得 要得", SICHUAN, chinese=True) == "好的 好的"  # spaces kept
    assert apply_lexicon("a.b", {"a.b": "x"}, chinese=False) == "x"  # the word is escaped
    assert apply_lexicon("axb", {"a.b": "x"}, chinese=False) == "axb"


# ---------------------------------------------------------------- script
@pytest.mark.parametrize("pid", ["zh-CN", "zh-sichuan", "zh-dongbei", "yue"])
def test_traditional_to_simplified(pid):
    assert normalise_for(P[pid], "我想查詢話費") == "我想查询话费"
    assert normalise_for(P[pid], "寬帶壞了") == "宽带坏了"


def test_english_profiles_keep_chinese_script():
    assert normalise_for(P["en-US"], "話費") == "話費"


def test_script_none_keeps_traditional():
    p = LanguageProfile("zh-TW", "zh", "zh-CN", "zh", script=None)
    assert normalise_for(p, "話費") == "話費"


# ---------------------------------------------------------------- hotwords
def test_hotword_prompt_chinese_separators():
    assert hotword_prompt(ZH_PROMPT, ["话费", "宽带", "充值"]) == f"{ZH_PROMPT}话费、宽带、充值。"


def test_hotword_prompt_english_separators():
    assert hotword_prompt("", ["bill", "broadband", "top up"]) == "bill, broadband, top up"


def test_hotword_prompt_without_words_is_the_base():
    assert hotword_prompt(ZH_PROMPT, []) == ZH_PROMPT
    assert hotword_prompt(ZH_PROMPT, ["", "  "]) == ZH_PROMPT
    assert hotword_prompt("", []) == ""


def test_hotword_prompt_dedupes_and_strips():
    assert hotword_prompt("", ["Bill", "bill", " BILL ", "balance", "", "balance"]) == \
        "Bill, balance"
    assert hotword_prompt(ZH_PROMPT, ["话费", " 话费", "宽带 "]) == f"{ZH_PROMPT}话费、宽带。"


def test_hotword_prompt_mixed_vocabulary_uses_chinese_separator():
    assert hotword_prompt("", ["wifi", "宽带"]) == "wifi、宽带。"


def test_hotword_prompt_length_limit():
    words = [f"word{i:02d}" for i in range(50)]  # 6 letters each, 8 with ", "
    out = hotword_prompt("", words, limit=30)
    assert out == "word00, word01, word02, word03"  # 30 characters
    assert len(out) == 30
    assert hotword_prompt("", words, limit=29) == "word00, word01, word02"
    # the first word that does not fit ends the list (no shorter word is squeezed in)
    assert hotword_prompt("", ["aaaa", "bbbbbbbbbbbb", "c"], limit=10) == "aaaa"
    long = hotword_prompt("", words)
    assert len(long) <= 180 and long.startswith("word00, word01")
    assert hotword_prompt("", ["x" * 200]) == ""


@pytest.mark.parametrize("limit", [21, 24, 27])  # where the last word just fits
def test_hotword_prompt_chinese_never_exceeds_limit(limit):
    words = ["话费", "宽带", "充值", "人工", "客服", "账单", "余额"]
    assert len(hotword_prompt(ZH_PROMPT, words, limit=limit)) <= limit


# ---------------------------------------------------------------- dialect cues
CHINESE = [P["zh-sichuan"], P["zh-dongbei"], P["yue"]]
ENGLISH = [P["en-GB"], P["en-IN"]]


def test_detect_dialect_sichuan():
    assert detect_dialect("我想问一下啥子时候修好", CHINESE) is P["zh-sichuan"]


def test_detect_dialect_most_cues_wins():
    # one Sichuan cue (啥子) against two North-Eastern ones (嘎哈, 贼)
    assert detect_dialect("啥子嘛，你们嘎哈呢，网贼慢", CHINESE) is P["zh-dongbei"]
    # and the other way round, whatever the order of the candidates
    assert detect_dialect("啥子嘛要得，网贼慢", list(reversed(CHINESE))) is P["zh-sichuan"]


def test_detect_dialect_cantonese_and_english():
    assert detect_dialect("我部電話冇訊號", CHINESE) is P["yue"]
    assert detect_dialect("Kindly REVERT with the details", ENGLISH) is P["en-IN"]
    assert detect_dialect("my mobile is broken innit", ENGLISH) is P["en-GB"]


@pytest.mark.parametrize("text", ["我想查一下话费", "宽带坏了", "", "hello"])
def test_detect_dialect_none_without_cues(text):
    assert detect_dialect(text, CHINESE + ENGLISH) is None


def test_detect_dialect_without_candidates():
    assert detect_dialect("啥子", []) is None
    assert detect_dialect("啥子", [P["zh-CN"], P["en-US"]]) is None  # no cues at all


@pytest.mark.parametrize("text", ["I am calling about my automobile insurance",
                                  "is the account liquid"])
def test_detect_dialect_english_cues_are_whole_words(text):
    assert detect_dialect(text, ENGLISH) is None


# ---------------------------------------------------------------- overrides
def test_resolve_profiles_defaults_to_builtins():
    out = resolve_profiles()
    assert out == P and out is not P
    assert resolve_profiles({}) == P


def test_resolve_profiles_lexicon_merges():
    out = resolve_profiles({"zh-sichuan": {"lexicon": {"好多钱": "多少钱"}}})
    lex = out["zh-sichuan"].lexicon
    assert lex["好多钱"] == "多少钱"
    assert lex["啥子"] == "什么"  # the built-in words are kept
    assert len(lex) == len(SICHUAN) + 1
    assert "好多钱" not in P["zh-sichuan"].lexicon  # the built-in is untouched
    assert out["zh-sichuan"].cues == P["zh-sichuan"].cues
    assert normalise_for(out["zh-sichuan"], "话费还剩好多钱") == "话费余额还有多少"  # chinese_money


def test_resolve_profiles_lexicon_entry_replaced():
    out = resolve_profiles({"en-GB": {"lexicon": {"mobile": "mobile phone"}}})
    assert out["en-GB"].lexicon["mobile"] == "mobile phone"
    assert out["en-GB"].lexicon["cheers"] == "thanks"


def test_resolve_profiles_new_profile():
    out = resolve_profiles({"zh-hakka": {
        "whisper_language": "zh", "prompt_language": "zh-CN", "tts_voice": "zh",
        "initial_prompt": "以下是客家话。", "lexicon": {"𠊎": "我"}, "cues": ["𠊎", "佢兜"]}})
    p = out["zh-hakka"]
    assert (p.id, p.whisper_language, p.prompt_language, p.tts_voice, p.model) == (
        "zh-hakka", "zh", "zh-CN", "zh", None)
    assert p.initial_prompt == "以下是客家话。"
    assert dict(p.lexicon) == {"𠊎": "我"}
    assert p.cues == ("𠊎", "佢兜") and isinstance(p.cues, tuple)
    assert p.script == "t2s" and p.chinese
    assert set(out) == set(P) | {"zh-hakka"}
    assert "zh-hakka" not in P


def test_resolve_profiles_fields_and_cues_tuple():
    out = resolve_profiles({"yue": {"model": "/models/whisper-large-v3-ct2"},
                            "en-GB": {"cues": ["fortnight", "brilliant"]}})
    assert out["yue"].model == "/models/whisper-large-v3-ct2"
    assert out["yue"].lexicon == P["yue"].lexicon
    assert P["yue"].model is None
    assert out["en-GB"].cues == ("fortnight", "brilliant")
    assert detect_dialect("that's brilliant", [out["en-GB"]]) is out["en-GB"]


def test_resolve_profiles_on_another_base():
    base = {"zh-CN": P["zh-CN"]}
    out = resolve_profiles({"zh-CN": {"initial_prompt": "客服电话。"}}, base)
    assert list(out) == ["zh-CN"]
    assert out["zh-CN"].initial_prompt == "客服电话。"
    assert base["zh-CN"] is P["zh-CN"]


def test_initial_prompts():
    assert initial_prompts() == {"zh": ZH_PROMPT}
    assert initial_prompts({"en-US": {"initial_prompt": "A telephone call."}}) == {
        "zh": ZH_PROMPT, "en": "A telephone call."}
    # a dialect's prompt is not the language's
    assert initial_prompts({"zh-sichuan": {"initial_prompt": "四川"}}) == {"zh": ZH_PROMPT}
    assert initial_prompts({"en-GB": {"initial_prompt": "Hello."}}) == {"zh": ZH_PROMPT}
    assert initial_prompts({"zh-CN": {"initial_prompt": "电话。"}}) == {"zh": "电话。"}
    assert initial_prompts({"zh-CN": {"initial_prompt": ""}}) == {}
