"""Fakes for the far side of each wire: real local servers that record requests.

The Slack Web API fake is :class:`~tests.fakes.slack_api.FakeSlackAPI`; its
function-scoped fixture is registered under the name ``slack_api``. Discord's
REST API and gateway are :class:`~tests.fakes.discord_api.FakeDiscord`, fixture
``discord_api`` (``discord_api_fixture``); a feed host is
:class:`~tests.fakes.feed_server.FakeFeedServer`, fixture ``feed_server``. All three
stand on one small server base, :mod:`tests.fakes.http`: lifecycle, request log,
scripted answers. A test module gets a fixture with either of::

    from tests.fakes import slack_api_fixture  # noqa: F401  (registers `slack_api`)

or, once for the whole suite, in ``tests/conftest.py``::

    pytest_plugins = ["tests.fakes"]

then::

    def test_digest_is_posted(slack_api: FakeSlackAPI) -> None:
        client = WebClient(token="xoxb-test", base_url=slack_api.api_url)
        ...
        assert slack_api.posts("C1")[0].blocks == [...]
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.discord_api import DiscordCall, FakeDiscord, discord_api_fixture
from tests.fakes.http import serving
from tests.fakes.slack_api import FakeSlackAPI, SlackCall

__all__ = [
    "DiscordCall",
    "FakeDiscord",
    "FakeSlackAPI",
    "SlackCall",
    "discord_api_fixture",
    "slack_api_fixture",
]


@pytest.fixture(name="slack_api")
def slack_api_fixture() -> Iterator[FakeSlackAPI]:
    """A running FakeSlackAPI, stopped (socket closed, threads joined) after the test.

    Fails the test if the fake itself crashed while answering a request.
    """
    with serving(FakeSlackAPI()) as fake:
        yield fake
