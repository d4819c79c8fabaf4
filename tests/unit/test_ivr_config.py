"""Settings: defaults < config file < environment < flags, and plain ConfigError messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.config import (
    REPO_ROOT,
    ConfigError,
    Settings,
    env_overrides,
    iter_setting_paths,
    load_settings,
)


def _write(tmp_path: Path, text: str, name: str = "ivr.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- defaults
def test_builtin_defaults():
    s = load_settings(environ={})
    assert s == Settings()
    assert s.data_dir == Path("var")
    assert s.dialplan == REPO_ROOT / "dialplans" / "hotline.yaml"
    assert s.api_token is None
    assert s.log_level == "INFO"
    assert (s.sip.host, s.sip.port, s.sip.max_calls, s.sip.retry_after_s) == (
        "127.0.0.1", 5060, 3, 30)
    assert s.sip.codecs == ["PCMU/8000", "PCMA/8000", "G722/16000"]
    assert (s.http.host, s.http.port) == ("127.0.0.1", 8080)
    assert (s.asr.model, s.asr.compute_type, s.asr.min_confidence) == ("base", "int8", 0.25)
    assert s.asr.hotwords is False and s.profiles == {}
    assert (s.vad.aggressiveness, s.vad.end_silence_ms, s.vad.min_utterance_ms) == (2, 700, 200)
    assert (s.dialog.no_input_timeout_s, s.dialog.interdigit_timeout_s) == (6.0, 3.0)
    assert s.dialog.barge_in is True
    assert s.recording.enabled is True


def test_derived_paths(tmp_path):
    s = Settings(data_dir=tmp_path)
    assert s.db_path == tmp_path / "ivr.sqlite"
    assert s.recordings_dir == tmp_path / "recordings"
    assert s.cache_dir == tmp_path / "cache"
    assert s.models_dir == tmp_path / "cache" / "models"
    assert Settings(data_dir=tmp_path, model_dir=tmp_path / "m").models_dir == tmp_path / "m"


def test_default_codec_list_is_not_shared():
    a, b = Settings(), Settings()
    a.sip.codecs.append("opus/48000")
    assert b.sip.codecs == ["PCMU/8000", "PCMA/8000", "G722/16000"]


# ---------------------------------------------------------------- precedence
def test_file_overrides_defaults(tmp_path):
    path = _write(tmp_path, "sip:\n  port: 5070\nlog_level: DEBUG\ndialog:\n  barge_in: false\n")
    s = load_settings(path, environ={})
    assert s.sip.port == 5070
    assert s.sip.host == "127.0.0.1"  # untouched sibling keeps its default
    assert s.log_level == "DEBUG"
    assert s.dialog.barge_in is False


def test_empty_file_gives_defaults(tmp_path):
    assert load_settings(_write(tmp_path, ""), environ={}) == Settings()


def test_env_overrides_file(tmp_path):
    path = _write(tmp_path, "sip:\n  port: 5070\n  host: 10.0.0.1\napi_token: from-file\n")
    env = {
        "IVR_SIP__PORT": "5080",
        "IVR_API_TOKEN": "from-env",
        "IVR_DATA_DIR": str(tmp_path / "data"),
        "IVR_SIP__CODECS": '["PCMA/8000"]',
        "IVR_ASR__MODEL": "tiny.en",
        "IVR_PROFILES": '{yue: {model: /models/large-v3}}',
        "PATH": "/usr/bin",  # not ours
        "XIVR_SIP__PORT": "1",  # not ours either
    }
    s = load_settings(path, environ=env)
    assert s.sip.port == 5080
    assert s.sip.host == "10.0.0.1"  # file value kept where env says nothing
    assert s.api_token == "from-env"
    assert s.data_dir == tmp_path / "data"
    assert s.sip.codecs == ["PCMA/8000"]
    assert s.asr.model == "tiny.en"
    assert s.profiles == {"yue": {"model": "/models/large-v3"}}


def test_env_shortcuts_and_nested_names():
    tree = env_overrides({
        "IVR_API_TOKEN": "t", "IVR_DATA_DIR": "/d", "IVR_DIALPLAN": "/p.yaml",
        "IVR_MODEL_DIR": "/m", "IVR_VAD__END_SILENCE_MS": "500", "HOME": "/root",
    })
    assert tree == {
        "api_token": "t", "data_dir": "/d", "dialplan": "/p.yaml", "model_dir": "/m",
        "vad": {"end_silence_ms": "500"},
    }


def test_env_read_from_process_environment(monkeypatch):
    monkeypatch.setenv("IVR_HTTP__PORT", "9090")
    assert load_settings().http.port == 9090


def test_flags_override_env_and_file(tmp_path):
    path = _write(tmp_path, "sip:\n  port: 5070\nhttp:\n  port: 8000\n")
    env = {"IVR_SIP__PORT": "5080", "IVR_API_TOKEN": "env-token"}
    s = load_settings(path, flags={"sip.port": 5090, "api_token": "flag-token",
                                   "log_level": None}, environ=env)
    assert s.sip.port == 5090
    assert s.api_token == "flag-token"
    assert s.http.port == 8000  # from the file
    assert s.log_level == "INFO"  # a None flag means "not given"


def test_flag_below_a_scalar_is_rejected(tmp_path):
    path = _write(tmp_path, "sip:\n  port: 5070\n")
    with pytest.raises(ConfigError, match=r"sip\.port\.x: 'port' is not a section"):
        load_settings(path, flags={"sip.port.x": 1}, environ={})


# ---------------------------------------------------------------- errors
def test_missing_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="cannot read config file") as exc:
        load_settings(missing, environ={})
    assert str(missing) in str(exc.value)
    assert "No such file or directory" in str(exc.value)


def test_directory_is_unreadable(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path, environ={})


def test_invalid_yaml(tmp_path):
    path = _write(tmp_path, "sip:\n  port: [5060\n")
    with pytest.raises(ConfigError, match="is not valid YAML") as exc:
        load_settings(path, environ={})
    assert str(path) in str(exc.value)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_non_mapping_file(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match="must hold a mapping of settings"):
        load_settings(path, environ={})


def test_unknown_key_in_file(tmp_path):
    path = _write(tmp_path, "sip:\n  prot: 5070\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(path, environ={})
    assert str(exc.value) == "invalid settings:\n  sip.prot: Extra inputs are not permitted"


def test_unknown_env_variable():
    with pytest.raises(ConfigError, match="bogus: Extra inputs are not permitted"):
        load_settings(environ={"IVR_BOGUS": "1"})


@pytest.mark.parametrize(
    ("flags", "env", "expected"),
    [
        ({"sip.port": 70000}, {}, "sip.port: Input should be less than or equal to 65535"),
        ({}, {"IVR_SIP__PORT": "0"}, "sip.port: Input should be greater than or equal to 1"),
        ({"sip.max_calls": 5}, {}, "sip.max_calls: Input should be less than or equal to 4"),
        ({"asr.min_confidence": 1.5}, {}, "asr.min_confidence: Input should be less than"),
        ({"vad.aggressiveness": -1}, {}, "vad.aggressiveness: Input should be greater than"),
        ({"dialog.no_input_timeout_s": 0}, {}, "dialog.no_input_timeout_s: Input should be"
                                               " greater than 0"),
        ({}, {"IVR_SIP__PORT": "abc"}, "sip.port: Input should be a valid integer"),
        ({"log_level": "LOUD"}, {}, "log_level: Input should be 'DEBUG'"),
    ],
)
def test_out_of_range_values(flags, env, expected):
    with pytest.raises(ConfigError) as exc:
        load_settings(flags=flags, environ=env)
    assert str(exc.value).startswith("invalid settings:\n")
    assert expected in str(exc.value)


def test_all_errors_are_listed():
    with pytest.raises(ConfigError) as exc:
        load_settings(flags={"sip.port": 0, "http.port": -1}, environ={})
    lines = str(exc.value).splitlines()
    assert lines[0] == "invalid settings:"
    assert [ln.split(":")[0].strip() for ln in lines[1:]] == ["sip.port", "http.port"]


def test_env_list_that_is_not_yaml():
    with pytest.raises(ConfigError, match="IVR_SIP__CODECS is not valid YAML"):
        load_settings(environ={"IVR_SIP__CODECS": "[PCMA/8000"})


def test_non_utf8_file_is_a_config_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("sip:\n  host: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="latin1.yaml"):
        load_settings(path, environ={})


# ---------------------------------------------------------------- paths
def test_iter_setting_paths_lists_leaves():
    paths = iter_setting_paths()
    assert paths[:6] == ["data_dir", "database_url", "dialplan", "dialplan_reload_s",
                         "model_dir", "api_token"]
    for leaf in ("sip.host", "sip.port", "sip.codecs", "http.port", "asr.hotwords", "profiles",
                 "tts.piper_voice", "vad.max_utterance_s", "dialog.max_call_s",
                 "recording.enabled"):
        assert leaf in paths
    for section in ("sip", "http", "asr", "tts", "vad", "dialog", "recording"):
        assert section not in paths  # sections are not leaves
    assert len(paths) == len(set(paths))
    for leaf in ("escalation.mode", "escalation.llm.base_url", "escalation.llm.timeout_s",
                 "agents"):
        assert leaf in paths
    sip = [p for p in paths if p.startswith("sip.")]
    assert sip == ["sip.host", "sip.port", "sip.public_host", "sip.max_calls",
                   "sip.retry_after_s", "sip.drain_timeout_s", "sip.codecs",
                   "sip.media_timeout_s", "sip.clock_rate", "sip.watchdog_s", "sip.srtp",
                   "sip.rtp_port_min",
                   "sip.rtp_port_max", "sip.allow_from", "sip.trunks"]


def test_every_leaf_path_is_settable_by_flag():
    """Each path names a real setting: setting it to its own default changes nothing."""
    defaults = Settings()
    for path in iter_setting_paths():
        value = defaults
        for part in path.split("."):
            value = getattr(value, part)
        assert load_settings(flags={path: value}, environ={}) == defaults, path
