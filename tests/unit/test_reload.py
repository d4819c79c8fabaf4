"""Hot reload (`ivr.reload.DialplanWatcher`) on a temporary copy of the shipped hotline."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path

import pytest

import ivr.reload as reload
from ivr.config import REPO_ROOT
from ivr.dialplan import LoadedDialplan, load_dialplan
from ivr.reload import DialplanWatcher, stamp

HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"
GOODBYE = "感谢您的来电，再见。"


class Applied:
    def __init__(self) -> None:
        self.loaded: list[LoadedDialplan] = []

    async def __call__(self, loaded: LoadedDialplan) -> None:
        self.loaded.append(loaded)


def edit(path: Path, old: str, new: str) -> None:
    """Replace text and move the mtime forward, so the change is seen even on coarse clocks."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    before = path.stat().st_mtime_ns
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    bumped = max(path.stat().st_mtime_ns, before) + 1_000_000_000
    os.utime(path, ns=(bumped, bumped))


def write(path: Path, text: str) -> None:
    existed = path.exists()
    before = path.stat().st_mtime_ns if existed else 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if existed:
        bumped = max(path.stat().st_mtime_ns, before) + 1_000_000_000
        os.utime(path, ns=(bumped, bumped))


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


@pytest.fixture
def plan(tmp_path) -> Path:
    path = tmp_path / "hotline.yaml"
    shutil.copy(HOTLINE, path)
    (tmp_path / "knowledge").symlink_to(HOTLINE.parent / "knowledge")
    return path


@pytest.fixture
def counted_checks(monkeypatch) -> list[Path]:
    calls: list[Path] = []
    real = reload.check

    def counting(path: Path) -> LoadedDialplan:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(reload, "check", counting)
    return calls


def test_stamp(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("x: 1\n", encoding="utf-8")
    os.utime(a, ns=(5_000_000_000, 5_000_000_000))
    missing = tmp_path / "missing.yaml"
    assert stamp([a, missing]) == ((str(a), 5_000_000_000, 5), (str(missing), -1, -1))
    assert stamp(()) == ()


def test_no_change(plan, counted_checks):
    applied = Applied()
    current = load_dialplan(plan)

    async def main():
        w = DialplanWatcher(current, applied, 1.0)
        return await w.check_once(), await w.check_once(), w.current

    first, second, live = asyncio.run(main())
    assert (first, second) == (False, False)
    assert applied.loaded == []
    assert counted_checks == []
    assert live is current


def test_valid_edit_reloads_once(plan):
    applied = Applied()
    current = load_dialplan(plan)

    async def main():
        w = DialplanWatcher(current, applied, 1.0)
        edit(plan, GOODBYE, "感谢来电，再见！")
        changed = await w.check_once()
        again = await w.check_once()
        return changed, again, w.current

    changed, again, live = asyncio.run(main())
    assert (changed, again) == (True, False)
    [loaded] = applied.loaded
    assert isinstance(loaded, LoadedDialplan)
    assert loaded is live
    assert loaded.version != current.version
    assert loaded.version == load_dialplan(plan).version
    assert loaded.plan.nodes["goodbye"].hangup.say == {
        "zh-CN": "感谢来电，再见！", "en-US": "Thank you for calling Xinghe Telecom. Goodbye."}


def test_touch_without_change_does_not_apply(plan, counted_checks):
    applied = Applied()
    current = load_dialplan(plan)

    async def main():
        w = DialplanWatcher(current, applied, 1.0)
        edit(plan, GOODBYE, GOODBYE)  # same bytes, newer mtime
        first = await w.check_once()
        second = await w.check_once()
        return first, second

    assert asyncio.run(main()) == (False, False)
    assert applied.loaded == []
    assert len(counted_checks) == 1  # checked once, then the new stamp is remembered


def test_invalid_edit_is_rejected_logged_and_not_rechecked(plan, caplog, counted_checks):
    applied = Applied()
    current = load_dialplan(plan)
    offer_line = line_of(plan, "next: welcome_english_offer")

    async def main():
        w = DialplanWatcher(current, applied, 1.0)
        edit(plan, "next: welcome_english_offer", "next: nowhere")
        results = [await w.check_once(), await w.check_once(), await w.check_once()]
        return results, w.current

    with caplog.at_level(logging.ERROR, logger="ivr.reload"):
        results, live = asyncio.run(main())
    assert results == [False, False, False]
    assert applied.loaded == []
    assert live is current
    assert len(counted_checks) == 1  # the same broken content is not reloaded every poll
    errors = [r for r in caplog.records if r.name == "ivr.reload" and r.levelno == logging.ERROR]
    assert len(errors) == 1
    message = errors[0].getMessage()
    assert message.startswith(
        f"dialplan edit rejected, xinghe-telecom-hotline@{current.version} stays live:\n")
    assert (f"  {plan.resolve()}:{offer_line}:5: error: nodes.welcome.next: unknown node "
            "'nowhere' [undefined]") in message


def test_invalid_yaml_is_logged_with_position(plan, caplog):
    applied = Applied()
    current = load_dialplan(plan)
    line = line_of(plan, "reason: completed")

    async def main():
        w = DialplanWatcher(current, applied, 1.0)
        edit(plan, "      reason: completed", "      reason: completed: oops")
        return await w.check_once()

    with caplog.at_level(logging.ERROR, logger="ivr.reload"):
        assert asyncio.run(main()) is False
    assert applied.loaded == []
    [error] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert (f"  {plan}:{line}:24: error: invalid YAML: mapping values are not allowed here "
            "[yaml]") in error


def test_fixing_a_rejected_edit_reloads(plan, counted_checks):
    applied = Applied()
    current = load_dialplan(plan)

    async def main():
        w = DialplanWatcher(current, applied, 1.0)
        edit(plan, "next: welcome_english_offer", "next: nowhere")
        broken = await w.check_once()
        edit(plan, "next: nowhere", "next: main_menu")  # fixed differently: skip the offer
        fixed = await w.check_once()
        after = await w.check_once()
        return broken, fixed, after, w

    broken, fixed, after, w = asyncio.run(main())
    assert (broken, fixed, after) == (False, True, False)
    [loaded] = applied.loaded
    assert loaded.plan.nodes["welcome"].next == "main_menu"
    assert w.current is loaded
    assert w.rejected_stamp is None
    assert len(counted_checks) == 2


def test_reverting_a_rejected_edit_keeps_the_live_version(plan):
    applied = Applied()
    current = load_dialplan(plan)

    async def main():
        w = DialplanWatcher(current, applied, 1.0)
        edit(plan, "next: welcome_english_offer", "next: nowhere")
        broken = await w.check_once()
        edit(plan, "next: nowhere", "next: welcome_english_offer")
        return broken, await w.check_once(), w.current

    broken, reverted, live = asyncio.run(main())
    assert (broken, reverted) == (False, False)  # same content as what is live: nothing to do
    assert applied.loaded == []
    assert live is current


def with_include(plan: Path) -> Path:
    extra = plan.parent / "common" / "extra.yaml"
    write(extra, "intents:\n  complaint:\n    keywords: [意见反馈]\n")
    edit(plan, "\ndefaults:", "\ninclude: [common/extra.yaml]\n\ndefaults:")
    return extra


def test_edit_to_an_included_file_reloads(plan):
    extra = with_include(plan)
    applied = Applied()
    current = load_dialplan(plan)
    assert current.files[:2] == (plan.resolve(), extra.resolve())  # then the knowledge files

    async def main():
        w = DialplanWatcher(current, applied, 1.0)
        unchanged = await w.check_once()
        write(extra, "intents:\n  complaint:\n    keywords: [意见反馈, 提建议]\n")
        changed = await w.check_once()
        return unchanged, changed

    assert asyncio.run(main()) == (False, True)
    [loaded] = applied.loaded
    assert loaded.plan.intents["complaint"].keywords == ["意见反馈", "提建议"]
    assert loaded.version != current.version


def test_broken_included_file_is_rejected_with_its_position(plan, caplog):
    extra = with_include(plan)
    applied = Applied()
    current = load_dialplan(plan)

    async def main():
        w = DialplanWatcher(current, applied, 1.0)
        write(extra, "intents:\n  complaint:\n    keywords: [意见反馈]\nstart: welcome\n")
        return await w.check_once()

    with caplog.at_level(logging.ERROR, logger="ivr.reload"):
        assert asyncio.run(main()) is False
    assert applied.loaded == []
    [error] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert (f"  {extra.resolve()}:4:1: error: an included file may only hold nodes, intents, "
            "calendars, variables; not 'start' [include]") in error


def test_run_checks_on_poke(plan):
    applied = Applied()
    current = load_dialplan(plan)

    async def main():
        w = DialplanWatcher(current, applied, 60.0)
        task = asyncio.create_task(w.run())
        try:
            await asyncio.sleep(0.05)
            edit(plan, GOODBYE, "再见。")
            w.poke()
            for _ in range(600):  # up to 30 s: loading competes with a parallel test module
                if applied.loaded:
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        return w.current

    live = asyncio.run(main())
    assert len(applied.loaded) == 1
    assert live is applied.loaded[0]


def test_creating_a_missing_included_file_reloads(plan):
    applied = Applied()
    current = load_dialplan(plan)
    extra = plan.parent / "common" / "extra.yaml"

    async def main():
        w = DialplanWatcher(current, applied, 1.0)
        edit(plan, "\ndefaults:", "\ninclude: [common/extra.yaml]\n\ndefaults:")
        missing = await w.check_once()
        write(extra, "intents:\n  complaint:\n    keywords: [意见反馈]\n")
        created = await w.check_once()
        return missing, created

    assert asyncio.run(main()) == (False, True)
