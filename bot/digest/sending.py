"""What a digest run asks of an adapter's send, and what it reports back.

``Post`` is the adapter's send: it posts one message and MAY return how
many platform messages that took; the digest counts as accepted when it
returns. A send that splits a digest into several platform messages SHOULD
instead return an iterator that yields, message by message, the paper ids
of each one the platform accepted, or a ``Posted`` that also names the
message (``Parts``): each is confirmed in the ledger as it comes, before
the next is asked for, so a process killed between two messages posts none
of the confirmed ones again. ``OnPart`` is how an adapter's ``post``
reports each such message (``bot.chat.runtime.Adapter``). A send MUST
raise ``ChannelUnavailable`` (or ``WorkspaceUnavailable``) when the channel
(or every channel of the workspace) can take no posts any more; one that
returns an int MAY raise ``PartlySent`` when a split digest failed after
some messages were posted. ``NotAllSent`` is what a ``digest`` command
hears when a send failed, and ``Outcome`` what the run
(``bot.digest.deliver``) made of each channel. No I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.errors import UserError
from bot.model.address import MessageRef
from bot.model.messages import Digest, NothingNew

__all__ = [
    "ChannelUnavailable", "NotAllSent", "OnPart", "Outcome", "PartlySent", "Parts", "Post",
    "Posted", "WorkspaceUnavailable",
]


@dataclass(frozen=True)
class Posted:
    """One platform message of a digest, accepted: the papers it shows, and which message it is
    (None: the adapter cannot say)."""

    paper_ids: tuple[str, ...]
    ref: MessageRef | None = None


# Posts one message; may return how many platform messages that took (an int),
# or the ``Parts`` as the platform accepts them.
Post = Callable[[Digest | NothingNew], object]
# Each platform message of a digest, yielded once it was accepted: its paper
# ids, or a ``Posted`` that names the message too.
Parts = Iterator[Sequence[str] | Posted]


class OnPart(Protocol):
    """What an adapter's ``post`` calls as the platform accepts each message of a digest.

    ``paper_ids`` are the papers the message shows; ``ref`` SHOULD name the
    message when the platform's answer does (it is kept in the ledger, and
    ``/papers why`` shows it). An adapter that leaves ``ref`` out reports
    the papers alone.
    """

    def __call__(self, paper_ids: Sequence[str], ref: MessageRef | None = None, /) -> None: ...


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


class NotAllSent(UserError):
    """A digest command's send failed: what was posted, what waits for the next digest.

    ``parts`` and ``posted`` are the platform messages and the papers that
    went out (confirmed as sent); ``kept`` papers are offered again by the
    channel's next digest; ``cause`` is what went wrong.
    """

    def __init__(self, *, parts: int, posted: int, kept: int, cause: Exception) -> None:
        self.parts, self.posted, self.kept, self.cause = parts, posted, kept, cause
        super().__init__(self.line())

    def line(self) -> str:
        """What the user who asked for the digest is told."""
        kept = f"{_papers(self.kept)} will be retried in the next digest"
        if not self.posted:
            return f"The digest could not be posted; its {kept}."
        parts = "1 message" if self.parts == 1 else f"{self.parts} messages"
        return f"Posted {_papers(self.posted)} ({parts}) before the post failed; {kept}."


def _papers(count: int) -> str:
    return "1 paper" if count == 1 else f"{count:,} papers"


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What one channel's scheduled run posted: a digest, a quiet-day line, or nothing."""

    address: str
    message: Digest | NothingNew | None
    error: str | None = None
