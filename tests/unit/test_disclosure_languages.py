"""The disclosure's languages (issue 18), as `ivr test` and `ivr simulate` say it through the
call driver: every language of the dialplan, its default first, or `privacy.disclosure_languages`
order, or only the caller's language when the call starts in one; pre-rendered for each."""

from __future__ import annotations

from ivr.config import REPO_ROOT
from ivr.dialplan.conversation import Conversation
from ivr.dialplan.loader import load_dialplan
from ivr.privacy.disclosure import disclosure_languages, opening_prompts

HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"
TEXTS = {"zh": "您好，您正在与智能语音助手通话。", "en": "You are speaking with an assistant."}


def opening(**kwargs: object) -> list[tuple[str, str]]:
    with Conversation(HOTLINE, disclosure=TEXTS, **kwargs) as conv:  # type: ignore[arg-type]
        prompts = conv.start().prompts
    return [(p.language, p.text) for p in prompts if p.node == "disclosure"]


def test_every_language_of_the_dialplan_default_first() -> None:
    assert opening() == [("zh-CN", TEXTS["zh"]), ("en-US", TEXTS["en"])]


def test_a_configured_order() -> None:
    assert opening(disclosure_order=["en-US", "zh-CN"]) == [("en-US", TEXTS["en"]),
                                                            ("zh-CN", TEXTS["zh"])]


def test_only_the_callers_language_when_it_is_known() -> None:
    assert opening(language="en-US") == [("en-US", TEXTS["en"])]


def test_a_text_two_languages_share_is_said_once() -> None:
    with Conversation(HOTLINE, disclosure={"zh": "您好。"}) as conv:
        said = [p for p in conv.start().prompts if p.node == "disclosure"]
    assert [(p.language, p.text) for p in said] == [("zh-CN", "您好。")]


def test_languages_and_pre_rendered_lines() -> None:
    plan = load_dialplan(HOTLINE).plan
    assert disclosure_languages(plan) == ["zh-CN", "en-US"]
    assert disclosure_languages(plan, ["en-US", "en-US", "zh-CN"]) == ["en-US", "zh-CN"]
    assert opening_prompts(TEXTS, plan) == [(TEXTS["zh"], "zh-CN"), (TEXTS["en"], "en-US")]
    assert opening_prompts(TEXTS, plan, ["en-GB"]) == [  # the voice of each language said
        (TEXTS["zh"], "zh-CN"), (TEXTS["en"], "en-US"), (TEXTS["en"], "en-GB")]
    assert opening_prompts({"en-GB": "Hello."}, plan, ["en-GB"]) == [("Hello.", "en-US"),
                                                                      ("Hello.", "en-GB")]
