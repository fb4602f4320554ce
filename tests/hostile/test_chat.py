"""Every hostile case through the /papers commands as a channel types them, each answer
rendered for Slack and for Discord: within limits, nothing pinged or linked, and a topic
stored whole or refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.discord import render as discord_render
from adapters.slack import render as slack_render
from bot.chat.service import Service
from bot.model.messages import Digest, Reply
from tests.adapters.discord import render_helpers as discord_checks
from tests.adapters.slack import render_helpers as slack_checks
from tests.chat.test_commands import Channel
from tests.hostile.cases import CASES, IDS, NUMBERS, TIMEZONES, Case

COMMANDS = ("search", "subscribe", "unsubscribe", "pause", "like")


@pytest.fixture(scope="module")
def channel(service: Service) -> Iterator[Channel]:
    yield Channel(service, name="hostile")


def assert_reply_safe(reply: Reply) -> None:
    assert reply.text.strip()
    allowed = discord_checks.given_urls(reply)
    slack = slack_render.render_reply(reply)
    slack_checks.assert_valid(slack)
    slack_checks.assert_harmless(slack, allowed)
    discord = discord_render.render_reply(reply)
    discord_checks.assert_valid(discord)
    discord_checks.assert_harmless(discord, allowed)


def assert_digest_safe(digest: Digest) -> None:
    allowed = discord_checks.given_urls(digest)
    slack = slack_render.render_digest(digest)
    slack_checks.assert_valid(slack)
    slack_checks.assert_harmless(slack, allowed)
    discord = discord_render.render_digest(digest)
    discord_checks.assert_valid(discord)
    discord_checks.assert_harmless(discord, allowed)


# (command, case) -> why it fails: a defect found and not fixed yet, marked
# xfail(strict=True) so that its fix shows (remove the entry then).
KNOWN_DEFECTS: dict[tuple[str, str], str] = {}


def _params() -> list[object]:
    return [
        pytest.param(command, case, id=f"{case.name}-{command}",
                     marks=[pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[command, case.name])]
                     if (command, case.name) in KNOWN_DEFECTS else [])
        for case in CASES for command in COMMANDS
    ]


@pytest.mark.parametrize(("command", "case"), _params())
def test_command(channel: Channel, command: str, case: Case) -> None:
    before = channel.service.channels.topics(channel.address)
    reply = channel.say(f"/papers {command} {case.text}")
    assert_reply_safe(reply)
    after = channel.service.channels.topics(channel.address)
    if command == "subscribe":
        # Whole or refused: one topic more at most, never a cut or empty one.
        added = [t for t in after if t not in before]
        assert len(added) <= 1
        for topic in added:
            assert topic.strip() and "\x00" not in topic
            channel.say(f"/papers unsubscribe {topic}")
        assert channel.service.channels.topics(channel.address) == before
    elif command == "unsubscribe":
        assert after == before
    if command == "pause":
        channel.say("/papers resume")


@pytest.mark.parametrize("paper_id", IDS)
def test_show_and_like_ids(channel: Channel, paper_id: str) -> None:
    for command in ("show", "like"):
        assert_reply_safe(channel.say(f"/papers {command} {paper_id}"))


@pytest.mark.parametrize("number", NUMBERS)
def test_limit(channel: Channel, number: str) -> None:
    assert_reply_safe(channel.say(f"/papers limit {number}"))
    info = channel.service.channels.info(channel.address)
    assert info is None or 1 <= info.max_papers <= 100


@pytest.mark.parametrize("when", TIMEZONES)
def test_schedule(channel: Channel, when: str) -> None:
    reply = channel.say(f"/papers schedule {when}")
    assert_reply_safe(reply)
    assert "is not" in reply.text or "not a" in reply.text or "Unknown" in reply.text, reply.text


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_topic_digest(service: Service, case: Case) -> None:
    """A hostile topic followed, then a digest: the topic shows as text in every message."""
    channel = Channel(service, name=f"digest-{case.name}")
    reply = channel.say(f"/papers subscribe breast {case.text}")
    assert_reply_safe(reply)
    if channel.service.channels.topics(channel.address):
        assert_reply_safe(channel.say("/papers digest"))
        for digest in channel.posted:
            assert_digest_safe(digest)
