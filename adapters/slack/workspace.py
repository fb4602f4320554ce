"""The one workspace a single bot token serves, and the bolt middleware that serves only it.

With ``SLACK_BOT_TOKEN`` (no OAuth) the bot belongs to the workspace that
``auth.test`` names for the token. Slack signs the requests of every
workspace the app is installed in, so a signature alone does not say the
request is for this bot: ``OneWorkspace.middleware``, a global bolt
middleware (over HTTP and in Socket Mode alike), lets through only requests
of that workspace. A command from another is answered with a line saying
so (``OTHER_WORKSPACE``), a button click through its response_url, an
event with 200; nothing is done for any of them, and each is counted in
the adapter's refusal log line.

No I/O of its own: the adapter hands it the ``auth.test`` call to await
when the workspace is not known yet (Slack was out of reach at start).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.connection import TokenRefused, describe
from adapters.slack.guard import RefusalLog

__all__ = ["NOT_YET", "OTHER_WORKSPACE", "OneWorkspace"]

log = logging.getLogger(__name__)

NOT_YET = "digestbot cannot reach Slack at the moment. Try again in a minute."
OTHER_WORKSPACE = (
    "This digestbot serves only the Slack workspace whose token it runs with, not this one. "
    "To use digestbot here, ask whoever runs it to install it here (with SLACK_CLIENT_ID and "
    "SLACK_CLIENT_SECRET it serves every workspace that installs it), or run one with this "
    "workspace's own bot token."
)


class OneWorkspace:
    """The bot token's workspace, once ``auth.test`` said it (``learnt``).

    ``check`` is the adapter's ``auth.test`` call, which calls ``learnt``;
    it raises one of ``cannot_check`` when Slack cannot say (unreachable,
    or the token refused).
    """

    def __init__(self, *, check: Callable[[], Awaitable[None]],
                 cannot_check: tuple[type[BaseException], ...], refusals: RefusalLog) -> None:
        self._check = check
        self._cannot_check = cannot_check
        self._refusals = refusals
        self.served: AuthorizeResult | None = None

    def learnt(self, auth_test: AsyncSlackResponse) -> None:
        self.served = AuthorizeResult(enterprise_id=auth_test.get("enterprise_id"),
                                      team_id=auth_test.get("team_id"))

    async def middleware(self, context: AsyncBoltContext, body: dict[str, Any],
                         next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Bolt's global middleware: requests of the served workspace go on, others stop here."""
        if self.served is None:
            try:
                await self._check()
            except self._cannot_check as exc:
                why = exc if isinstance(exc, TokenRefused) else f"Slack unreachable ({describe(exc)})"
                log.warning("%s: cannot tell which workspace the bot token serves; request "
                            "refused", why, exc_info=exc if log.isEnabledFor(logging.DEBUG) else None)
                if "command" in body:
                    return _ephemeral(NOT_YET)
                return BoltResponse(status=503, body="")  # Slack sends an event again later
        assert self.served is not None
        if self._serves(context, self.served):
            await next()
            return None
        self._refusals.refused("another workspace", peer=f"workspace {context.team_id}")
        if "command" in body:
            return _ephemeral(OTHER_WORKSPACE)
        if context.response_url and context.respond is not None:
            await context.respond(text=OTHER_WORKSPACE, response_type="ephemeral",
                                  replace_original=False)
        return BoltResponse(status=200, body="")

    @staticmethod
    def _serves(context: AsyncBoltContext, served: AuthorizeResult) -> bool:
        if context.team_id is not None:
            return context.team_id == served.team_id
        # An organization-wide install: the organization is the workspace.
        return context.enterprise_id is not None and context.enterprise_id == served.enterprise_id


def _ephemeral(text: str) -> BoltResponse:
    return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
