"""The Discord adapter's settings: its token, and where Discord is.

Declared here, beside the platform, and found by ``bot.config`` through the
adapter's entry point (``adapters.discord.SETTINGS``); read as
``settings.get("discord_api_url")`` and ``settings.secrets.discord_token``.
``config/digestbot.example.toml`` documents each (a test checks it).
"""

from __future__ import annotations

from bot.config import Setting

__all__ = ["SETTINGS"]

SETTINGS: tuple[Setting, ...] = (
    Setting(
        name="discord_token",
        type=str,
        secret=True,
        help="The bot's token, from the Bot page of the application in Discord's developer "
        "portal.",
    ),
    Setting(
        name="discord_api_url",
        type=str,
        default="https://discord.com/api/v10",
        schemes=("https://", "http://"),
        help="Base URL of Discord's REST API. Change it only to go through a REST proxy in "
        "front of Discord.",
    ),
    Setting(
        name="discord_gateway_url",
        type=str,
        default="wss://gateway.discord.gg/",
        schemes=("wss://", "ws://"),
        help="Discord's gateway websocket URL. Change it only to go through a gateway proxy.",
    ),
    Setting(
        name="discord_dev_guild",
        type=int,
        default=0,
        help="A Discord server (guild) id whose /papers commands are synced at start for "
        "instant use while developing; 0 syncs them globally only (which Discord may take "
        "a while to show).",
    ),
)
