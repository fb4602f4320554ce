"""Fixtures of the fault tests: the fakes on 127.0.0.1, and the bot processes a test starts.

Every test here starts the real ``digestbot run`` (``tests.faults.harness``)
against the local fakes, injects one fault, and counts what the platform
showed (``tests.faults.tally``). To add a fault, add a row to a module's table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import SLACK_TOKEN, BotProcess, DiscordSide, SlackSide
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.http import serving
from tests.fakes.slack_api import FakeSlackAPI


@pytest.fixture
def slack() -> Iterator[SlackSide]:
    with serving(FakeSlackAPI(tokens=[SLACK_TOKEN])) as fake:
        yield SlackSide(fake)


@pytest.fixture
def discord() -> Iterator[DiscordSide]:
    with serving(FakeDiscord()) as fake:
        yield DiscordSide(fake)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[BotProcess]]:
    """Bot processes killed at the end of the test if it left them running."""
    made: list[BotProcess] = []
    yield made
    for bot in made:
        bot.cleanup()
