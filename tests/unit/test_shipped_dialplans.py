"""The shipped dialplans lint clean and pass their own conversation tests."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ivr.dialplan.lint import run_lint
from ivr.dialplan.testing import run_tests

DIALPLANS = Path(__file__).resolve().parents[2] / "dialplans"


def test_shipped_dialplans_lint_without_errors_or_warnings(capsys: pytest.CaptureFixture[str]):
    code = run_lint(argparse.Namespace(paths=[DIALPLANS], strict=True, format="text"))
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.strip().endswith("0 errors, 0 warnings in 4 files")


def test_shipped_dialplans_pass_their_conversation_tests(capsys: pytest.CaptureFixture[str]):
    code = run_tests(argparse.Namespace(paths=[DIALPLANS], keyword=None, verbose=False,
                                        asr_model="base"))
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    results = [ln for ln in lines if ln.startswith(("PASSED", "FAILED"))]
    assert all(ln.startswith("PASSED ") for ln in results)
    assert lines[-1].startswith(f"{len(results)} passed, 0 failed in "), lines[-1]
    for name, at_least in (("hotline.test.yaml", 40), ("bank.test.yaml", 5),
                           ("clinic.test.yaml", 5)):
        ran = [ln for ln in results if f"dialplans/{name}::" in ln]
        assert len(ran) >= at_least, (name, len(ran))
