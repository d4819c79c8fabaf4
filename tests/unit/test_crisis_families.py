"""Crisis phrases, round 2: the WAYS callers say a crisis that round 1 under-covered, one
family at a time, and the near-crisis idioms each new rule is checked against. Same pass
rule as tests/unit/test_crisis_phrases.py (its helpers are used): a crisis wording reaches
its intent at >= 0.85 and ranks first at every menu of both plans (stroke: clinic only);
an everyday wording stays below the threshold on every crisis intent. Development set,
written for these tests (the held-out benchmark wordings were not looked at).

Decisions (also in the dialplans' comments):
- Someone collapsed, unconscious or not responding (晕倒了叫不醒, 没反应了, "collapsed",
  "won't wake up") is `breathing` (check the airway first); when the caller also names
  the chest (捂着胸口晕倒, "collapsed clutching his chest") it is `chest_pain`.
- Anger felt in the chest said of a complaint (气得我胸口疼, 气得我心口痛, 看到账单我心口一紧)
  is a complaint, like round 1's 这个价格让我心脏病都要犯了; a symptom named besides it
  (出冷汗, 喘不上气, 左臂发麻) still fires.
- Exertion and laughter (累得/忙得/跑得/笑得喘不过气, 跑得上气不接下气, "out of breath from
  running") are not `breathing`; 憋死我了 alone (North-Eastern: fed up, or bursting for the
  loo) is not a crisis, 憋得喘不上气 is.
- Hyperbole about bills and the network stays excluded (round 1): 贵得我想跳楼, 网慢得我想死,
  "this bill gave me a heart attack", "I'm drowning in bills".
- No sound-alike spellings are added for Chinese (the crisis intents stay `fuzzy: false`);
  ASR forms covered are missing punctuation and English without apostrophes.
"""

from __future__ import annotations

import pytest

from ivr.dialplan.recognition import GLOBAL_WINS, ranked
from ivr.understanding.intents import score_intent
from ivr.understanding.profiles import BUILTIN_PROFILES
from tests.unit.test_crisis_phrases import CRISIS, _calm_cases, _cases, _language, menus, plan

# ---- family 1: third person and bystanders (the caller speaks for someone else)
BYSTANDERS: list[tuple[str, str, str | None]] = [
    ("我爸突然晕倒了，叫不醒", "breathing", None),
    ("我老公倒在地上没反应了", "breathing", None),
    ("老人摔倒以后就叫不醒了", "breathing", None),
    ("孩子脸发紫了", "breathing", None),
    ("我妈嘴唇发青，喘得很厉害", "breathing", None),
    ("我爷爷昏迷了", "breathing", None),
    ("我奶奶晕过去了，怎么喊都不醒", "breathing", None),
    ("我老婆好像没气了", "breathing", None),
    ("宝宝呼吸很弱", "breathing", None),
    ("我爸捂着胸口倒下了", "chest_pain", None),
    ("我老公按着胸口说喘不上气", "chest_pain", None),
    ("我妈说心口揪着疼，脸色煞白", "chest_pain", None),
    ("老人一直捂着胸口", "chest_pain", None),
    ("我室友吞了一瓶药", "self_harm", None),
    ("我女儿在房间里割自己", "self_harm", None),
    ("我朋友发消息说要跟这个世界告别", "self_harm", None),
    ("我弟弟说他不想醒来了", "self_harm", None),
    ("my dad collapsed and he's not responding", "breathing", None),
    ("my wife passed out and won't wake up", "breathing", None),
    ("my son has turned blue", "breathing", None),
    ("my grandmother is unconscious", "breathing", None),
    ("my husband is clutching his chest", "chest_pain", None),
    ("my mum is holding her chest and sweating", "chest_pain", None),
    ("my dad collapsed clutching his chest", "chest_pain", None),
    ("my baby isn't breathing right", "breathing", None),
    ("my friend just collapsed on the floor", "breathing", None),
    ("my teenage daughter has been cutting herself", "self_harm", None),
    ("my brother says he has a plan to end it", "self_harm", None),
    ("my flatmate took a whole lot of pills", "self_harm", None),
    ("my father is grabbing his chest and can't talk", "chest_pain", None),
    ("我婆婆突然倒下了，怎么叫都不答应", "breathing", None),
    ("我爸脸色发青，喘不上气", "breathing", None),
    ("我老公突然倒地不起", "breathing", None),
    ("隔壁老人晕倒在楼道里", "breathing", None),
    ("宝宝呛奶了，脸憋得通红", "breathing", None),
    ("我同事突然捂着心口蹲下了", "chest_pain", None),
    ("我闺蜜说她吃了一整瓶药", "self_harm", None),
    ("my husband collapsed in the kitchen", "breathing", None),
    ("my mother fainted and isn't waking up", "breathing", None),
    ("my dad is blue around the lips", "breathing", None),
    ("my friend is unresponsive", "breathing", None),
    ("she's barely breathing", "breathing", None),
    ("my husband says he's going to end his life", "self_harm", None),
    ("my sister overdosed", "self_harm", None),
    ("我外婆摔了一跤，现在叫她没反应", "breathing", None),
    ("孩子掉进水里了，捞上来不喘气", "breathing", None),
    ("我老公躺在地上一动不动", "breathing", None),
    ("我爸突然抽过去了", "breathing", None),
    ("我儿子吃花生过敏，嘴巴肿了喘不上", "breathing", None),
    ("我女朋友在浴室里割腕", "self_harm", None),
    ("my wife has collapsed and is breathing strangely", "breathing", None),
    ("my dad's lips have gone blue", "breathing", None),
    ("my roommate says life isn't worth it anymore", "self_harm", None),
    ("he's turning purple", "breathing", None),
]

# ---- family 2: chest symptoms described without the crisis word
CHEST_SYMPTOMS: list[tuple[str, str, str | None]] = [
    ("我胸口像被什么东西压着", "chest_pain", None),
    ("心口一揪一揪的", "chest_pain", None),
    ("胸口一阵一阵的，还往后背放射", "chest_pain", None),
    ("后背和胸口一起疼", "chest_pain", None),
    ("我一直冒冷汗，胸口发闷", "chest_pain", None),
    ("心窝子疼得厉害", "chest_pain", None),
    ("我胸膛里面疼", "chest_pain", None),
    ("左边胸口一抽一抽的", "chest_pain", None),
    ("胸口像火烧一样", "chest_pain", None),
    ("胸口好像被人掐住了", "chest_pain", None),
    ("我心脏像被攥住了一样", "chest_pain", None),
    ("疼得一直窜到左胳膊", "chest_pain", None),
    ("下巴和胸口都在疼", "chest_pain", None),
    ("胸口像被勒住了", "chest_pain", None),
    ("我心口发紧，出冷汗", "chest_pain", None),
    ("it feels like a tight band around my chest", "chest_pain", None),
    ("there's an elephant on my chest", "chest_pain", None),
    ("the pain is going down my arm into my jaw", "chest_pain", None),
    ("my jaw and chest hurt", "chest_pain", None),
    ("my chest is in a vice", "chest_pain", None),
    ("I've got a pain in the centre of my chest", "chest_pain", None),
    ("crushing feeling right here in my chest", "chest_pain", None),
    ("my heart hurts really bad", "chest_pain", None),
    ("the pain is radiating to my left arm", "chest_pain", None),
    ("tightness across my chest and I'm sweaty", "chest_pain", None),
    ("something is really wrong with my heart", "chest_pain", None),
    ("squeezing in my chest that won't stop", "chest_pain", None),
    ("心前区疼", "chest_pain", None),
    ("胸口突然像撕裂一样", "chest_pain", None),
    ("感觉心脏要停了", "chest_pain", None),
    ("心口憋得慌", "chest_pain", None),
    ("我胸口发沉", "chest_pain", None),
    ("胸骨后面疼", "chest_pain", None),
    ("there's a burning pressure behind my breastbone", "chest_pain", None),
    ("I feel pressure behind my sternum", "chest_pain", None),
    ("my heart feels like it's being squeezed", "chest_pain", None),
    ("I think I'm having a cardiac event", "chest_pain", None),
    ("tight chest and cold sweats", "chest_pain", None),
    ("胸口有种压榨感", "chest_pain", None),
    ("心口像有团火在烧", "chest_pain", None),
    ("胸口闷痛还恶心想吐", "chest_pain", None),
    ("it's like a vice squeezing my chest", "chest_pain", None),
    ("pain in my chest spreading to my neck", "chest_pain", None),
    ("I'm having pains across my chest", "chest_pain", None),
]

# ---- family 3: breathing trouble described without the crisis word
BREATH_SYMPTOMS: list[tuple[str, str, str | None]] = [
    ("我喘不动了", "breathing", None),
    ("上气不接下气，说不了话", "breathing", None),
    ("嗓子肿得喘不了", "breathing", None),
    ("憋得慌，喘不匀", "breathing", None),
    ("我哮喘犯了，喷雾也没用", "breathing", None),
    ("过敏了，喉咙肿起来了", "breathing", None),
    ("我呼吸不过来", "breathing", None),
    ("我出不来气", "breathing", None),
    ("我吸一口气都很难", "breathing", None),
    ("感觉气不够用", "breathing", None),
    ("喘气跟拉风箱一样", "breathing", None),
    ("老人一直在倒气", "breathing", None),
    ("我喘气很费劲", "breathing", None),
    ("I'm wheezing really badly", "breathing", None),
    ("my throat is closing", "breathing", None),
    ("my inhaler isn't working", "breathing", None),
    ("I can't get air in", "breathing", None),
    ("he's gasping and can't talk", "breathing", None),
    ("my tongue is swelling up, I think it's an allergic reaction", "breathing", None),
    ("I think I'm having anaphylaxis", "breathing", None),
    ("I'm so breathless I can't speak", "breathing", None),
    ("every breath is a struggle", "breathing", None),
    ("I feel like I'm drowning", "breathing", None),
    ("I can't take a breath", "breathing", None),
    ("my asthma is really bad right now", "breathing", None),
    ("she's breathing really weird and making gurgling noises", "breathing", None),
    ("喘气喘得说不出话", "breathing", None),
    ("每喘一口气都很费劲", "breathing", None),
    ("我哮喘发了", "breathing", None),
    ("一口气提不上来", "breathing", None),
    ("我呼吸不顺畅，很急", "breathing", None),
    ("I'm hyperventilating", "breathing", None),
    ("my airway feels blocked", "breathing", None),
    ("I can only take tiny shallow breaths", "breathing", None),
    ("I need oxygen", "breathing", None),
    ("我感觉气管被堵住了", "breathing", None),
    ("我一口气都喘不上", "breathing", None),
    ("呼吸特别急，停不下来", "breathing", None),
    ("I'm struggling to get air", "breathing", None),
    ("I'm really out of breath just sitting here", "breathing", None),
    ("my child is wheezing and struggling", "breathing", None),
]

# ---- family 4: self-harm said indirectly, as a plan or as a farewell
SELF_HARM_INDIRECT: list[tuple[str, str, str | None]] = [
    ("我不想醒来了", "self_harm", None),
    ("我真想一睡不醒", "self_harm", None),
    ("想一了百了", "self_harm", None),
    ("我活够了，真的", "self_harm", None),
    ("没有我大家会更好", "self_harm", None),
    ("遗书我已经写好了", "self_harm", None),
    ("我想跟家人告别", "self_harm", None),
    ("药都准备好了", "self_harm", None),
    ("我想从桥上跳", "self_harm", None),
    ("我想从楼上跳", "self_harm", None),
    ("我又割自己了", "self_harm", None),
    ("我用烟头烫自己", "self_harm", None),
    ("我攒了好多安眠药", "self_harm", None),
    ("我想和这个世界说再见", "self_harm", None),
    ("我就是个累赘", "self_harm", None),
    ("我只想解脱", "self_harm", None),
    ("我在交代后事", "self_harm", None),
    ("I don't want to wake up tomorrow", "self_harm", None),
    ("everyone would be better off if I was gone", "self_harm", None),
    ("I've written a note for my family", "self_harm", None),
    ("I'm calling to say goodbye to my family", "self_harm", None),
    ("I've been cutting myself", "self_harm", None),
    ("I have a plan to end it", "self_harm", None),
    ("I can't do this anymore", "self_harm", None),
    ("I'm going to take an overdose", "self_harm", None),
    ("I've been stockpiling my pills", "self_harm", None),
    ("I bought a rope", "self_harm", None),
    ("I won't be around much longer", "self_harm", None),
    ("nobody would notice if I disappeared", "self_harm", None),
    ("I'm a burden to everyone", "self_harm", None),
    ("I deserve to die", "self_harm", None),
    ("I hurt myself on purpose", "self_harm", None),
    ("I want to go to sleep forever", "self_harm", None),
    ("this is goodbye", "self_harm", None),
    ("我想把自己淹死", "self_harm", None),
    ("我想从这个世界上消失", "self_harm", None),
    ("我觉得活着是一种煎熬", "self_harm", None),
    ("我把药都吞了", "self_harm", None),
    ("我想用刀划手臂", "self_harm", None),
    ("我不想活在这个世界上了", "self_harm", None),
    ("I'm going to end everything tonight", "self_harm", None),
    ("I just want everything to stop", "self_harm", None),
    ("I'm going to drive off a cliff", "self_harm", None),
    ("there's no way out for me", "self_harm", None),
    ("I'm tired of being alive", "self_harm", None),
    ("my family would be happier without me", "self_harm", None),
    ("I've been self-harming", "self_harm", None),
    ("I took a whole packet of paracetamol", "self_harm", None),
    ("I'm going to step in front of a bus", "self_harm", None),
    ("goodbye everyone", "self_harm", None),
    ("我觉得活着就是受罪", "self_harm", None),
    ("我已经想好怎么死了", "self_harm", None),
    ("我打算把这些药一口气吃完", "self_harm", None),
    ("我刚才吃了一瓶降压药", "self_harm", None),
    ("I'm thinking about ending it", "self_harm", None),
    ("I don't want to carry on", "self_harm", None),
    ("I'm going to swallow all these pills", "self_harm", None),
    ("I wish I could just disappear", "self_harm", None),
    ("my life is over", "self_harm", None),
    ("I want to stop existing", "self_harm", None),
]

# ---- family 5: dialect-flavoured and colloquial Mandarin
DIALECT: list[tuple[str, str, str | None]] = [
    ("我不想活了嘛", "self_harm", "zh-sichuan"),
    ("心口痛得遭不住", "chest_pain", "zh-sichuan"),
    ("气都出不赢了", "breathing", "zh-sichuan"),
    ("我气紧得很，喘不赢", "breathing", "zh-sichuan"),
    ("活起没得啥子意思", "self_harm", "zh-sichuan"),
    ("出气都难得很", "breathing", "zh-sichuan"),
    ("我老汉儿晕倒了喊不醒", "breathing", "zh-sichuan"),
    ("我这心口窝子贼拉疼", "chest_pain", "zh-dongbei"),
    ("我喘气儿费劲", "breathing", "zh-dongbei"),
    ("俺爹倒地上叫不醒", "breathing", "zh-dongbei"),
    ("我不想活了咋整", "self_harm", "zh-dongbei"),
    ("唔想活", "self_harm", "yue"),
    ("心口好痛", "chest_pain", "yue"),
    ("抖唔到气", "breathing", "yue"),
    ("佢冇晒反应", "breathing", "yue"),
    ("我唔想再醒", "self_harm", "yue"),
    ("我抖气好辛苦", "breathing", "yue"),
    ("我心口好似俾嘢压住", "chest_pain", "yue"),
    ("我遭不住了，想死", "self_harm", "zh-sichuan"),
    ("我喘不赢气", "breathing", "zh-sichuan"),
    ("我唔想再捱", "self_harm", "yue"),
    ("我胸口好谷", "chest_pain", "yue"),
    ("佢晕咗", "breathing", "yue"),
    ("佢冇咗呼吸", "breathing", "yue"),
    ("我这胸口憋得慌", "chest_pain", "zh-dongbei"),
    ("我这气儿倒不上来了", "breathing", "zh-dongbei"),
    ("佢突然晕低咗", "breathing", "yue"),
    ("俺心口窝可难受了", "chest_pain", "zh-dongbei"),
    ("我好辛苦，唞唔到气", "breathing", "yue"),
]

# ---- family 6: as a recogniser writes it (no punctuation, no apostrophes)
ASR_FORMS: list[tuple[str, str, str | None]] = [
    ("喂我胸口疼得厉害快点帮我叫人", "chest_pain", None),
    ("我爸他晕倒了叫不醒你们快点", "breathing", None),
    ("我真的不想活了你们别管我", "self_harm", None),
    ("我孩子脸都紫了喘不上来", "breathing", None),
    ("那个我心口一阵一阵的疼出冷汗", "chest_pain", None),
    ("cant breathe", "breathing", None),
    ("im going to kill myself", "self_harm", None),
    ("i cant catch my breath", "breathing", None),
    ("he isnt breathing", "breathing", None),
    ("i dont wanna live no more", "self_harm", None),
    ("i cant go on", "self_harm", None),
    ("i cant get no air", "breathing", None),
    ("my chests really tight", "chest_pain", None),
    ("i cant do this anymore", "self_harm", None),
    ("hes collapsed and hes not breathing", "breathing", None),
    ("my dads clutching his chest", "chest_pain", None),
    ("我老公倒在地上了叫他也不应", "breathing", None),
    ("我现在就站在楼顶上面我要跳了", "self_harm", None),
    ("我心脏好疼啊救救我", "chest_pain", None),
    ("i cant breath", "breathing", None),
    ("i dont want to be here no more", "self_harm", None),
    ("cant get my breath", "breathing", None),
    ("my husband collapsed hes not breathing", "breathing", None),
    ("我爸倒了叫不醒快点", "breathing", None),
    ("shes not responding", "breathing", None),
    ("my babys not breathing", "breathing", None),
    ("im gonna end it all", "self_harm", None),
]

ROUND_2 = BYSTANDERS + CHEST_SYMPTOMS + BREATH_SYMPTOMS + SELF_HARM_INDIRECT + DIALECT + ASR_FORMS

# ---- near-crisis idioms and complaints, in families
CALM_ZH_2: list[tuple[str, str | None]] = [
    # hyperbole about bills and the network
    ("网慢得我想死", None), ("话费贵得我想跳楼", None), ("看到账单我差点心脏病发作", None),
    ("吓死我了，扣了两百", None), ("死贵", None), ("又死机了", None),
    ("你们快把我逼死了", None), ("这网卡得我喘不过气来", None),
    ("看到账单我都晕倒了", None), ("我都要被气晕了", None),
    # anger felt in the chest, said of a complaint (decided: a complaint)
    ("气得我胸口疼", None), ("你们这服务气得我心口痛", None), ("看到账单我心口一紧", None),
    ("气得我心脏疼", None),
    # exertion, laughter, busyness
    ("累得喘不过气", None), ("最近忙得喘不过气", None), ("跑得上气不接下气", None),
    ("笑得上气不接下气", None), ("笑得我喘不过气", None),
    # devices and things, not people
    ("手机没反应了", None), ("路由器按了没反应", None), ("闹钟都叫不醒我", None),
    ("电视机一点反应都没有", None), ("家里燃气没气了", None), ("轮胎没气了", None),
    ("憋死我了", "zh-dongbei"), ("我想跳到别的套餐", None), ("我想跟你们告别了，要销号", None),
    ("我想和这个套餐说再见", None), ("我只想解决问题", None), ("我想醒来就有网", None),
    ("快把我逼疯了，网又断了", None), ("我喉咙肿痛，想挂个号", None), ("我有过敏性鼻炎", None),
    ("药已经吃完了，想再开一点", None), ("我爸去世了，在处理后事，要注销号码", None),
    ("我等得都快晕倒了", None), ("热得我喘不过气", None), ("这价格让我窒息", None),
    ("这个月账单吓得我心脏都停了", None), ("看到账单我眼前一黑差点昏过去", None),
    ("我想告别这个套餐", None), ("我气得要晕过去了", None), ("气得我胸口闷", None),
    ("这个价格让我晕倒", None), ("手机又黑屏没反应了", None), ("你让我缓口气", None),
    ("手机一动不动卡住了", None), ("我被你们气得抽过去了", None),
    ("我想知道手机怎么死机的", None), ("医生让我把药一次吃完吗", None),
    # clinic and service words next to the new rules' parts
    ("我后背疼，要去放射科拍片吗", None), ("放射科在左边几楼", None), ("呼吸科急诊在哪", None),
    ("我有过敏性哮喘想复查", None), ("我过敏喉咙有点痒想挂号", None), ("你们客服语气紧张", None),
    ("我叫了外卖不应该收费吧", None), ("叫他们退钱也不答应", None), ("脸上长青春痘了", None),
    ("家里囤了些感冒药", None), ("我心口窝火", None), ("燃烧自己照亮别人", None),
]

CALM_EN_2: list[tuple[str, str | None]] = [
    ("this bill gave me a heart attack", None), ("breathtaking prices", None),
    ("I'm dying here waiting", None), ("can you kill the line", None),
    ("my phone is dead", None), ("there's a dead zone upstairs", None),
    ("I'm drowning in bills", None), ("the network collapsed again", None),
    ("my business collapsed so I need a cheaper plan", None),
    ("I nearly passed out when I saw the bill", None), ("the app won't wake up", None),
    ("my router is not responding", None), ("the website is unresponsive", None),
    ("I'm out of breath from running for the bus", None),
    ("I'm calling to say goodbye to your company, I'm switching", None),
    ("I wrote a note on my account", None), ("I plan to end my contract next month", None),
    ("I won't be around tomorrow for the engineer", None),
    ("I'm a burden on my son's plan", None), ("my heart sank", None),
    ("my jaw hurts, I need a dentist", None), ("I have a swollen throat and a fever", None),
    ("my arm is numb from sleeping on it", None), ("I'm sick of this", None),
    ("I can't do this form online", None), ("the pressure of the deadline is crushing", None),
    ("I almost collapsed when I saw the price", None),
    ("the roaming charges left me breathless", None), ("I'm drowning in paperwork", None),
    ("your agent was unresponsive", None), ("my heart hurts for your staff", None),
    ("I can't breathe through my nose, can I book", None),
    ("I won't be around next week for the engineer", None),
    ("I need to end it with this provider", None), ("let me go on the website", None),
    ("I'd rather die than pay this", None), ("there's no way out of this contract", None),
    ("I'm ending it with this provider", None), ("I can't carry on paying this", None),
    ("out of breath after the gym", None), ("I want all these charges to stop", None),
    ("I'll just disappear from your network then", None),
    ("yes I want to carry on", None), ("I want to wake up to working internet", None),
    ("would I be better off if I switched plans", None), ("the engineer left a note", None),
    ("a van parked in front of my car", None), ("my photos could disappear", None),
    ("your agent, he's not responding to my emails", None), ("my screen has gone blue", None),
    ("how do I get air miles", None), ("I want to end everything with your company", None),
]


@pytest.mark.parametrize(("name", "text", "intent", "profile"), _cases(ROUND_2))
def test_round_2_wording_reaches_its_intent_at_every_menu(name, text, intent, profile):
    p = plan(name)
    language = _language(text)
    prof = BUILTIN_PROFILES[profile] if profile else None
    score, why = score_intent(text, p.intents[intent], language, prof)
    assert score >= max(p.defaults.intent_threshold, GLOBAL_WINS), (score, why)
    for nid, choices in menus(name).items():
        best = ranked(p, text, language, prof, choices)[0]
        assert best.intent == intent, (nid, best)


@pytest.mark.parametrize(("name", "text", "profile"), _calm_cases(CALM_ZH_2 + CALM_EN_2))
def test_round_2_idioms_reach_no_crisis_intent(name, text, profile):
    p = plan(name)
    language = _language(text)
    prof = BUILTIN_PROFILES[profile] if profile else None
    floor = min(p.defaults.intent_threshold, p.defaults.confirm_threshold or 1.0)
    for intent in CRISIS & set(p.intents):
        score, why = score_intent(text, p.intents[intent], language, prof)
        assert score < floor, (intent, score, why)


def test_every_family_is_big_enough():
    for family in (BYSTANDERS, CHEST_SYMPTOMS, BREATH_SYMPTOMS, SELF_HARM_INDIRECT, DIALECT,
                   ASR_FORMS):
        assert len(family) >= 15
    assert len(CALM_ZH_2) + len(CALM_EN_2) >= 40
