"""Installing the Slack app into several workspaces: OAuth with stores in our database.

slack_sdk's SQLAlchemy installation and state stores keep each workspace's
bot token and the OAuth states in the bot's own database (tables created by
migration 0004, so upgrades go through Alembic like everything else). They
are synchronous; bolt's async app wants async stores, so thin wrappers run
each call in a worker thread, off the event loop.

An install Slack refuses because the app is not distributed
(``invalid_team_for_non_distributed_app``: installed from a workspace other
than its own before its owner turned on distribution) gets a page, and a
log line, saying what to do: Manage Distribution. Slack reports it either
in the redirect or as the answer to the code exchange, which bolt's flow
only logs; ``InstallClient`` keeps it for the page.
"""

from __future__ import annotations

import asyncio
import html
import logging
from contextvars import ContextVar
from typing import Any

from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlalchemy.engine import Engine

__all__ = [
    "INSTALL_PATH",
    "NOT_DISTRIBUTED",
    "REDIRECT_PATH",
    "SCOPES",
    "InstallClient",
    "InstallationStore",
    "oauth_settings",
]

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot scopes of config/slack-manifest.yml (a test keeps them equal).
SCOPES = ("commands", "chat:write", "channels:join", "channels:history", "groups:history")
# How long an install link stays valid.
STATE_SECONDS = 600
# Slack's error for an install into another workspace of an app not distributed.
NOT_DISTRIBUTED = "invalid_team_for_non_distributed_app"
_DISTRIBUTE = (
    "Slack refused to install digestbot in this workspace ({error}): until its owner turns "
    "on distribution, a Slack app installs only in the workspace it was created in. The "
    "app's owner: open the app at https://api.slack.com/apps, then Manage Distribution, "
    "Activate Public Distribution; then install again."
)

# Why Slack refused this request's code exchange (set in the request's own task).
_refused: ContextVar[str | None] = ContextVar("slack_install_refused", default=None)


class InstallClient(AsyncWebClient):
    """The app's Web API client under OAuth: keeps the error of a refused code exchange."""

    async def oauth_v2_access(self, **kwargs: Any) -> AsyncSlackResponse:
        try:
            return await super().oauth_v2_access(**kwargs)
        except SlackApiError as exc:
            _refused.set(str(exc.response.get("error")))
            raise


async def _installed(args: AsyncSuccessArgs) -> BoltResponse:
    return await args.default.success(args)


async def _not_installed(args: AsyncFailureArgs) -> BoltResponse:
    """bolt's failure page, but for an app not distributed: what its owner must do."""
    reason = _refused.get() or args.reason
    if reason != NOT_DISTRIBUTED:
        return await args.default.failure(args)
    message = _DISTRIBUTE.format(error=reason)
    log.warning("Slack install refused: %s", message)
    page = (f"<html><head><title>digestbot: not installed</title></head><body>"
            f"<h2>digestbot was not installed</h2><p>{html.escape(message)}</p></body></html>")
    return BoltResponse(
        status=args.suggested_status_code,
        headers={"Content-Type": "text/html; charset=utf-8",
                 "Set-Cookie": args.settings.state_utils.build_set_cookie_for_deletion()},
        body=page,
    )


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
        callback_options=AsyncCallbackOptions(success=_installed, failure=_not_installed),
    )
