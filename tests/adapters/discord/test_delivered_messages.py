"""Which Discord message showed each paper (issue 16 §1): the ledger keeps the id of the
message Discord made, and /papers why gives its jump URL. A real discord.py client
against the fake Discord (REST and gateway on 127.0.0.1)."""

from __future__ import annotations

from sqlalchemy import select

from bot.store.models import Delivery
from tests.adapters.discord.test_adapter import (  # noqa: F401  (the running fixture)
    ADDRESS,
    MEMBER_PERMISSIONS,
    _scheduled,
    answer,
    running,
)
from tests.console_bot import ConsoleBot
from tests.fakes import FakeDiscord, discord_api_fixture  # noqa: F401  (the discord_api fixture)
from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID


def test_the_ledger_keeps_the_message_id_and_why_gives_its_jump_url(
    running: tuple[ConsoleBot, FakeDiscord],
) -> None:
    bot, fake = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    [outcome] = bot.run(_scheduled(bot))
    assert outcome.error is None
    [post] = fake.messages(CHANNEL_ID)
    message_id = str(post.response["id"])
    jump = f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{message_id}"
    with bot.service.db.session() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.paper_id))
        stored = {d.paper_id: (d.status, d.message_channel, d.message_id, d.message_link)
                  for d in rows}
    assert stored == {
        "2611.00001": ("sent", str(CHANNEL_ID), message_id, jump),
        "2611.00002": ("sent", str(CHANNEL_ID), message_id, jump),
    }

    fake.dispatch("INTERACTION_CREATE", fake.command_interaction(
        "papers why", {"id": "2611.00001"}, permissions=MEMBER_PERMISSIONS))
    body = answer(fake)
    # The renderer breaks links in reply text (zero-width spaces): the id says which message.
    line = str(body["content"]).replace("\u200b", "").splitlines()[1]
    assert line == (f"This channel's digest posted it Sat 28 Nov 12:00 UTC in message "
                    f"{message_id} ({jump}); a paper is never posted to a channel twice.")
