"""Is the caller asking a question or making a request (ivr.understanding.question_form)?"""

from __future__ import annotations

import pytest

from ivr.understanding.question_form import is_complaint, is_question


@pytest.mark.parametrize("text", [
    "how much does roaming cost",
    "um, so how do I pay my bill without going to a shop",
    "why was my line cut off",
    "what are the charges for data in Europe",
    "is there an outage in my area",
    "can I top up with Alipay",
    "does 5G cost extra on my bill",
    "I was wondering whether the invoice can have my company name",
    "can you tell me how to pay my bill",
    "my bill is higher this month?",
])
def test_english_questions(text: str) -> None:
    assert is_question(text, "en-US")


@pytest.mark.parametrize("text", [
    "check my bill",
    "could you check my balance",
    "can you fix my broadband",
    "I need to pay my bill",
    "I want to top up fifty",
    "please top up thirty for me",
    "my internet is down",
    "let me talk to an agent",
    "",
])
def test_english_requests_and_statements(text: str) -> None:
    assert not is_question(text, "en-US")


@pytest.mark.parametrize("text", [
    "话费怎么充值到别人号码上",
    "为什么我还有余额却停机了",
    "新装宽带要多少钱",
    "话费可以用支付宝交吗",
    "开通呼叫转移要收费吗？",
    "是不是我们这片宽带出故障了",
    "帮我看看为什么停机了",  # asks why, though it asks for help
])
def test_chinese_questions(text: str) -> None:
    assert is_question(text, "zh-CN")


@pytest.mark.parametrize("text", [
    "查话费",
    "我要充值五十",
    "能不能帮我查一下话费",  # a request asked politely
    "能不能给我充点话费",
    "宽带坏了",
    "充个值吧",
    "转人工",
])
def test_chinese_requests_and_statements(text: str) -> None:
    assert not is_question(text, "zh-CN")


@pytest.mark.parametrize(("text", "language"), [
    ("这网很卡怎么回事啊", "zh-CN"),
    ("宽带怎么老是断", "zh-CN"),
    ("话费怎么又扣多了", "zh-CN"),
    ("点解又冇网", "yue"),
    ("why does my internet keep dropping", "en-US"),
    ("what's wrong with my line", "en-US"),
    ("how come my wifi is so slow", "en-US"),
    ("why isn't my phone getting a signal", "en-US"),
])
def test_complaints_about_ones_own_service(text: str, language: str) -> None:
    """A fault asked about as a question keeps its service intent (question_service)."""
    assert is_complaint(text, language)


@pytest.mark.parametrize(("text", "language"), [
    ("漫游怎么开通", "zh-CN"),
    ("话费怎么充值到别人号码上", "zh-CN"),
    ("PUK码是什么", "zh-CN"),
    ("how much does roaming cost", "en-US"),
    ("how do I reset my router", "en-US"),
    ("why do I need a PUK code", "en-US"),
    ("what is going on", "en-US"),
])
def test_how_to_questions_are_no_complaints(text: str, language: str) -> None:
    assert not is_complaint(text, language)


@pytest.mark.parametrize("text", [
    "我们小区是不是停网了我家一点网都没有",  # round 8: a guess at the cause + home is down
    "家里网络断了是不是你们在维修",
    "为什么我家wifi连不上",
    "宽带坏了吗",
])
def test_home_connection_down_asked_as_a_question_is_a_complaint(text: str) -> None:
    """Round 8 (H2): the caller says the home connection is down while asking: a fault."""
    assert is_complaint(text, "zh-CN")


@pytest.mark.parametrize("text", [
    "家里wifi连不上怎么办",  # asks what to do: the knowledge base may answer it
    "宽带断了如何重启路由器",
    "出国了手机上不了网是不是没开漫游",  # not the home connection
    "小区什么时候停网维护",  # no trouble said
])
def test_how_to_or_not_home_is_no_complaint(text: str) -> None:
    assert not is_complaint(text, "zh-CN")
