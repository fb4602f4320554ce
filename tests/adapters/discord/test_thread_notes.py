"""A posted paper's later news on Discord (issue 16 §1, §4): a new arXiv version or code released
is posted as a reply (``message_reference``) to the digest message that carried the paper,
mentioning no one; a deleted message gets a plain note in the channel instead, a deleted
channel drops the note. A real discord.py client against the fake Discord (REST and gateway
on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from bot.digest.updates import NotesReport
from bot.model.papers import PaperRecord
from tests.adapters.discord.test_adapter import (  # noqa: F401  (the running fixture)
    ADDRESS,
    NOW,
    _scheduled,
    running,
)
from tests.console_bot import ConsoleBot
from tests.fakes import FakeDiscord, discord_api_fixture  # noqa: F401  (the discord_api fixture)
from tests.fakes.discord_api import CHANNEL_ID
from tests.fakes.discord_data import SEND_MESSAGE


def paper(n: int, title: str, version: int, *code: str) -> PaperRecord:
    return PaperRecord(id=f"2612.{n:05d}", title=title, authors=("Ann Lee",),
                       abstract="Breast MRI screening, the whole abstract.",
                       published=date(2026, 11, 27), categories=("eess.IV",),
                       url=f"https://arxiv.org/abs/2612.{n:05d}", version=version,
                       code_urls=code)


def notes(bot: ConsoleBot) -> NotesReport:
    return bot.run(asyncio.to_thread(bot.service.updates.run, send=bot.bot._post_note))


def posted(bot: ConsoleBot, fake: FakeDiscord) -> str:
    """The digest with paper 1 (version 1) posted; returns its message's id."""
    bot.service.catalog.import_records([
        paper(1, "@everyone <@123> Breast MRI [screening](https://evil.example)", 1)])
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    [outcome] = bot.run(_scheduled(bot))
    assert outcome.error is None
    [post] = fake.messages(CHANNEL_ID)
    bot.service.clock = lambda: NOW + timedelta(hours=3)
    return str(post.response["id"])


def test_code_released_is_a_reply_to_the_digest_message_that_mentions_no_one(
    running: tuple[ConsoleBot, FakeDiscord],
) -> None:
    bot, fake = running
    message_id = posted(bot, fake)
    bot.service.catalog.import_records([
        paper(1, "@everyone <@123> Breast MRI [screening](https://evil.example)", 1,
              "https://github.com/lab/mri")], merge=True)
    report = notes(bot)
    assert (report.threaded, report.top_level) == (1, 0)
    reply = fake.messages(CHANNEL_ID)[-1]
    payload = reply.payload
    assert str(payload["message_reference"]["message_id"]) == message_id
    assert payload["allowed_mentions"] == {"parse": [], "replied_user": False}
    content = payload["content"]
    assert "@everyone" not in content and "<@123>" not in content
    assert "](https://evil.example)" not in content
    assert content.splitlines()[1] == "Code released: [lab/mri](https://github.com/lab/mri)"
    assert reply.response["type"] == 19  # Discord shows it as a reply


def test_a_deleted_digest_message_gets_a_plain_note_in_the_channel(
    running: tuple[ConsoleBot, FakeDiscord],
) -> None:
    bot, fake = running
    message_id = posted(bot, fake)
    fake.delete_message(message_id)
    bot.service.catalog.import_records([paper(1, "Breast MRI screening, revised", 2)], merge=True)
    report = notes(bot)
    assert (report.threaded, report.top_level) == (0, 1)
    note = fake.messages(CHANNEL_ID)[-1]
    assert "message_reference" not in note.payload
    assert note.payload["content"].startswith("An update on a paper posted here")
    assert "v2 posted 28 Nov: title changed" in note.payload["content"]


def test_a_deleted_channel_drops_the_note(running: tuple[ConsoleBot, FakeDiscord]) -> None:
    bot, fake = running
    posted(bot, fake)
    bot.service.catalog.import_records([paper(1, "Breast MRI screening, revised", 2)], merge=True)
    fake.fail(SEND_MESSAGE, status=404, code=10003,
              message="Unknown Channel", times=None)
    report = notes(bot)
    assert (report.posted, report.dropped) == (0, 1)
