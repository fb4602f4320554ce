"""The one base of every user-facing error in the core.

A ``UserError`` is a mistake a person can fix: a wrong setting, a query
that does not parse, a channel address or schedule that is not one, a feed
command that cannot be done. Its message is written for that person, in
one or two sentences: what went wrong and what to do instead. Whoever
meets the person shows the message as it is: the CLI prints it on one line
and exits 1 (2 for a query mistake, like a usage mistake), a chat command
replies with it. A failure that is nobody's mistake (a crash, a feed
server down, a lost connection) is not a ``UserError``.

Each part of the core keeps its own subclass beside the code that raises
it (``QueryError`` in ``bot.search.query``...), so a caller can still tell
them apart; this module imports nothing, so every layer may import it.
"""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """A mistake the person can fix; the message says what went wrong and what to do."""
