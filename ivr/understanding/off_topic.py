"""Keywords said in passing: "how do I pay my electricity bill", "银行卡的余额怎么查".

An intent's keyword is strong evidence only when it is what the request is about. Callers
who want something the hotline does not do often name one of its keywords as part of another
thing: a gas bill, a bank card's balance, a game's top-up, another company's customer
service. Two signals say the keyword is incidental, and neither needs another pass of the
sentence encoder:

- **Foreign words**: the request also names something that only the dialplan's off-topic
  requests (`semantic.off_topic`) talk about: words of those requests that none of the
  intents' examples, keywords or labels use (`bank`, `insurance`, `parking`; 银行卡, 信用卡,
  燃气), and English pairs of the plan's own words that only they use together ("credit
  card": 'credit' and 'card' are the hotline's words, a credit card is not its business).
  They are derived from the dialplan itself, so an integrator who lists "my water bill" as
  off-topic teaches the hotline that `water` names another provider's business. Short and
  generic words never count (a stop list, at least 3 letters or 2 characters).
- **Another owner**: the keyword is tied to a noun the dialplan never uses:
  - Chinese: the nouns right before it (公交卡余额, 银行卡的余额, 游戏里充值: jieba's
    part-of-speech tags), also across an adverb or a question word (视频会员自动续费,
    八达通怎么充值, 加油卡在哪里充值); one such noun in the run is enough (游戏账号: the
    account is the game's). Whose phone is being topped up is no owner (给女儿充值, 给我老爸
    充值): a person after 给/帮/为 is a beneficiary. Not a noun after the keyword (宽带速度 is
    the broadband's speed, 网络购物 is shopping: the first is far more common in calls).
  - English: what the keyword is "on", "for", "at", "of" or "from" ("the balance (left) on
    my prepaid visa", "wifi at the library"), what a keyword verb is done to ("top up my
    oyster card": a determiner right after it), and a noun between a determiner and the
    keyword ("my gas bill", "me council tax bill", "my game top-up"). Without a tagger an
    adjective looks like such a noun ("a proper person", "my itemised bill"): common
    adjectives, adjective endings, devices, amounts and the plan's own words are no owners.
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

from ivr.understanding import everyday_modifiers as everyday

__all__ = ["foreign_words", "heard_foreign", "kindred_elsewhere", "owner_elsewhere", "warm"]

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
itself myself yourself himself herself themselves ourselves yourselves too
""".split())
# Words before or after a keyword that name no other business: adjectives (without a
# tagger they look like the noun of "my gas bill"), the caller's own devices, amounts
_EN_NO_OWNER = frozenset("""
proper real actual live human senior junior different right wrong correct qualified
actual genuine normal usual regular whole entire full final recent latest current last
previous next first second third other another same own extra additional unexpected strange
weird crazy ridiculous massive huge big enormous tiny small little low high higher lower
expensive cheap cheaper outstanding overdue unpaid paid due pending remaining available
itemised itemized detailed paper printed online electronic estimated quarterly annual yearly
weekly daily monthly nightly usual basic standard premium unlimited free poor bad terrible
awful horrible slow fast quick dead broken new old entire complete total net proper decent
nice kind helpful local nearest best better worse worst only main whole certain particular
iphone android samsung handset tablet ipad galaxy pixel nokia huawei xiaomi oppo vivo
quid pound dollar euro yuan rupee tenner fiver buck rmb kuai cent penny pence
few couple bit lot lots several dozen hundred thousand half quarter bunch load
one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty
fifty sixty seventy eighty ninety million
weekend weekends holiday holidays trip journey travel travelling traveling abroad christmas
birthday exam exams
""".split())
_EN_ADJECTIVE_ENDINGS = ("ed", "ful", "ous", "ive", "ic", "able", "ible", "less", "ish",
                         "est", "ly", "ing")
# Chinese nouns as generic (jieba tags the nouns; these say nothing of another business)
_ZH_GENERIC = frozenset("问问 名字 公司 时候 时间 东西 事情 问题 家里 电话 号码 手机 今天 明天 "
                        "谢谢 老板 小区 房子 女儿 儿子 老婆 老公 妈妈 爸爸 孩子 老人 家人 朋友 "
                        "本月 上月 月份 这个 那个 费用 屋企 屋头 屋里 家中 账号 账户".split())
# People a top-up or a bill may be for (a beneficiary, never another business)
_ZH_PEOPLE = frozenset("老爸 老妈 爸 妈 爸爸 妈妈 爷爷 奶奶 外公 外婆 姥姥 姥爷 闺女 "
                       "女儿 儿子 孩子 小孩 老婆 老公 媳妇 爱人 哥哥 姐姐 弟弟 妹妹 朋友 "
                       "同事 家人 老人 父母 父亲 母亲 老头 老汉 老汉儿 婆婆 公公 岳父 岳母 "
                       "宝宝 亲戚 邻居 老板 我妈 我爸 老豆 老母 阿妈 阿爸 细佬 家姐 仔 囡".split())
_ZH_PERSON_ENDINGS = tuple("爸妈爷奶婆公哥姐弟妹女儿友人")
# Between an owner and the keyword, not ending the owner's run: 八达通怎么充值, 会员自动续费
_ZH_BRIDGE = frozenset("怎么 怎样 如何 咋 咋个 点样 在 哪 哪里 哪儿 去哪 能 能不能 可以 要 自动 "
                       "已经 还 又 都 每月 每个月 按月".split())
_ZH_ASCII_OWNED = frozenset("app sim vip id wifi pin puk 4g 5g 3g esim apn".split())
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
    (`plan_texts`: their examples, keywords and labels), and in English the pairs of
    words next to each other there ("credit card") that no such text says together; cached
    by those texts."""
    if chinese:
        plan = "\n".join(plan_texts)
        return frozenset(w for t in off_topic for w in _zh_words(t)
                         if w not in plan and not any(ch.isascii() for ch in w))
    used: set[str] = set()
    for t in plan_texts:
        used |= _en_words(t)
    single = {w for t in off_topic for w in _en_words(t)
              if len(w) >= 3 and w not in _EN_GENERIC and w not in used}
    said_together = {" ".join(_en_list(t)) for t in plan_texts}
    pairs = {f"{a} {b}" for t in off_topic for a, b in _pairs(_en_list(t))
             if a in used and b in used and not ({a, b} & (_EN_GENERIC | _EN_NO_OWNER))
             and not a.endswith(_EN_ADJECTIVE_ENDINGS)
             and not b.endswith(_EN_ADJECTIVE_ENDINGS)  # "stopped working" is no compound
             and not any(f"{a} {b}" in f" {s} " or f" {a} {b} " in f" {s} "
                         for s in said_together)}
    return frozenset(single | pairs)


def _en_list(text: str) -> list[str]:
    """The words of `text` in order, as `_en_words` spells them."""
    out = []
    for w in _WORD.findall(text.lower().replace("'s ", " ")):
        w = w.strip("'")
        if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def _pairs(words: list[str]) -> list[tuple[str, str]]:
    return [(words[i], words[i + 1]) for i in range(len(words) - 1)
            if len(words[i]) >= 3 and len(words[i + 1]) >= 3]


def heard_foreign(text: str, words: Iterable[str], chinese: bool) -> str | None:
    """The first of `words` said in normalised `text` (Chinese: anywhere; English: as a
    word or a pair of words, a plural `s` dropped), or None."""
    if chinese:
        return next((w for w in sorted(words) if w in text), None)
    said = _en_words(text)
    pairs = {f"{a} {b}" for a, b in _pairs(_en_list(text))}
    return next((w for w in sorted(words) if w in said or w in pairs), None)


_ZH_LINKS = ("的", "里", "上", "中")  # between an owner and what it owns: 银行卡的余额, 游戏里充值
_ZH_FOR = ("给", "帮", "替", "为", "跟")  # a beneficiary follows: 给女儿充值
_ZH_AT = ("在", "喺", "从", "用", "通过")  # a place or means: 在手机上充值, 用支付宝充值
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


_EN_STATE = frozenset({"left", "remaining", "owing", "owed", "outstanding", "due",
                       "available", "still", "now"})  # "the balance left on my store card"
_EN_NP_END = _EN_LINKS | frozenset({"in", "and", "or", "but", "please", "because", "so",
                                    "to", "with", "that", "which", "who", "is", "are", "was",
                                    "were", "has", "have", "t", "didn", "doesn", "isn",
                                    "wasn", "won", "can", "could", "will", "would", "as",
                                    "by", "into", "over", "if", "when", "online", "today"})
_NP_MAX = 4  # words of a noun phrase looked at
_BARE_MAX = 3  # words of an object without a determiner before its "for"/"on" ("top up
# v-bucks for ..."; not "of": "top up twenty of ...")


def _en_foreign(word: str, plan: frozenset[str]) -> bool:
    """A word that may name another business: not the plan's, not generic, no adjective,
    device or amount."""
    words = _en_words(word)
    return bool(words) and all(
        w.isalpha() and len(w) >= 3 and w not in _EN_GENERIC and w not in _EN_NO_OWNER
        and w not in plan and not w.endswith(_EN_ADJECTIVE_ENDINGS) and not everyday.en_everyday(w)
        for w in words)


def _en_owner(words: list[str], kw: list[str], plan: frozenset[str]) -> str | None:
    n = len(kw)
    for i in range(len(words) - n + 1):
        if words[i : i + n] != kw:
            continue
        owner = _en_owner_after(words, i + n, plan) or _en_modifier(words, i, plan)
        if owner is not None:
            return owner
    return None


def _en_owner_after(words: list[str], j: int, plan: frozenset[str]) -> str | None:
    """What the keyword ending before word `j` is on/for/at/of/from ("the balance (left)
    on my prepaid visa"), what it is done to ("top up my oyster card"), or what its bare
    object is for or on ("top up v-bucks for my son's fortnite")."""
    if j < len(words) and words[j] in _EN_STATE:
        j += 1
    linked = j < len(words) and words[j] in _EN_LINKS
    if not linked:  # "top up v-bucks for my son's fortnite": a bare object, then whose
        bare = next((b for b in range(j, min(j + _BARE_MAX, len(words)))
                     if words[b] in _EN_LINKS - {"of"}), None)
        if bare is not None and bare > j and not any(
                w in _EN_DETERMINERS or w in _EN_NP_END for w in words[j:bare]):
            j, linked = bare, True
    j += linked
    k = j
    while k < len(words) and words[k] in _EN_DETERMINERS:
        k += 1
    if not linked and k == j:  # a verb's object starts with a determiner
        return None
    phrase = []
    while (k < len(words) and len(phrase) < _NP_MAX and words[k] not in _EN_NP_END
           and words[k] not in _EN_DETERMINERS):  # "on my phone this month"
        if words[k] != "s":  # my kid's school lunch account
            phrase.append(words[k])
        k += 1
    return next((w for w in phrase if _en_foreign(w, plan)), None)


def _en_modifier(words: list[str], i: int, plan: frozenset[str]) -> str | None:
    """A noun between a determiner and the keyword at word `i` ("my gas bill", "me council
    tax bill", "my game top-up"); a possessive (my mum's phone bill) is a determiner."""
    j = i - 1
    while j >= 0 and i - j <= 3 and words[j] not in _EN_DETERMINERS and words[j] != "s":
        j -= 1
    if j < 0 or j == i - 1 or words[j] not in _EN_DETERMINERS | {"s"}:
        return None
    return next((w for w in words[j + 1 : i] if _en_foreign(w, plan)), None)


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
    for _ in range(2):  # past a place or means of doing it, once: 交通卡怎么在手机上充值
        before, owner = _zh_run_owner(tokens, before, plan)
        if owner is not None:
            return owner
        if before < 0 or tokens[before][0] not in _ZH_AT:
            return None
        before -= 1
    return None


def _zh_run_owner(tokens: list[tuple[str, str]], before: int, plan: str
                  ) -> tuple[int, str | None]:
    """The noun run ending at token `before` (across bridges and a link), and the owner it
    names when foreign; with the index of the token before the run."""
    while before >= 0 and tokens[before][0] in _ZH_BRIDGE:  # 八达通怎么充值
        before -= 1
    if before >= 0 and tokens[before][0] in _ZH_LINKS:
        before -= 1
    run: list[str] = []
    while before >= 0 and _zh_noun(*tokens[before], plan):
        run.insert(0, tokens[before][0])
        before -= 1
    end = before
    if before >= 0 and tokens[before][0] in _ZH_AT:  # where or by what, not whose
        return end, None
    if before >= 0 and tokens[before][1] == "r":  # 给我老爸充值
        before -= 1
    beneficiary = before >= 0 and tokens[before][0] in _ZH_FOR
    if beneficiary and any(_zh_person(w) for w in run):
        return end, None
    owner = "".join(run).rstrip("".join(_ZH_LINKS))  # 卡里 (jieba's one word) is 卡
    if run and _zh_foreign(owner, run, plan):
        return end, owner
    return end, None


def kindred_elsewhere(text: str, keywords: Iterable[str], plan_texts: tuple[str, ...]
                      ) -> str | None:
    """Chinese: a noun of normalised `text` of the same kind as one of `keywords` (ending in
    its last character) that no text of the dialplan uses: 电费 and 物业费 beside 话费, 订单
    beside 账单, 公交卡 beside 电话卡. Another provider's thing, though no keyword was said
    (a request matched by meaning or by an example's likeness), or None."""
    heads = {k[-1] for k in keywords if len(k) >= 2 and not k.isascii()}
    if not heads:
        return None
    plan = "\n".join(plan_texts)
    posseg = _posseg()
    with _lock:
        tokens = [(p.word, p.flag) for p in posseg.lcut(text)]
    return next((w for w, flag in tokens
                 if len(w) >= 2 and w[-1] in heads and flag.startswith("n") and _known(w)
                 and not _zh_person(w) and not everyday.zh_same_thing(w)
                 and _zh_foreign(w, [w], plan)), None)


def _zh_noun(word: str, flag: str, plan: str) -> bool:
    """A noun jieba knows (not a guess), or a Latin name the plan does not use (ETC的扣费)."""
    if flag == "eng":
        low = word.lower()
        return len(low) >= 2 and low not in _ZH_ASCII_OWNED and low not in plan.lower()
    return flag.startswith("n") and _known(word)


def _zh_person(word: str) -> bool:
    return word in _ZH_PEOPLE or word.endswith(_ZH_PERSON_ENDINGS)


def _known(word: str) -> bool:
    """Is `word` in jieba's dictionary? Words it guessed (its HMM tags 查哈 of 查哈话费, a
    dialect 'check', as a name) are no nouns to trust."""
    import jieba

    return jieba.dt.FREQ.get(word, 0) > 0


def _zh_foreign(owner: str, parts: list[str], plan: str) -> bool:
    """A noun (run) the dialplan never uses: it is not in the dialplan's texts nor generic,
    and its first part (2+ characters, or Latin letters) is neither the plan's, generic
    nor a person: 游戏账号 is the game's account, 宽带账号 and 我妈手机 are the plan's (the
    first part says whose)."""
    if len(owner) < 2 or owner in plan or owner in _ZH_GENERIC or everyday.zh_everyday(
            owner, parts, everyday.zh_plan_words(plan), _ZH_GENERIC):  # 纸质, 智能水表, 老房子
        return False
    first = next((p for p in parts if len(p) >= 2 or p.isascii()), "")
    heads = [first[:n] for n in range(2, len(first) + 1)]  # 手机号码 starts with 手机
    return bool(first) and not _zh_person(first) and not any(
        h in plan or h in _ZH_GENERIC for h in heads)

