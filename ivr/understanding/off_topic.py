"""Keywords said in passing: "how do I pay my electricity bill", "银行卡的余额怎么查".

An intent's keyword is strong evidence only when it is what the request is about. Callers
who want something the hotline does not do often name one of its keywords as part of another
thing: a gas bill, a bank card's balance, a game's top-up, another company's customer
service. Two signals say the keyword is incidental, and neither needs another pass of the
sentence encoder:

- **Foreign words**: the request also names something that only the dialplan's off-topic
  requests (`semantic.off_topic`) talk about: words of those requests that none of the
  intents' examples, keywords or labels use (`bank`, `insurance`, `parking`; 银行卡, 信用卡,
  燃气). They are derived from the dialplan itself, so an integrator who lists "my water
  bill" as off-topic teaches the hotline that `water` names another provider's business.
  Short and generic words never count (a stop list, at least 3 letters or 2 characters).
- **Another owner**: the keyword is tied to a noun the dialplan never uses: in Chinese the
  nouns right before it (公交卡余额, 银行卡的余额, 游戏里充值: jieba's part-of-speech tags),
  in English a noun it is "on", "for", "at", "of" or "from" ("the balance on my gift card",
  "wifi at the library"). Whose phone is being topped up is no owner (给女儿充值, "top up
  for my son"): a beneficiary after 给/帮/为, family words, months and the like are
  generic. Not the English word before the keyword (without a tagger, "chuck some credit"
  and "electricity bill" look alike), nor a Chinese noun after it (宽带速度 is the
  broadband's speed, 网络购物 is shopping: the first is far more common in calls).
- **Meaning against words**: the intent classifier (`intent_classifier`) puts clearly more
  probability on the off-topic class than on the keyword's intent (`recognition`).

Chinese off-topic requests are cut into words with jieba (already loaded for the knowledge
base); English ones are split on spaces, with a plural `s` dropped on both sides.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["foreign_words", "heard_foreign", "owner_elsewhere", "warm"]

# English words too common to say what a request is about, whatever list they occur in
_EN_GENERIC = frozenset("""
a an the i me my you your we our us it its is are was were be been am do does did done
to of in on at for with from by about into onto over under up down out off and or but
so not no yes can could would will shall should may might must have has had get got
what when where which who whom why how there here this that these those some any all
just really very please thanks thank hello hi hey like want need know tell ask asking
good bad new old big small cheap nice right wrong time today tomorrow tonight now
going gonna make let one two much many more most well also again still way thing things
something anything nothing someone anyone everyone really ok okay sorry sure them they
he she his her him their theirs what's it's i'm i'd don't can't won't does doing
monthly last latest current total whole final first next previous recent usual high huge
mum mom dad son daughter wife husband kid kids child children family friend mother father
january february march april may june july august september october november december
place flat house home week month year day monday tuesday wednesday thursday friday
saturday sunday amount money
change find fix won lost order apply raise rate sing teach recommend claim match name
limit arrive refunded leaking exchange hiring nearby ill book call calling called pay paid
owns company room power home house street television
""".split())
# Chinese nouns as generic (jieba tags the nouns; these say nothing of another business)
_ZH_GENERIC = frozenset("问问 名字 公司 时候 时间 东西 事情 问题 家里 电话 号码 手机 今天 明天 "
                        "谢谢 老板 小区 房子 女儿 儿子 老婆 老公 妈妈 爸爸 孩子 老人 家人 朋友 "
                        "本月 上月 月份 这个 那个 费用 屋企 屋头 屋里 家中".split())
_WORD = re.compile(r"[a-z0-9']+")
_lock = threading.Lock()


def _en_words(text: str) -> set[str]:
    out = set()
    for w in _WORD.findall(text.lower()):
        w = w.strip("'")
        if w.endswith("'s"):
            w = w[:-2]
        if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.add(w)
    return out


def warm(languages: Iterable[str]) -> None:
    """Load jieba's part-of-speech tagger now when a language is Chinese (about 0.6 CPU-s the
    first time in a process), not on the event loop at a caller's first Mandarin turn."""
    if any(lang.split("-")[0].lower() in {"zh", "yue", "cmn"} for lang in languages):
        _zh_words("银行卡的余额")


def _posseg() -> Any:
    """jieba's part-of-speech tagger, quiet (no "Building prefix dict" lines on stderr)."""
    import jieba
    from jieba import posseg

    jieba.setLogLevel(logging.WARNING)
    return posseg


def _zh_words(text: str) -> set[str]:
    posseg = _posseg()
    with _lock:  # jieba builds its dictionary once; not thread-safe while it does
        return {p.word for p in posseg.lcut(text)
                if len(p.word) >= 2 and p.flag.startswith("n") and p.word not in _ZH_GENERIC}


@functools.lru_cache(maxsize=64)
def foreign_words(off_topic: tuple[str, ...], plan_texts: tuple[str, ...],
                  chinese: bool) -> frozenset[str]:
    """Words of the `off_topic` requests that no text of the dialplan's intents uses
    (`plan_texts`: their examples, keywords and labels); cached by those texts."""
    if chinese:
        plan = "\n".join(plan_texts)
        return frozenset(w for t in off_topic for w in _zh_words(t)
                         if w not in plan and not any(ch.isascii() for ch in w))
    used: set[str] = set()
    for t in plan_texts:
        used |= _en_words(t)
    return frozenset(w for t in off_topic for w in _en_words(t)
                     if len(w) >= 3 and w not in _EN_GENERIC and w not in used)


def heard_foreign(text: str, words: Iterable[str], chinese: bool) -> str | None:
    """The first of `words` said in normalised `text` (Chinese: anywhere; English: as a
    word, a plural `s` dropped), or None."""
    if chinese:
        return next((w for w in sorted(words) if w in text), None)
    said = _en_words(text)
    return next((w for w in sorted(words) if w in said), None)


_ZH_LINKS = ("的", "里", "上", "中")  # between an owner and what it owns: 银行卡的余额, 游戏里充值
_ZH_FOR = ("给", "帮", "替", "为", "跟")  # a beneficiary follows: 给女儿充值
_EN_LINKS = frozenset({"on", "for", "at", "of", "from"})  # not "in": "wifi in my bedroom"
_EN_DETERMINERS = frozenset({"my", "the", "your", "our", "a", "an", "this", "that", "his",
                             "her", "their", "me"})  # "me council tax bill" (en-GB)


def owner_elsewhere(text: str, keyword: str, plan_texts: tuple[str, ...], chinese: bool
                    ) -> str | None:
    """The noun of normalised `text` that owns normalised `keyword` and that no text of
    the dialplan uses (see the module's docstring), or None."""
    if not keyword:
        return None
    if chinese:
        return _zh_owner(text, keyword, "\n".join(plan_texts))
    return _en_owner(text.split(), keyword.split(), _plan_words(plan_texts))


@functools.lru_cache(maxsize=64)
def _plan_words(plan_texts: tuple[str, ...]) -> frozenset[str]:
    used: set[str] = set()
    for t in plan_texts:
        used |= _en_words(t)
    return frozenset(used)


def _en_foreign(word: str, plan: frozenset[str]) -> bool:
    words = _en_words(word)
    return bool(words) and all(w.isalpha() and len(w) >= 3 and w not in _EN_GENERIC
                               and w not in plan for w in words)


def _en_owner(words: list[str], kw: list[str], plan: frozenset[str]) -> str | None:
    n = len(kw)
    for i in range(len(words) - n + 1):
        if words[i : i + n] != kw:
            continue
        j = i + n
        if j < len(words) and words[j] in _EN_LINKS:
            j += 1
            while j < len(words) and words[j] in _EN_DETERMINERS:
                j += 1
            if j < len(words) and _en_foreign(words[j], plan):
                return words[j]
    return None


def _zh_owner(text: str, keyword: str, plan: str) -> str | None:
    posseg = _posseg()
    with _lock:
        tokens = [(p.word, p.flag) for p in posseg.lcut(text)]
    starts, at = [], 0
    for word, _ in tokens:
        starts.append(at)
        at += len(word)
    first = text.find(keyword)
    if first < 0:
        return None
    k = next((i for i, s in enumerate(starts) if s <= first < s + len(tokens[i][0])), None)
    if k is None:
        return None
    before = k - 1
    if before >= 0 and tokens[before][0] in _ZH_LINKS:
        before -= 1
    run: list[str] = []
    while before >= 0 and tokens[before][1].startswith("n") and _known(tokens[before][0]):
        run.insert(0, tokens[before][0])
        before -= 1
    beneficiary = before >= 0 and tokens[before][0] in _ZH_FOR
    owner = "".join(run).rstrip("".join(_ZH_LINKS))  # 卡里 (jieba's one word) is 卡
    if run and not beneficiary and _zh_foreign(owner, run, plan):
        return owner
    return None


def _known(word: str) -> bool:
    """Is `word` in jieba's dictionary? Words it guessed (its HMM tags 查哈 of 查哈话费, a
    dialect 'check', as a name) are no nouns to trust."""
    import jieba

    return jieba.dt.FREQ.get(word, 0) > 0


def _zh_foreign(owner: str, parts: list[str], plan: str) -> bool:
    """A noun (run) the dialplan never uses: neither it nor any of its 2+ character parts
    is in the dialplan's texts, and it is not generic."""
    if len(owner) < 2 or owner in plan or owner in _ZH_GENERIC:
        return False
    return not any(len(p) >= 2 and (p in plan or p in _ZH_GENERIC) for p in parts)
