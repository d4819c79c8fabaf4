"""Settings: built-in defaults < config file (YAML) < environment (`IVR_*`) < CLI flags.

Every setting is documented in `config/default.yaml` (a test keeps the two in sync).
Environment variables name a setting by its dotted path in upper case with `__` between
sections, e.g. `IVR_SIP__PORT=5070`, `IVR_ASR__MODEL=tiny.en`; the top-level shortcuts
`IVR_API_TOKEN`, `IVR_DATA_DIR`, `IVR_DIALPLAN` also work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from ivr.cluster.front_settings import FrontSettings
from ivr.config_sections import (
    AsrSettings,
    DialogSettings,
    EchoSettings,
    HttpSettings,
    MetricsSettings,
    Section,
    SipSettings,
    TtsSettings,
    VadSettings,
)
from ivr.escalation.agents import AgentConfig
from ivr.escalation.callback_settings import CallbackSettings
from ivr.safe_yaml import UnsafeYaml, YamlTooLarge, read_bounded, safe_load

REPO_ROOT = Path(__file__).resolve().parent.parent


class EmotionSettings(Section):
    enabled: bool = Field(True, description="Estimate the caller's emotion on every utterance.")
    angry_threshold: float = Field(
        0.6, ge=0, le=1, description="A turn whose fused anger reaches this counts as angry."
    )
    soothing_threshold: float = Field(
        0.5, ge=0, le=1, description="Anger or distress from which soothing mode starts."
    )
    escalate_turns: int = Field(
        2, ge=1, description="Angry turns in a row that trigger the dialplan's escalate_to."
    )
    dissatisfied_turns: int = Field(
        3, ge=0, description="Turns in a call where the caller says they are dissatisfied (不满意,"
        " 答非所问, \"not what I asked\") or is angry that trigger escalate_to (0: never)."
    )
    prosody_weight: float = Field(
        0.75, ge=0, le=1, description="How far the voice alone can take a score (words: 0.9)."
    )
    model_dir: Path | None = Field(
        None, description="Emotion model directory (default: the shipped model)."
    )


class RecordingSettings(Section):
    enabled: bool = Field(True, description="Write a stereo WAV per call (caller left, IVR right).")


class LlmSummarySettings(Section):
    base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (unset: no "
        "LLM; the deterministic summary only). Nothing leaves the process unless this is set."
    )
    model: str | None = Field(None, description="Model name sent to the endpoint.")
    api_key: str | None = Field(None, description="Bearer key for the endpoint, if it needs one.")
    timeout_s: float = Field(
        3.0, gt=0, description="Give up on the LLM after this; the deterministic summary stays."
    )


class EscalationSettings(Section):
    mode: Literal["bridge", "refer"] = Field(
        "bridge", description="bridge: the IVR calls the agent, whispers the summary, connects "
        "and keeps recording; refer: blind SIP REFER to the agent (context in Refer-To headers)."
    )
    ring_timeout_s: float = Field(
        20.0, gt=0, description="An agent who does not answer within this is skipped."
    )
    max_wait_s: float = Field(
        90.0, ge=0, description="Queue wait before the caller is offered a callback/voicemail."
    )
    hold_message_every_s: float = Field(
        20.0, gt=0, description="While waiting, repeat the hold message (with queue position)."
    )
    whisper: bool = Field(
        True, description="Speak the one-breath summary to the agent before connecting."
    )
    callback: bool = Field(True, description="Offer a callback (number confirmed) after max_wait.")
    voicemail: bool = Field(True, description="Offer voicemail when a callback is declined.")
    voicemail_max_s: float = Field(60.0, gt=0, description="Longest voicemail message.")
    public_url: str | None = Field(
        None, description="Base URL agents reach the API at, for the X-IVR-Summary-URL header "
        "(default: http://HTTP_HOST:HTTP_PORT)."
    )
    llm: LlmSummarySettings = Field(default_factory=LlmSummarySettings)


class RetentionSettings(Section):
    recordings_days: float = Field(
        90, ge=0, description="Delete call recordings (and voicemails) older than this (0: keep)."
    )
    transcripts_days: float = Field(
        365, ge=0, description="Delete calls' turns and events older than this (0: keep)."
    )
    summaries_days: float = Field(
        365, ge=0, description="Delete escalation summaries older than this (0: keep)."
    )
    callbacks_days: float = Field(
        30, ge=0, description="Delete callback requests older than this (0: keep)."
    )
    calls_days: float = Field(
        730, ge=0, description="Delete the call rows themselves older than this (0: keep)."
    )


class PrivacySettings(Section):
    disclosure: dict[str, str] = Field(
        default_factory=lambda: {
            "zh": "您好，您正在与智能语音助手通话，本次通话将被录音。",
            "en": "Hello, you are speaking with an automated assistant, and this call is "
                  "recorded.",
        },
        description="Opening line played before the dialplan, by language (zh, en, or a "
        "dialplan language such as zh-CN); {} to leave disclosure to the dialplan.",
    )
    disclosure_languages: list[str] = Field(
        default_factory=list,
        description="The languages the disclosure is said in, in this order, when the caller's "
        "is not known (e.g. [zh-CN, en-US]); [] = the dialplan's languages, its default first.",
    )
    redact: bool = Field(
        True, description="Mask phone, ID-card, bank-card numbers, e-mails and sensitive slots "
        "in everything stored and logged."
    )
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    purge_every_s: float = Field(
        3600, ge=0, description="Apply the retention periods this often while serving (0: only "
        "`ivr purge`)."
    )
    recording_key_file: Path | None = Field(
        None, description="File holding the AES-256-GCM key (32 bytes, raw, hex or base64) that "
        "encrypts recordings at rest; env IVR_RECORDING_KEY also works. Unset: not encrypted."
    )


class Settings(Section):
    data_dir: Path = Field(
        Path("var"), description="Database, recordings, prompt and model caches live here."
    )
    database_url: str | None = Field(
        None, description="Shared database of calls, events, agents and users: "
        "`sqlite:///ABS/PATH.sqlite` or `postgresql://user@host:port/db`. Unset: SQLite at "
        "DATA_DIR/ivr.sqlite. Workers of one service must share it (env IVR_DATABASE_URL)."
    )
    dialplan: Path = Field(
        REPO_ROOT / "dialplans" / "hotline.yaml", description="Dialplan YAML file served."
    )
    dialplan_reload_s: float = Field(
        2.0, ge=0, description="Check the dialplan for edits this often (0: never; SIGHUP: now)."
    )
    model_dir: Path | None = Field(
        None, description="Where assembled models are kept (default DATA_DIR/cache/models)."
    )
    api_token: str | None = Field(
        None, description="Bearer token for /api; unset: one is generated in DATA_DIR/api_token."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of the service."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines on stderr: `text`, or `json` (one object per line: "
        "time in ISO-8601 UTC, level, logger, message, call_id) for journald/log shippers."
    )
    profiles: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Language/dialect profiles to adjust or add, by id (zh-CN, zh-sichuan, "
        "zh-dongbei, yue, en-US, en-GB, en-IN): whisper_language, prompt_language, tts_voice, "
        "model, initial_prompt, lexicon, cues.",
    )
    sip: SipSettings = Field(default_factory=SipSettings)
    front: FrontSettings = Field(default_factory=FrontSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    asr: AsrSettings = Field(default_factory=AsrSettings)
    tts: TtsSettings = Field(default_factory=TtsSettings)
    vad: VadSettings = Field(default_factory=VadSettings)
    echo: EchoSettings = Field(default_factory=EchoSettings)
    dialog: DialogSettings = Field(default_factory=DialogSettings)
    recording: RecordingSettings = Field(default_factory=RecordingSettings)
    emotion: EmotionSettings = Field(default_factory=EmotionSettings)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)
    callbacks: CallbackSettings = Field(default_factory=CallbackSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    agents: list[AgentConfig] = Field(
        default_factory=list,
        description="Live agents: id, name, uri (sip:...), queues, languages, topics, "
        "password_hash (for the agent desktop; make one with `ivr passwd`).",
    )

    @property
    def db_path(self) -> Path:
        return self.data_dir / "ivr.sqlite"

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def meaning_cache(self) -> Path:
        """Vectors of the dialplans' texts (intent examples, knowledge questions): derived
        from a model, so kept with the models (shared by the workers and services that share
        them)."""
        return self.models_dir / "meaning.sqlite"

    @property
    def models_dir(self) -> Path:
        return self.model_dir or self.cache_dir / "models"


class ConfigError(ValueError):
    """The configuration file, environment or flags hold an invalid value."""


_SHORTCUTS = {
    "IVR_API_TOKEN": "api_token", "IVR_DATA_DIR": "data_dir", "IVR_DIALPLAN": "dialplan",
    "IVR_MODEL_DIR": "model_dir",
}
# Read by their own code, not settings: the recording key must never end up in a settings dump.
_NOT_SETTINGS = {"IVR_RECORDING_KEY"}


def _set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for p in parents:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{dotted}: '{p}' is not a section")
    node[leaf] = value


def env_overrides(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Settings tree from `IVR_*` variables (coerced by the models; `[..]`, `{..}` as YAML)."""
    environ = dict(os.environ if environ is None else environ)
    tree: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith("IVR_") or key in _NOT_SETTINGS:
            continue
        dotted = _SHORTCUTS.get(key) or key[4:].lower().replace("__", ".")
        value: Any = raw
        if raw.lstrip().startswith(("{", "[")):
            try:
                value = safe_load(raw, "settings")  # no aliases, bounded depth
            except yaml.YAMLError as e:
                raise ConfigError(f"{key} is not valid YAML: {e}") from e
        _set_path(tree, dotted, value)
    return tree


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_settings(
    config_file: Path | None = None,
    flags: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build settings with the documented precedence; raise ConfigError with a plain message.
    The file is bounded like a dialplan (ivr/safe_yaml.py): someone else may have written it."""
    tree: dict[str, Any] = {}
    if config_file is not None:
        try:
            text = read_bounded(Path(config_file), "settings files").decode("utf-8")
            loaded = safe_load(text, "settings files") or {}
        except OSError as e:
            raise ConfigError(f"cannot read config file {config_file}: {e.strerror}") from e
        except YamlTooLarge as e:
            raise ConfigError(str(e)) from e
        except UnicodeDecodeError as e:
            raise ConfigError(f"config file {config_file} is not UTF-8 text ({e.reason})") from e
        except UnsafeYaml as e:
            raise ConfigError(e.located(str(config_file))) from e
        except yaml.YAMLError as e:
            raise ConfigError(f"config file {config_file} is not valid YAML: {e}") from e
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {config_file} must hold a mapping of settings")
        tree = loaded
    tree = _merge(tree, env_overrides(environ))
    for dotted, value in (flags or {}).items():
        if value is not None:
            _set_path(tree, dotted, value)
    try:
        return Settings.model_validate(tree)
    except ValidationError as e:
        lines = [
            f"  {'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        ]
        raise ConfigError("invalid settings:\n" + "\n".join(lines)) from e


def iter_setting_paths(model: type[BaseModel] = Settings, prefix: str = "") -> list[str]:
    """Dotted names of every leaf setting (used by the docs test)."""
    paths: list[str] = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            paths += iter_setting_paths(ann, f"{prefix}{name}.")
        else:
            paths.append(prefix + name)
    return paths


def render_defaults() -> str:
    """`config/default.yaml`: every setting with its default and description."""
    lines = [
        "# Default settings of `ivr serve`, generated by `ivr config --defaults`.",
        "# Precedence: built-in defaults < this file (--config) < IVR_* env vars < CLI flags.",
        "# Env vars: IVR_<SECTION>__<NAME>, e.g. IVR_SIP__PORT=5070; shortcuts IVR_API_TOKEN,",
        "# IVR_DATA_DIR, IVR_DIALPLAN, IVR_MODEL_DIR.",
        "",
    ]

    def emit(model: BaseModel, indent: str) -> None:
        for name, field in type(model).model_fields.items():
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                lines.append(f"{indent}{name}:")
                emit(value, indent + "  ")
                continue
            if field.description:
                lines.append(f"{indent}# {field.description}")
            if name == "dialplan":
                value = "dialplans/hotline.yaml"
            shown = yaml.safe_dump(
                {name: str(value) if isinstance(value, Path) else value},
                allow_unicode=True, default_flow_style=True, width=1000,
            ).strip()[1:-1]
            lines.append(f"{indent}{shown}")

    emit(Settings(), "")
    return "\n".join(lines) + "\n"
