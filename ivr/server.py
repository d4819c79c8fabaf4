"""`ivr serve`: one SIP worker process running the whole pipeline for its calls.

Threads: the event loop (this module, sessions, HTTP API, storage), the SIP thread owned by
`SipEndpoint`, pjmedia's clock thread (media callbacks), and the model executors. SIP-thread
callbacks below only forward to the loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from audio_models.inference_client import RemoteWhisper
from audio_models.whisper_asr import WhisperASR
from ivr import pinyin_table, word_table, workers
from ivr.call.control import SipAgentLeg, SipCallControl
from ivr.call.recorder import set_recording_key
from ivr.call.session import CallSession, SessionDeps
from ivr.call.watchdog import reconcile_calls, record_failed_start
from ivr.config import Settings
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.loader import LoadedDialplan
from ivr.escalation.agents import AgentDirectory
from ivr.files import private_files
from ivr.inference_service import english_voice, open_asr, served_emotion_model, uses_shared
from ivr.logs import call_task
from ivr.privacy.crypto import RecordingKeyError, load_recording_key
from ivr.readiness import notify_systemd
from ivr.reload import DialplanWatcher
from ivr.reload import check as check_dialplan
from ivr.service_http import service_health, start_http
from ivr.service_tasks import agent_transcript_loop, callback_dialler, heartbeat_loop, purge_loop
from ivr.sip_edge import build_endpoint
from ivr.storage.call_store import open_store
from ivr.understanding.profiles import resolve_profiles
from ivr.understanding.recognizers import Recognizers
from ivr.understanding.text_vectors import use_disk_cache
from ivr.voices import prompt_cache
from ivr.worker_memory import release_startup_memory, trim_after_call, tune_allocator
from telephony import Admission, CallInfo, CallMedia, SipEndpoint

log = logging.getLogger("ivr.server")


class StartupError(RuntimeError):
    """The service cannot start; the message tells the operator what to fix."""


class IvrService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        use_disk_cache(settings.meaning_cache)
        self.sessions: dict[str, CallSession] = {}
        self.legs: dict[str, SipAgentLeg] = {}  # outbound legs (agents' phones) by call id
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._draining = False
        self._no_calls = asyncio.Event()  # set when the last call in progress ends (drain)
        self._started = time.monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.endpoint: SipEndpoint | None = None
        self.asr: WhisperASR | RemoteWhisper | None = None

    # ------------------------------------------------------------ start / stop
    async def start(self) -> None:
        s = self.settings
        self._loop = asyncio.get_running_loop()
        private_files(s.data_dir, s.recordings_dir, s.cache_dir)
        try:  # a malformed key stops the start-up with a plain message
            self.recording_key = load_recording_key(s)
        except RecordingKeyError as e:
            raise StartupError(str(e)) from None
        set_recording_key(self.recording_key)  # every recorder of this process encrypts
        self.store = open_store(s.database_url, s.db_path)
        self.store.worker = f"{s.sip.public_host or s.sip.host}:{s.sip.port}"
        self.store.fcr_window_s = s.metrics.fcr_window_h * 3600  # repeats counted at call end
        if n := self.store.mark_interrupted(self.store.worker):
            log.warning("closed %d call(s) left active by an earlier run", n)
        self.agents = AgentDirectory(self.store)
        self.agents.sync(s.agents)
        if n := self.agents.release_stale():
            log.warning("released %d agent(s) still busy with ended calls", n)
        if s.agents:
            log.info("%d agent(s) in queues %s", len(s.agents),
                     ",".join(sorted({q for a in s.agents for q in a.queues})))
        if uses_shared(s):  # jieba's and pypinyin's dictionaries once per machine, mapped
            tune_allocator()  # (no model threads here to contend for two malloc arenas)
            word_table.attach(s.models_dir)
            pinyin_table.attach(s.models_dir)
        self.dialplan = check_dialplan(s.dialplan)
        plan = self.dialplan.plan
        log.info("dialplan %s@%s loaded from %s (%d nodes, languages %s)", plan.name,
                 self.dialplan.version, self.dialplan.path, len(plan.nodes),
                 ",".join(plan.languages))
        self.asr_stack = await open_asr(s)  # local models, or the machine's inference server
        self.asr = self.asr_stack.default
        for lang in plan.languages:
            self.asr.check_language(lang.split("-")[0])
        self.recognizers = Recognizers(self.asr, self._load_asr, hotwords=s.asr.hotwords,
                                       english_model=s.asr.english_model)
        self.emotion_model = None
        if s.emotion.enabled:  # (features from the inference server when it is shared)
            self.emotion_model = await asyncio.to_thread(served_emotion_model, s, self.asr_stack)
            log.info("emotion model loaded (%s), features %s", ", ".join(
                self.emotion_model.capabilities.classes), self.asr_stack.mode)
        self.prompts = prompt_cache(s, s.sip.clock_rate, english_voice(s, self.asr_stack))
        engine = await self._prepare(self.dialplan)
        if hasattr(self.asr, "warmup"):
            log.info("ASR warm-up pass took %.2f s", await asyncio.to_thread(self.asr.warmup))
        self.engine = engine
        self.http = aiohttp.ClientSession()  # webhooks of every call share its pool
        await self._start_http()
        try:  # trunks, allow-list and RTP range too (README "Trunks and PBXs")
            self.endpoint = build_endpoint(s.sip, self)
        except (OSError, ValueError) as e:
            raise StartupError(f"SIP settings: {e}") from None
        await asyncio.to_thread(self.endpoint.start)
        if s.dialplan_reload_s > 0:
            self.watcher = DialplanWatcher(self.dialplan, self._reloaded, s.dialplan_reload_s)
            self._watch_task = asyncio.get_running_loop().create_task(self.watcher.run())
        if s.privacy.purge_every_s > 0:
            self._purge_task = asyncio.get_running_loop().create_task(purge_loop(s))
        workers.announce(self.store, self.store.worker or "",
                         workers.own_http_url(s.http.host, s.http.port, s.sip.public_host))
        self._heartbeat_task = asyncio.get_running_loop().create_task(
            heartbeat_loop(self.store))
        self._watchdog_task = asyncio.get_running_loop().create_task(
            reconcile_calls(self.endpoint, self.sessions, s.sip.watchdog_s))
        if s.callbacks.enabled:  # booked callbacks are called back (issue 21)
            try:
                dialler = callback_dialler(self)
            except ValueError as e:
                raise StartupError(str(e)) from None
            self._callback_task = asyncio.get_running_loop().create_task(dialler.run())
        self._transcript_task = asyncio.get_running_loop().create_task(  # agent legs (issue 21)
            agent_transcript_loop(self))
        log.info("ready: SIP udp %s:%d, HTTP %s, data %s", s.sip.host, s.sip.port,
                 f"{s.http.host}:{s.http.port}" if s.http.port else "off", s.data_dir)
        notify_systemd("READY=1")  # Type=notify units: `systemctl start` returns now

    async def _prepare(self, loaded: LoadedDialplan) -> DialogEngine:
        """An engine for `loaded`, with every static prompt rendered and the recognisers of
        its profiles loaded."""
        # (off the loop: a changed knowledge base embeds its new questions)
        engine = await asyncio.to_thread(DialogEngine, loaded.plan,
                                         resolve_profiles(self.settings.profiles))
        bases = {lang.split("-")[0] for lang in loaded.plan.languages}
        used = [p for p in engine.profiles.values() if p.prompt_language.split("-")[0] in bases]
        await asyncio.to_thread(self.recognizers.prepare, used)
        t0 = time.monotonic()
        from ivr.escalation.handover_words import fixed_prompts
        from ivr.privacy.disclosure import opening_prompts  # the first words of every call

        static = sorted(engine.static_prompts()
                        | set(opening_prompts(self.settings.privacy.disclosure, loaded.plan,
                                              self.settings.privacy.disclosure_languages))
                        | set(fixed_prompts(loaded.plan.languages)))
        await asyncio.to_thread(self.prompts.warm, static)
        log.info("%d static prompts ready in %.1f s", len(static), time.monotonic() - t0)
        release_startup_memory(loaded.plan.languages)  # what calls will never need again
        return engine

    def _load_asr(self, spec: str) -> WhisperASR | RemoteWhisper:
        """A profile's own model (e.g. a large-v3 directory for Cantonese)."""
        log.info("ASR model %s for a profile (%s)", spec, self.asr_stack.mode)
        return self.asr_stack.load(spec)

    async def _reloaded(self, loaded: LoadedDialplan) -> None:
        engine = await self._prepare(loaded)
        for lang in loaded.plan.languages:
            assert self.asr is not None
            self.asr.check_language(lang.split("-")[0])
        self.dialplan, self.engine = loaded, engine  # new calls only

    async def _start_http(self) -> None:
        self._runner = await start_http(self)

    @property
    def draining(self) -> bool:
        """New calls are refused (SIGTERM): `/api/ready` says so to load balancers."""
        return self._draining

    def health(self) -> dict[str, Any]:
        return service_health(self, round(time.monotonic() - self._started, 1))

    async def stop(self) -> None:
        self._draining = True
        for name in ("_watch_task", "_purge_task", "_heartbeat_task", "_watchdog_task",
                     "_callback_task", "_transcript_task"):
            if task := getattr(self, name, None):
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        log.info("shutting down: %d active call(s)", len(self.sessions))
        for session in list(self.sessions.values()):
            session.end("service_shutdown")
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=10)
        if self.endpoint:
            await asyncio.to_thread(self.endpoint.stop)
        if self._runner:
            await self._runner.cleanup()
        if getattr(self, "http", None) is not None:
            await self.http.close()
        if getattr(self, "recognizers", None) is not None:
            self.recognizers.close()
        if getattr(self, "asr_stack", None) is not None:
            await self.asr_stack.aclose()
        if hasattr(self, "prompts"):
            self.prompts.close()
        with contextlib.suppress(Exception):
            workers.retire(self.store, self.store.worker or "")
        self.store.close()
        log.info("stopped cleanly")

    async def serve_forever(self) -> None:
        """Serve until SIGINT/SIGTERM; then drain (`sip.drain_timeout_s`) and return."""
        loop = asyncio.get_running_loop()
        signals = asyncio.Queue[int]()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, signals.put_nowait, sig)
        if watcher := getattr(self, "watcher", None):
            loop.add_signal_handler(signal.SIGHUP, watcher.poke)
        await signals.get()
        notify_systemd("STOPPING=1")
        await self.drain(self.settings.sip.drain_timeout_s, interrupt=signals.get)

    async def drain(self, timeout_s: float,
                    interrupt: Callable[[], Awaitable[object]] | None = None) -> None:
        """Refuse new calls (503) and wait up to `timeout_s` for the calls in progress to end,
        or until `interrupt()` returns (a second signal)."""
        self._draining = True
        if timeout_s <= 0 or not self.sessions:
            return
        log.info("draining: no new calls; waiting up to %.0f s for %d call(s)", timeout_s,
                 len(self.sessions))
        waiters = [asyncio.ensure_future(self._all_calls_ended())]
        if interrupt is not None:
            waiters.append(asyncio.ensure_future(interrupt()))
        done, pending = await asyncio.wait(waiters, timeout=timeout_s,
                                           return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if waiters[0] in done:
            log.info("drained: every call has ended")
        else:
            log.warning("drain ended with %d call(s) in progress; hanging up",
                        len(self.sessions))

    async def _all_calls_ended(self) -> None:
        self._no_calls.clear()
        if self.sessions:
            await self._no_calls.wait()

    # ------------------------------------------------------------ SIP thread callbacks
    def on_incoming(self, call: CallInfo) -> Admission:
        if self._draining:
            return Admission.rejected(503, "IVR shutting down", self.settings.sip.retry_after_s)
        if len(self.sessions) >= self.settings.sip.max_calls:
            return Admission.rejected(503, "IVR at capacity", self.settings.sip.retry_after_s)
        log.info("call=%s incoming from %s to %s", call.call_id, call.remote_uri, call.callee)
        return Admission.accepted()

    def on_media_ready(self, call: CallInfo, media: CallMedia) -> None:
        assert self._loop is not None
        if call.direction == "outbound":  # an agent's phone answered: its session owns it
            self._loop.call_soon_threadsafe(self._leg_media, call.call_id, media)
        else:
            self._loop.call_soon_threadsafe(self._start_session, call, media)

    def on_dtmf(self, call: CallInfo, digit: str, timestamp: float) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._dtmf, call.call_id, digit, timestamp)

    def on_disconnected(self, call: CallInfo, code: int, reason: str, by_remote: bool) -> None:
        assert self._loop is not None
        if call.direction == "outbound":
            self._loop.call_soon_threadsafe(self._leg_ended, call.call_id, by_remote)
            return
        why = "caller_hangup" if by_remote else "ivr_hangup"
        self._loop.call_soon_threadsafe(self._disconnected, call.call_id, why, code, reason)

    def on_rejected(self, remote_uri: str, code: int, reason: str) -> None:
        log.warning("rejected call from %s: %d %s", remote_uri, code, reason)

    def on_transfer_status(self, call: CallInfo, code: int, final: bool) -> None:
        log.info("call=%s transfer status %d%s", call.call_id, code, " (final)" if final else "")

    # ------------------------------------------------------------ loop side
    def _start_session(self, call: CallInfo, media: CallMedia) -> None:
        if call.call_id in self.sessions:
            return
        assert self.endpoint is not None and self.asr is not None
        try:
            deps = SessionDeps(self.settings, self.dialplan, self.engine, self.asr,
                               self.prompts, self.store, SipCallControl(self.endpoint, self.legs),
                               self.http, self.recognizers, self.emotion_model, self.agents)
            session = CallSession(call.call_id, call.caller, call.callee, media, deps,
                                  answered_at=time.monotonic(), sip_call_id=call.sip_call_id,
                                  remote_uri=call.remote_uri)
        except Exception as e:  # an answered call always gets a row and a hang-up
            log.exception("call=%s cannot start its session: hanging up", call.call_id)
            record_failed_start(self.store, call, e)
            self.endpoint.hangup(call.call_id)
            return
        loop = asyncio.get_running_loop()
        media.set_notify(lambda: loop.call_soon_threadsafe(session.notify_audio))
        self.sessions[call.call_id] = session
        task = call_task(loop, session.run(), call.call_id)  # its log lines carry the call id
        self._tasks[call.call_id] = task
        task.add_done_callback(lambda _t, cid=call.call_id: self._session_done(cid))

    def _leg_media(self, call_id: str, media: CallMedia) -> None:
        leg = self.legs.setdefault(call_id, SipAgentLeg(call_id))
        leg.media = media
        leg.media_ready.set()

    def _leg_ended(self, call_id: str, by_remote: bool) -> None:
        if leg := self.legs.get(call_id):
            leg.by_remote = by_remote
            leg.ended.set()

    def _session_done(self, call_id: str) -> None:
        self.sessions.pop(call_id, None)
        self._tasks.pop(call_id, None)
        trim_after_call()  # the call's freed buffers back to the kernel (ivr.worker_memory)
        if not self.sessions:
            self._no_calls.set()

    def _dtmf(self, call_id: str, digit: str, timestamp: float) -> None:
        if session := self.sessions.get(call_id):
            session.on_dtmf(digit, timestamp)

    def _disconnected(self, call_id: str, why: str, code: int, reason: str) -> None:
        if session := self.sessions.get(call_id):
            session.on_hangup(why)
        else:
            log.info("call=%s disconnected before media (%d %s)", call_id, code, reason)


async def run_service(settings: Settings) -> None:
    service = IvrService(settings)
    try:
        await service.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await service.stop()
        raise
    try:
        await service.serve_forever()
    finally:
        await service.stop()
