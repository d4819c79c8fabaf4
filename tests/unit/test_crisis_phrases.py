"""Crisis phrases of the shipped dialplans (hotline.yaml, clinic.yaml): every way of saying
it below reaches the right crisis intent, and no everyday idiom or ordinary request reaches
any crisis intent. Development set, written for these tests (the held-out wordings the
benchmarks use are kept apart).

A crisis wording must win at a menu like a caller would meet it: scored at least
`intent_threshold` and at least `GLOBAL_WINS` (so it also beats a slot value), and ranked
first among the menu's and the global choices. A wording flavoured by a dialect is checked
both with that dialect's profile and without one (the profile may not be known yet).
"""

from __future__ import annotations

from functools import cache

import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Choice
from ivr.dialplan.recognition import GLOBAL_WINS, choices_at, ranked
from ivr.understanding.intents import score_intent
from ivr.understanding.profiles import BUILTIN_PROFILES

PLANS = ("hotline", "clinic")
CRISIS = {"self_harm", "chest_pain", "breathing", "stroke"}


@cache
def plan(name: str) -> Dialplan:
    return load_dialplan(REPO_ROOT / "dialplans" / f"{name}.yaml").plan


@cache
def menus(name: str) -> dict[str, list[Choice]]:
    """node -> the choices a caller has there, one node per distinct set of intents."""
    p, out, seen = plan(name), {}, set()
    for nid, node in p.nodes.items():
        if node.menu is not None:
            choices = choices_at(p, node)
            key = tuple(c.intent for c in choices)
            if key not in seen:
                seen.add(key)
                out[nid] = choices
    return out


# (wording, intent, dialect profile or None)
CRISIS_ZH: list[tuple[str, str, str | None]] = [
    # ---- self-harm, Mandarin
    ("我真的撑不下去了", "self_harm", None),
    ("活着太累了，不如死了算了", "self_harm", None),
    ("我准备吃一整瓶安眠药", "self_harm", None),
    ("我现在站在楼顶上", "self_harm", None),
    ("我不想活了", "self_harm", None),
    ("我觉得活着没有任何意思", "self_harm", None),
    ("我想自杀", "self_harm", None),
    ("我今天晚上就想结束自己的生命", "self_harm", None),
    ("我已经写好遗书了", "self_harm", None),
    ("我囤了好多安眠药，准备今晚全吃了", "self_harm", None),
    ("我刚才喝了农药", "self_harm", None),
    ("我想从这里跳下去", "self_harm", None),
    ("我一个人在江边，想跳江", "self_harm", None),
    ("我拿刀割了手腕", "self_harm", None),
    ("我真的好想死", "self_harm", None),
    ("这日子过不下去了，我想一死了之", "self_harm", None),
    ("我把家里所有的安眠药都吃了", "self_harm", None),
    ("大家没有我会过得更好，我想离开这个世界", "self_harm", None),
    ("我不想再活下去了", "self_harm", None),
    ("活着好痛苦", "self_harm", None),
    ("我在屋里烧炭了", "self_harm", None),
    ("我买了绳子想上吊", "self_harm", None),
    ("我控制不住想伤害自己", "self_harm", None),
    ("我实在撑不下去了，想死", "self_harm", None),
    ("我活够了", "self_harm", None),
    ("我已经没有活下去的勇气了", "self_harm", None),
    ("我打算今晚自我了断", "self_harm", None),
    ("帮我跟家里人说一声，永别了", "self_harm", None),
    ("我想吃安眠药自杀", "self_harm", None),
    ("我割腕了，流了好多血", "self_harm", None),
    ("活着还有什么意义", "self_harm", None),
    ("我不如死了算了", "self_harm", None),
    ("我想去死", "self_harm", None),
    ("我要从楼上跳下去", "self_harm", None),
    ("我站在天台边上", "self_harm", None),
    ("我每天都在想怎么结束生命", "self_harm", None),
    ("我准备吃老鼠药", "self_harm", None),
    ("我想开车撞死自己", "self_harm", None),
    ("我刚吞了一大把药", "self_harm", None),
    ("我觉得自己是个累赘，不想活了", "self_harm", None),
    ("我女儿一时想不开，吃了好多药", "self_harm", None),
    ("没人在乎我，我想消失", "self_harm", None),
    ("他说他想自杀", "self_harm", None),
    ("我累死了，我想自杀", "self_harm", None),  # an idiom before does not hide it
    ("网速慢得要死，我真的不想活了", "self_harm", None),
    # ---- self-harm, dialect-flavoured (Sichuan, North-East, Cantonese)
    ("老子不想活了", "self_harm", "zh-sichuan"),
    ("我活起莫得意思", "self_harm", "zh-sichuan"),
    ("我想死了算球了", "self_harm", "zh-sichuan"),
    ("我真的遭不住了，想跳河", "self_harm", "zh-sichuan"),
    ("我寻思着死了得了", "self_harm", "zh-dongbei"),
    ("整瓶安眠药我都造了", "self_harm", "zh-dongbei"),
    ("我唔想活喇", "self_harm", "yue"),
    ("我好想死啊", "self_harm", "yue"),
    ("我食咗成樽安眠藥", "self_harm", "yue"),
    ("我想跳落去", "self_harm", "yue"),
    ("我捱唔落去喇，唔想做人", "self_harm", "yue"),
    ("我死咗算啦", "self_harm", "yue"),
    ("我真係唔想再生存落去", "self_harm", "yue"),
    # ---- chest pain
    ("我胸口像压了块石头", "chest_pain", None),
    ("左边胳膊发麻，胸口疼", "chest_pain", None),
    ("我胸口疼得厉害", "chest_pain", None),
    ("心口好痛", "chest_pain", None),
    ("我胸口闷得慌", "chest_pain", None),
    ("胸口一阵一阵地疼", "chest_pain", None),
    ("我爸突然胸口剧痛，满头大汗", "chest_pain", None),
    ("我心脏疼，疼得出冷汗", "chest_pain", None),
    ("我胸口发紧", "chest_pain", None),
    ("我妈说心口堵得难受", "chest_pain", None),
    ("胸口像针扎一样", "chest_pain", None),
    ("我感觉心脏病犯了", "chest_pain", None),
    ("我老公可能是心梗了", "chest_pain", None),
    ("胸前这一块疼得厉害", "chest_pain", None),
    ("我心口绞着疼", "chest_pain", None),
    ("我左臂发麻，还出冷汗", "chest_pain", None),
    ("胸口疼得像刀割", "chest_pain", None),
    ("我胸痛，想挂号", "chest_pain", None),
    ("我胸口不舒服，想投诉也没力气了", "chest_pain", None),
    ("我心口痛得好犀利", "chest_pain", "yue"),
    ("我胸口好翳", "chest_pain", "yue"),
    ("我胸口痛得遭不住", "chest_pain", "zh-sichuan"),
    ("我心口这儿贼疼", "chest_pain", "zh-dongbei"),
    # ---- breathing
    ("我喘气喘不上来", "breathing", None),
    ("孩子卡住了喘不了气", "breathing", None),
    ("我喘不过气来了", "breathing", None),
    ("我呼吸好困难", "breathing", None),
    ("我老婆突然呼吸不了了", "breathing", None),
    ("我爸没有呼吸了", "breathing", None),
    ("小孩被果冻噎住了", "breathing", None),
    ("我吸不上气", "breathing", None),
    ("憋得慌，上不来气", "breathing", None),
    ("孩子嘴唇都发紫了", "breathing", None),
    ("我哮喘发作了", "breathing", None),
    ("老人吃饭噎着了", "breathing", None),
    ("我觉得快窒息了", "breathing", None),
    ("我胸口憋得喘不上气", "breathing", None),
    ("有东西卡在气管里了", "breathing", None),
    ("我呼吸急促，头晕", "breathing", None),
    ("我唞唔到气", "breathing", "yue"),
    ("我好气促", "breathing", "yue"),
    ("佢透唔到气", "breathing", "yue"),
    ("气都喘不过来了", "breathing", "zh-sichuan"),
    ("我咋喘不上气了呢", "breathing", "zh-dongbei"),
]

STROKE_ZH: list[tuple[str, str, str | None]] = [
    ("我爸嘴歪了，说话也不清楚", "stroke", None),
    ("我妈半边身子麻了", "stroke", None),
    ("我奶奶突然说不出话", "stroke", None),
    ("他一边手脚没力气", "stroke", None),
    ("我老公脸歪了", "stroke", None),
    ("我爷爷口齿不清", "stroke", None),
    ("我爸可能中风了", "stroke", None),
    ("她讲话含糊不清", "stroke", None),
    ("嘴巴有点歪，口水往下流", "stroke", None),
    ("我一侧手脚无力", "stroke", None),
    ("我半边脸麻木", "stroke", None),
    ("我阿爷个嘴歪咗", "stroke", "yue"),
    ("医生怀疑是脑梗", "stroke", None),
]

CRISIS_EN: list[tuple[str, str, str | None]] = [
    # ---- self-harm
    ("I'm going to end it all tonight", "self_harm", None),
    ("there's no point in living any more", "self_harm", None),
    ("I took a whole bottle of pills", "self_harm", None),
    ("I want to kill myself", "self_harm", None),
    ("I don't want to live anymore", "self_harm", None),
    ("I'm thinking about suicide", "self_harm", None),
    ("I've been feeling suicidal", "self_harm", None),
    ("I want to end my life", "self_harm", None),
    ("I swallowed all my sleeping pills", "self_harm", None),
    ("I'm standing on the ledge right now", "self_harm", None),
    ("I'm going to jump off the bridge", "self_harm", None),
    ("everyone would be better off without me", "self_harm", None),
    ("I wish I was dead", "self_harm", None),
    ("I have nothing to live for", "self_harm", None),
    ("I'm going to hang myself", "self_harm", None),
    ("I just took too many pills", "self_harm", None),
    ("I've been cutting myself again", "self_harm", None),
    ("I want to hurt myself", "self_harm", None),
    ("I took an overdose", "self_harm", None),
    ("life isn't worth living", "self_harm", None),
    ("I'm gonna kill myself", "self_harm", None),
    ("I don't want to be alive anymore", "self_harm", None),
    ("I can't go on anymore", "self_harm", None),
    ("I drank bleach", "self_harm", None),
    ("I've got a handful of pills and I'm going to take them", "self_harm", None),
    ("nobody would care if I died", "self_harm", None),
    ("I'm going to take my own life", "self_harm", None),
    ("I'm on the edge of the roof", "self_harm", None),
    ("I just want to die", "self_harm", None),
    ("I just want it all to end", "self_harm", None),
    ("I'd rather be dead", "self_harm", None),
    ("I keep thinking about ending it all", "self_harm", None),
    ("my son says he wants to kill himself", "self_harm", None),
    ("I'm going to jump in front of a train", "self_harm", None),
    ("this bill is killing me and honestly I want to kill myself", "self_harm", None),
    # ---- chest pain
    ("my chest feels really tight and my arm is numb", "chest_pain", None),
    ("I have crushing chest pain", "chest_pain", None),
    ("there's a lot of pressure in my chest", "chest_pain", None),
    ("my chest hurts so bad", "chest_pain", None),
    ("I think I'm having a heart attack", "chest_pain", None),
    ("it feels like an elephant is sitting on my chest", "chest_pain", None),
    ("sharp pain in my chest", "chest_pain", None),
    ("pain going down my left arm", "chest_pain", None),
    ("my dad is clutching his chest", "chest_pain", None),
    ("my chest is really heavy", "chest_pain", None),
    ("I've got chest pains and I feel sick", "chest_pain", None),
    ("my left arm is numb and tingling", "chest_pain", None),
    ("squeezing pain in the middle of my chest", "chest_pain", None),
    # ---- breathing
    ("I can't catch my breath", "breathing", None),
    ("he's choking", "breathing", None),
    ("I can't breathe", "breathing", None),
    ("my daughter is struggling to breathe", "breathing", None),
    ("I'm suffocating", "breathing", None),
    ("he's gasping for air", "breathing", None),
    ("my son stopped breathing", "breathing", None),
    ("I'm really short of breath", "breathing", None),
    ("my throat is closing up", "breathing", None),
    ("I can't get enough air", "breathing", None),
    ("she's having an asthma attack", "breathing", None),
    ("his lips are turning blue", "breathing", None),
    ("my baby choked on a grape", "breathing", None),
    ("something is stuck in her throat", "breathing", None),
    ("I can barely breathe", "breathing", None),
    ("I'm having trouble breathing", "breathing", None),
    ("he isn't breathing", "breathing", None),
]

STROKE_EN: list[tuple[str, str, str | None]] = [
    ("his face is drooping on one side", "stroke", None),
    ("my mum's speech is slurred", "stroke", None),
    ("I think my husband is having a stroke", "stroke", None),
    ("one side of her body is numb", "stroke", None),
    ("he can't lift his arm", "stroke", None),
    ("her mouth is drooping", "stroke", None),
    ("my dad suddenly can't speak properly", "stroke", None),
    ("he can't get his words out", "stroke", None),
]


# more wordings, run on both plans: longer sentences, no punctuation, Traditional script
MORE_ZH: list[tuple[str, str, str | None]] = [
    ("我实在是不想活了", "self_harm", None),
    ("我觉得死了比活着好", "self_harm", None),
    ("我想死，真的", "self_harm", None),
    ("我准备从十八楼跳下去", "self_harm", None),
    ("我已经把药都吃下去了，一整盒", "self_harm", None),
    ("我刚刚吃了三十片安眠药", "self_harm", None),
    ("我在河边，想一了百了", "self_harm", None),
    ("我想让自己解脱", "self_harm", None),
    ("我不想再这样活着了", "self_harm", None),
    ("活着没劲透了，想死", "self_harm", None),
    ("我这辈子完了，不想活了", "self_harm", None),
    ("我要结束这一切", "self_harm", None),
    ("我想割腕自杀", "self_harm", None),
    ("我手腕上割了好几刀", "self_harm", None),
    ("我拿刀划自己", "self_harm", None),
    ("我老是想着去死", "self_harm", None),
    ("我很想死掉", "self_harm", None),
    ("我想吊死自己", "self_harm", None),
    ("我已经准备好绳子了", "self_harm", None),
    ("我在天台上，准备跳了", "self_harm", None),
    ("我现在在桥上，想跳下去", "self_harm", None),
    ("我吃了一瓶百草枯", "self_harm", None),
    ("我感觉活在这个世界上没有意义", "self_harm", None),
    ("我想死了一了百了", "self_harm", None),
    ("我想喝药死了算了", "self_harm", None),
    ("我打算烧炭", "self_harm", None),
    ("我已经不想活下去了", "self_harm", None),
    ("我没有活下去的理由了", "self_harm", None),
    ("我好累，好想就这样死掉", "self_harm", None),
    ("我死了大家都轻松了", "self_harm", None),
    ("我想轻生", "self_harm", None),
    ("我在想要不要自杀", "self_harm", None),
    ("我觉得我不配活着", "self_harm", None),
    ("我想去死一死", "self_harm", None),
    ("我撑不住了，想死", "self_harm", None),
    ("我老婆说她不想活了", "self_harm", None),
    ("我儿子说要跳楼", "self_harm", None),
    ("我想用刀割脖子", "self_harm", None),
    ("我吞了好几十片药", "self_harm", None),
    ("我喝了一瓶敌敌畏", "self_harm", None),
    ("胸口好像被什么压住了", "chest_pain", None),
    ("胸口有点疼，还往后背窜", "chest_pain", None),
    ("心口一揪一揪地痛", "chest_pain", None),
    ("我胸口闷，出了一身冷汗", "chest_pain", None),
    ("胸口火辣辣地疼", "chest_pain", None),
    ("我心脏好痛啊", "chest_pain", None),
    ("我心脏那里压着疼", "chest_pain", None),
    ("我胸口剧烈疼痛", "chest_pain", None),
    ("我胸口刺痛", "chest_pain", None),
    ("我胸口发闷，左手也麻了", "chest_pain", None),
    ("胸口好重，像有东西压着", "chest_pain", None),
    ("我心脏病发作了", "chest_pain", None),
    ("我心脏不舒服，很难受", "chest_pain", None),
    ("我胸疼", "chest_pain", None),
    ("胸口很痛喘气都疼", "chest_pain", None),
    ("我心口窝疼", "chest_pain", None),
    ("心绞痛又犯了", "chest_pain", None),
    ("我胸口好闷啊，快受不了了", "chest_pain", None),
    ("我老爸说他胸口痛", "chest_pain", None),
    ("我透不过气来", "breathing", None),
    ("我喘不上来气", "breathing", None),
    ("孩子呛到了，喘不上气", "breathing", None),
    ("我老是吸不进去气", "breathing", None),
    ("我憋气憋得难受，喘不过气来", "breathing", None),
    ("孩子喉咙里卡了东西", "breathing", None),
    ("宝宝被奶呛到了，脸都紫了", "breathing", None),
    ("我呼吸不上来", "breathing", None),
    ("我感觉快喘不过气了", "breathing", None),
    ("我一口气上不来", "breathing", None),
    ("他突然不喘气了", "breathing", None),
    ("我老公昏过去了，没呼吸", "breathing", None),
    ("我喘得厉害", "breathing", None),
    ("我呼吸很困难", "breathing", None),
    ("喉咙肿了，喘不了气", "breathing", None),
    ("喂你好我现在真的很想死", "self_harm", None),
    ("我跟你说我已经吃了好多好多安眠药了", "self_harm", None),
    ("那个我老公他要跳楼你们快来人", "self_harm", None),
    ("我不想再活下去了真的太痛苦了", "self_harm", None),
    ("我觉得活着一点意思都没有", "self_harm", None),
    ("我妈她喝了农药现在人不行了", "self_harm", None),
    ("我就是不想活了你别劝我", "self_harm", None),
    ("我想一个人安安静静地去死", "self_harm", None),
    ("我打算明天就去跳河", "self_harm", None),
    ("我刚割了腕", "self_harm", None),
    ("我在厕所里割了自己好几刀", "self_harm", None),
    ("我现在站在阳台上想跳下去", "self_harm", None),
    ("我已经把遗书写好了放在桌上", "self_harm", None),
    ("我活得太痛苦了", "self_harm", None),
    ("我真的好累啊不想再撑了", "self_harm", None),
    ("嗯我想结束自己", "self_harm", None),
    ("這個世界沒有我會更好我想自殺", "self_harm", None),
    ("我唔想再活落去", "self_harm", None),
    ("我想死咗佢算", "self_harm", None),
    ("我吃了一百多片药", "self_harm", None),
    ("我把一瓶安眠药全吞下去了", "self_harm", None),
    ("我准备开煤气自杀", "self_harm", None),
    ("我想割脉", "self_harm", None),
    ("我在想从哪里跳下去比较好", "self_harm", None),
    ("我的胸口疼得要命", "chest_pain", None),
    ("我胸口一直闷闷的很难受", "chest_pain", None),
    ("我爸说胸口很痛然后就倒下了", "chest_pain", None),
    ("我心脏突然很疼", "chest_pain", None),
    ("我胸口像被人捏住一样", "chest_pain", None),
    ("我老公捂着胸口说疼", "chest_pain", None),
    ("胸口憋闷出冷汗", "chest_pain", None),
    ("我胸口闷痛好几个小时了", "chest_pain", None),
    ("心口窝子疼得不行", "chest_pain", None),
    ("我的心脏跳得好快胸口好痛", "chest_pain", None),
    ("我喘气很困难", "breathing", None),
    ("我透不过气来了快帮帮我", "breathing", None),
    ("我孩子喘不上气脸都憋红了", "breathing", None),
    ("我老婆呼吸越来越困难", "breathing", None),
    ("宝宝被东西噎到了", "breathing", None),
    ("我一呼吸就疼喘不了气", "breathing", None),
    ("我婆婆突然呼吸停了", "breathing", None),
    ("我感觉快要窒息了", "breathing", None),
    ("我吸气吸不进去", "breathing", None),
]

# more English wordings
MORE_EN: list[tuple[str, str, str | None]] = [
    ("I want to commit suicide", "self_harm", None),
    ("I'm going to end my life tonight", "self_harm", None),
    ("I feel like killing myself", "self_harm", None),
    ("I don't see the point of living", "self_harm", None),
    ("I want to die right now", "self_harm", None),
    ("I'm planning to kill myself", "self_harm", None),
    ("I swallowed a bunch of pills", "self_harm", None),
    ("I took all of my medication", "self_harm", None),
    ("I've taken all my antidepressants", "self_harm", None),
    ("I'm going to overdose", "self_harm", None),
    ("I'm going to jump off a building", "self_harm", None),
    ("I'm on the bridge and I'm going to jump", "self_harm", None),
    ("I want to disappear forever", "self_harm", None),
    ("there's no reason for me to be alive", "self_harm", None),
    ("I can't do this anymore, I want to die", "self_harm", None),
    ("I'm thinking of ending my life", "self_harm", None),
    ("I've written a suicide note", "self_harm", None),
    ("I'm going to shoot myself", "self_harm", None),
    ("I don't want to be here anymore", "self_harm", None),
    ("I want to go to sleep and never wake up", "self_harm", None),
    ("my wife took a load of pills", "self_harm", None),
    ("I slit my wrists", "self_harm", None),
    ("I'm better off dead", "self_harm", None),
    ("I'm going to end things", "self_harm", None),
    ("I'm done with life", "self_harm", None),
    ("I feel like I want to die", "self_harm", None),
    ("my chest is killing me", "chest_pain", None),
    ("I'm having chest pains", "chest_pain", None),
    ("there's a tight feeling in my chest", "chest_pain", None),
    ("my chest is tight and I'm sweating", "chest_pain", None),
    ("I have a sharp pain in my chest", "chest_pain", None),
    ("my chest feels like it's being squeezed", "chest_pain", None),
    ("pain spreading to my left arm", "chest_pain", None),
    ("my chest is on fire", "chest_pain", None),
    ("severe chest pain", "chest_pain", None),
    ("I'm having a heart attack", "chest_pain", None),
    ("my dad collapsed holding his chest", "chest_pain", None),
    ("my chest feels heavy and I feel dizzy", "chest_pain", None),
    ("I can hardly breathe", "breathing", None),
    ("I'm having difficulty breathing", "breathing", None),
    ("my kid is choking on something", "breathing", None),
    ("she can't breathe properly", "breathing", None),
    ("I'm gasping", "breathing", None),
    ("my husband isn't breathing", "breathing", None),
    ("I'm wheezing and can't breathe", "breathing", None),
    ("my breathing is really bad", "breathing", None),
    ("I feel like I'm suffocating", "breathing", None),
    ("he's not breathing properly", "breathing", None),
    ("I'm struggling for air", "breathing", None),
    ("I can't get my breath", "breathing", None),
    ("my throat is swelling up", "breathing", None),
    ("I want to end it", "self_harm", None),
    ("I'm going to kill myself tonight", "self_harm", None),
    ("I am going to take all of my pills", "self_harm", None),
    ("I can't live like this anymore", "self_harm", None),
    ("I feel like ending it all", "self_harm", None),
    ("I want to die so badly", "self_harm", None),
    ("I'm sitting on the edge of a bridge", "self_harm", None),
    ("I'm going to jump off this building", "self_harm", None),
    ("I've decided to end my life", "self_harm", None),
    ("I just swallowed a whole bottle of tablets", "self_harm", None),
    ("my girlfriend says she's going to kill herself", "self_harm", None),
    ("life is pointless and I want out", "self_harm", None),
    ("I feel suicidal", "self_harm", None),
    ("I'm going to cut my wrists", "self_harm", None),
    ("my chest really hurts", "chest_pain", None),
    ("my chest is so tight I can't think", "chest_pain", None),
    ("I've had chest pain for an hour", "chest_pain", None),
    ("it feels like someone is standing on my chest", "chest_pain", None),
    ("I have a terrible pain in my chest and my left arm", "chest_pain", None),
    ("my husband has chest pain and is sweating", "chest_pain", None),
    ("there's a squeezing feeling in my chest", "chest_pain", None),
    ("my heart is pounding and my chest hurts", "chest_pain", None),
    ("I can't breathe properly", "breathing", None),
    ("my little boy is choking on a sweet", "breathing", None),
    ("I'm having an asthma attack", "breathing", None),
    ("my wife can't catch her breath", "breathing", None),
    ("I feel like I can't get enough oxygen", "breathing", None),
    ("I can hardly get any air in", "breathing", None),
    ("my baby has stopped breathing", "breathing", None),
    ("my breathing is really fast and shallow", "breathing", None),
]

# more stroke signs (clinic)
MORE_STROKE: list[tuple[str, str, str | None]] = [
    ("我妈嘴巴歪了", "stroke", None),
    ("我爸一边身体动不了", "stroke", None),
    ("我老婆突然说话说不清楚了", "stroke", None),
    ("我爷爷左边手脚没力气", "stroke", None),
    ("他说话大舌头，嘴也歪了", "stroke", None),
    ("我爸半边脸不能动", "stroke", None),
    ("她突然口齿不清", "stroke", None),
    ("my mom's face is drooping", "stroke", None),
    ("his speech is all slurred", "stroke", None),
    ("she suddenly can't move her left side", "stroke", None),
    ("his arm went weak and his face dropped", "stroke", None),
    ("I think my grandma had a stroke", "stroke", None),
    ("my dad can't talk properly and his face is lopsided", "stroke", None),
    ("我的嘴巴突然歪了", "stroke", None),
    ("我老伴说话突然含糊了", "stroke", None),
    ("我爸一只手一只脚突然没力气了", "stroke", None),
    ("我妈半边身体不能动了", "stroke", None),
    ("我外公突然嘴角流口水讲话不清楚", "stroke", None),
    ("his face drooped suddenly", "stroke", None),
    ("she can't lift her left arm and her speech is slurred", "stroke", None),
    ("my father's mouth is twisted to one side", "stroke", None),
    ("he's slurring his words", "stroke", None),
]


CALM_ZH: list[tuple[str, str | None]] = [
    # idioms with 死 / 命 / 气 / 心 / 胸
    ("累死了", None), ("笑死我了", None), ("气死我了", None), ("热死了", None),
    ("饿死了", None), ("烦死了", None), ("急死我了", None), ("忙死了", None),
    ("网速慢得要死", None), ("话费贵得要命", None), ("这账单要我命啊", None),
    ("我快被你们气死了", None), ("死机了", None), ("手机死机", None), ("卡死了", None),
    ("吓死我了，扣了这么多钱", None), ("我等了半个小时，困死了", None),
    ("这破手机卡死了，我想换一个", None), ("网页一直死循环", None), ("我死活连不上网", None),
    ("你们这是跳楼价吗", None), ("我不想在一棵树上吊死，想换个套餐", None),
    ("今天热得我想死", None), ("这网速慢得让人想死", None), ("你们这套餐坑死人了", None),
    ("热死人了", None), ("死贵死贵的", None), ("真是要死了，网又断了", None),
    ("我想死你们了", None), ("笑死，你们这客服", None),
    ("我心疼我的话费", None), ("这事真让人头疼", None), ("我胸卡丢了，很头疼", None),
    ("心口不一的客服", None), ("你们这个操作真让人窒息", None), ("房贷压得我喘不过气", None),
    ("这个价格让我心脏病都要犯了", None), ("我胸有成竹", None),
    ("我得站在楼顶上才有信号", None), ("我想跳槽到别的运营商", None), ("价格跳水了", None),
    ("网络卡住了，气死了", None), ("我上楼梯有点喘", None), ("让我喘口气", None),
    ("我爸死了，想把他的号注销", None), ("我想问问死亡证明怎么开", None),
    ("杀毒软件怎么装", None), ("大数据杀熟，我自己查过", None),
    ("我们公司快撑不下去了，想问问企业套餐", None), ("生意撑不下去了", None),
    ("我想了结这个投诉", None), ("我想结束这个合同", None),
    # more everyday speech that mentions death, jumping, the chest or breath
    ("我想四点去营业厅", None), ("我想死机的问题怎么解决", None),
    ("这个价格也太坑了，气得我要死", None), ("你们想让我死啊，这么贵", None),
    ("今天忙得要命", None), ("我的手机死活开不了机", None),
    ("我想查一下我爸的号，他去世了", None), ("我想问一下，死机了怎么办", None),
    ("我想在楼顶装个天线", None), ("我站在楼顶上打电话信号还是不好", None),
    ("跳楼价的套餐还有吗", None), ("我想跳到另一个套餐", None), ("这个套餐让我头疼死了", None),
    ("我胸口挂的工牌丢了", None), ("我的宽带卡住了，一直转圈", None),
    ("我的网一直卡，气都不打一处来", None), ("我要把这个套餐结束掉", None),
    ("我想结束通话", None), ("请帮我结束这个业务", None), ("我想了解一下生命保险", None),
    ("我家猫死了，心情不好，想停机", None), ("我不想用你们的网了", None),
    ("这样下去我们店就活不下去了", None), ("我的手机卡坏了", None), ("我想办一张副卡", None),
    ("哎呀我的妈，吓我一跳", None), ("死了这条心吧，我不办了", None), ("要死啊，又扣钱", None),
    ("这鬼天气热死个人", None), ("你们这样搞，我真要跳脚了", None),
    ("我一边做饭一边打电话", None), ("死磕到底，我要投诉", None), ("太累了，想休息一下", None),
    ("活着就得交话费呗", None), ("人活着真不容易啊，话费又涨了", None), ("我想自助缴费", None),
    # near-homophones of crisis words (想死 / 自杀): numbers, 相似, 紫砂
    ("我想四点钟来", None), ("我想四号去营业厅", None), ("有没有相似的套餐", None),
    ("我想买个紫砂壶", None), ("我要四十块的套餐", None),
    # ordinary requests
    ("我想查话费", None), ("帮我转人工", None), ("宽带坏了", None), ("充五十块话费", None),
    ("我要投诉", None), ("余额还有多少", None), ("我想办个宽带", None),
    ("我的网速太慢了", None), ("你们的客服态度差死了", None), ("光猫一直闪红灯", None),
    # dialect-flavoured idioms and requests
    ("这个网速慢得要死哦", "zh-sichuan"), ("气死老子了", "zh-sichuan"),
    ("笑死我咯", "zh-sichuan"), ("话费咋个扣得这么凶哦", "zh-sichuan"),
    ("这网贼卡，卡死了", "zh-dongbei"), ("热到死", "yue"), ("激死我", "yue"),
    ("部手机死咗机", "yue"), ("攰到死", "yue"), ("帮我睇下话费还有几多", "yue"),
]

# clinic callers: appointments, medicines and ailments that are not emergencies
CALM_ZH_CLINIC: list[tuple[str, str | None]] = [
    ("我想预约四号上午", None), ("我吃了安眠药还是睡不着，想挂个号", None),
    ("医生让我把药吃完", None), ("我刚吃了降压药", None), ("我有哮喘，想预约复查", None),
    ("我不小心割到手腕了", None), ("我一边打麻将一边打电话", None),
    ("我说不清楚是哪天", None), ("电话里听不清你说话", None), ("孩子发烧咳嗽", None),
    ("我头疼得厉害，想看内科", None), ("我牙疼，想挂牙科", None),
    ("我爸心脏不好，想约个时间复查", None),
    ("我想问一下喉咙痛能挂号吗", None), ("我奶奶说话声音小听不清", None),
    ("孩子这几天一直咳嗽有点喘", None), ("我有心脏病，想约心内科", None),
    ("心脏科几点上班", None), ("胸外科在几楼", None), ("呼吸科可以预约吗", None),
    ("我想问下脑梗病人能不能做康复", None), ("我爸以前中风过，想约复诊", None),
    ("孩子吃东西老是呛，想挂儿科", None),
]

CALM_EN: list[tuple[str, str | None]] = [
    # idioms with die / dead / kill / heart / chest / breath
    ("this bill is killing me", None), ("I'm dying to know why my bill is so high", None),
    ("I'm dead tired of waiting", None), ("my phone died", None),
    ("my battery is dead", None), ("the line is dead", None),
    ("I could kill for a coffee", None), ("the view was breathtaking", None),
    ("I need a breather", None), ("let's get to the heart of the matter", None),
    ("my heart sank when I saw the bill", None), ("I want to buy a chest of drawers", None),
    ("I need to get this off my chest, your service is terrible", None),
    ("you nearly gave me a heart attack with that bill", None),
    ("I almost had a heart attack when I saw the charges", None),
    ("the light on my router is turning blue", None),
    ("I can't get any air time credit on my phone", None),
    ("I'm dying for a holiday", None), ("that price is to die for", None),
    ("I'm bored to death on hold", None), ("I'm sick to death of this", None),
    ("my internet died again", None), ("the wifi is dead again", None),
    ("the line went dead halfway through my call", None),
    ("I want to end my contract", None), ("I want to end my subscription", None),
    ("I hurt myself playing football", None), ("I cut myself shaving this morning", None),
    ("I took my pills this morning", None), ("can I get a refill of my sleeping pills", None),
    ("I'm out of breath from running up the stairs", None), ("let me catch my breath", None),
    ("don't hold your breath waiting for a technician", None),
    ("it takes my breath away how expensive this is", None),
    ("my heart goes out to your staff", None), ("I'm going to jump ship to another provider", None),
    ("I killed the app and restarted it", None), ("this plan is a pain in the neck", None),
    ("I'll die if I have to wait any longer", None), ("there's a dead zone in my kitchen", None),
    ("I'm so tired I could die", None), ("the heat is killing me", None),
    ("my air conditioning is broken and I can't get it working", None),
    ("I'm going to jump to another provider", None), ("I'd kill for faster internet", None),
    ("my phone is dead again", None), ("I'm sick and tired of this", None),
    ("you're killing me with these charges", None), ("I'm dying here waiting on hold", None),
    ("the battery died overnight", None), ("my router is dead", None),
    ("I'm dead serious about cancelling", None),
    ("my heart skipped a beat when I saw the bill", None),
    ("I want to take my life savings out of this plan", None), ("I need to end this call", None),
    ("I'd like to end my plan", None), ("I want to cut my bill", None),
    ("I'm cutting my losses and leaving", None),
    ("can you help me take my own number to another network", None),
    ("the pills reminder app isn't working", None), ("I took my medication as prescribed", None),
    ("I need a refill of my blood pressure tablets", None), ("heart of gold", None),
    ("I'm breathing a sigh of relief", None), ("can I breathe easy now", None),
    ("my air con remote is broken", None), ("I'm out of breath from laughing", None),
    ("take a deep breath", None), ("this is heartbreaking", None),
    ("I'm going to jump on the call later", None), ("jump start my account", None),
    ("my left arm is a bit sore from the vaccine", None), ("I hurt myself lifting boxes", None),
    ("my wife cut herself cooking", None), ("hang on a second", None),
    ("I'm hanging on the line", None), ("I'll shoot you an email", None),
    ("over my dead body will I pay that", None), ("I could just die of embarrassment", None),
    ("I'm dying of boredom", None), ("that's a dead end", None),
    ("I'm going to end up paying more", None), ("in the end I want to cancel", None),
    ("I don't want to live without wifi", None), ("I'm moving and don't want to live here", None),
    ("let's end it here, thanks", None),
    # ordinary requests
    ("check my bill", None), ("I want to talk to an agent", None),
    ("my broadband is down", None), ("top up twenty dollars please", None),
    ("I want to make a complaint", None), ("my data ran out", None),
    ("why is my bill so high this month", None), ("I'd like to report a fault", None),
]

CALM_EN_CLINIC: list[tuple[str, str | None]] = [
    ("that was a stroke of luck", None), ("I'd like to book a check-up for my heart", None),
    ("I had a stroke of bad luck with my phone", None),
    ("my son has a cold and a cough", None), ("I want to cancel my appointment", None),
]


def _cases(wordings):
    """pytest params: (plan, text, intent, profile) for every plan that has the intent."""
    out = []
    for text, intent, dialect in wordings:
        for name in PLANS:
            if intent == "stroke" and name != "clinic":
                continue
            for profile in dict.fromkeys([None, dialect]):
                out.append(pytest.param(name, text, intent, profile,
                                        id=f"{name}-{profile or 'plain'}-{text}"))
    return out


def _calm_cases(wordings, plans=PLANS):
    return [pytest.param(name, text, profile, id=f"{name}-{profile or 'plain'}-{text}")
            for text, dialect in wordings for name in plans
            for profile in dict.fromkeys([None, dialect])]


def _language(text: str) -> str:
    return "zh-CN" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en-US"


def test_the_development_set_is_big_enough():
    assert len(CRISIS_ZH) >= 40 and len(CRISIS_EN) >= 40
    assert len(CALM_ZH) + len(CALM_ZH_CLINIC) >= 40 and len(CALM_EN) >= 40


@pytest.mark.parametrize(("name", "text", "intent", "profile"),
                         _cases(CRISIS_ZH + STROKE_ZH + CRISIS_EN + STROKE_EN
                                + MORE_ZH + MORE_EN + MORE_STROKE))
def test_crisis_wording_reaches_its_intent_at_every_menu(name, text, intent, profile):
    p = plan(name)
    language = _language(text)
    prof = BUILTIN_PROFILES[profile] if profile else None
    score, why = score_intent(text, p.intents[intent], language, prof)
    assert score >= max(p.defaults.intent_threshold, GLOBAL_WINS), (score, why)
    for nid, choices in menus(name).items():
        best = ranked(p, text, language, prof, choices)[0]
        assert best.intent == intent, (nid, best)


@pytest.mark.parametrize("name", PLANS)
def test_the_dialplans_own_examples_reach_no_crisis_intent(name):
    """Every example of every other intent of both plans: ordinary requests, by the plans'
    own authors."""
    p = plan(name)
    for other, it in p.intents.items():
        if other in CRISIS:
            continue
        examples = it.examples if isinstance(it.examples, dict) else {"": it.examples}
        for text in (t for texts in examples.values() for t in texts):
            language = _language(text)
            for intent in CRISIS & set(p.intents):
                score, why = score_intent(text, p.intents[intent], language)
                assert score < 0.4, (other, text, intent, why)


@pytest.mark.parametrize(("name", "text", "profile"),
                         _calm_cases(CALM_ZH + CALM_EN)
                         + _calm_cases(CALM_ZH_CLINIC + CALM_EN_CLINIC, ("clinic",)))
def test_everyday_speech_reaches_no_crisis_intent(name, text, profile):
    p = plan(name)
    language = _language(text)
    prof = BUILTIN_PROFILES[profile] if profile else None
    floor = min(p.defaults.intent_threshold, p.defaults.confirm_threshold or 1.0)
    for intent in CRISIS & set(p.intents):
        score, why = score_intent(text, p.intents[intent], language, prof)
        assert score < floor, (intent, score, why)  # not even "did you mean …?"
