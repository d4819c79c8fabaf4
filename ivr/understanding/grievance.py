"""Is the caller aggrieved ("停电三天了都没人管", "the man who read the meter damaged my gate"),
and which of a dialplan's intents takes complaints?

A grievance names the thing it is about: an outage, a meter, a parcel. The words then hear
the intent of that thing (outage, meter reading, tracking) although the caller wants to
complain about how it was handled (issue 17, round 10). This module tells a grievance by its
FORM, not by a trade's nouns, so that it holds on dialplans nobody tuned it on:
- someone of the company did harm or was rude (a person: 师傅, 快递员, 你们的人, "the driver",
  "your engineer", "the man who ...", and a deed: 骂, 摔, 弄坏, 挂电话, "swore", "damaged",
  "dumped", "hung up on");
- neglect: nobody acts (没人管, 没人理, 不闻不问, "nobody has bothered", "no one came");
- repeated contact or a broken promise (打了五次电话, 第三回, 说好的...没, "I've called four
  times", "you promised ... still");
- a demand for redress or an outcry (投诉, 给个说法, 谁来负责, 太不像话, "it's a disgrace",
  "not acceptable", "who's paying for that").
A plain fault report (停电了, "my power is out"), a question about the service (几点来电,
"why is my bill so high"), a damaged or lost parcel with nobody to blame ("the box came
smashed") carry none of these.

`complaint_intent` finds the intent that takes complaints by what its label and examples
say (most of them grievances by the same test), not by its name: a dialplan whose agent
intent merely lists "I have a complaint" among twenty ways of asking for a person has none.
"""

from __future__ import annotations

import functools
import re

from ivr.understanding.intents import is_chinese

# ---- Mandarin (and Cantonese-flavoured) forms ----
# a person of the company (the doer), then within a clause a harmful or rude deed
_ZH_PERSON = (r"(?:师傅|小哥|快递员|派件员|送货员|配送员|司机|工人|维修工|维修员|电工|员工|"
              r"工作人员|客服|施工队|的人|那人|那个人|那个|他们|他|你们|你们的人|"
              # a doer named by the job (送快递的, 抄表的, 修水管的: verb, object, 的)
              r"(?:送|派|取|收|抄|修|装|换|查|来)[^，,。的]{0,3}的)")
_ZH_DEED = (r"(?:骂|凶|吼|嚷|难听|不耐烦|爱答不理|翻白眼|甩脸|摔|砸|踩|撞坏|弄坏|搞坏|烧坏|"
            r"敲碎|挖断|弄脏|弄得|冒充|踢|扔|丢在|不收拾|不理|不听|不管|挂.{0,2}电话|放.{0,2}鸽子|推来推去|"
            r"踢皮球|嫌|凶|(?:老是|总是|每次都|每回都)(?:不|没))")
# the deed may follow in the next clause (电工接线接错了，把我家冰箱烧坏了)
_ZH_HARM = re.compile(_ZH_PERSON + r"[^。！!？?]{0,16}?" + _ZH_DEED)
# two or more: a single call is not a repeated one (能再报一次吗)
_ZH_NUM = r"(?:[2-9两三四五六七八九十几]|好几|好多|[0-9]{2,})+"
_ZH_SIGNS = re.compile(
    # neglect
    r"没人管|没人理|没有人管|没有人理|没人处理|没人来|没人回|没人负责|没人问|不闻不问|有没有人管|"
    r"没动静|没有动静|没答复|不给答复|没下文|没人吭声|"
    # repeated contact, a broken promise, time passing with nothing done
    r"了" + _ZH_NUM + r"(?:次|遍|趟|回)|"
    r"(?:打|报|催|反映|跑|问|联系)" + _ZH_NUM + r"(?:次|遍|趟|回)|"
    + _ZH_NUM + r"(?:次|遍|趟|回)(?:电话|了)|第" + _ZH_NUM + r"(?:次|回|遍)了|"
    r"说好的?[^。]{0,16}(?:没|不|还)|答应[^。]{0,16}(?:没|不|还|拖)|拖了|拖到现在|"
    r"到现在(?:都|也|还)?(?:没|不)|"
    # time gone by and still nothing (三天了还没来, 一个多月了也没退)
    # (an act of the company not done: not 还没到, 还没收到, the parcel's own journey)
    r"(?:天|周|星期|礼拜|月|年|小时)了?[，,]?[^。，,]{0,6}?(?:还|也|都)(?:没|不)"
    r"(?:人|有人|来|修|退|处理|给|回|办|管|理|解决|联系|答复|动|见)|人影都没|"
    r"没修好|没弄好|没处理好|没办好|没经过?我.{0,2}同意|未经.{0,2}同意|"
    r"把[^，,。]{0,8}(?:撞坏|弄坏|砸坏|踩坏|摔坏|烧坏|弄脏|弄丢|搞坏|挖断|砸了)|"
    # redress and outcry
    r"投诉|投訴|告(?:你们|他|她)|找[^，,。]{0,4}领导|没礼貌|冇禮貌|没素质|说话[^，,。]{0,2}冲|(?:给|讨|要|有)[^，,。]{0,2}说法|谁来负责|谁负责|赔偿|太不像话|不像话|太过分|"
    r"气死|折腾人|欺负人|不满意|什么态度|态度[^，,。]{0,3}(?:差|恶劣|不好|推板|凶)|服务[^，,。]{0,3}差")

# ---- English forms ----
_EN_PERSON = (r"(?:driver|drivers|courier|engineer|engineers|man|men|guy|bloke|fella|chap|lady|"
              r"girl|woman|workmen|workman|crew|repairman|electrician|plumber|reader|staff|"
              r"people|lot|someone|somebody|he|she|they|you)")
_EN_DEED = (r"(?:rude|snotty|nasty|short with|swore|swear(?:ing)?|effed|shout(?:ed|ing)?|"
            r"yell(?:ed|ing)?|scream(?:ed|ing)?|"
            r"had a go|hung up|moaned|ignored|ignore|trampled|damaged|dented|broke|smashed|"
            r"cracked|ruined|dumped|chucked|threw|kicked|kicking|botched|fried|"
            r"blew up|burnt|forged|made it up|smoking|wired|"
            r"dropped (?:it|my \w+|the \w+) (?:on|in|down)|"
            r"(?:keep|keeps|kept) (?:telling|saying|promising|fobbing|passing)|aggressive|"
            r"left (?:the|my|our) \w+ open|without (?:fixing|sorting|doing))")
_EN_HARM = re.compile(r"\b" + _EN_PERSON + r"\b[^.,;!?]{0,40}?\b" + _EN_DEED)
_EN_SIGNS = re.compile(
    r"\b(?:(?:nobody|no one|no-one|noone|not one person|not a single person)"
    r"(?:'s| has| have| will| ever| from| at| bothered| came| come| turned| rang| called|"
    r" answers| sorts| sorted| helped| takes|"
    r" did| does| is| was)|"
    r"(?:heard|had) nothing back|never (?:rang|called|came) back|"
    r"fobbed off|no answer|no reply|"
    r"(?:two|three|four|five|six|seven|eight|nine|ten|several|many|multiple|countless|\d+) times|"
    r"(?:second|third|fourth|fifth|sixth|umpteenth) (?:time|call)|"
    r"twice now|over and over|again and again|every (?:single )?time|"
    r"(?:promised|said (?:you|they|he|she|it)(?:'d| would| will)|told (?:me|us)|assured)\b"
    r"[^.!?]{0,60}?\b(?:still|never|nothing|nobody|no one|not|n't|gone)|"
    r"complain|complaint|disgrace|disgraceful|not acceptable|unacceptable|beyond a joke|"
    r"fuming|outrageous|ridiculous|appalling|"
    r"(?:terrible|awful|shocking|poor|appalling|rubbish) service|fed up|worst|"
    r"(?:badly|poorly) handled|handled (?:badly|poorly)|how badly|"
    r"(?:speak|talk) to (?:a |your |the )?(?:manager|supervisor)|"
    r"(?:service|staff|attitude) (?:is|was|has been) (?:terrible|awful|appalling|shocking|rubbish|"
    r"useless|poor|bad)|who's paying|who is paying|"
    r"compensation|on record|officially|not happy|unhappy)")


def _english(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def is_grievance(text: str, language: str) -> bool:
    """Does `text` say the caller was wronged (see the module): harm or rudeness by
    someone of the company, neglect, repeated contact or a broken promise, an outcry?"""
    said = text.strip()
    if not said:
        return False
    if is_chinese(language):
        return bool(_ZH_HARM.search(said) or _ZH_SIGNS.search(said))
    low = _english(said)
    return bool(_EN_HARM.search(low) or _EN_SIGNS.search(low))


COMPLAINT_SHARE = 0.5  # the least share of an intent's label and examples that are grievances


@functools.lru_cache(maxsize=256)
def _share(texts: tuple[str, ...], language: str) -> float:
    return sum(is_grievance(t, language) for t in texts) / len(texts) if texts else 0.0


def complaint_intent(intents: dict[str, tuple[str, ...]], language: str) -> str | None:
    """Of `intents` (name -> its label and examples in `language`), the one that takes
    complaints: at least COMPLAINT_SHARE of its texts are grievances, and more than any
    other's. None when no intent is mostly grievances (the hotline: its agent intent lists
    a complaint among many ways of asking for a person)."""
    shares = {name: _share(texts, language) for name, texts in intents.items()}
    if not shares:
        return None
    best = max(shares, key=lambda n: shares[n])
    if shares[best] < COMPLAINT_SHARE:
        return None
    if sum(1 for s in shares.values() if s == shares[best]) > 1:
        return None
    return best
