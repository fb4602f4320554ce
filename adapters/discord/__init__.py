"""The Discord adapter: embed rendering (``render``) and, beside it, the platform wiring.

This package is what the ``digestbot.adapters`` entry point names: every
command reads its ``SETTINGS`` (``settings.py``), and ``create`` imports
discord.py (``adapter.py``) only when ``digestbot run`` creates the adapter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.discord.settings import SETTINGS
from bot.config import Settings

if TYPE_CHECKING:
    from adapters.discord.adapter import DiscordAdapter

__all__ = ["SETTINGS", "create"]


def create(settings: Settings) -> DiscordAdapter | None:
    """The entry point: ``adapters.discord.adapter.create``."""
    from adapters.discord.adapter import create as create_adapter

    return create_adapter(settings)
