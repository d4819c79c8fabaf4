"""Redaction before storage (`ivr.privacy.Redactor`): real-looking numbers in Mandarin and
English, written, spoken and as ASR spaces them, and the numbers that must stay."""

from __future__ import annotations

import pytest

from ivr.privacy import SECRET_MASK, Redactor, id_card_valid, luhn_valid

R = Redactor()
# resident IDs with valid MOD 11-2 checksums (computed, not real people)
ID_X = "11010519491231002X"  # Beijing Chaoyang, 1949-12-31, checksum X
ID_8 = "310115198508162318"  # Shanghai Pudong, 1985-08-16
ID_7 = "510107199211224567"  # Chengdu, 1992-11-22
# Luhn-valid card numbers
UNIONPAY_19 = "6222021234567890128"
UNIONPAY_16 = "6228480012345671"
VISA_16 = "4111111111111111"


def test_checksums_of_the_fixtures() -> None:
    assert id_card_valid(ID_X) and id_card_valid(ID_8) and id_card_valid(ID_7)
    assert not id_card_valid("110105194912310021")  # wrong checksum
    assert not id_card_valid("110105194913310029")  # month 13
    assert luhn_valid(UNIONPAY_19) and luhn_valid(UNIONPAY_16) and luhn_valid(VISA_16)
    assert not luhn_valid("6222021234567890127")


@pytest.mark.parametrize(("text", "expected"), [
    ("我的手机号是13800138000", "我的手机号是138****8000"),
    ("手机 138-0013-8000，谢谢", "手机 138****8000，谢谢"),
    ("电话是+86 139 1234 5678", "电话是139****5678"),
    ("8613912345678", "139****5678"),
    ("我的手机号是一三八零零一三八零零零", "我的手机号是138****8000"),
    ("幺三八 零零幺三 八零零零", "138****8000"),
    ("一五九，二二三三，四四五五", "159****4455"),
    ("1 3 8 0 0 1 3 8 0 0 0", "138****8000"),
    ("138 0013 8000", "138****8000"),
    ("138零零13八000", "138****8000"),  # ASR mixing digits and characters
    ("My number is 138 0013 8000.", "My number is 138****8000."),
    ("call me on one three eight, zero zero one three, eight zero zero zero",
     "call me on 138****8000"),
    ("one three eight double oh one three eight triple oh", "138****8000"),
    ("ONE THREE NINE one two three four five six seven eight", "139****5678"),
])
def test_mobile_numbers(text: str, expected: str) -> None:
    assert R.redact_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("家里电话010-62345678", "家里电话010****5678"),
    ("座机 021 6234 5678", "座机 021****5678"),
    ("(0755) 8765 4321", "(075****4321"),
    ("零二一 六二三四 五六七八", "021****5678"),
])
def test_landlines(text: str, expected: str) -> None:
    assert R.redact_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    (f"身份证号{ID_X}", "身份证号**************002X"),
    (f"身份证号{ID_X.lower()}", "身份证号**************002X"),
    ("110105 19491231 002X", "**************002X"),
    ("一一零一零五一九四九一二三一零零二叉", "**************002X"),
    ("三一零一一五一九八五零八一六二三一八", "**************2318"),
    ("my ID is five one zero one zero seven one nine nine two one one two two four five six "
     "seven", "my ID is **************4567"),
    (f"ID {ID_8}, card {UNIONPAY_16}", "ID **************2318, card ************5671"),
])
def test_resident_ids(text: str, expected: str) -> None:
    assert R.redact_text(text) == expected


def test_id_with_a_wrong_checksum_is_not_an_id() -> None:
    assert R.redact_text("110105194912310021") == "110105194912310021"


@pytest.mark.parametrize(("text", "expected"), [
    (f"卡号{UNIONPAY_19}", "卡号***************0128"),
    ("卡号 6222 0212 3456 7890 128", "卡号 ***************0128"),
    ("card 4111-1111-1111-1111 please", "card ************1111 please"),
    ("six two two eight four eight zero zero one two three four five six seven one",
     "************5671"),
    ("六二二八四八零零一二三四五六七一", "************5671"),
])
def test_bank_cards(text: str, expected: str) -> None:
    assert R.redact_text(text) == expected


def test_emails() -> None:
    assert R.redact_text("邮箱是zhangsan@example.com，谢谢") == "邮箱是z***@example.com，谢谢"
    assert R.redact_text("mail li.wei+ivr@mail.xinghai-bank.cn") == (
        "mail l***@mail.xinghai-bank.cn")


@pytest.mark.parametrize("text", [
    "我要充值2000元", "充值两千元", "预约2026-11-24 10:30", "十一月二十四号上午十点半",
    "卡号最后四位1234", "尾号一二三四", "订单号20261124103000", "I want to pay 250 dollars",
    "one hundred and twenty three", "4008123123",  # a company hotline is not personal
    "6222021234567890127",  # fails Luhn
    "2000 3000 4000 5000",  # amounts in a row
    "三三两两", "第一个", "我想查一下余额", "order 12345678",
])
def test_ordinary_numbers_stay(text: str) -> None:
    assert R.redact_text(text) == text


def test_secrets_are_masked_in_every_form() -> None:
    secrets = ["1234"]
    assert R.redact_text("您的卡号最后四位是1234，对吗？", secrets) == (
        "您的卡号最后四位是****，对吗？")
    assert R.redact_text("最后四位是一二三四", secrets) == f"最后四位是{SECRET_MASK}"
    assert R.redact_text("幺两三四", secrets) == SECRET_MASK
    assert R.redact_text("one two three four", secrets) == SECRET_MASK
    assert R.redact_text("1 2 3 4", secrets) == SECRET_MASK
    assert R.redact_text("The last four digits of your card are 1234, is that right?",
                         secrets) == "The last four digits of your card are ****, is that right?"
    assert R.redact_text("我要充值2000元", secrets) == "我要充值2000元"


def test_secret_ids_are_masked_whole() -> None:
    assert R.redact_text(f"身份证{ID_X}", [ID_X]) == f"身份证{SECRET_MASK}"
    assert R.redact_text("一一零一零五一九四九一二三一零零二叉", [ID_X]) == SECRET_MASK
    assert R.redact_text("my code is sesame", ["Sesame"]) == f"my code is {SECRET_MASK}"


def test_redact_obj_walks_json() -> None:
    data = {"slots": {"id_number": ID_X, "amount": 2000.0, "pin": 4321},
            "turns": [{"caller_text": "手机13800138000"}, 13800138000], "ok": True, "n": 3}
    out = R.redact_obj(data, [4321])
    assert out == {"slots": {"id_number": "**************002X", "amount": 2000.0, "pin": "****"},
                   "turns": [{"caller_text": "手机138****8000"}, "138****8000"], "ok": True,
                   "n": 3}
    assert data["slots"]["pin"] == 4321  # a copy


def test_disabled_redactor_changes_nothing() -> None:
    off = Redactor(enabled=False)
    assert off.redact_text("13800138000", ["1234"]) == "13800138000"
    assert off.redact_obj({"a": "13800138000"}) == {"a": "13800138000"}
