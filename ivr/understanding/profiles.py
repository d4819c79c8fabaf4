"""Language and dialect profiles: how a call in a given language or dialect is recognised,
normalised, understood and answered.

A profile names the Whisper language and model, the dialplan language whose prompts and
intents it uses, a normalisation lexicon (dialect words and colloquialisms to standard forms),
script normalisation (Traditional -> Simplified), the TTS voice, and lexical cues that reveal
the dialect in a transcript. Built-in profiles cover zh-CN, Sichuanese (zh-sichuan),
North-Eastern Mandarin (zh-dongbei), Cantonese (yue), en-US, en-GB and en-IN; configuration
and dialplans may override or add profiles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from ivr.understanding.chinese_money import money_wording
from ivr.understanding.chinese_text import mainland_wording, to_simplified
from ivr.understanding.english_dialect import standard_english

# Dialect and colloquial wording -> standard Mandarin. Longer entries are applied first.
SICHUAN = {
    "啥子": "什么", "要得": "好的", "咋个": "怎么", "啷个": "怎么", "莫得": "没有", "没得": "没有",
    "晓得": "知道", "巴适": "舒服", "安逸": "很好", "摆龙门阵": "聊天", "娃儿": "孩子",
    "搞快点": "快点", "勒个": "这个", "撒子": "什么",
    "遭了": "糟了", "不存在": "没关系", "锤子": "什么",
    # round 7 (H4): 哈 for 一下, 好多 for 多少, 起 as a completive, 喊 (call someone) for 找
    "嘞个": "这个", "看哈": "看一下", "查哈": "查一下", "等哈": "等一下", "问哈": "问一下",
    "了好多钱": "了多少钱", "剩好多": "剩多少", "还有好多": "还有多少", "卡头": "卡里",
    "充起": "充上", "冲起": "充上", "停起了": "停了", "停起": "停了", "卡起": "卡住",
    "连不起": "连不上", "断求了": "断了", "坏求了": "坏了", "喊个": "找个", "喊人": "找人",
    "莫让": "别让", "莫要": "不要", "用不成": "用不了", "遭扣": "被扣",
}
DONGBEI = {
    "嘎哈": "干什么", "干啥": "干什么", "咋整": "怎么办", "咋": "怎么", "啥": "什么",
    "唠嗑": "聊天", "贼": "很", "嘚瑟": "炫耀", "埋汰": "脏", "忽悠": "骗", "嗯呐": "是的",
    "杠杠的": "很好", "整": "弄", "瞅": "看", "老鼻子": "很多", "稀罕": "喜欢", "磨叽": "慢",
    "咋回事": "怎么回事", "得劲": "舒服", "膈应": "讨厌",
    # round 7 (H4)
    "这老些": "这么多", "老些": "很多", "唠唠": "聊聊", "唠": "聊",
}
# Applied before and after Traditional->Simplified: 係 is 是, but its Simplified form 系 is
# also "system", so only the Traditional form and fixed phrases are mapped.
CANTONESE = {
    "唔該": "谢谢", "唔该": "谢谢", "唔係": "不是", "唔系": "不是", "係咪": "是不是",
    "係": "是", "唔使": "不用", "唔": "不", "冇问题": "没问题", "冇": "没有",
    "佢哋": "他们", "佢": "他", "乜嘢": "什么", "咩": "什么", "点解": "为什么", "點解": "为什么",
    "点样": "怎么", "點樣": "怎么", "嘅": "的", "喺": "在", "嘢": "东西", "啲": "点",
    "俾": "给", "畀": "给", "睇": "看", "攞": "拿", "边度": "哪里", "邊度": "哪里",
    "边个": "谁", "邊個": "谁", "几多": "多少", "幾多": "多少", "依家": "现在", "而家": "现在",
    "咗": "了", "揾": "找", "搵": "找", "宽频": "宽带", "寬頻": "宽带", "增值": "充值",
    # round 7 (H4): 仲 for 还, 唔到 for 不了, account, bill, transfer, paying in
    "仲有": "还有", "仲欠": "还欠", "仲剩": "还剩", "仲未": "还没", "仲要": "还要",
    "仲係": "还是", "戶口": "账户", "户口": "账户", "唔到": "不了", "冇晒": "全没有",
    "張單": "账单", "张单": "账单", "轉駁": "转接", "转驳": "转接", "俾錢": "交钱", "俾钱": "交钱",
    "講嘢": "说话", "讲嘢": "说话", "今個月": "这个月", "今个月": "这个月", "呢個": "这个",
    "呢个": "这个", "成日": "总是", "搞掂": "搞定",
}
ENGLISH_COLLOQUIAL = {
    "gonna": "going to", "wanna": "want to", "gotta": "got to", "ain't": "is not",
    "dunno": "don't know", "lemme": "let me", "gimme": "give me", "kinda": "kind of",
    "y'all": "you all", "ya": "you", "nah": "no", "yep": "yes", "yeah": "yes", "yup": "yes",
    "nope": "no", "cuz": "because", "'cause": "because", "ok": "okay",
}
ENGLISH_GB = {"mobile": "phone", "innit": "isn't it", "cheers": "thanks", "ta": "thanks",
              "quid": "pounds", "fortnight": "two weeks", "cheque": "check"}
ENGLISH_IN = {"do the needful": "do what is needed", "prepone": "bring forward",
              "kindly": "please", "revert back": "reply", "revert": "reply",
              "what is your good name": "what is your name"}

# Words that reveal a dialect in a (normalised, Simplified) transcript.
CUES = {
    "zh-sichuan": ["啥子", "要得", "咋个", "啷个", "莫得", "晓得", "巴适", "安逸", "撒子", "勒个"],
    "zh-dongbei": ["嘎哈", "咋整", "唠嗑", "贼", "嘚瑟", "埋汰", "嗯呐", "杠杠的", "瞅", "老鼻子"],
    "yue": ["唔", "冇", "係", "佢", "咩", "乜嘢", "点解", "點解", "嘅", "喺", "啲", "咗", "揾",
            "搵"],
    "en-GB": ["mobile", "innit", "cheers", "quid", "fortnight"],
    "en-IN": ["do the needful", "prepone", "kindly", "revert", "good name"],
}


@dataclass(frozen=True)
class LanguageProfile:
    id: str
    whisper_language: str  # "zh", "yue", "en"
    prompt_language: str  # the dialplan language used for prompts and intents
    tts_voice: str  # "zh", "yue", "en"
    model: str | None = None  # None: the service's ASR model
    initial_prompt: str = ""
    lexicon: Mapping[str, str] = field(default_factory=dict)
    script: str | None = "t2s"  # Traditional -> Simplified for Chinese
    cues: tuple[str, ...] = ()
    # normalise_for's results: every intent example and keyword is normalised for every
    # utterance (~450 texts a turn on the hotline); not compared, not copied by `replace`
    _normalised: dict[str, str] = field(default_factory=dict, init=False, repr=False,
                                        compare=False)

    @property
    def chinese(self) -> bool:
        return self.whisper_language in ("zh", "yue")


BUILTIN_PROFILES: dict[str, LanguageProfile] = {
    "zh-CN": LanguageProfile("zh-CN", "zh", "zh-CN", "zh",
                             initial_prompt="以下是普通话的句子。"),
    "zh-sichuan": LanguageProfile("zh-sichuan", "zh", "zh-CN", "zh",
                                  initial_prompt="以下是四川话的句子。", lexicon=SICHUAN,
                                  cues=tuple(CUES["zh-sichuan"])),
    "zh-dongbei": LanguageProfile("zh-dongbei", "zh", "zh-CN", "zh",
                                  initial_prompt="以下是东北话的句子。", lexicon=DONGBEI,
                                  cues=tuple(CUES["zh-dongbei"])),
    "yue": LanguageProfile("yue", "yue", "zh-CN", "yue", initial_prompt="以下係廣東話。",
                           lexicon=CANTONESE, cues=tuple(CUES["yue"])),
    "en-US": LanguageProfile("en-US", "en", "en-US", "en", lexicon=ENGLISH_COLLOQUIAL,
                             script=None),
    "en-GB": LanguageProfile("en-GB", "en", "en-US", "en",
                             lexicon={**ENGLISH_COLLOQUIAL, **ENGLISH_GB}, script=None,
                             cues=tuple(CUES["en-GB"])),
    "en-IN": LanguageProfile("en-IN", "en", "en-US", "en",
                             lexicon={**ENGLISH_COLLOQUIAL, **ENGLISH_IN}, script=None,
                             cues=tuple(CUES["en-IN"])),
}


# Standard words that contain a dialect word and must survive the lexicon (关係 is not 关是).
PROTECTED = ("關係", "关係", "聯係", "联係", "係統", "係数", "調整", "调整", "整個", "整个", "整體",
             "整体", "完整", "整理", "整數", "整数", "整天", "整齐", "整改", "整顿")


# The Traditional 係 ("is" in Cantonese and Hakka) for every Chinese profile (PROTECTED keeps
# 關係, 聯係, 係統, 係数).
TRADITIONAL_IS = {"係": "是"}


def apply_lexicon(text: str, lexicon: Mapping[str, str], chinese: bool) -> str:
    """Replace dialect words by standard ones, longest first (whole words in English;
    Chinese words in PROTECTED are left alone)."""
    if not lexicon:
        return text
    if chinese:
        kept = {f"\x00{i}\x00": w for i, w in enumerate(PROTECTED) if w in text}
        for mark, word in kept.items():
            text = text.replace(word, mark)
        for word in sorted(lexicon, key=len, reverse=True):
            text = text.replace(word, lexicon[word])
        for mark, word in kept.items():
            text = text.replace(mark, word)
        return text
    for word in sorted(lexicon, key=len, reverse=True):
        text = re.sub(rf"(?<![\w']){re.escape(word)}(?![\w'])", lexicon[word], text,
                      flags=re.IGNORECASE)
    return " ".join(text.split())


def hotword_prompt(base: str, vocabulary: Iterable[str], limit: int = 180) -> str:
    """Whisper initial prompt: the profile's sentence plus the dialplan's own words
    (intent keywords, product names), at most `limit` characters (the decoder's prompt
    budget is 224 tokens)."""
    words: list[str] = []
    seen: set[str] = set()
    for w in (w.strip() for w in vocabulary):
        if w and w.lower() not in seen:
            seen.add(w.lower())
            words.append(w)
    chinese = bool(re.search(r"[\u4e00-\u9fff]", base + "".join(words)))
    sep = "、" if chinese else ", "
    added: list[str] = []
    end = "。" if chinese else ""
    for w in words:
        if len(base + sep.join([*added, w]) + end) > limit:
            break
        added.append(w)
    return base + sep.join(added) + ("。" if chinese and added else "")


def detect_dialect(text: str, candidates: Iterable[LanguageProfile]) -> LanguageProfile | None:
    """The candidate whose cue words appear most in `text` (at least one), else None."""
    best, hits = None, 0
    lowered = text.lower()

    def count(cue: str) -> int:
        if re.search(r"[\u4e00-\u9fff]", cue):
            return lowered.count(cue)
        return len(re.findall(rf"(?<![\w']){re.escape(cue.lower())}(?![\w'])", lowered))

    for profile in candidates:
        n = sum(count(cue) for cue in profile.cues)
        if n > hits:
            best, hits = profile, n
    return best


def resolve_profiles(overrides: Mapping[str, Mapping[str, object]] | None = None,
                     base: Mapping[str, LanguageProfile] | None = None
                     ) -> dict[str, LanguageProfile]:
    """`base` (default: the built-in profiles) updated or extended by configuration or
    dialplan entries; a `lexicon` given for an existing profile adds to its lexicon."""
    profiles = dict(BUILTIN_PROFILES if base is None else base)
    for pid, fields_ in (overrides or {}).items():
        base = profiles.get(pid)
        values = dict(fields_)
        if "lexicon" in values and base is not None:
            values["lexicon"] = {**base.lexicon, **dict(values["lexicon"])}  # type: ignore[arg-type]
        if "cues" in values:
            values["cues"] = tuple(values["cues"])  # type: ignore[arg-type]
        if base is None:
            profiles[pid] = LanguageProfile(id=pid, **values)  # type: ignore[arg-type]
        else:
            profiles[pid] = replace(base, **values)  # type: ignore[arg-type]
    return profiles


NORMALISED_KEPT = 20_000  # texts remembered per profile (~2 MB)


def normalise_for(profile: LanguageProfile, text: str) -> str:
    """Dialect and colloquial wording to standard text, Traditional to Simplified.

    The lexicon runs before and after script conversion: some dialect words only exist in
    Traditional form (係), others are written in Simplified by the recogniser. Chinese text
    then gets `mainland_wording` (regional words any Chinese caller may use) and
    `money_wording` (money given with an everyday verb, balance questions, as 充 and 余额).
    """
    memo = profile._normalised
    done = memo.get(text)
    if done is not None:
        return done
    out = text if profile.chinese else standard_english(text)  # "gonnae", "whit's", "ur"
    out = apply_lexicon(out, profile.lexicon, profile.chinese)
    if profile.chinese:
        out = apply_lexicon(out, TRADITIONAL_IS, True)  # Hakka and Cantonese 係 heard as zh
    if profile.script == "t2s" and profile.chinese:
        out = apply_lexicon(to_simplified(out), profile.lexicon, True)
    if profile.chinese:
        out = mainland_wording(out)  # Taiwan usage, Shanghainese, Hokkien, Hakka, 俺
        out = money_wording(out)  # 给我弄一百块钱话费 -> 充, 还有没有钱 -> 余额还有多少
    if len(memo) >= NORMALISED_KEPT:  # bounded: callers' texts rarely repeat
        memo.clear()
    memo[text] = out
    return out


def initial_prompts(overrides: Mapping[str, Mapping[str, object]] | None = None
                    ) -> dict[str, str]:
    """Whisper language -> the prompt of its standard profile (zh-CN for zh, en-US for en),
    for tools that recognise without a call's profile (simulate, tests)."""
    out: dict[str, str] = {}
    for p in resolve_profiles(overrides).values():
        if p.id == p.prompt_language and p.initial_prompt:
            out.setdefault(p.whisper_language, p.initial_prompt)
    return out
