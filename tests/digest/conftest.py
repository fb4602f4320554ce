"""The digest tests' fixtures: a Service on the test catalog with a clock the test moves."""

from __future__ import annotations

import pytest

from bot.chat.service import Service
from tests.digest.digest_helpers import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(db, index, clock: Clock) -> Service:
    return Service(db=db, index=index, clock=clock)
