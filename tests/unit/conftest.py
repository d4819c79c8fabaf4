"""Fixtures shared by the unit tests: the stores of the calls `call_runner.run_call` ran are
closed after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit import call_runner


@pytest.fixture(autouse=True)
def _close_call_runner_stores() -> Iterator[None]:
    yield
    call_runner.close_stores()
