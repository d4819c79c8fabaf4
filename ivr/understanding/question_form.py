"""Is what the caller said a question (how, why, what, can I ... / 怎么, 为什么, 吗 ...), or a
request for a service ("check my bill", "帮我充值", "could you top up thirty for me")?

A menu with `questions` (issue 17, round 7) also looks a question up in its knowledge base
when a service intent heard it ("how much does roaming cost" holds the bill's word "cost",
"话费怎么充值到别人号码上" the top-up's 充值): `is_question` decides whether the utterance is
worth that second look. It is deliberately about form, not topic:
- a question: a question word or form anywhere (English: "how do", "why", "what is", "is
  there", "do I need", "I was wondering", a leading auxiliary "can I", "does", "is"... or a
  final "?"; Chinese: 怎么, 如何, 为什么, 什么, 哪, 多少钱, 能不能, 是不是, 有没有, 吗, 呢 ...);
- but a request when it asks the IVR to do something and holds no wh-word: "could you check
  my balance", "can you fix my broadband", "I need to pay my bill", "帮我查一下话费",
  "能不能给我充点话费" (帮我 / 给我 / 麻烦 / 我要 ...). "Can you tell me how to pay" and
  "帮我看看为什么停机了" stay questions: they ask how or why.
Whether the question is about the service itself ("how much is my bill") is not decided
here: the knowledge base and the intent's examples are compared by the caller
(`ivr.dialplan.question_service`).
"""

from __future__ import annotations

import re

from ivr.understanding.intents import is_chinese

# fillers a caller puts before the question ("hi, um, so how do I ...")
_EN_LEAD = (r"^(?:(?:hi|hello|hey|um+|uh+|er+|erm|so|ok|okay|oh|yeah|yes|well|right|sorry|"
            r"excuse me|and|but|also|just|please|quick question)\b[,.!]?\s*)*")
# a question by its first word (after fillers): an auxiliary or a wh-word
_EN_START = re.compile(
    _EN_LEAD + r"(?:how|why|what|what's|whats|where|where's|when|which|who|whose|is|are|am|"
    r"do|does|did|can|could|should|shall|will|would|may|might|has|have|was|were|isn't|"
    r"aren't|don't|doesn't|didn't|can't|cannot|won't|wouldn't|shouldn't)\b")
# a question anywhere ("I'd like to know how ...", "... and why is it so expensive")
_EN_ANYWHERE = re.compile(
    r"\b(?:how (?:do|does|did|can|could|would|should|much|many|long|often|to|come|is|are)|"
    r"why|what (?:is|are|was|do|does|did|happens|happen|if|time|kind|sort|type)|"
    r"where (?:do|does|can|is|are)|when (?:do|does|can|is|are|will)|which|"
    r"is (?:it|there|that)\b|are there|do i (?:need|have)|does it|"
    r"(?:i|i'm|im) (?:was )?wonder(?:ing)?|(?:want|like|need|love) to know|"
    r"tell me (?:how|why|what|where|when|if|whether)|explain|any idea)\b")
# the IVR asked to do something: "can you check", "I need to pay", "please top up"
_EN_REQUEST = re.compile(
    _EN_LEAD + r"(?:(?:can|could|would|will) you(?: please)?|please|i (?:want|need|would "
    r"like|wanna)|i'd like|i'd love|let me|help me|give me|get me|put me|transfer me|"
    r"connect me)\b")
_EN_WH = re.compile(r"\b(?:how|why|what|where|when|which|whether|if)\b")

# Chinese: wh-words (a question whatever else is said) and weaker forms (a question unless
# it asks the IVR to do something: 能不能帮我查一下话费)
_ZH_WH = re.compile(r"怎么|怎样|怎麼|如何|为什么|为啥|為什麼|咋|干嘛|什么|什麼|啥|哪|几点|"
                    r"多少钱|多少錢|多久|多长时间|几天|点样|点解|乜|边度|几时|咩")
_ZH_FORM = re.compile(r"能不能|能否|可不可以|可以不|可否|是不是|有没有|有冇|要不要|需不需要|"
                      r"用不用|会不会|收不收|行不行|算不算|[吗嗎呢么麼][？?。！!]*$|"
                      r"[吗嗎呢][，,]|[？?]")
_ZH_REQUEST = re.compile(r"帮我|幫我|给我|給我|替我|帮忙|麻烦|我要|我想要|请你|请帮|"
                         r"给这个|給這個|转人工|轉人工")


# A complaint about the caller's own service in the form of a question ("这网怎么回事",
# "why does my internet keep dropping", "what's wrong with my line"): a fault or a bill
# to deal with, not a how-to the knowledge base answers.
_ZH_COMPLAINT = re.compile(r"怎么回事|怎麼回事|咋回事|咋个回事|怎么搞的|咋搞的|搞什么|搞咩|"
                           r"什么情况|啥情况|咩事|怎么又|咋又|怎么老是|咋老是|怎么总是|咋总是|"
                           r"怎么还没|咋还没|为什么又|为啥又|为什么老是|为啥老是|为什么总是|"
                           r"为啥总是|点解又|点解成日|点解仲")
# ... or a question that also says the caller's own home connection is down ("我们小区是不是
# 停网了我家一点网都没有", "家里wifi连不上是不是你们在维修"): a fault to report, unless the
# caller asks what to do about it (怎么办, 如何: a how-to the knowledge base may answer).
_ZH_HOME = re.compile(r"家|屋里|屋企|宽带|寬頻|wifi|WiFi|WIFI|无线|路由|光猫|小区")
_ZH_DOWN = re.compile(r"没网|没有网|网都没|一点网|没了网|上不了网|上不去网|上不了|上不去|连不上|"
                      r"连不了|断网|断线|掉线|没信号|没有信号|打不开|用不了|不能用|不好使|"
                      r"不能上网|无法上网|坏了|断了|断掉|网卡|很卡|好卡")
_ZH_HOWTO = re.compile(r"怎么办|怎么弄|怎么设置|怎么解决|怎么处理|怎么重启|怎么改|如何|怎样|"
                       r"咋办|咋弄|咋整|该怎么|要怎么|点算|点搞")
_EN_COMPLAINT = re.compile(
    r"\b(?:what(?:'s| is) (?:going on|wrong|up) with|what(?:'s| is) happening with|"
    r"(?:why|how come) (?:does|do|is|are|did|has|have)?\s*(?:my|the|our) [\w' ]{0,30}?"
    r"(?:keep|keeps|always|still|not|n't|never|stopped|down|off|dead|so slow|dropping|"
    r"cutting out|gone)|why (?:isn't|doesn't|won't|can't|hasn't) (?:my|the|our)|"
    r"why can't i (?:get|connect)|why (?:is|are) (?:my|the|our) [\w ]{0,20}?(?:not|down))\b")


def is_complaint(text: str, language: str) -> bool:
    """Is `text` a complaint about the caller's own service asked as a question (see
    above)? Such a turn keeps its service intent: a fault is reported, not looked up."""
    said = text.strip()
    if is_chinese(language):
        return bool(_ZH_COMPLAINT.search(said)) or bool(
            _ZH_HOME.search(said) and _ZH_DOWN.search(said) and not _ZH_HOWTO.search(said))
    return bool(_EN_COMPLAINT.search(" ".join(said.lower().replace("’", "'").split())))


def is_question(text: str, language: str) -> bool:
    """Is `text` asked as a question rather than as a request (see the module)?"""
    said = text.strip()
    if not said:
        return False
    if is_chinese(language):
        if _ZH_WH.search(said):
            return True
        return bool(_ZH_FORM.search(said)) and not _ZH_REQUEST.search(said)
    low = " ".join(said.lower().replace("’", "'").split())
    if _EN_REQUEST.search(low) and not _EN_WH.search(low):
        return False
    return bool(_EN_START.search(low) or _EN_ANYWHERE.search(low) or low.endswith("?"))
