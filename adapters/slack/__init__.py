"""The Slack adapter: Block Kit rendering (``render``) and, beside it, the platform wiring.

This package is what the ``digestbot.adapters`` entry point names: every
command reads its ``SETTINGS`` (``settings.py``), and ``create`` imports
slack-bolt (``adapter.py``) only when ``digestbot run`` creates the adapter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.slack.settings import SETTINGS
from bot.config import Settings

if TYPE_CHECKING:
    from adapters.slack.adapter import SlackAdapter

__all__ = ["SETTINGS", "create"]


def create(settings: Settings) -> SlackAdapter | None:
    """The entry point: ``adapters.slack.adapter.create``."""
    from adapters.slack.adapter import create as create_adapter

    return create_adapter(settings)
