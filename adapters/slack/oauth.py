"""Installing the Slack app into several workspaces: OAuth with stores in our database.

slack_sdk's SQLAlchemy installation and state stores keep each workspace's
bot token and the OAuth states in the bot's own database (tables created by
migration 0004, so upgrades go through Alembic like everything else). They
are synchronous; bolt's async app wants async stores, so thin wrappers run
each call in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy.engine import Engine

__all__ = ["INSTALL_PATH", "REDIRECT_PATH", "SCOPES", "InstallationStore", "oauth_settings"]

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot scopes of config/slack-manifest.yml (a test keeps them equal).
SCOPES = ("commands", "chat:write", "channels:join")
# How long an install link stays valid.
STATE_SECONDS = 600


class InstallationStore(AsyncInstallationStore):
    """slack_sdk's SQLAlchemy installation store, called from the event loop."""

    def __init__(self, *, client_id: str, engine: Engine) -> None:
        self._store = SQLAlchemyInstallationStore(client_id=client_id, engine=engine)

    @property
    def logger(self) -> logging.Logger:
        return self._store.logger

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self._store.save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self._store.save_bot, bot)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        return await asyncio.to_thread(
            self._store.find_bot,
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await asyncio.to_thread(
            self._store.find_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(
            self._store.delete_bot, enterprise_id=enterprise_id, team_id=team_id
        )

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            self._store.delete_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self._store.delete_all, enterprise_id=enterprise_id, team_id=team_id)


class StateStore(AsyncOAuthStateStore):
    """slack_sdk's SQLAlchemy OAuth state store, called from the event loop."""

    def __init__(self, *, engine: Engine) -> None:
        self._store = SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine)

    @property
    def logger(self) -> logging.Logger:
        return self._store.logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self._store.issue, *args, **kwargs)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self._store.consume, state)


def oauth_settings(
    *, client_id: str, client_secret: str, engine: Engine, api_url: str
) -> AsyncOAuthSettings:
    """Bolt's OAuth settings: install at ``INSTALL_PATH``, Slack returns to ``REDIRECT_PATH``."""
    # The authorize page lives beside the Web API (slack.com/oauth/v2/authorize,
    # or a GovSlack-style host's own).
    site = api_url.rstrip("/").removesuffix("/api")
    return AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(SCOPES),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=f"{site}/oauth/v2/authorize",
        installation_store=InstallationStore(client_id=client_id, engine=engine),
        installation_store_bot_only=True,
        state_store=StateStore(engine=engine),
        state_expiration_seconds=STATE_SECONDS,
    )
