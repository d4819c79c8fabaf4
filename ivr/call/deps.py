"""What one phone call uses of its process: settings, the loaded dialplan and its engine, the
models, the store, SIP control, the HTTP client and the agent directory. The service builds one
`SessionDeps` per call (`ivr.server`); the session and its stages read it, none of them owns
what it holds (models and the store live as long as the process). A stage starts its tasks
through the session's `Spawn`, so that the call cancels and awaits them when it ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ivr.call.protocols import CallControl, PromptSource, SpeechRecognizer
from ivr.call.stage_cpu import StageCpu
from ivr.config import Settings
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.loader import LoadedDialplan
from ivr.escalation.agents import AgentDirectory
from ivr.storage.call_store import CallStore
from ivr.understanding.recognizers import Recognizers

__all__ = ["SessionDeps", "Spawn"]

Spawn = Callable[[Coroutine[Any, Any, Any], str], asyncio.Task[Any]]  # a task the call owns


@dataclass
class SessionDeps:
    settings: Settings
    dialplan: LoadedDialplan
    engine: DialogEngine
    asr: SpeechRecognizer
    prompts: PromptSource
    store: CallStore
    control: CallControl
    http: aiohttp.ClientSession | None = None  # for webhooks; one per process
    recognizers: Recognizers | None = None  # per-profile models; None: `asr` for all
    emotion_model: Any = None  # audio_models.emotion.EmotionModel; None: words only
    agents: AgentDirectory | None = None  # live agents; None: queues cannot be reached
    cpu: StageCpu = field(default_factory=StageCpu)  # this call's CPU by stage
