"""Reaching Slack: what a failed attempt says, how long until the next, and quiet libraries.

Slack unreachable (no network, DNS down, a proxy refusing) is an expected
failure: one line per attempt says what failed and when the next attempt
comes, e.g. ``Slack unreachable (DNS lookup failed for slack.com); retrying
in 30 s``. A token Slack refuses ends the attempts (``TokenRefused``):
waiting will not fix it.

slack_sdk's Socket Mode client and bolt log their own failures with a
traceback (the Socket Mode client on each reconnect); ``quiet_library_logs``
turns such records into one line while their logger is not at DEBUG
(``digestbot -vv run``, or ``log_level = "DEBUG"``, shows the tracebacks).
Records of other exceptions, bugs rather than the network, keep their
traceback.

No I/O of its own: the adapter (``adapters.slack.adapter``) does the
connecting and hands ``check_token`` the call to await.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any

import aiohttp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.errors import UserError

__all__ = [
    "NETWORK_ERRORS",
    "RETRY_SECONDS",
    "SOCKET_MODE_LOGGER",
    "TokenRefused",
    "check_token",
    "delays",
    "describe",
    "is_transient",
    "quiet_library_logs",
    "unreachable_line",
]

# Waits between attempts to connect: quick at first (a blip), then every
# minute (an outage), never hammering Slack.
RETRY_SECONDS: tuple[float, ...] = (5.0, 15.0, 30.0, 60.0)

# Failures that waiting may fix: the network, and Slack's servers (a 5xx or
# a 429 comes as a SlackApiError, told apart by ``is_transient``).
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # aiohttp's connection errors are OSErrors too
    aiohttp.ClientError,
    asyncio.TimeoutError,
)

# The Socket Mode client logs through this logger (the adapter hands it over),
# bolt through its app's.
SOCKET_MODE_LOGGER = "adapters.slack.socket_mode"
LIBRARY_LOGGERS = (SOCKET_MODE_LOGGER, "slack_bolt.AsyncApp")

_WHERE = {
    "SLACK_BOT_TOKEN": "OAuth & Permissions: Bot User OAuth Token, xoxb-...",
    "SLACK_APP_TOKEN": "Basic Information: App-Level Tokens, xapp-... with connections:write",
}


class TokenRefused(UserError):
    """Slack does not accept one of the tokens (``variable``, Slack's ``error``: invalid_auth,
    token_revoked, not_allowed_token_type, missing_scope...)."""

    def __init__(self, variable: str, error: str) -> None:
        super().__init__(
            f"Slack refused {variable} ({error}): check {variable} ({_WHERE[variable]})"
        )
        self.variable = variable
        self.error = error


def delays(seconds: Sequence[float] = RETRY_SECONDS) -> Iterator[float]:
    """The waits before each next attempt: ``seconds`` in turn, then its last for ever."""
    yield from seconds
    while True:
        yield seconds[-1]


def is_transient(exc: BaseException) -> bool:
    """A 5xx or a 429 from Slack: worth waiting for."""
    if not isinstance(exc, SlackApiError):
        return False
    status = getattr(exc.response, "status_code", 0)
    return status >= 500 or status == 429


def describe(exc: BaseException) -> str:
    """What failed on the wire, in a few words and without a traceback."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"DNS lookup failed for {exc.host}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"the TLS certificate of {exc.host} was not accepted"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return f"connection refused by {exc.host}:{exc.port}"
        reason = exc.os_error.strerror or str(exc.os_error) or type(exc.os_error).__name__
        return f"cannot connect to {exc.host}:{exc.port}: {reason}"
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"the Socket Mode websocket was refused ({exc.status} {exc.message})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time"
    if is_transient(exc):
        assert isinstance(exc, SlackApiError)
        return f"Slack answered {exc.response.status_code}"
    return str(exc) or type(exc).__name__


async def check_token(variable: str, call: Coroutine[Any, Any, AsyncSlackResponse]
                      ) -> AsyncSlackResponse:
    """Slack's answer to ``call``, a check of ``variable``'s token: TokenRefused when Slack
    says no (a 5xx or 429 stays a SlackApiError: worth another attempt)."""
    try:
        return await call
    except SlackApiError as exc:
        if is_transient(exc):
            raise
        raise TokenRefused(variable, str(exc.response.get("error"))) from exc


def unreachable_line(exc: BaseException, delay: float) -> str:
    return f"Slack unreachable ({describe(exc)}); retrying in {delay:g} s"


class _OneLine(logging.Filter):
    """A network failure's record as one line, unless its logger logs DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not (isinstance(exc, NETWORK_ERRORS) or is_transient(exc)):
            return True
        if logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return True
        message = record.getMessage()
        # slack_sdk often names the error in its message already.
        if str(exc) not in message:
            message = f"{message} ({describe(exc)})"
        record.msg = message
        record.args = None
        record.exc_info = None
        record.exc_text = None
        return True


class _NotTheTokenWarning(logging.Filter):
    """Drops bolt's "`token` will be unused": bolt reads SLACK_BOT_TOKEN from the environment
    beside the client the adapter gives it, which holds that same token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def quiet_library_logs() -> None:
    """Put the one-line filter on the Socket Mode client's and bolt's loggers (once)."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _OneLine) for f in logger.filters):
            logger.addFilter(_OneLine())
    bolt = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _NotTheTokenWarning) for f in bolt.filters):
        bolt.addFilter(_NotTheTokenWarning())
