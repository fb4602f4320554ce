"""Selecting a channel's digest, and the delivery ledger behind it.

A digest takes the papers that entered the catalog since the channel's
previous digest (on the first one, in the last ``first_days`` days), plus
any the ledger still holds as ``pending`` or ``failed`` for the channel; it
keeps those matching at least one of the channel's topics and never ``sent``
to it, ranks them by relevance to the topics and then recency, and caps them
at the channel's maximum. The topics run against a small in-memory index of
those candidates, never against the whole catalog.

The window is kept as a catalog revision (``bot.catalog``): revisions
commit in order, so a paper whose import was still committing when a digest
ran is taken by the next one, never skipped.

The ledger makes delivery at-least-once and never twice once a send is
confirmed: ``claim`` records the shown papers as ``pending`` before sending,
``confirm`` marks them ``sent``, ``fail`` marks them ``failed``; a process
that dies between claim and confirm leaves them ``pending`` for the next run.
Functions take a ``Session``; callers own the transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.catalog import PAPERS, current_revision, record_from_row
from bot.index import SearchIndex
from bot.messages import Digest, paper_item
from bot.models import Channel, Delivery
from bot.papers import PaperRecord
from bot.query import parse_query
from bot.search import match_all
from bot.subscriptions import channel_topics

__all__ = ["Selection", "advance", "claim", "confirm", "fail", "select_digest"]

PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass(frozen=True)
class Selection:
    """A channel's digest and the ids of the papers it shows, in order."""

    digest: Digest
    paper_ids: tuple[str, ...]
    # The catalog revision the selection read up to.
    revision: int


def _candidates(
    session: Session, channel: Channel, *, up_to: int, since: datetime
) -> list[PaperRecord]:
    ledger = select(Delivery.paper_id).where(Delivery.channel_id == channel.id)
    retry = ledger.where(Delivery.status.in_((PENDING, FAILED)))
    sent = ledger.where(Delivery.status == SENT)
    entered = PAPERS.c.entered_revision
    if channel.last_revision is None:
        new = (entered <= up_to) & (PAPERS.c.first_seen > since)
    else:
        new = (entered > channel.last_revision) & (entered <= up_to)
    rows = session.execute(
        select(PAPERS).where(or_(new, PAPERS.c.id.in_(retry))).where(PAPERS.c.id.not_in(sent))
    )
    return [record_from_row(row) for row in rows]


def select_digest(
    session: Session, channel: Channel, *, now: datetime, first_days: int = 7
) -> Selection | None:
    """The channel's digest at ``now``, or None when nothing new matches."""
    topics = channel_topics(session, channel)
    if not topics:
        return None
    up_to = current_revision(session)
    since = channel.last_digest_at or now - timedelta(days=first_days)
    candidates = _candidates(session, channel, up_to=up_to, since=since)
    if not candidates:
        return None
    index = SearchIndex.in_memory()
    with index.writer() as writer:
        writer.add(candidates, replace=False)
        writer.commit(0)
    by_id = {record.id: record for record in candidates}
    best: dict[str, float] = {}
    matched: dict[str, list[str]] = {}
    for topic in topics:
        for paper_id, score in match_all(index, parse_query(topic)):
            best[paper_id] = max(score, best.get(paper_id, score))
            matched.setdefault(paper_id, []).append(topic)
    if not best:
        return None

    def rank(paper_id: str) -> tuple[float, int, str]:
        published = by_id[paper_id].published
        return (-round(best[paper_id], 4), -(published.toordinal() if published else 0), paper_id)

    ordered = sorted(best, key=rank)
    shown, rest = ordered[: channel.max_papers], ordered[channel.max_papers :]
    digest = Digest(
        channel=channel.address,
        topics=tuple(topics),
        date=now.date().isoformat(),
        items=tuple(paper_item(by_id[i], matched_topics=matched[i]) for i in shown),
        more=len(rest),
        more_query=_more_query(rest, matched, since) if rest else None,
    )
    return Selection(digest=digest, paper_ids=tuple(shown), revision=up_to)


def _more_query(rest: Sequence[str], matched: dict[str, list[str]], since: datetime) -> str:
    # The topic behind most of the papers left out, limited to the papers
    # the digest considered, is the search that shows the most of them.
    counts: dict[str, int] = {}
    for paper_id in rest:
        for topic in matched[paper_id]:
            counts[topic] = counts.get(topic, 0) + 1
    topic = max(counts, key=lambda t: (counts[t], -len(t)))
    return f"{topic} after:{since.date().isoformat()}"


def claim(session: Session, channel: Channel, selection: Selection, *, now: datetime) -> None:
    """Record the shown papers as ``pending`` and move the channel's window to ``now``."""
    existing = {
        d.paper_id: d
        for d in session.scalars(
            select(Delivery).where(
                Delivery.channel_id == channel.id, Delivery.paper_id.in_(selection.paper_ids)
            )
        )
    }
    for paper_id in selection.paper_ids:
        delivery = existing.get(paper_id)
        if delivery is None:
            session.add(
                Delivery(
                    channel_id=channel.id,
                    paper_id=paper_id,
                    status=PENDING,
                    attempts=1,
                    created_at=now,
                )
            )
        else:
            delivery.status = PENDING
            delivery.attempts += 1
    advance(channel, now=now, revision=selection.revision)
    session.flush()


def advance(channel: Channel, *, now: datetime, revision: int) -> None:
    """Move the channel's window: its next digest takes papers entered after ``revision``."""
    channel.last_digest_at = now
    channel.last_revision = revision


def confirm(session: Session, channel_id: int, paper_ids: Sequence[str], *, now: datetime) -> None:
    """The platform accepted the digest: these papers are ``sent`` for good."""
    session.execute(
        update(Delivery)
        .where(Delivery.channel_id == channel_id, Delivery.paper_id.in_(paper_ids))
        .values(status=SENT, sent_at=now, error=None)
    )


def fail(session: Session, channel_id: int, paper_ids: Sequence[str], *, error: str) -> None:
    """The send failed: the papers are offered again by the channel's next digest."""
    session.execute(
        update(Delivery)
        .where(Delivery.channel_id == channel_id, Delivery.paper_id.in_(paper_ids))
        .values(status=FAILED, error=error[:1000])
    )
