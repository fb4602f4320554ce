"""Reaching Discord: what a failed attempt says, how long until the next, and quiet libraries.

Discord unreachable (no network, DNS down, a proxy refusing) is an expected
failure: one line per attempt says what failed and when the next attempt
comes, e.g. ``Discord unreachable (DNS lookup failed for discord.com);
retrying in 30 s``. A token Discord refuses ends the attempts
(``TokenRefused``): waiting will not fix it.

discord.py and aiohttp log their own failures with a traceback (discord.py
on each gateway reconnect); ``quiet_library_logs`` turns such records into
one line while their logger is not at DEBUG (``digestbot -vv run``, or
``log_level = "DEBUG"``, shows the tracebacks). Records of other exceptions,
bugs rather than the network, keep their traceback.

No I/O: the adapter (``adapters.discord.adapter``) does the connecting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence

import aiohttp
import discord

from bot.errors import UserError

__all__ = [
    "NETWORK_ERRORS",
    "RETRY_SECONDS",
    "TokenRefused",
    "delays",
    "describe",
    "quiet_library_logs",
    "unreachable_line",
]

# Waits between attempts to log in: quick at first (a blip), then every
# minute (an outage), never hammering Discord.
RETRY_SECONDS: tuple[float, ...] = (5.0, 15.0, 30.0, 60.0)

# Failures that waiting may fix: the network, Discord's servers, the gateway.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # aiohttp's connection errors are OSErrors too
    aiohttp.ClientError,
    asyncio.TimeoutError,
    discord.GatewayNotFound,
    discord.ConnectionClosed,
    discord.DiscordServerError,
)

# The loggers of the libraries under the adapter that log tracebacks of
# network failures.
LIBRARY_LOGGERS = ("discord.client", "discord.gateway", "discord.http", "discord.state",
                   "discord.shard")

_REFUSED = "Discord refused the token ({code}): check DISCORD_TOKEN (the Bot page of the " \
    "application in Discord's developer portal)"


class TokenRefused(UserError):
    """Discord does not accept ``DISCORD_TOKEN`` (401 at login, 4004 at the gateway)."""

    def __init__(self, code: int) -> None:
        super().__init__(_REFUSED.format(code=code))
        self.code = code


def delays(seconds: Sequence[float] = RETRY_SECONDS) -> Iterator[float]:
    """The waits before each next attempt: ``seconds`` in turn, then its last for ever."""
    yield from seconds
    while True:
        yield seconds[-1]


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
        return f"the gateway refused the websocket ({exc.status} {exc.message})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time"
    if isinstance(exc, discord.HTTPException):
        return f"Discord answered {exc.status}"
    if isinstance(exc, discord.ConnectionClosed):
        return f"the gateway closed the connection ({exc.code})"
    if isinstance(exc, discord.GatewayNotFound):
        return "Discord gave no gateway"
    return str(exc) or type(exc).__name__


def unreachable_line(exc: BaseException, delay: float) -> str:
    return f"Discord unreachable ({describe(exc)}); retrying in {delay:g} s"


class _OneLine(logging.Filter):
    """A network failure's record as one line, unless its logger logs DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not isinstance(exc, NETWORK_ERRORS):
            return True
        if logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return True
        record.msg = f"{record.getMessage()} ({describe(exc)})"
        record.args = None
        record.exc_info = None
        record.exc_text = None
        return True


def quiet_library_logs() -> None:
    """Put the one-line filter on discord.py's loggers (once) and drop its voice warnings."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _OneLine) for f in logger.filters):
            logger.addFilter(_OneLine())
    # digestbot has no voice: "PyNaCl is not installed" at each start is noise.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
