"""The shipped hotline dialplan (dialplans/hotline.yaml) and the texts of its prompts, as the
tests of the hotline expect them (tests/unit/test_hotline_*.py). The main menu's prompts
are in tests/unit/call_runner.py (MENU_ZH, MENU_EN), shared with the call tests."""

from __future__ import annotations

from ivr.config import REPO_ROOT

HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"

WELCOME_ZH = "欢迎致电星河通信客服热线。"
WELCOME_EN = "Welcome to Xinghe Telecom."
OFFER = "For English, press 9 or say English."
BILL_ZH = "您本月的账单为九十八元，当前余额为五十八元二角。"
ELSE_ZH = "请问还有其他可以帮您的吗？有请说是或按1，没有请说没有或按2。"
ELSE_EN = "Is there anything else I can help you with? Say yes or press 1, or say no or press 2."
NO_INPUT_1_ZH = "不好意思，我没有听到您的声音。"
NO_INPUT_2_ZH = "还是没有听到，请您大声一点，或者直接按键。"
NO_MATCH_1_ZH = "抱歉，我没有听懂。"
NO_MATCH_2_ZH = "抱歉，还是没有听懂，您也可以直接按键选择。"
NO_MATCH_1_EN = "Sorry, I didn't understand that."
ACCOUNT_EN = ("Please say or key in your 8-digit broadband account number, "
              "then press the hash key.")
ACCOUNT_ZH = "请说出或输入您的八位宽带账号，按井号键结束。"
TOPUP_ZH = "请说出或输入充值金额，十元到五千元，按井号键结束。"
