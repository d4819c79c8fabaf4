"""What the agent is told about a call that is handed over: its escalation summary.

`HandoverSummary.make` summarises the call when it is transferred (who, what, tried, feeling,
why: `ivr.escalation.summary`), as stored so far plus the caller's earlier calls, renders it in
the call's language (`text`, and the short `whisper` said to the agent), and records it as the
call's `escalation_summary` event. When an LLM is configured, a rewritten version follows in the
background (`escalation_summary_llm`); the deterministic one is what the hand-over uses.

Threads: on the call's event loop; the LLM request is a task the call owns (`spawn`), so it
is cancelled and awaited with the call's other tasks.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ivr.call import events as ev
from ivr.call.deps import SessionDeps, Spawn
from ivr.escalation.summary import render_text, summarise

__all__ = ["HandoverSummary"]

log = logging.getLogger("ivr.call")


class HandoverSummary:
    """One call's escalation summary: `data` once made (None before, or when it failed)."""

    def __init__(self, call_id: str, caller: str, deps: SessionDeps, *, emit: ev.Emit,
                 spawn: Spawn) -> None:
        self.call_id = call_id
        self.caller = caller
        self.deps = deps
        self._emit = emit
        self._spawn = spawn
        self.data: dict[str, Any] | None = None

    def make(self, language: str) -> None:
        """Summarise the call now, in `language`; a failure is an `error` event, never a
        blocked hand-over."""
        try:
            call = self.deps.store.get_call(self.call_id) or {}
            history = self.deps.store.list_calls(limit=50, caller=self.caller)
            summary = summarise(call, history, self.deps.dialplan.plan)
            self.data = {**summary.as_dict(), "text": render_text(summary, language),
                         "whisper": render_text(summary, language, whisper=True)}
            self._emit(ev.EscalationSummary(summary=self.data))
        except Exception as e:  # a summary failure must not block the handover
            log.exception("call=%s summary failed", self.call_id)
            self._emit(ev.Error(where="summary", error=str(e)))
            return
        if self.deps.settings.escalation.llm.base_url and self.deps.http is not None:
            self._spawn(self._llm_summary(call, summary), "llm_summary")

    async def _llm_summary(self, call: dict[str, Any], summary: Any) -> None:
        from ivr.escalation.summary_llm import llm_text

        assert self.deps.http is not None
        started = time.monotonic()
        text = await llm_text(call, summary, self.deps.settings.escalation.llm, self.deps.http)
        ms = round((time.monotonic() - started) * 1000)
        if text:
            self._emit(ev.EscalationSummaryLlm(text=text, ms=ms))
        else:
            self._emit(ev.LlmSummaryFailed(ms=ms, detail="deterministic summary kept"))
