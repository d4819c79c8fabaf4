"""Perform a dialplan `webhook`: real HTTP with a timeout per attempt, retries with backoff,
and a `WebhookResult` that never raises (a CRM that hangs or fails sends the call down the
dialplan's failure branch)."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp

from ivr.dialplan.actions import Webhook, WebhookResult
from ivr.privacy.redact import Redactor

log = logging.getLogger("ivr.webhook")
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}
_REDACT = Redactor()


def loggable(url: str) -> str:
    """The URL as logged: no query string (it may carry personal data), numbers masked."""
    return _REDACT.redact_text(url.split("?", 1)[0])


async def perform(hook: Webhook, client: aiohttp.ClientSession) -> WebhookResult:
    """Run the request; 2xx with a JSON (or empty) body is success."""
    error = ""
    status: int | None = None
    for attempt in range(hook.retries + 1):
        if attempt:
            await asyncio.sleep(min(2.0, 0.2 * 2 ** (attempt - 1)))
        started = time.monotonic()
        try:
            async with client.request(
                hook.method, hook.url, headers=hook.headers,
                json=hook.body if hook.body is not None else None,
                timeout=aiohttp.ClientTimeout(total=hook.timeout_s),
            ) as resp:
                status = resp.status
                raw = await resp.read()
            elapsed = round((time.monotonic() - started) * 1000)
            if 200 <= status < 300:
                try:
                    data = json.loads(raw) if raw.strip() else None
                except ValueError:
                    error = f"response is not JSON ({len(raw)} bytes)"
                    log.warning("webhook %s %s: %s", hook.method, loggable(hook.url), error)
                    return WebhookResult(False, status, None, error)
                log.info("webhook %s %s -> %d in %d ms", hook.method, loggable(hook.url), status,
                         elapsed)
                return WebhookResult(True, status, data)
            error = f"HTTP {status}"
            if status not in RETRYABLE:
                break
        except TimeoutError:
            error = f"timed out after {hook.timeout_s:g} s"
        except aiohttp.ClientError as e:
            error = f"{type(e).__name__}: {e}"
        log.warning("webhook %s %s attempt %d/%d failed: %s", hook.method, loggable(hook.url),
                    attempt + 1, hook.retries + 1, error)
    return WebhookResult(False, status, None, error)
