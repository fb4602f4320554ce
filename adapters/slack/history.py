"""After a crash in the middle of a digest: which of its papers Slack already shows.

Slack's ``chat.postMessage`` has no idempotency key, so a process that dies
between Slack's answer and the ledger's record of it leaves papers the core
cannot tell posted from not (``Digest.maybe_posted``). Every digest message
therefore carries its papers' ids as message metadata (``metadata_for``);
when the core names such papers, ``History.already_posted`` reads the
channel's messages since that post began (``conversations.history`` with
``include_all_metadata``, the ``channels:history`` and ``groups:history``
scopes) and returns the ones a digest message's metadata names, each with
that message's ``ts`` (the ledger keeps which message showed a paper). Only
then: an ordinary digest reads nothing.

Without the scopes (or when Slack refuses the read for another reason) it
logs that once and finds nothing: the unconfirmed messages are posted
again, as they were before the check existed.

``message_ref`` names a digest message for the ledger, found here or just
posted: its channel, its ``ts`` and the link that opens it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.model.address import MessageRef
from bot.model.messages import Digest

__all__ = ["ARCHIVE_URL", "EVENT_TYPE", "History", "message_ref", "metadata_for"]

log = logging.getLogger(__name__)

EVENT_TYPE = "digestbot_digest"
# Messages read at most: a digest's messages are among a channel's last few.
PAGE, PAGES = 200, 5
# Slack's clock and ours may differ a little: look back this much further.
SKEW = timedelta(minutes=5)
_NO_SCOPE = ("missing_scope", "not_allowed_token_type", "no_permission")


# A message's link without asking Slack (chat.getPermalink would be one call
# a message): Slack's archive path, "p" and the ts without its dot. The
# workspace's own domain is not known here; slack.com takes the reader to it.
ARCHIVE_URL = "https://slack.com/archives/{channel}/p{ts}"


def message_ref(channel: str, ts: str) -> MessageRef:
    """The digest message ``ts`` in ``channel``, as the ledger keeps it."""
    return MessageRef(channel=channel, id=ts,
                      link=ARCHIVE_URL.format(channel=channel, ts=ts.replace(".", "")))


def metadata_for(paper_ids: Sequence[str]) -> dict[str, Any] | None:
    """The ``metadata`` of a digest message showing ``paper_ids`` (None: not a digest's)."""
    if not paper_ids:
        return None
    return {"event_type": EVENT_TYPE, "event_payload": {"papers": list(paper_ids)}}


class History:
    """Reads back a channel's digest messages; one per adapter (it logs a refusal once)."""

    def __init__(self) -> None:
        self._refusal_logged = False

    async def already_posted(
        self, client: AsyncWebClient, channel: str, digest: Digest
    ) -> dict[str, str | None]:
        """The ``digest.maybe_posted`` papers a digest message in ``channel`` already shows,
        each with the ``ts`` of the message that shows it (None: Slack gave none)."""
        wanted = set(digest.maybe_posted)
        if not wanted:
            return {}
        oldest = ("0" if digest.maybe_posted_after is None
                  else f"{(digest.maybe_posted_after - SKEW).timestamp():.6f}")
        found: dict[str, str | None] = {}
        cursor: str | None = None
        for _ in range(PAGES):
            try:
                answer = await client.conversations_history(
                    channel=channel, oldest=oldest, include_all_metadata=True, limit=PAGE,
                    cursor=cursor,
                )
            except SlackApiError as exc:
                self._refused(channel, str(exc.response.get("error")))
                return found
            for message in answer.get("messages") or ():
                ts = message.get("ts")
                for paper_id in wanted & _papers_of(message):
                    # Newest first: a paper shown twice keeps the older message read.
                    found[paper_id] = ts if isinstance(ts, str) else None
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
            if found.keys() == wanted or not cursor:
                break
        return found

    def _refused(self, channel: str, error: str) -> None:
        if self._refusal_logged:
            return
        self._refusal_logged = True
        if error in _NO_SCOPE:
            log.warning(
                "Slack: cannot read %s's history (%s): a digest interrupted by a crash posts "
                "its unconfirmed messages again. Add the channels:history and groups:history "
                "scopes (config/slack-manifest.yml) and reinstall the app.", channel, error)
        else:
            log.warning("Slack: cannot read %s's history (%s): a digest interrupted by a "
                        "crash posts its unconfirmed messages again", channel, error)


def _papers_of(message: dict[str, Any]) -> set[str]:
    """The papers a digest message shows, from its metadata."""
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != EVENT_TYPE:
        return set()
    papers = (metadata.get("event_payload") or {}).get("papers")
    if not isinstance(papers, list):
        return set()
    return {p for p in papers if isinstance(p, str)}
