"""The shipped hotline dialplan as loaded: its name, languages, intents and nodes, a
version that follows its content, and the static prompts it lists for the TTS cache."""

from __future__ import annotations

from ivr.dialplan import load_dialplan
from ivr.dialplan.engine import DialogEngine
from tests.unit.call_runner import MENU_EN, MENU_ZH
from tests.unit.hotline_prompts import (
    ELSE_EN,
    HOTLINE,
    NO_INPUT_1_ZH,
    NO_MATCH_2_ZH,
    OFFER,
    WELCOME_EN,
    WELCOME_ZH,
)


# ---------------------------------------------------------------- loading
def test_load_hotline():
    loaded = load_dialplan(HOTLINE)
    plan = loaded.plan
    assert plan.name == "xinghe-telecom-hotline"
    assert plan.languages == ["zh-CN", "en-US"]
    assert plan.default_language == "zh-CN"
    assert plan.start == "welcome"
    assert loaded.path == HOTLINE.resolve()
    assert loaded.base_dir == HOTLINE.resolve().parent
    assert len(loaded.version) == 12 and int(loaded.version, 16) >= 0
    assert set(plan.intents) == {"self_harm", "chest_pain", "breathing",
                                 "bill_enquiry", "broadband_fault", "top_up", "question", "agent",
                                 "english", "chinese", "affirm", "deny", "not_helped"}
    assert plan.nodes["main_menu"].verb == "menu"
    assert plan.nodes["goodbye"].verb == "hangup"
    assert plan.defaults.max_attempts == 3
    assert plan.defaults.on_failure == "escalate"


def test_version_follows_content(tmp_path):
    copy = tmp_path / "h.yaml"
    copy.write_bytes(HOTLINE.read_bytes())
    (tmp_path / "knowledge").symlink_to(HOTLINE.parent / "knowledge")
    assert load_dialplan(copy).version == load_dialplan(HOTLINE).version
    copy.write_bytes(HOTLINE.read_bytes() + b"\n# changed\n")
    assert load_dialplan(copy).version != load_dialplan(HOTLINE).version


# ---------------------------------------------------------------- static prompts
def test_static_prompts():
    prompts = DialogEngine(load_dialplan(HOTLINE).plan).static_prompts()
    for item in [(WELCOME_ZH, "zh-CN"), (WELCOME_EN, "en-US"), (OFFER, "en-US"),
                 (MENU_ZH, "zh-CN"), (MENU_EN, "en-US"), (ELSE_EN, "en-US"),
                 (NO_INPUT_1_ZH, "zh-CN"), (NO_MATCH_2_ZH, "zh-CN"),
                 ("感谢您的来电，再见。", "zh-CN"),
                 ("Thank you for calling Xinghe Telecom. Goodbye.", "en-US")]:
        assert item in prompts
    assert (OFFER, "zh-CN") not in prompts  # prompt_language: en-US only
    assert not [t for t, _ in prompts if "{" in t]
    assert {lang for _, lang in prompts} == {"zh-CN", "en-US"}
    # the prompts with variables are left to run time
    assert not any(t.startswith("您要充值") or t.startswith("充值成功") for t, _ in prompts)
