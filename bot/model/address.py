"""A channel's address: ``PLATFORM:WORKSPACE/CHANNEL``, parsed once at the edge; and a
message's: ``MessageRef``, what a platform names one posted message by.

The console uses ``console:local/NAME``. The core makes addresses from its
channel rows, adapters from a platform's ids
(``ChannelAddress(platform, workspace, channel)``), and text typed by a
person (the CLI, an export file) goes through ``parse_address``. No I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import UserError

__all__ = [
    "ADDRESS_EXAMPLE", "ChannelAddress", "ChannelError", "MessageRef", "as_address",
    "parse_address",
]

_PART = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}"
_ADDRESS = re.compile(rf"(?P<platform>[a-z][a-z0-9_\-]{{0,39}}):(?P<workspace>{_PART})/(?P<channel>{_PART})")
ADDRESS_EXAMPLE = "console:local/general"


class ChannelError(UserError, ValueError):
    """A channel address that cannot be used; the message says how to write one."""


class ChannelAddress(str):
    """A channel's address: its text, ``PLATFORM:WORKSPACE/CHANNEL``, with its parts.

    The text is what the database, the ledger, exports and logs hold, and an
    address compares equal to it; the parts are split once, when the address
    is made, so nothing downstream parses it again.
    """

    platform: str
    workspace: str
    channel: str

    def __new__(cls, platform: str, workspace: str, channel: str) -> ChannelAddress:
        text = f"{platform}:{workspace}/{channel}"
        if not _ADDRESS.fullmatch(text):
            raise ChannelError(
                f"{text[:80]!r} is not a channel address; write PLATFORM:WORKSPACE/CHANNEL, "
                f"e.g. {ADDRESS_EXAMPLE}."
            )
        address = super().__new__(cls, text)
        address.platform, address.workspace, address.channel = platform, workspace, channel
        return address

    def __getnewargs__(self) -> tuple[str, str, str]:  # type: ignore[override]
        return self.platform, self.workspace, self.channel

    def __repr__(self) -> str:
        return f"ChannelAddress({str(self)!r})"

    @property
    def workspace_key(self) -> str:
        """``PLATFORM:WORKSPACE``: the channels that one token or installation serves."""
        return f"{self.platform}:{self.workspace}"


def parse_address(text: str) -> ChannelAddress:
    match = _ADDRESS.fullmatch(text.strip())
    if not match:
        raise ChannelError(
            f"{text.strip()[:80]!r} is not a channel address; write PLATFORM:WORKSPACE/CHANNEL, "
            f"e.g. {ADDRESS_EXAMPLE}."
        )
    return ChannelAddress(**match.groupdict())


def as_address(value: ChannelAddress | str) -> ChannelAddress:
    """``value`` as an address: the entry points take a typed address or the text of one."""
    return value if isinstance(value, ChannelAddress) else parse_address(value)


@dataclass(frozen=True, kw_only=True)
class MessageRef:
    """One message a platform accepted, as the platform names it: where a digest showed a paper.

    ``channel`` is the platform's id of the channel the message is in and
    ``id`` the message's own (Slack's ``ts``, Discord's message id); both
    are the platform's opaque text. ``link`` opens the message, when the
    adapter could make one without asking the platform (Slack's archive
    link, Discord's jump URL). The adapter makes it: each platform's links
    stay beside its platform, and the core only stores and shows them.
    """

    channel: str
    id: str
    link: str | None = None

    def describe(self) -> str:
        """The message, for a person: ``message ID (LINK)``.

        The id as well as the link: a renderer may break links in reply text
        (Discord's does), and the id still says which message it is.
        """
        return f"message {self.id} ({self.link})" if self.link else f"message {self.id}"
