"""SQLAlchemy tables of the catalog (typed ``Mapped`` models).

The schema is created and upgraded only by the Alembic migrations in
``bot/store/migrations``; a test checks that these models and the migrations agree.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.model.address import ChannelAddress

__all__ = [
    "Base",
    "CatalogMeta",
    "Channel",
    "Delivery",
    "Feed",
    "Paper",
    "PaperChange",
    "Rating",
    "Taste",
    "ThreadNote",
    "Topic",
    "UTCDateTime",
]


NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")

class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}


class Paper(Base):
    __tablename__ = "papers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    authors_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    abstract: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    published: Mapped[date | None] = mapped_column(Date)
    url: Mapped[str | None] = mapped_column(Text)
    code_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    has_code: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(500), default="")
    # The arXiv version last stored (2 for 2402.12345v2); None outside arXiv.
    arxiv_version: Mapped[int | None] = mapped_column(Integer)
    # Where the paper was published besides arXiv, when a source says so, and
    # its project page (a *.github.io site is a page, not a code repository).
    doi: Mapped[str | None] = mapped_column(String(300))
    journal_ref: Mapped[str | None] = mapped_column(Text)
    project_url: Mapped[str | None] = mapped_column(Text)
    # The catalog revision of the last write (bot.store.catalog): the search index
    # catches up on papers whose revision is above the one it holds.
    revision: Mapped[int] = mapped_column(Integer)
    # The catalog revision that first stored the paper: digests take the
    # papers that entered after their previous one. Revisions commit in
    # order, so a write still in flight is never skipped, as a timestamp
    # window could.
    entered_revision: Mapped[int] = mapped_column(Integer)
    # When this catalog first stored the paper: digests select on it.
    first_seen: Mapped[datetime] = mapped_column()
    # When the stored content last changed.
    updated_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        Index("ix_papers_first_seen", "first_seen"),
        Index("ix_papers_revision", "revision"),
        Index("ix_papers_entered_revision", "entered_revision"),
    )


class CatalogMeta(Base):
    """Small facts about this catalog, such as its identity (``catalog_id``)."""

    __tablename__ = "catalog_meta"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Channel(Base):
    """A chat channel digestbot posts to: ``<platform>:<workspace>/<channel>``."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(40))
    workspace: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(200))
    # IANA time zone and local "HH:MM" of the channel's digest.
    timezone: Mapped[str] = mapped_column(String(64))
    digest_time: Mapped[str] = mapped_column(String(5))
    # "daily", "weekdays" or "weekly mon" .. "weekly sun".
    cadence: Mapped[str] = mapped_column(String(20), default="daily")
    max_papers: Mapped[int] = mapped_column(Integer, default=10)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()
    # When the channel's last digest was built, and the catalog revision it
    # read: the next digest takes the papers that entered after it.
    last_digest_at: Mapped[datetime | None] = mapped_column()
    last_revision: Mapped[int | None] = mapped_column(Integer)
    # The local day of the channel's last scheduled digest: at most one a day,
    # even when a daylight-saving change repeats the scheduled hour.
    last_scheduled_on: Mapped[date | None] = mapped_column(Date)
    # Whether a paper's later versions and code releases are noted in the
    # thread of the message that carried it (``/papers updates on|off``).
    thread_updates: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    __table_args__ = (UniqueConstraint("platform", "workspace", "channel", name="uq_channels_address"),)

    @property
    def address(self) -> ChannelAddress:
        return ChannelAddress(self.platform, self.workspace, self.channel)


class Topic(Base):
    """A topic a channel follows: a query of the search language, in canonical form."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    query: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()

    __table_args__ = (UniqueConstraint("channel_id", "query", name="uq_topics_channel_query"),)


class Delivery(Base):
    """The delivery ledger: one row per (channel, paper) a digest took.

    ``status`` is ``pending`` from the moment a digest claims the paper until
    the platform accepted the message (``sent``) or refused it (``failed``).
    A paper ``sent`` to a channel is never sent there again; ``pending`` and
    ``failed`` ones are offered again by the channel's next digest.

    ``message_channel``, ``message_id`` and ``message_link`` name the
    platform message that showed a ``sent`` paper (``bot.model.address.MessageRef``),
    when the adapter said which: NULL for the console, and for papers sent
    before the ledger kept them (revision 0009).
    """

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"))
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    message_channel: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[str | None] = mapped_column(String(200))
    message_link: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("channel_id", "paper_id", name="uq_deliveries_channel_paper"),
        Index("ix_deliveries_channel_status", "channel_id", "status"),
        Index("ix_deliveries_paper_status", "paper_id", "status"),
    )


class Rating(Base):
    """What one person in a channel said of one paper: ``vote`` +1 (relevant) or -1 (not for us).

    One row per (channel, paper, user): a second click changes the vote. The
    channel need not have been sent the paper (a search result is rated too).
    """

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"))
    user_id: Mapped[str] = mapped_column(String(100))
    vote: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        UniqueConstraint("channel_id", "paper_id", "user_id", name="uq_ratings_channel_paper_user"),
    )


class Taste(Base):
    """What a channel's votes taught its ranking (``bot.digest.taste``): feature weights.

    Learned again from the channel's votes on every vote, so it is never
    behind them; ``votes_since`` is when its votes start counting (a reset
    sets it: older votes stay recorded but teach nothing).
    """

    __tablename__ = "tastes"

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    weights: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    # For each feature among the weights, the word it stands for as papers
    # write it (for people) and how many voted papers show it: [word, papers].
    words: Mapped[dict[str, list[Any]]] = mapped_column(JSON, default=dict)
    liked: Mapped[int] = mapped_column(Integer, default=0)
    disliked: Mapped[int] = mapped_column(Integer, default=0)
    idle: Mapped[str | None] = mapped_column(Text)
    votes_since: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class SavedPaper(Base):
    """A paper on a channel's reading list: who saved it, and when (``/papers save``)."""

    __tablename__ = "saved_papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"))
    saved_by: Mapped[str] = mapped_column(String(100))
    # How the platform named that person when they saved it ("" when it did not).
    saved_by_name: Mapped[str] = mapped_column(String(200), default="")
    saved_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        UniqueConstraint("channel_id", "paper_id", name="uq_saved_papers_channel_paper"),
    )


class PaperRead(Base):
    """One person marked a paper of their channel's reading list read (``/papers read``)."""

    __tablename__ = "paper_reads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    saved_id: Mapped[int] = mapped_column(ForeignKey("saved_papers.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(100))
    user_name: Mapped[str] = mapped_column(String(200), default="")
    read_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        UniqueConstraint("saved_id", "user_id", name="uq_paper_reads_saved_user"),
    )


class Feed(Base):
    """An RSS/Atom feed the ingest job reads, with what its last fetches did.

    ``origin`` is ``config`` for a feed listed in the ``feeds`` setting and
    ``user`` for one added with ``digestbot feeds add``. A feed removed with
    ``feeds remove`` that the configuration still lists stays as a disabled
    row, so the next start does not bring it back.
    """

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    origin: Mapped[str] = mapped_column(String(10))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # Conditional GET: what the server said last time.
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_fetch_at: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    # "200", "304" or "error"; the reason of the last failure, if any.
    last_status: Mapped[str | None] = mapped_column(String(10))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Failures in a row; the feed is left alone until next_fetch_at (backoff).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_fetch_at: Mapped[datetime | None] = mapped_column()
    papers_added: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column()


class PaperChange(Base):
    """Something a digest's readers would want told after a paper was posted: a later arXiv
    version (``version``; ``changed`` says whether its title, abstract or authors changed)
    or code links that appeared on a paper that had none (``code_urls``).

    Written by the import that made the change, in its catalog ``revision``
    (``bot.store.catalog.upsert_papers``); ``bot.digest.updates`` turns it
    into thread notes for the channels that were sent the paper before.
    """

    __tablename__ = "paper_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"))
    revision: Mapped[int] = mapped_column(Integer)
    version: Mapped[int | None] = mapped_column(Integer)
    changed: Mapped[list[str]] = mapped_column(JSON, default=list)
    code_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column()

    __table_args__ = (Index("ix_paper_changes_revision", "revision"),)


class ThreadNote(Base):
    """One change told (or to be told) to one channel, in the thread of the paper's message.

    ``status`` is ``due`` (waiting for ``not_before``), ``posting`` (handed
    to the platform: a crash then leaves it there, and it is never posted
    again), ``sent``, or ``dropped`` (the channel or its message is gone, or
    the platform kept failing; ``error`` says why).
    """

    __tablename__ = "thread_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    paper_id: Mapped[str] = mapped_column(String(64))
    change_id: Mapped[int] = mapped_column(ForeignKey("paper_changes.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    not_before: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    posted_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("channel_id", "change_id", name="uq_thread_notes_channel_change"),
        Index("ix_thread_notes_status", "status", "not_before"),
        Index("ix_thread_notes_channel_paper", "channel_id", "paper_id"),
    )
