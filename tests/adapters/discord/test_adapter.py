"""The Discord adapter end to end: a real discord.py client logged in to a fake Discord
(REST and gateway on 127.0.0.1), interactions arriving over the gateway as Discord sends them."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from adapters.discord.adapter import DiscordAdapter
from bot.chat.commands import COMMANDS
from bot.chat.service import Service
from bot.digest.deliver import Outcome
from bot.model.papers import PaperRecord
from tests.console_bot import ConsoleBot
from tests.fakes import FakeDiscord, discord_api_fixture  # noqa: F401  (the discord_api fixture)
from tests.fakes.discord_api import (
    CHANNEL_ID,
    GUILD_ID,
    INTERACTION_CALLBACK,
    MANAGE_CHANNELS,
    MEMBER_PERMISSIONS,
    SEND_MESSAGE,
    SYNC_COMMANDS,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ADDRESS = f"discord:{GUILD_ID}/{CHANNEL_ID}"
MANAGER = MEMBER_PERMISSIONS | MANAGE_CHANNELS
EPHEMERAL = 1 << 6


def paper(n: int, title: str) -> PaperRecord:
    return PaperRecord(id=f"2611.{n:05d}", title=title, authors=("Ann Lee",),
                       abstract=f"{title}. The whole abstract goes on from here.",
                       published=date(2026, 11, 27), categories=("eess.IV",),
                       url=f"https://arxiv.org/abs/2611.{n:05d}")


@pytest.fixture
def running(db, index, discord_api: FakeDiscord) -> Iterator[tuple[ConsoleBot, FakeDiscord]]:
    service = Service(db=db, index=index, clock=lambda: NOW)
    service.catalog.import_records([
        paper(1, "Breast MRI screening with deep learning"),
        paper(2, "@everyone Free GPUs <@123> [arxiv.org](https://evil.example) breast MRI"),
        paper(3, "Low-dose CT reconstruction"),
    ])
    adapter = DiscordAdapter(token="discord-bot-token", api_url=discord_api.rest_url,
                             gateway_url=discord_api.gateway_url, guild_ready_timeout=0.1)
    bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
    yield bot, discord_api
    bot.stop()


def answer(fake: FakeDiscord, count: int = 1) -> dict[str, object]:
    """The body of the latest interaction answer (callback or followup) once ``count`` arrived."""
    fake.wait_for(INTERACTION_CALLBACK, count)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        calls = fake.callbacks()
        last = calls[-1].payload.get("data") or {}
        if last.get("content") or last.get("embeds") or last.get("choices") is not None:
            return dict(last)
        followups = fake.followups()
        if followups:
            return dict(followups[-1].payload)
        time.sleep(0.02)
    raise AssertionError(f"no answer with content; callbacks: {[c.payload for c in fake.callbacks()]}")


def test_papers_group_is_generated_from_the_core_table(running) -> None:
    _, fake = running
    [sync] = fake.wait_for(SYNC_COMMANDS)
    [group] = sync.payload
    assert group["name"] == "papers"
    assert [o["name"] for o in group["options"]] == [c.name for c in COMMANDS]
    options = {o["name"]: o.get("options", []) for o in group["options"]}
    assert [(o["name"], o.get("required", False)) for o in options["search"]] == [("query", True)]
    assert [(o["name"], o.get("required", False)) for o in options["pause"]] == [("reason", False)]
    assert options["unsubscribe"][0].get("autocomplete") is True


def test_manager_subscribes_and_the_reply_is_private(running) -> None:
    bot, fake = running
    fake.dispatch("INTERACTION_CREATE", fake.command_interaction(
        "papers subscribe", {"topic": "breast mri"}, permissions=MANAGER))
    body = answer(fake)
    assert body["content"] == (
        "This channel now follows: breast mri (1 of 25 topics). 2 papers from the last 7 days "
        "match it; the next digest brings them, or type /papers digest."
    )
    assert int(str(body.get("flags", 0))) & EPHEMERAL
    assert body["allowed_mentions"] == {"parse": []}
    assert bot.service.channels.topics(ADDRESS) == ["breast mri"]


def test_member_without_manage_channels_cannot_change_the_channel(running) -> None:
    bot, fake = running
    fake.dispatch("INTERACTION_CREATE", fake.command_interaction(
        "papers subscribe", {"topic": "breast mri"}, permissions=MEMBER_PERMISSIONS))
    body = answer(fake)
    assert "Manage Channels" in str(body["content"])
    assert bot.service.channels.topics(ADDRESS) == []
    # Searching is open to everyone.
    fake.dispatch("INTERACTION_CREATE", fake.command_interaction(
        "papers search", {"query": "ct reconstruction"}, permissions=MEMBER_PERMISSIONS))
    body = answer(fake, 2)
    assert "Low-dose CT reconstruction" in json.dumps(body)


def test_autocomplete_offers_the_channel_topics(running) -> None:
    bot, fake = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    bot.service.channels.subscribe(ADDRESS, "ct reconstruction")
    fake.dispatch("INTERACTION_CREATE", fake.autocomplete_interaction(
        "papers unsubscribe", {"topic": "bre"}, focused="topic", permissions=MANAGER))
    body = answer(fake)
    choices = body["choices"]
    assert isinstance(choices, list) and [c["value"] for c in choices] == ["breast mri"]


def test_scheduled_digest_posts_safe_embeds_with_buttons_and_a_nonce(running) -> None:
    bot, fake = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    [outcome] = bot.run(_scheduled(bot))
    assert outcome.error is None
    [post] = fake.messages(CHANNEL_ID)
    body = post.payload
    assert body["allowed_mentions"] == {"parse": []}
    assert body["nonce"] and body["enforce_nonce"] is True
    text = json.dumps(body, ensure_ascii=False)
    assert "Breast MRI screening with deep learning" in text
    shown = [e.get("title", "") + e.get("description", "") for e in body["embeds"]]
    assert any("evil.example" in s for s in shown)  # the hostile title is there, harmless:
    assert not any(re.search(r"@(everyone|here)|<@\d|(?<!\\)\]\(", s) for s in shown)
    custom_ids = [c["custom_id"] for row in body["components"] for c in row["components"]]
    assert "digestbot:abstract:2611.00001" in custom_ids


def test_abstract_button_answers_through_the_core(running) -> None:
    bot, fake = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    bot.run(_scheduled(bot))
    fake.dispatch("INTERACTION_CREATE", fake.component_interaction("digestbot:abstract:2611.00001"))
    body = answer(fake)
    assert "The whole abstract goes on from here" in json.dumps(body)


def test_relevant_and_not_for_us_buttons_record_the_clicker_s_vote(running) -> None:
    bot, fake = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    bot.run(_scheduled(bot))
    [post] = fake.messages(CHANNEL_ID)
    [row, *_] = post.payload["components"]
    assert [(c["label"], c["custom_id"]) for c in row["components"]] == [
        ("1. Abstract", "digestbot:abstract:2611.00001"),
        ("1. More like this", "digestbot:like:2611.00001"),
        ("1. 👍 Relevant", "digestbot:up:2611.00001"),
        ("1. 👎 Not for us", "digestbot:down:2611.00001"),
        ("1. Save", "digestbot:save:2611.00001")]
    fake.dispatch("INTERACTION_CREATE", fake.component_interaction("digestbot:up:2611.00001"))
    body = answer(fake)
    assert body["content"].startswith("Noted: more papers like")
    assert body["flags"] == 64  # ephemeral
    assert bot.service.ratings.votes(ADDRESS) == {"2611.00001": 1}
    fake.dispatch("INTERACTION_CREATE", fake.component_interaction("digestbot:down:2611.00001"))
    assert str(answer(fake, 2)["content"]).startswith("Changed: fewer papers like")
    assert bot.service.ratings.votes(ADDRESS) == {"2611.00001": -1}


def test_save_button_puts_the_paper_on_the_reading_list_once_with_the_clicker_s_name(
        running) -> None:
    bot, fake = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    bot.run(_scheduled(bot))
    [post] = fake.messages(CHANNEL_ID)
    saves = [c["custom_id"] for row in post.payload["components"] for c in row["components"]
             if c["custom_id"].startswith("digestbot:save:")]
    assert saves == ["digestbot:save:2611.00001", "digestbot:save:2611.00002"]

    # The server's nickname is the name people know there; the fake's user has none else.
    click = fake.component_interaction(saves[0], user_id="1187000000000000301")
    click["member"]["nick"] = "Dr Ann"
    fake.dispatch("INTERACTION_CREATE", click)
    body = answer(fake)
    assert body["content"] == ("Saved “Breast MRI screening with deep learning” to this "
                               "channel's reading list (/papers saved shows it).")
    assert body["flags"] == EPHEMERAL
    # Another member clicks it again: nothing changes, and the answer says who saved it.
    fake.dispatch("INTERACTION_CREATE", fake.component_interaction(saves[0]))
    again = answer(fake, 2)
    assert str(again["content"]).startswith(
        "“Breast MRI screening with deep learning” is on this channel's reading list "
        "already: saved by Dr Ann on ")
    assert again["flags"] == EPHEMERAL
    assert bot.service.reading.count(ADDRESS) == 1
    # Without a nickname, the user name: the fake's member 201 is "user201".
    fake.dispatch("INTERACTION_CREATE", fake.command_interaction(
        "papers save", {"id": "2611.00003"}))
    answer(fake, 3)
    fake.dispatch("INTERACTION_CREATE", fake.command_interaction("papers saved"))
    listed = str(answer(fake, 4)["content"])
    assert "(2611.00001): saved by Dr Ann on 28 Nov 2026" in listed
    assert "(2611.00003): saved by user201 on 28 Nov 2026" in listed


@pytest.mark.parametrize(("status", "code", "reason"), [
    (403, 50001, "Give the bot access (View Channel) in this channel"),
    (403, 50013, "Send Messages and Embed Links"),
    (404, 10003, "This channel no longer exists for digestbot"),
])
def test_refused_posts_pause_the_channel_and_keep_its_papers(running, status: int, code: int,
                                                            reason: str) -> None:
    bot, fake = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    fake.fail(SEND_MESSAGE, status=status, code=code, message="refused")
    [outcome] = bot.run(_scheduled(bot))
    assert outcome.error is not None
    info = bot.service.channels.info(ADDRESS)
    assert info is not None and info.paused and reason in str(info.paused_reason)
    bot.service.channels.resume(ADDRESS)
    assert bot.service.deliverer.digest(ADDRESS, send=lambda d: None) is not None  # nothing was lost


def test_removed_from_the_server_pauses_its_channels(running) -> None:
    bot, fake = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    fake.remove_from_guild(GUILD_ID)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        info = bot.service.channels.info(ADDRESS)
        if info is not None and info.paused:
            break
        time.sleep(0.05)
    assert info is not None and info.paused and "removed from this server" in str(info.paused_reason)


async def _scheduled(bot: ConsoleBot) -> list[Outcome]:
    return await asyncio.to_thread(bot.service.deliverer.run_scheduled, {ADDRESS: NOW}, send=bot.bot._post)


def test_digest_command_is_deferred_then_posted(running) -> None:
    bot, fake = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    fake.dispatch("INTERACTION_CREATE", fake.command_interaction("papers digest",
                                                                 permissions=MANAGER))
    [deferred] = fake.wait_for(INTERACTION_CALLBACK)
    assert deferred.payload["type"] == 5  # "thinking…", then the answer follows
    fake.wait_for(SEND_MESSAGE)
    deadline = time.monotonic() + 5
    while not fake.followups() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.followups()[-1].payload["content"] == "Posted 2 new papers."
    assert len(fake.messages(CHANNEL_ID)) == 1


def test_buttons_keep_working_after_a_restart(db, index, discord_api: FakeDiscord) -> None:
    service = Service(db=db, index=index, clock=lambda: NOW)
    service.catalog.import_records([paper(1, "Breast MRI screening with deep learning")])
    service.channels.subscribe(ADDRESS, "breast mri")

    def start() -> ConsoleBot:
        adapter = DiscordAdapter(token="discord-bot-token", api_url=discord_api.rest_url,
                                 gateway_url=discord_api.gateway_url, guild_ready_timeout=0.1)
        return ConsoleBot(service, lambda: NOW, others=[adapter]).start()

    first = start()
    first.run(_scheduled(first))
    first.stop()
    second = start()  # a new process would be the same: nothing kept in memory
    try:
        discord_api.dispatch("INTERACTION_CREATE",
                             discord_api.component_interaction("digestbot:like:2611.00001"))
        body = answer(discord_api)
        assert "Nothing in the catalog is like" in str(body["content"])
        # Save, the newest kind, is routed by the same template.
        discord_api.dispatch("INTERACTION_CREATE",
                             discord_api.component_interaction("digestbot:save:2611.00001"))
        assert str(answer(discord_api, 2)["content"]).startswith("Saved “Breast MRI")
    finally:
        second.stop()


def test_readme_invite_asks_for_what_the_bot_needs() -> None:
    from pathlib import Path

    from adapters.discord.adapter import INVITE_PERMISSIONS

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text("utf-8")
    assert "scope=bot%20applications.commands" in readme
    assert f"&permissions={INVITE_PERMISSIONS.value}\n" in readme


def test_which_settings_start_discord() -> None:
    from adapters.discord.adapter import create
    from bot.config import load_settings

    assert create(load_settings(environ={})) is None
    adapter = create(load_settings(environ={"DISCORD_TOKEN": "t",
                                            "DIGESTBOT_DISCORD_API_URL": "http://proxy/api/v10",
                                            "DIGESTBOT_DISCORD_GATEWAY_URL": "ws://proxy/gw"}))
    assert adapter is not None
    assert (adapter._api_url, adapter._gateway_url) == ("http://proxy/api/v10", "ws://proxy/gw")


def test_schedule_autocomplete_completes_time_zones(running) -> None:
    _, fake = running
    fake.dispatch("INTERACTION_CREATE", fake.autocomplete_interaction(
        "papers schedule", {"when": "08:30 Europe/Ber"}, focused="when", permissions=MANAGER))
    body = answer(fake)
    choices = body["choices"]
    assert isinstance(choices, list)
    assert [c["value"] for c in choices] == ["08:30 Europe/Berlin"]


def test_sends_are_spread_across_channels(running) -> None:
    from adapters.discord.adapter import SEND_INTERVAL

    bot, fake = running
    channels = [fake.add_channel(f"11870000000000009{n:02d}", name=f"lab-{n}") for n in range(4)]
    addresses = [f"discord:{GUILD_ID}/{c['id']}" for c in channels]
    for address in addresses:
        bot.service.channels.subscribe(address, "breast mri")

    async def all_due() -> list[Outcome]:
        due = {address: NOW for address in addresses}
        return await asyncio.to_thread(bot.service.deliverer.run_scheduled, due, send=bot.bot._post)

    outcomes = bot.run(all_due())
    assert [o.error for o in outcomes] == [None] * 4
    times = [call.received_at for call in fake.messages()]
    assert len(times) == 4
    # Spaced on the whole; one gap seen at the server may shrink by the
    # network's jitter when the request before it arrived late.
    assert times[-1] - times[0] >= 3 * SEND_INTERVAL * 0.9
    assert all(b - a >= SEND_INTERVAL * 0.5 for a, b in zip(times, times[1:], strict=False))


def test_whole_flow_subscribe_scheduled_digest_then_abstract(running) -> None:
    bot, fake = running
    fake.dispatch("INTERACTION_CREATE", fake.command_interaction(
        "papers subscribe", {"topic": "breast mri"}, permissions=MANAGER))
    answer(fake)
    bot.run(_scheduled(bot))
    [post] = fake.messages(CHANNEL_ID)
    titles = [e["title"] for e in post.payload["embeds"]]
    assert any("Breast MRI screening with deep learning" in t for t in titles)
    first = post.payload["components"][0]["components"][0]["custom_id"]
    fake.dispatch("INTERACTION_CREATE", fake.component_interaction(first))
    body = answer(fake, 2)
    assert "The whole abstract goes on from here" in json.dumps(body)
    assert int(str(body.get("flags", 0))) & EPHEMERAL


def test_development_guild_gets_the_commands_at_once(db, index, discord_api: FakeDiscord) -> None:
    from tests.fakes.discord_api import SYNC_GUILD_COMMANDS

    service = Service(db=db, index=index, clock=lambda: NOW)
    adapter = DiscordAdapter(token="discord-bot-token", api_url=discord_api.rest_url,
                             gateway_url=discord_api.gateway_url, guild_ready_timeout=0.1,
                             dev_guild=int(GUILD_ID))
    bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
    try:
        [guild_sync] = discord_api.wait_for(SYNC_GUILD_COMMANDS)
        assert guild_sync.params["guild_id"] == GUILD_ID
        assert [c["name"] for c in guild_sync.payload] == ["papers"]
        discord_api.wait_for(SYNC_COMMANDS)  # and globally, for every other server
    finally:
        bot.stop()


def test_the_same_delivery_always_gets_the_same_nonce() -> None:
    from adapters.discord.adapter import nonce_for
    from adapters.discord.render import DiscordMessage

    one = DiscordMessage(content="x", paper_ids=("2611.00001", "2611.00002"))
    other = DiscordMessage(content="x", paper_ids=("2611.00003",))
    assert nonce_for("discord:1/2", one, 0) == nonce_for("discord:1/2", one, 0)
    # The message cut off as the second of a digest is the first of the one finishing it.
    assert nonce_for("discord:1/2", one, 1) == nonce_for("discord:1/2", one, 0)
    assert len({nonce_for("discord:1/2", one, 0), nonce_for("discord:1/3", one, 0),
                nonce_for("discord:1/2", other, 0)}) == 3
    # Messages without papers (nothing new) are told apart by place and content.
    quiet = DiscordMessage(content="Nothing new today")
    assert nonce_for("discord:1/2", quiet, 0) != nonce_for("discord:1/2", quiet, 1)
    assert len(nonce_for("discord:1/2", one, 0)) <= 25


def test_connected_while_the_gateway_is_up(running) -> None:
    bot, _ = running
    adapter = bot.bot.adapters["discord"]
    assert bot.run(adapter.is_connected())  # type: ignore[attr-defined]
    bot.run(adapter.stop())
    assert not bot.run(adapter.is_connected())  # type: ignore[attr-defined]
