"""Slack and Discord in one process: one digest run posts to both, each through its own adapter."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from adapters.discord.adapter import DiscordAdapter
from adapters.slack.adapter import SlackAdapter
from bot.chat.service import Service
from bot.digest.deliver import Outcome
from bot.model.papers import PaperRecord
from tests.console_bot import ConsoleBot
from tests.fakes import FakeDiscord, FakeSlackAPI, discord_api_fixture, slack_api_fixture  # noqa: F401  (fixtures)
from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_one_run_posts_to_slack_and_discord(db, index, slack_api: FakeSlackAPI,
                                            discord_api: FakeDiscord) -> None:
    service = Service(db=db, index=index, clock=lambda: NOW)
    service.catalog.import_records([PaperRecord(id="2611.00001", title="Breast MRI screening",
                                        published=date(2026, 11, 27))])
    on_slack, on_discord = "slack:T0FAKE/C0GENERAL", f"discord:{GUILD_ID}/{CHANNEL_ID}"
    for address in (on_slack, on_discord):
        service.channels.subscribe(address, "breast mri")
    slack = SlackAdapter(bot_token="xoxb-test", signing_secret="s", api_url=slack_api.api_url,
                         port=0, host="127.0.0.1")
    discord = DiscordAdapter(token="discord-bot-token", api_url=discord_api.rest_url,
                             gateway_url=discord_api.gateway_url, guild_ready_timeout=0.1)
    # No catch-up at start: this test runs the digest hour itself.
    bot = ConsoleBot(service, lambda: NOW, others=[slack, discord],
                     catch_up=timedelta(0)).start()
    try:
        async def run() -> list[Outcome]:
            due = {on_slack: NOW, on_discord: NOW}
            return await asyncio.to_thread(service.deliverer.run_scheduled, due, send=bot.bot._post)

        outcomes = bot.run(run())
        assert [o.error for o in outcomes] == [None, None], outcomes
        assert len(slack_api.posts("C0GENERAL")) == 1
        assert len(discord_api.messages(CHANNEL_ID)) == 1
        # The scheduler serves the channels of every platform running here.
        assert sorted(bot.bot.scheduler.known("slack", "T0FAKE")
                      + bot.bot.scheduler.known("discord", GUILD_ID)) == sorted(
            [on_discord, on_slack])
    finally:
        bot.stop()
