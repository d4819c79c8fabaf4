"""The settings sections of the call path: SIP, HTTP, speech recognition, voices, endpointing
and dialogue timing (`ivr.config.Settings` puts them together with the rest)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from audio_models.echo import EchoConfig
from audio_models.protocols import EndpointerConfig

__all__ = ["AsrSettings", "DialogSettings", "EchoSettings", "HttpSettings", "MetricsSettings",
           "SipSettings", "TrunkSettings", "TtsSettings", "VadSettings"]


class Section(BaseModel):
    """A group of settings; unknown keys are errors (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid")


class TrunkSettings(Section):
    """One upstream registrar (PBX or carrier) the hotline's number registers with."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$", description="Trunk name (health, "
                      "metrics, logs).")
    registrar: str = Field(description="Registrar URI, sip:HOST[:PORT].")
    username: str = Field(min_length=1, max_length=128, description="Digest user name.")
    password: SecretStr | None = Field(None, description="Digest password (or "
                                       "password_file; never printed by `ivr config`).")
    password_file: Path | None = Field(None, description="File holding the digest password.")
    realm: str = Field("*", description="Digest realm (* answers any).")
    user: str | None = Field(None, max_length=64, description="Number/user registered "
                             "(default username).")
    domain: str | None = Field(None, description="AOR domain (default the registrar host).")
    expires_s: int = Field(300, ge=10, le=86400, description="Registration lifetime asked.")
    outbound: bool = Field(False, description="Outbound calls go through this trunk.")
    retry_s: float = Field(5.0, gt=0, le=3600, description="First retry after a failure.")
    retry_max_s: float = Field(300.0, gt=0, le=86400, description="Longest retry delay.")
    allow_from: list[str] = Field(
        default_factory=list, description="IPs and networks (CIDR) the carrier sends this "
        "trunk's calls from (its SBCs), answered besides sip.allow_from. Once any list is set "
        "(here or sip.allow_from), only listed sources and the registrars are answered."
    )

    @field_validator("allow_from")
    @classmethod
    def _sources(cls, v: list[str]) -> list[str]:
        from telephony.sip_sources import parse_networks

        parse_networks(v)
        return v

    @field_validator("registrar")
    @classmethod
    def _registrar(cls, v: str) -> str:
        from telephony.trunks import parse_registrar

        parse_registrar(v)
        return v

    @model_validator(mode="after")
    def _one_password(self) -> TrunkSettings:
        if (self.password is None) == (self.password_file is None):
            raise ValueError(f"trunk {self.name}: set exactly one of password, password_file")
        return self

    def secret(self) -> str:
        """The digest password (read from password_file when that is set)."""
        if self.password_file is None:
            return self.password.get_secret_value() if self.password else ""
        return self.password_file.read_text(encoding="utf-8").strip()


class SipSettings(Section):
    host: str = Field("127.0.0.1", description="Address the SIP/RTP transport binds to.")
    port: int = Field(5060, ge=1, le=65535, description="UDP SIP port.")
    public_host: str | None = Field(
        None, description="Address advertised in Contact/SDP (defaults to host)."
    )
    max_calls: int = Field(
        3, ge=1, le=4, description="Calls this worker admits; the next INVITE is refused with "
        "503 IVR at capacity and Retry-After. The pjsua2 wheel holds 4 calls per process and "
        "refuses a 5th INVITE by itself with 486 Busy Here: the default 3 keeps the 4th slot "
        "free to answer refusals with 503 (and for an agent's leg)."
    )
    retry_after_s: int = Field(
        30, ge=0, description="Retry-After seconds sent with 503 when at capacity."
    )
    drain_timeout_s: float = Field(
        0, ge=0, description="On SIGTERM, refuse new calls (503) and let the calls in progress "
        "finish for up to this long before hanging up (0: hang up at once; a second signal "
        "also hangs up at once). `ivr serve --workers N` sets it on its workers."
    )
    codecs: list[str] = Field(
        default_factory=lambda: ["PCMU/8000", "PCMA/8000", "G722/16000"],
        description="Codecs in priority order; all others are ranked below them.",
    )
    media_timeout_s: float = Field(
        20.0, gt=0, le=120, description="An answered call whose media never starts (no ACK, "
        "unusable SDP) is hung up after this many seconds."
    )
    clock_rate: int = Field(
        16000, description="Media clock (Hz) of the conference bridge and the calls' frames, "
        "prompts, endpointer and recording: 8000 or 16000. At 8000 a PCMU/PCMA call is not "
        "resampled 8<->16 kHz by the bridge (0.03-0.4 CPU-s less per call-minute, same "
        "recognition), but a G.722 caller is heard narrowband, as a PCMU one, and the echo "
        "gate missed a full-level line echo under CI load (not at 16000); 16000 keeps "
        "G.722's wideband audio for recognition. Whisper gets 16 kHz either way (the "
        "utterance resampled once)."
    )
    watchdog_s: float = Field(
        10.0, gt=0, le=300, description="How often the SIP stack's calls are reconciled with "
        "the sessions: an answered call with no session is hung up, a session whose call is "
        "gone ends (each after two checks in a row)."
    )
    srtp: Literal["off", "optional", "mandatory"] = Field(
        "off", description="SDES-SRTP to callers: off, optional (encrypted when the caller "
        "offers it) or mandatory (plain RTP refused, 488). The keys travel in the SDP: use it "
        "with TLS at the Kamailio front (front.tls_port) or on a trusted network."
    )
    rtp_port_min: int = Field(
        0, ge=0, le=65535, description="First UDP port for RTP/RTCP (two per call; open "
        "rtp_port_min..rtp_port_max in the firewall). 0: a random range from 20000."
    )
    rtp_port_max: int = Field(
        0, ge=0, le=65535, description="Last UDP port for RTP/RTCP (0 with rtp_port_min 0)."
    )
    allow_from: list[str] = Field(
        default_factory=list, description="IPs and networks (CIDR) whose INVITEs this worker "
        "answers; others get 403, logged once per source per minute. [] : anyone. The trunks' "
        "registrars are always allowed."
    )
    trunks: list[TrunkSettings] = Field(
        default_factory=list, description="Registrars to register the hotline's number with "
        "(README \"Trunks and PBXs\"): name, registrar (sip:HOST:PORT), username, password or "
        "password_file, realm, user (the number), domain, expires_s, outbound, retry_s, "
        "retry_max_s."
    )

    @field_validator("allow_from")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        from telephony.sip_sources import parse_networks

        parse_networks(v)
        return v

    @field_validator("clock_rate")
    @classmethod
    def _clock(cls, v: int) -> int:
        if v not in (8000, 16000):  # pjmedia's bridge, webrtcvad and the echo gate agree on these
            raise ValueError(f"clock_rate must be 8000 or 16000, got {v}")
        return v

    @model_validator(mode="after")
    def _edge(self) -> SipSettings:
        if (self.rtp_port_min == 0) != (self.rtp_port_max == 0):
            raise ValueError("set both rtp_port_min and rtp_port_max (or neither)")
        if self.rtp_port_min and self.rtp_port_max - self.rtp_port_min + 1 < 2 * 4:
            raise ValueError("rtp_port_min..rtp_port_max must hold at least 8 ports "
                             "(RTP and RTCP for the 4 calls of a worker)")
        names = [t.name for t in self.trunks]
        if len(set(names)) != len(names):
            raise ValueError(f"trunk names must be unique: {names}")
        if sum(t.outbound for t in self.trunks) > 1:
            raise ValueError("at most one trunk may be outbound")
        return self


class HttpSettings(Section):
    host: str = Field("127.0.0.1", description="Address the HTTP API binds to.")
    port: int = Field(8080, ge=0, le=65535, description="HTTP API port (0 disables the API).")
    max_connections: int = Field(
        256, ge=1, le=768, description="Open HTTP connections at most; more are answered 503 "
        "and closed at once. The SIP stack shares the process's file descriptors and cannot use "
        "numbers above 1023 for RTP sockets, so idle HTTP clients must not take them all."
    )
    header_timeout_s: float = Field(
        10.0, gt=0, le=300, description="A connection that has not sent a complete request "
        "head this many seconds after it opened, or after its previous answer (keep-alive), "
        "is closed."
    )


class AsrSettings(Section):
    model: str = Field(
        "base",
        description='"base" (multilingual, from PyPI parts), "tiny.en" (English only) or a path'
        " to any CTranslate2 Whisper model directory.",
    )
    compute_type: str = Field("int8", description="CTranslate2 compute type.")
    cpu_threads: int = Field(2, ge=1, description="Threads per model call.")
    beam_size: int = Field(1, ge=1, description="Beam size (1 = greedy, fastest).")
    short_window_s: float = Field(
        10.0, ge=0, le=30, description="Encode utterances from 1.5 s up to half this long in a "
        "window of this many seconds instead of Whisper's 30 s (the encoder is most of a "
        "recognition's cost; 10 s is about 3x faster with unchanged accuracy on the measured "
        "sets, docs/latency_levers.md); a doubtful result is redone in the full window. "
        "0 or 30: always the full window."
    )
    workers: int = Field(1, ge=1, description="Concurrent recognitions per process.")
    machine_slots: int | None = Field(
        None, ge=0, description="At most this many model calls at once on the machine, across "
        "all workers sharing the data directory (flock slots); unset: cores / cpu_threads; "
        "0: no machine-wide limit. Final recognitions go before speculative ones either way."
    )
    service: Literal["auto", "local", "shared"] = Field(
        "auto", description="Where recognition runs. local: in each SIP worker (its own copy "
        "of the models); shared: in the machine's one inference server (python -m "
        "ivr.inference_service; models loaded once for every worker, one queue, oldest caller "
        "first, batched encoder calls); auto: local for a single `ivr serve`, shared for "
        "`ivr serve --workers N`, whose supervisor starts and restarts the server."
    )
    service_socket: Path | None = Field(
        None, description="Unix socket of the shared inference server (mode 0600); unset: "
        "<data_dir>/inference.sock."
    )
    service_retry_s: float = Field(
        20.0, ge=0, le=300, description="shared: how long a worker waits for the inference "
        "server to come back (restart) before a recognition in flight is reported as an ASR "
        "error (the call reprompts); a final recognition lost with the server is sent once more."
    )
    batch_window_ms: float = Field(
        20.0, ge=0, le=200, description="shared: the head of the recognition queue waits this "
        "long (from its arrival) for other utterances of the same model and encoder window, "
        "encoded together in one CTranslate2 call; 0: no waiting."
    )
    max_batch: int = Field(
        8, ge=1, le=64, description="shared: at most this many utterances per encoder call."
    )
    min_confidence: float = Field(
        0.25, ge=0, le=1, description="Below this an utterance counts as not understood."
    )
    max_no_speech_prob: float = Field(
        0.7, ge=0, le=1, description="Above this (with low confidence) a result counts as silence."
    )
    hotwords: bool = Field(
        False, description="Add the dialplan's keywords and examples to the Whisper prompt "
        "(measured to hurt accuracy with the base model: off by default)."
    )
    english_model: str | None = Field(
        "tiny.en", description="Model for English profiles that name none: the English-only "
        "tiny.en has about half the encoder time of base at the same English accuracy "
        '(docs/latency_levers.md); null or "" : asr.model serves English too.'
    )
    grammar: bool = Field(
        True, description="Recognition by grammar (issue 19): where a question expects digits "
        "(a digit slot), yes or no (a read-back, a consent) or one of a menu's choices, the "
        "recogniser also decodes the answer under that grammar from the same encoder output, "
        "and the call believes it as grammar_digits_confidence and grammar_choice_confidence "
        "say; a request for an agent or a crisis phrase the free transcript says clearly always "
        "wins. false: free transcription only."
    )
    grammar_digits_confidence: float = Field(
        0.6, ge=0, le=1, description="A digit string of the expected length decoded under a "
        "digit slot's grammar replaces the free transcript from this confidence on. Below it, "
        "when the free transcript's digits differ, the utterance's confidence drops to at most "
        "1 - the grammar's (the dialogue's read-back or reprompt decides)."
    )
    grammar_choice_confidence: float = Field(
        0.7, ge=0, le=1, description="A yes/no or menu answer scored under the question's "
        "grammar becomes what the dialogue hears (the choice's first phrasing) from this "
        "confidence on, when the free transcript is a short answer that says no choice itself. "
        "When the free transcript says another choice, its confidence drops to at most 1 - the "
        "grammar's (below asr.min_confidence: asked again)."
    )
    grammar_choice_max_s: float = Field(
        3.0, ge=0, le=30, description="A yes/no or menu grammar is scored only for utterances "
        "of at most this many seconds of speech: a longer one is a sentence, which the free "
        "transcript and the intents read (the grammar is believed for short answers only), "
        "and scoring every phrasing of a menu for it would only add to the reply's latency. "
        "Digit grammars have no such bound."
    )


class TtsSettings(Section):
    piper_voice: str | None = Field(
        None, description="Path to a Piper .onnx voice; default is the bundled en_US joe voice."
    )
    espeak_gain_db: float = Field(-3.0, description="Gain applied to espeak-ng output.")
    prerender_replies: bool = Field(
        True, description="While the caller pauses, render the replies the speculative "
        "transcript leads to (e.g. a read-back with the caller's number), so the reply starts "
        "from the prompt cache (static prompts are always rendered at load)."
    )


class VadSettings(Section):
    aggressiveness: int = Field(2, ge=0, le=3, description="webrtcvad aggressiveness 0..3.")
    start_speech_ms: int = Field(120, ge=20, description="Voiced audio that starts an utterance.")
    end_silence_ms: int = Field(700, ge=100, description="Silence that ends an utterance.")
    pre_roll_ms: int = Field(300, ge=0, description="Audio kept before the speech start.")
    max_utterance_s: float = Field(15.0, gt=0, description="Longest utterance before cutting.")
    min_utterance_ms: int = Field(200, ge=0, description="Shorter voiced bursts are ignored.")
    early_silence_ms: int = Field(
        200, ge=0, description="Pause after which what the caller said so far is recognised "
        "speculatively, overlapping ASR with the end-of-speech silence; the result is used when "
        "no speech follows and discarded when it does (0 turns it off)."
    )
    tail_drop_db: float = Field(
        35.0, ge=0, description="Within an utterance, audio this many dB below its loudest part "
        "(or below -50 dBFS) counts as silence even when webrtcvad calls it voiced: webrtcvad's "
        "100-200 ms hangover on the fading end of a word no longer delays the end of speech "
        "(0 leaves the decision to webrtcvad alone)."
    )

    def endpointer_config(self) -> EndpointerConfig:
        """These settings as the endpointer's configuration."""
        return EndpointerConfig(
            aggressiveness=self.aggressiveness, start_speech_ms=self.start_speech_ms,
            end_silence_ms=self.end_silence_ms, pre_roll_ms=self.pre_roll_ms,
            max_utterance_s=self.max_utterance_s, min_utterance_ms=self.min_utterance_ms,
            tail_drop_db=self.tail_drop_db,
        )


class EchoSettings(Section):
    """Echo on the line (README "Echo on the line"): the IVR's own prompt returned by the
    caller's line is not speech and does not barge in."""

    mode: Literal["gate", "off"] = Field(
        "gate", description="gate: caller audio explained by the IVR's own audio played "
        "0..max_delay_ms earlier (correlation with what was sent, estimated echo return loss) "
        "reaches the endpointer as silence while prompts play; off: no echo handling."
    )
    max_delay_ms: int = Field(
        500, ge=20, le=1000, description="Longest echo delay searched (round trip of the "
        "line and the jitter buffers)."
    )
    margin_db: float = Field(
        6.0, ge=0, le=30, description="A frame at most this much louder than the echo the "
        "line's path predicts counts as echo; a caller's voice louder than that barges in."
    )
    min_correlation: float = Field(
        0.6, gt=0, lt=1, description="Normalised correlation with the played audio from which "
        "received audio is taken as an echo of it (finds the echo path: delay and loss)."
    )

    def gate_config(self) -> EchoConfig:
        """These settings as the echo gate's configuration."""
        return EchoConfig(enabled=self.mode != "off", max_delay_ms=self.max_delay_ms,
                          margin_db=self.margin_db, min_correlation=self.min_correlation)


class DialogSettings(Section):
    no_input_timeout_s: float = Field(
        6.0, gt=0, description="Silence after a prompt before no-input (dialplans override)."
    )
    interdigit_timeout_s: float = Field(3.0, gt=0, description="Wait between DTMF digits.")
    barge_in: bool = Field(True, description="Caller speech/keys interrupt prompts by default.")
    early_commit_score: float = Field(
        0.85, ge=0, le=1, description="A speculative transcript that the current menu or gather "
        "matches with at least this score (an intent, a yes/no, digits of the expected length) "
        "ends the utterance at once, without waiting for the rest of vad.end_silence_ms "
        "(0 turns it off)."
    )
    max_call_s: float = Field(1800.0, gt=0, description="Hard limit on a call's length.")
    history_days: int = Field(
        30, ge=0, le=3650, description="Caller memory: when a call from a phone number starts "
        "(not an anonymous, withheld or non-numeric caller ID), that number's calls to the "
        "dialplan that ended within this many days are looked up and become the dialplan's "
        "`history.*` variables (last intent, outcome, days since, count, open callback; "
        "dialplans/README.md). Only stored calls count: retention and `ivr forget` remove "
        "history with them. 0: no lookup, every caller is a first-time caller."
    )


class MetricsSettings(Section):
    fcr_window_h: float = Field(
        24.0, gt=0, le=24 * 90, description="First-contact resolution: a resolved call "
        "(contained, or answered by an agent) whose number calls again within this many hours "
        "of its end counts as a repeat, not resolved at the first contact. Applied when the "
        "later call ends (the counters are durable: a change counts from then on)."
    )
