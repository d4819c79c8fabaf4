"""Recognizers: which model, Whisper language and prompt serve each profile (fake models)."""

from __future__ import annotations

import logging

import pytest

from audio_models.protocols import ASRCapabilities
from ivr.understanding.profiles import BUILTIN_PROFILES as P
from ivr.understanding.profiles import resolve_profiles
from ivr.understanding.recognizers import Recognizers

LARGE = "/models/whisper-large-v3-ct2"
ZH_PROMPT = "以下是普通话的句子。"


class FakeModel:
    """What Recognizers reads from a WhisperASR: name, capabilities, supports_language, close."""

    def __init__(self, name: str, languages: tuple[str, ...]) -> None:
        self.name = name
        self.capabilities = ASRCapabilities(languages, model_name=name)
        self.closed = 0

    def supports_language(self, code: str) -> bool:
        return code.split("-")[0] in self.capabilities.languages

    def close(self) -> None:
        self.closed += 1


class Loader:
    def __init__(self, languages: tuple[str, ...] = ("zh", "yue", "en")) -> None:
        self.languages = languages
        self.calls: list[str] = []
        self.models: list[FakeModel] = []

    def __call__(self, spec: str) -> FakeModel:
        self.calls.append(spec)
        model = FakeModel(spec, self.languages)
        self.models.append(model)
        return model


@pytest.fixture
def base() -> FakeModel:
    return FakeModel("base", ("zh", "en"))  # like Whisper base: no <|yue|> token


def test_default_model_for_profiles_without_model(base):
    load = Loader()
    recs = Recognizers(base, load)
    assert recs.prepare([P["zh-CN"], P["zh-sichuan"], P["en-US"], P["en-GB"]]) == []
    for pid, language, prompt in [("zh-CN", "zh", ZH_PROMPT),
                                  ("zh-sichuan", "zh", "以下是四川话的句子。"),
                                  ("zh-dongbei", "zh", "以下是东北话的句子。"),
                                  ("en-US", "en", None), ("en-IN", "en", None)]:
        rec = recs.for_profile(P[pid])
        assert (rec.asr, rec.language, rec.prompt) == (base, language, prompt), pid
    assert load.calls == []


def test_profile_model_loaded_once_and_reused(base):
    load = Loader()
    profiles = resolve_profiles({"yue": {"model": LARGE}, "zh-dongbei": {"model": LARGE}})
    recs = Recognizers(base, load)
    assert recs.prepare(profiles.values()) == []
    assert load.calls == [LARGE]
    (large,) = load.models
    first = recs.for_profile(profiles["yue"])
    second = recs.for_profile(profiles["yue"], ["话费"])
    assert first.asr is second.asr is large
    assert (first.language, first.prompt) == ("yue", "以下係廣東話。")
    assert recs.for_profile(profiles["zh-dongbei"]).asr is large  # the same model file
    assert recs.for_profile(profiles["zh-CN"]).asr is base
    assert load.calls == [LARGE]


def test_profile_model_loaded_lazily(base):
    load = Loader()
    profiles = resolve_profiles({"yue": {"model": LARGE}})
    recs = Recognizers(base, load)
    assert load.calls == []
    assert recs.for_profile(profiles["yue"]).asr is load.models[0]
    assert recs.for_profile(profiles["yue"]).asr is load.models[0]
    assert load.calls == [LARGE]


def test_cantonese_falls_back_to_mandarin_with_one_warning(base, caplog):
    recs = Recognizers(base, Loader())
    with caplog.at_level(logging.WARNING, logger="ivr.asr"):
        notes = recs.prepare([P["zh-CN"], P["yue"], P["en-US"]])
        again = recs.prepare([P["yue"]])  # e.g. a dialplan reload
    assert len(notes) == 1 and again == []
    records = [r for r in caplog.records if r.name == "ivr.asr"]
    assert len(records) == 1
    (record,) = records
    assert record.levelno == logging.WARNING
    msg = record.getMessage()
    assert msg == notes[0]
    assert msg.startswith("profile yue: ASR model 'base' has no <|yue|> token")
    assert "callers are recognised as 'zh'" in msg
    assert "profiles.yue.model" in msg  # the fix
    rec = recs.for_profile(P["yue"])
    assert (rec.asr, rec.language, rec.prompt) == (base, "zh", "以下係廣東話。")


def test_fallback_warning_for_a_profile_model(caplog):
    load = Loader(languages=("zh", "en"))  # a model file without Cantonese either
    recs = Recognizers(FakeModel("base", ("zh", "en")), load)
    profiles = resolve_profiles({"yue": {"model": "/models/medium"}})
    with caplog.at_level(logging.WARNING, logger="ivr.asr"):
        (note,) = recs.prepare([profiles["yue"]])
    assert "ASR model '/models/medium' has no <|yue|> token" in note
    assert [r.getMessage() for r in caplog.records if r.name == "ivr.asr"] == [note]
    assert recs.for_profile(profiles["yue"]).language == "zh"


def test_no_warning_when_the_model_has_the_language(caplog):
    recs = Recognizers(FakeModel("large-v3", ("zh", "yue", "en")), Loader())
    with caplog.at_level(logging.WARNING, logger="ivr.asr"):
        assert recs.prepare(P.values()) == []
    assert not [r for r in caplog.records if r.name == "ivr.asr"]
    assert recs.for_profile(P["yue"]).language == "yue"


def test_other_missing_language_falls_back_to_the_models_first(caplog):
    recs = Recognizers(FakeModel("base.en", ("en",)), Loader())
    with caplog.at_level(logging.WARNING, logger="ivr.asr"):
        (note,) = recs.prepare([P["zh-CN"]])
    assert "profile zh-CN" in note and "recognised as 'en'" in note
    assert recs.for_profile(P["zh-CN"]).language == "en"


def test_hotwords_off_keeps_the_profile_prompt(base):
    recs = Recognizers(base, Loader(), hotwords=False)
    assert recs.for_profile(P["zh-CN"], ["话费", "宽带"]).prompt == ZH_PROMPT
    assert recs.for_profile(P["en-US"], ["bill", "broadband"]).prompt is None


def test_hotwords_on_adds_the_vocabulary(base):
    recs = Recognizers(base, Loader(), hotwords=True)
    assert recs.for_profile(P["zh-CN"], ["话费", "宽带", "话费"]).prompt == \
        f"{ZH_PROMPT}话费、宽带。"
    assert recs.for_profile(P["en-US"], ["bill", "broadband"]).prompt == "bill, broadband"
    assert recs.for_profile(P["en-US"], []).prompt is None  # nothing to say: no prompt
    assert recs.for_profile(P["zh-CN"]).prompt == ZH_PROMPT


def test_close_closes_loaded_models_only(base):
    load = Loader()
    profiles = resolve_profiles({"yue": {"model": LARGE}, "en-GB": {"model": "/models/en"}})
    recs = Recognizers(base, load)
    recs.prepare(profiles.values())
    assert len(load.models) == 2
    recs.close()
    assert [m.closed for m in load.models] == [1, 1]
    assert base.closed == 0  # the service's own model is the service's to close


def test_close_without_loaded_models(base):
    Recognizers(base, Loader()).close()
    assert base.closed == 0


def test_english_model_serves_english_profiles_without_their_own(base):
    load = Loader(("en",))
    recs = Recognizers(base, load, english_model="tiny.en")
    assert recs.prepare([P["zh-CN"], P["en-US"], P["en-GB"]]) == []
    assert load.calls == ["tiny.en"]  # loaded once, at start-up
    assert recs.for_profile(P["en-GB"]).asr is load.models[0]
    assert recs.for_profile(P["en-US"]).language == "en"
    assert recs.for_profile(P["zh-CN"]).asr is base
    own = resolve_profiles({"en-IN": {"model": LARGE}})["en-IN"]
    assert recs.for_profile(own).asr.name == LARGE  # a profile's own model wins


def test_english_model_that_is_the_service_model_is_not_loaded_twice():
    tiny = FakeModel("tiny.en", ("en",))
    load = Loader(("en",))
    recs = Recognizers(tiny, load, english_model="tiny.en")
    recs.prepare([P["en-US"], P["en-GB"]])
    assert load.calls == []
    assert recs.for_profile(P["en-US"]).asr is tiny
