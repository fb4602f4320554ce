"""What the backfill tests share: a clock that moves only when slept on, the fake arXiv API
on it, and ``digestbot ARGS`` in this process with the API at the fake and now fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from tests.fakes.arxiv_api import FakeArxivApi, serve

__all__ = [
    "MONDAY",
    "SUN",
    "THU",
    "WED",
    "Cli",
    "StepClock",
    "api_fixture",
    "cli_fixture",
    "clock_fixture",
]

MONDAY = "2025-03-24T12:00+00:00"  # 08:00 in New York; the latest announcement: Sun 23 Mar
# Submission windows (UTC) of the announcements of Wed 19, Thu 20 and Sun 23 March 2025.
WED = datetime(2025, 3, 19, 12, 0, tzinfo=UTC)  # in Wednesday's window (Tue 18:00 - Wed 18:00)
THU = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
SUN = datetime(2025, 3, 21, 12, 0, tzinfo=UTC)  # Sunday announces Thu 18:00 - Fri 18:00


class StepClock:
    """A monotonic clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(name="clock")
def clock_fixture() -> StepClock:
    return StepClock()


@pytest.fixture(name="api")
def api_fixture(clock: StepClock) -> Iterator[FakeArxivApi]:
    with serve(clock, page_limit=4) as fake:
        yield fake


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture(name="cli")
def cli_fixture(tmp_path: Path, capsys, monkeypatch, backend: str, new_database,  # type: ignore[no-untyped-def]
        api: FakeArxivApi, clock: StepClock) -> Cli:
    """``digestbot ARGS...`` in this process, the API at the fake, now at ``MONDAY``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGESTBOT_ARXIV_API_URL", api.query_url)
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", MONDAY)
    database = ["--database", new_database()] if backend == "postgresql" else []

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(tmp_path / "data"), *database, *args],
                    sleep=clock.sleep, monotonic=clock)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


