"""Optional LLM summary of an escalated call, through any OpenAI-compatible chat-completions
endpoint (`POST {base_url}/chat/completions`).

Nothing leaves the process unless an endpoint is configured (a `base_url` and a `model`).
Every failure (not configured, HTTP error, timeout, unexpected JSON, empty answer) returns
None: the caller then shows the deterministic `ivr.escalation.summary.render_text`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp

from ivr.escalation.summary import CallSummary

if TYPE_CHECKING:
    from ivr.config import LlmSummarySettings

log = logging.getLogger(__name__)

MAX_TRANSCRIPT_CHARS = 6000  # keep the request small; the summary fields carry the rest
MAX_ANSWER_CHARS = 1200

SYSTEM_PROMPT = {
    "zh": "你是呼叫中心的助手。请用简体中文、恰好三句话，为即将接听的人工坐席总结这通电话："
          "来电者要办什么、系统已经做了什么、来电者情绪如何以及为什么转人工。"
          "只使用提供的信息，不要编造，不要寒暄。",
    "en": "You assist call-centre agents. In exactly three sentences of English, summarise this "
          "call for the agent about to pick it up: what the caller wants, what the automated "
          "system already did, how the caller feels and why it was handed over. Use only the "
          "information given; do not invent anything; no greetings.",
}


def _get(config: Any, name: str, default: Any = None) -> Any:
    if config is None:
        return default
    if isinstance(config, Mapping):
        return config.get(name, default)
    return getattr(config, name, default)


def _url(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if base.endswith("/chat/completions") else base + "/chat/completions"


def _transcript_lines(transcript: Sequence[Any]) -> str:
    """Turn rows (dicts from the call store) or ready-made lines, as `IVR:`/`Caller:` text."""
    lines: list[str] = []
    for item in transcript:
        if isinstance(item, str):
            lines.append(item)
        elif isinstance(item, Mapping):
            said = item.get("caller_text") or (
                f"[keys {item['dtmf']}]" if item.get("dtmf") else None)
            if said:
                lines.append(f"Caller: {said}")
            if item.get("prompt"):
                lines.append(f"IVR: {item['prompt']}")
            if item.get("role") and item.get("text"):  # {"role": ..., "text": ...}
                lines.append(f"{item['role']}: {item['text']}")
    text = "\n".join(lines)
    return text[-MAX_TRANSCRIPT_CHARS:]  # the end of the call matters most


def build_messages(summary: CallSummary, transcript: Sequence[Any]) -> list[dict[str, str]]:
    lang = "zh" if summary.chinese else "en"
    facts = summary.as_dict()
    facts.pop("steps", None)  # the transcript says it better
    user = ("Call facts (JSON):\n" + json.dumps(facts, ensure_ascii=False, default=str)
            + "\n\nTranscript:\n" + _transcript_lines(transcript))
    return [{"role": "system", "content": SYSTEM_PROMPT[lang]},
            {"role": "user", "content": user}]


async def summarise_llm(summary: CallSummary, transcript: Sequence[Any], endpoint_config: Any,
                        client: aiohttp.ClientSession) -> str | None:
    """A 3-sentence summary in the call's language, or None (not configured, failure or
    timeout; `endpoint_config.timeout_s` (or `timeout`) seconds bound the whole exchange)."""
    base_url = _get(endpoint_config, "base_url")
    model = _get(endpoint_config, "model")
    if not base_url or not model:
        return None  # not configured: never send anything
    timeout = float(_get(endpoint_config, "timeout_s") or _get(endpoint_config, "timeout")
                    or 5.0)
    headers = {"Content-Type": "application/json"}
    api_key = _get(endpoint_config, "api_key")
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    body = {"model": model, "messages": build_messages(summary, transcript),
            "temperature": 0, "max_tokens": 300}
    try:
        async with asyncio.timeout(timeout):
            async with client.post(_url(str(base_url)), json=body, headers=headers,
                                   timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                if resp.status != 200:
                    log.warning("summary LLM: HTTP %s", resp.status)
                    return None
                data = await resp.json(content_type=None)
        text = data["choices"][0]["message"]["content"]
    except (TimeoutError, aiohttp.ClientError, ValueError, KeyError, IndexError, TypeError) as e:
        log.warning("summary LLM failed: %s", type(e).__name__)
        return None
    if not isinstance(text, str) or not text.strip():
        return None
    return text.strip()[:MAX_ANSWER_CHARS]


async def llm_text(call: Mapping[str, Any], summary: CallSummary, settings: LlmSummarySettings,
                   client: aiohttp.ClientSession) -> str | None:
    """The LLM summary of a stored call (`CallStore.get_call`), or None; nothing is sent
    unless `settings` (`escalation.llm`) name an endpoint. The transcript is the call's
    complete one (`ivr.storage.transcript`: every prompt played and every caller turn, in
    order); a call stored without prompt events falls back to its turns."""
    from ivr.storage.transcript import build, text_lines

    lines = build(call)
    if any(line.speaker == "ivr" for line in lines):
        return await summarise_llm(summary, text_lines(lines), settings, client)
    turns = sorted((t for t in call.get("turns") or [] if isinstance(t, Mapping)),
                   key=lambda t: t.get("seq") or 0)
    return await summarise_llm(summary, turns, settings, client)
