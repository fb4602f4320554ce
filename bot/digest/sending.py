"""What a digest run asks of an adapter's send, and what it reports back.

``Post`` is the adapter's send: it posts one message and MAY return how
many platform messages that took. It MUST raise ``ChannelUnavailable`` (or
``WorkspaceUnavailable``) when the channel (or every channel of the
workspace) can take no posts any more, and SHOULD raise ``PartlySent`` when
a digest split into several messages failed after some were posted.
``Outcome`` is what the run (``bot.digest.deliver``) made of each channel.
No I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.model.messages import Digest, NothingNew

__all__ = ["ChannelUnavailable", "Outcome", "PartlySent", "Post", "WorkspaceUnavailable"]

# Posts one message; may return how many platform messages that took (an int).
Post = Callable[[Digest | NothingNew], object]


class ChannelUnavailable(Exception):
    """Raised by an adapter's send when the channel cannot take posts any more.

    The bot was removed, the channel deleted, or a permission revoked: the
    channel is paused with ``reason`` (shown by the next ``/papers`` there)
    and its papers stay in the ledger until someone resumes it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WorkspaceUnavailable(ChannelUnavailable):
    """Raised by an adapter's send when no channel of the workspace can take posts.

    The token was revoked, the app uninstalled, the account deactivated:
    every channel of the workspace is paused with ``reason``, and the rest
    of the run skips them (their papers stay in the ledger).
    """


class PartlySent(Exception):
    """Raised by an adapter's send when a digest split into several messages
    failed after some were posted: ``paper_ids`` were posted (confirmed as
    sent), the rest are offered again; ``cause`` is what went wrong.
    """

    def __init__(self, paper_ids: Sequence[str], cause: Exception) -> None:
        super().__init__(f"{len(paper_ids)} papers posted before {cause!r}")
        self.paper_ids = tuple(paper_ids)
        self.cause = cause


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What one channel's scheduled run posted: a digest, a quiet-day line, or nothing."""

    address: str
    message: Digest | NothingNew | None
    error: str | None = None
