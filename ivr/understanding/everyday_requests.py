"""Everyday requests no contact centre handles: an off-topic class for dialplans without one.

The meaning's classifier (`intent_classifier`) spreads all of an utterance's probability over
the classes it was trained on. A dialplan that lists no off-topic requests (`semantic.off_topic`:
an integrator's own hotline rarely has one) leaves it no class for "something else", so
"明天下不下雨" or "do you know a good plumber" goes to whichever intent is least unlike it,
often above `min_probability` (issue 17, round 8: on a utility company's dialplan without an
off-topic list, weather reached the outage intent at 0.63).

`REQUESTS` are chit-chat and everyday errands (weather, time, jokes, taxis, restaurants,
films, sport, homework, pets, jobs, greetings) written for no particular business. The
dialplan's own off-topic list is topped up with them (`semantic_examples`, until it has
`TOP_UP_TO` per language) and, before training, any of them as near in meaning to one of the
dialplan's examples or keywords as `TOO_NEAR` is dropped (`SemanticIndex.build`): a taxi
company's "帮我叫辆车" stays its own. A dialplan with a long enough list of its own (the shipped
hotline: about 60 per language) is left exactly as it was.
"""

from __future__ import annotations

from ivr.understanding.language_codes import is_chinese, is_english

__all__ = ["EVERYDAY", "REQUESTS", "TOO_NEAR", "TOP_UP_TO", "everyday_for"]

EVERYDAY = "@everyday:"  # owner prefix of the rows added here (relabelled once kept)
TOP_UP_TO = 20  # a language with fewer off-topic requests of the dialplan's own gets these
TOO_NEAR = 0.9  # cosine to a dialplan example at which one of these is dropped

REQUESTS: dict[str, tuple[str, ...]] = {
    "zh": (
        "这两天气温会降吗", "外面在下雨吗", "现在北京时间几点", "今天星期几", "说个段子听听",
        "你会不会唱歌", "给孩子讲个睡前故事", "你是真人还是机器", "你叫什么名字", "你今年多大了",
        "给我约个网约车", "这附近有啥馆子", "想点一份麻辣烫外卖", "最近上映什么电影",
        "昨晚篮球比赛几比几", "今天有什么新闻", "这句话英文怎么说", "去火车站坐几路车",
        "孩子的数学作业不会做", "红烧肉怎么做", "我家狗不吃东西了", "哪里买衣服便宜",
        "你们招不招人", "我打错电话了", "喂喂能听到吗", "没事我随便问问", "谢谢你啊",
        "哈喽", "推荐几本好书", "股票明天会涨吗", "美元现在换多少人民币", "陪我聊聊天",
        "我想学游泳去哪报名", "附近哪有理发店",
    ),
    "en": (
        "is it going to be cold tomorrow", "is it raining where you are",
        "what time is it in London", "what day of the week is it", "know any good jokes",
        "can you sing for me", "read my kid a bedtime story", "are you a real person or a machine",
        "what's your name", "how old are you", "get me a ride to the station",
        "where's a decent place to eat round here", "I fancy a curry delivered",
        "what's showing at the pictures", "what was the final score in the basketball",
        "what's in the news today", "how do you say good morning in french",
        "which bus goes to the train station", "help my kid with his maths homework",
        "how do I cook a roast chicken", "my cat is not eating", "where can I buy cheap clothes",
        "are you hiring at the moment", "sorry wrong number", "hello can you hear me",
        "nothing I was just curious", "thank you very much", "hiya",
        "recommend a good book", "will the stock market go up tomorrow",
        "how many dollars to the pound", "just chat with me for a bit",
        "where can I learn to swim", "is there a barber near me",
    ),
}


def everyday_for(language: str, own: int) -> list[str]:
    """The everyday requests to add for `language` when the dialplan lists `own` off-topic
    requests of its own in it: none at TOP_UP_TO or more, or for a language neither Chinese
    nor English."""
    if own >= TOP_UP_TO:
        return []
    if is_chinese(language):
        return list(REQUESTS["zh"])
    if is_english(language):
        return list(REQUESTS["en"])
    return []
