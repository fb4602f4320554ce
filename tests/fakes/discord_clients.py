"""discord.py clients and helpers the fake Discord's self-tests drive it with.

``run`` starts a real client against the fake and waits for on_ready; ``PapersBot``
has the shape of digestbot's bot (/papers subcommands, a persistent view, a dynamic
button); ``http`` sends what discord.py never would. No I/O beyond the fake's socket.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord
from discord import app_commands

from tests.fakes.discord_api import INTERACTION_CALLBACK, DiscordCall, FakeDiscord

__all__ = [
    "TOKEN",
    "DigestView",
    "PapersBot",
    "SaveButton",
    "answered",
    "http",
    "intents",
    "nothing",
    "run",
]

TOKEN = "discord-bot-token"
T = TypeVar("T")


def intents() -> discord.Intents:
    """The default intents: no privileged one (members, presences, message content)."""
    chosen = discord.Intents.default()
    assert not (chosen.members or chosen.presences or chosen.message_content)
    return chosen


class SaveButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"papers:save:(?P<paper>[0-9.]+)",
):
    def __init__(self, paper: str) -> None:
        super().__init__(discord.ui.Button(label="Save", custom_id=f"papers:save:{paper}"))
        self.paper = paper

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SaveButton:
        return cls(match["paper"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Saved {self.paper}", ephemeral=True)


class DigestView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="More", custom_id="papers:more")
    async def more(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content="Ten more papers")


class PapersBot(discord.Client):
    """A small bot with the shape of ours: /papers subcommands, a persistent view."""

    def __init__(self) -> None:
        super().__init__(intents=intents(), guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        self.seen: dict[str, Any] = {}
        self.readied = 0
        papers = app_commands.Group(name="papers", description="Research-paper digests")

        @papers.command(name="subscribe", description="Follow a topic in this channel")
        @app_commands.checks.has_permissions(manage_channels=True)
        async def subscribe(interaction: discord.Interaction, topic: str) -> None:
            self.seen["callback"] = await interaction.response.send_message(
                f"Subscribed to {topic}"
            )

        @subscribe.autocomplete("topic")
        async def topics(interaction: discord.Interaction, typed: str) -> list[Any]:
            known = ["breast mri", "ct reconstruction"]
            return [app_commands.Choice(name=t, value=t) for t in known if t.startswith(typed)]

        @subscribe.error
        async def refused(interaction: discord.Interaction, error: Exception) -> None:
            self.seen["error"] = error
            await interaction.response.send_message("You need Manage Channels.", ephemeral=True)

        @papers.command(name="search", description="Search the catalog")
        async def search(interaction: discord.Interaction, query: str) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.edit_original_response(content=f"3 papers match {query}")
            self.seen["followup"] = await interaction.followup.send("and 2 more", wait=True)

        self.tree.add_command(papers)

    async def setup_hook(self) -> None:
        self.add_view(DigestView())
        self.add_dynamic_items(SaveButton)

    async def on_ready(self) -> None:
        self.readied += 1


async def answered(fake: FakeDiscord, count: int) -> list[DiscordCall]:
    """The first ``count`` interaction callbacks, once discord.py's handlers have ended.

    The fake's wait_for returns when a request arrives, while discord.py may still be
    reading the answer (or sending followups): closing the client then would cut it off.
    """
    calls = await fake.wait_for_async(INTERACTION_CALLBACK, count)
    prefixes = (
        "CommandTree-invoker",
        "discord-ui-view-dispatch-",
        "discord-ui-dynamic-item-",
        "discord-ui-modal-dispatch-",
    )
    handlers = [t for t in asyncio.all_tasks() if t.get_name().startswith(prefixes)]
    await asyncio.wait_for(asyncio.gather(*handlers), 5)
    return calls


def run(client: discord.Client, body: Callable[[], Awaitable[T]], token: str = TOKEN) -> T:
    """Start ``client`` against the fake, wait for on_ready, run ``body``, close the client."""

    async def main() -> T:
        async with client:
            runner = asyncio.create_task(client.start(token))
            ready = asyncio.create_task(client.wait_until_ready())
            done, _ = await asyncio.wait({runner, ready}, timeout=5, return_when="FIRST_COMPLETED")
            if ready not in done:
                ready.cancel()
                if runner.done():
                    runner.result()  # raises what stopped the client (LoginFailure...)
                runner.cancel()
                raise AssertionError("the client did not reach on_ready within 5 s")
            try:
                return await body()
            finally:
                await client.close()
                await runner

    return asyncio.run(main())


async def nothing() -> None:
    return None


def http(url: str, body: Any = None, method: str = "POST") -> tuple[int, Any]:
    """A raw request to the fake, for what discord.py would never send."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
