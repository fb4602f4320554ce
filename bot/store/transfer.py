"""Moving a whole database: export to JSON Lines and import back, on any engine.

I/O: the database through the caller's ``Database``; the stream given.

An export holds, one JSON object a line, in this order:

1. each channel (``"kind": "channel"``) with its schedule, pause, digest
   window and topics;
2. each paper (no ``kind``: the shape ``digestbot export`` has always
   written, so an older export imports as a catalog), oldest entry first,
   with when it entered the catalog (``first_seen``, and ``entered`` among
   the catalog's writes, which orders the channels' digest windows);
3. each delivery (``"kind": "delivery"``): a channel, a paper, its status,
   and the message that showed it when known (``"message"``: channel, id, link);
4. each rating (``"kind": "rating"``): a channel, a paper, a person, the vote;
5. each paper of a reading list (``"kind": "saved"``): a channel, a paper,
   who saved it and when, who has read it and when;
6. each feed (``"kind": "feed"``) with its state.

Catalog revisions are per database, so an import maps them: a channel's
window ("papers that entered after its last digest") is kept by importing
the papers in the order they entered, cut wherever a channel's window
ends. A channel's next digest in the new database shows exactly what it
would have shown in the old one.
"""

from __future__ import annotations

import json
import typing
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.model.address import ChannelError, parse_address
from bot.model.papers import PaperRecord
from bot.store.catalog import UpsertResult, check_id, current_revision, id_order, record_from_row
from bot.store.channels import find_channel
from bot.store.db import Database
from bot.store.models import (
    NAME_PATTERN, Channel, Delivery, Feed, Paper, PaperRead, Rating, SavedPaper, Topic,
)

__all__ = ["ExportCounts", "ImportCounts", "NotAnExport", "export_database", "import_database"]

PAPERS = typing.cast(Table, Paper.__table__)
DELIVERIES = typing.cast(Table, Delivery.__table__)
RATINGS = typing.cast(Table, Rating.__table__)
SAVED = typing.cast(Table, SavedPaper.__table__)
READS = typing.cast(Table, PaperRead.__table__)
Store = Callable[[Sequence[PaperRecord], Collection[str]], UpsertResult]

_CHANNEL_FIELDS = (
    "timezone", "digest_time", "cadence", "max_papers", "paused", "paused_reason", "thread_updates",
)
_FEED_FIELDS = (
    "name", "url", "origin", "enabled", "disabled_reason", "etag", "last_modified",
    "last_status", "last_error", "failures", "papers_added",
)
_FEED_TIMES = ("last_fetch_at", "last_success_at", "next_fetch_at", "created_at")


def _time(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _aware(value: object, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    when = datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        raise ValueError(f"{name} needs a time zone, e.g. +00:00")
    return when


@dataclass
class ImportCounts:
    """What an import brought besides papers."""

    channels: int = 0
    topics: int = 0
    deliveries: int = 0
    feeds: int = 0
    ratings: int = 0
    saved: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"channels={self.channels} topics={self.topics} "
                f"deliveries={self.deliveries} feeds={self.feeds}"
                + (f" ratings={self.ratings}" if self.ratings else "")
                + (f" saved={self.saved}" if self.saved else ""))


@dataclass(frozen=True)
class ExportCounts:
    """What an export wrote."""

    channels: int
    papers: int
    deliveries: int
    feeds: int
    ratings: int = 0
    saved: int = 0

    def summary(self) -> str:
        """``14 papers, 2 channels, 40 deliveries and 1 feed`` (and ratings and saved
        papers, when any)."""
        parts = [
            f"{count:,} {one if count == 1 else many}"
            for count, one, many in (
                (self.papers, "paper", "papers"), (self.channels, "channel", "channels"),
                (self.deliveries, "delivery", "deliveries"),
                *([(self.ratings, "rating", "ratings")] if self.ratings else []),
                *([(self.saved, "saved paper", "saved papers")] if self.saved else []),
                (self.feeds, "feed", "feeds"),
            )
        ]
        return ", ".join(parts[:-1]) + " and " + parts[-1]


def export_database(db: Database, out: IO[str]) -> ExportCounts:
    """Write channels, papers, deliveries, ratings and feeds; says how many of each."""
    write = lambda data: out.write(json.dumps(data, ensure_ascii=False) + "\n")  # noqa: E731
    with db.session() as session:
        addresses: dict[int, str] = {}
        for channel in session.scalars(select(Channel).order_by(Channel.id)):
            addresses[channel.id] = channel.address
            topics = session.scalars(
                select(Topic).where(Topic.channel_id == channel.id).order_by(Topic.id)
            )
            write({
                "kind": "channel",
                "address": channel.address,
                **{name: getattr(channel, name) for name in _CHANNEL_FIELDS},
                "created_at": _time(channel.created_at),
                "last_digest_at": _time(channel.last_digest_at),
                "last_entered": channel.last_revision,
                "last_scheduled_on": _time(channel.last_scheduled_on),
                "topics": [[t.query, _time(t.created_at)] for t in topics],
            })
        count = deliveries = feeds = 0
        for entered, record in _papers_by_entry(session):
            data = record.to_json()
            data["first_seen"] = _time(record.extra["first_seen"])
            data["updated_at"] = _time(record.extra["updated_at"])
            data["entered"] = entered
            write(data)
            count += 1
        rows = session.execute(select(DELIVERIES).order_by(DELIVERIES.c.id)).yield_per(5000)
        for row in rows:
            write({
                "kind": "delivery",
                "channel": addresses[row.channel_id],
                "paper_id": row.paper_id,
                "status": row.status,
                "attempts": row.attempts,
                "error": row.error,
                "created_at": _time(row.created_at),
                "sent_at": _time(row.sent_at),
                "message": None if row.message_id is None else {
                    "channel": row.message_channel, "id": row.message_id,
                    "link": row.message_link},
            })
            deliveries += 1
        ratings = 0
        for row in session.execute(select(RATINGS).order_by(RATINGS.c.id)).yield_per(5000):
            write({
                "kind": "rating",
                "channel": addresses[row.channel_id],
                "paper_id": row.paper_id,
                "user": row.user_id,
                "vote": row.vote,
                "created_at": _time(row.created_at),
                "updated_at": _time(row.updated_at),
            })
            ratings += 1
        saved = 0
        readers: dict[int, list[list[Any]]] = {}
        for row in session.execute(select(READS).order_by(READS.c.read_at, READS.c.id)):
            readers.setdefault(row.saved_id, []).append(
                [row.user_id, row.user_name, _time(row.read_at)])
        for row in session.execute(select(SAVED).order_by(SAVED.c.id)).yield_per(5000):
            write({
                "kind": "saved",
                "channel": addresses[row.channel_id],
                "paper_id": row.paper_id,
                "saved_by": row.saved_by,
                "saved_by_name": row.saved_by_name,
                "saved_at": _time(row.saved_at),
                "read_by": readers.get(row.id, []),
            })
            saved += 1
        for feed in session.scalars(select(Feed).order_by(Feed.id)):
            write({
                "kind": "feed",
                **{name: getattr(feed, name) for name in _FEED_FIELDS},
                **{name: _time(getattr(feed, name)) for name in _FEED_TIMES},
            })
            feeds += 1
    return ExportCounts(channels=len(addresses), papers=count, deliveries=deliveries, feeds=feeds,
                        ratings=ratings, saved=saved)


def _papers_by_entry(session: Session) -> Iterator[tuple[int, PaperRecord]]:
    stmt = select(PAPERS).order_by(PAPERS.c.entered_revision, id_order(session))
    for row in session.execute(stmt.execution_options(yield_per=2000)):
        yield row.entered_revision, record_from_row(row)


def paper_from_json(data: dict[str, Any]) -> PaperRecord:
    record = PaperRecord.from_json(data)
    if not record.id.strip() or not record.title.strip():
        raise ValueError("a paper needs an id and a title")
    check_id(record.id)
    for stamp in ("first_seen", "updated_at"):
        when = _aware(data.get(stamp), stamp)
        if when is not None:
            record.extra[stamp] = when
    return record


class _Importer:
    """One import: channels first (their windows cut the papers), then the rest."""

    def __init__(self, db: Database, store: Store, counts: ImportCounts, label: str) -> None:
        self.db = db
        self.store = store
        self.counts = counts
        self.label = label
        self.result = UpsertResult()
        # Windows of the imported channels, as "entered" values of the export,
        # and the channel ids waiting for each one's revision here.
        self.windows: dict[int, list[int]] = {}
        self.cuts: list[int] = []
        self.batch: list[PaperRecord] = []
        self.not_news: set[str] = set()
        self.segment: int | None = None
        self.finished = False
        self.channel_ids: dict[str, int | None] = {}

    def problem(self, number: int, text: str) -> None:
        self.counts.problems.append(f"{self.label}:{number}: {text}")

    def channel(self, number: int, data: dict[str, Any]) -> None:
        try:
            address = parse_address(str(data["address"]))
            topics = [(str(q), _aware(t, "topic created_at")) for q, t in data.get("topics", [])]
            created = _aware(data.get("created_at"), "created_at")
            last_digest = _aware(data.get("last_digest_at"), "last_digest_at")
            scheduled = data.get("last_scheduled_on")
            last_scheduled = date.fromisoformat(scheduled) if scheduled else None
            settings = {name: data[name] for name in _CHANNEL_FIELDS if name in data}
        except (KeyError, ValueError, TypeError, ChannelError) as exc:
            self.problem(number, f"not a channel record ({exc})")
            return
        with self.db.session() as session:
            channel = find_channel(session, address)
            if channel is None:
                channel = Channel(
                    platform=address.platform, workspace=address.workspace,
                    channel=address.channel, created_at=created or datetime.now().astimezone(),
                    last_digest_at=last_digest, last_scheduled_on=last_scheduled,
                    **{"timezone": "UTC", "digest_time": "09:00", "cadence": "daily",
                       "max_papers": 10, "paused": False, **settings},
                )
                session.add(channel)
                session.flush()
                self.counts.channels += 1
                entered = data.get("last_entered")
                if isinstance(entered, int):
                    self.windows.setdefault(entered, []).append(channel.id)
            known = set(session.scalars(select(Topic.query).where(Topic.channel_id == channel.id)))
            for query, when in topics:
                if query not in known:
                    session.add(Topic(channel_id=channel.id, query=query,
                                      created_at=when or channel.created_at))
                    known.add(query)
                    self.counts.topics += 1

    def paper(self, number: int, data: dict[str, Any]) -> None:
        try:
            record = paper_from_json(data)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self.problem(number, f"not a paper record ({exc})")
            return
        entered = data.get("entered")
        if not self.cuts and self.windows:
            self.cuts = sorted(self.windows)
        if isinstance(entered, int) and self.cuts:
            segment = bisect_left(self.cuts, entered)
            if segment != self.segment:  # windows that end before this paper entered
                self.flush(closing=range(self.segment or 0, segment))
            self.segment = segment
        if entered == 0:
            self.not_news.add(record.id)
        self.batch.append(record)
        if len(self.batch) >= 5000:
            self.flush()

    def flush(self, closing: range = range(0)) -> None:
        if self.batch:
            result = self.store(self.batch, self.not_news)
            self.result.new += result.new
            self.result.updated += result.updated
            self.result.unchanged += result.unchanged
            self.batch, self.not_news = [], set()
        if closing:
            with self.db.session() as session:
                revision = current_revision(session)
                for index in closing:
                    for channel_id in self.windows.pop(self.cuts[index], []):
                        channel = session.get(Channel, channel_id)
                        if channel is not None:
                            channel.last_revision = revision

    def finish(self) -> None:
        """Papers done: every window not closed yet ends at the catalog as it is now."""
        if self.finished:
            return
        self.finished = True
        self.flush()
        with self.db.session() as session:
            revision = current_revision(session)
            for ids in self.windows.values():
                for channel_id in ids:
                    channel = session.get(Channel, channel_id)
                    if channel is not None:
                        channel.last_revision = revision
        self.windows = {}

    def deliveries(self, chunk: list[tuple[int, dict[str, Any]]]) -> None:
        """Insert a chunk of delivery records; one already there is left alone."""
        self.counts.deliveries += self._channel_rows(
            chunk, DELIVERIES, _delivery_values, kind="delivery",
            missing="a delivery of {paper} to {channel}")

    def ratings(self, chunk: list[tuple[int, dict[str, Any]]]) -> None:
        """Insert a chunk of rating records; one already there is left alone."""
        self.counts.ratings += self._channel_rows(
            chunk, RATINGS, _rating_values, kind="rating", missing="a rating of {paper} in {channel}")

    def saved(self, chunk: list[tuple[int, dict[str, Any]]]) -> None:
        """Insert a chunk of reading-list records and who read each; one already there
        is left alone, and so are its readers."""
        self.counts.saved += self._channel_rows(
            chunk, SAVED, _saved_values, kind="saved",
            missing="a saved paper {paper} in {channel}")
        wanted = {(str(d.get("channel")), str(d.get("paper_id"))): (n, d.get("read_by"))
                  for n, d in chunk if d.get("read_by")}
        if not wanted:
            return
        rows: list[dict[str, Any]] = []
        with self.db.session() as session:
            for (address, paper_id), (number, read_by) in wanted.items():
                try:
                    channel_id = self.channel_ids.get(str(parse_address(address)))
                except ChannelError:
                    continue
                saved_id = session.scalar(select(SAVED.c.id).where(
                    SAVED.c.channel_id == channel_id, SAVED.c.paper_id == paper_id))
                if saved_id is None:
                    continue  # reported as its saved record's problem
                try:
                    rows += [{"saved_id": saved_id, "user_id": str(user)[:100],
                              "user_name": str(name or "")[:200],
                              "read_at": _aware(when, "read_at")}
                             for user, name, when in read_by or ()]
                except (ValueError, TypeError) as exc:
                    self.problem(number, f"the readers of {paper_id} in {address} are not "
                                         f"[user, name, time] lists ({exc})")
            rows = [row for row in rows if row["read_at"] is not None]
            if rows:
                session.execute(_insert_ignoring(session, READS), rows)

    def _channel_rows(
        self, chunk: list[tuple[int, dict[str, Any]]], table: Table,
        values_of: Callable[[dict[str, Any]], dict[str, Any]], *, kind: str, missing: str,
    ) -> int:
        """Insert records naming a channel and a paper (``values_of`` reads the
        rest); returns how many rows were added."""
        rows: list[dict[str, Any]] = []
        with self.db.session() as session:
            wanted = {str(d.get("paper_id")) for _, d in chunk}
            known = set(session.scalars(select(Paper.id).where(Paper.id.in_(wanted))))
            for number, data in chunk:
                try:
                    address = str(parse_address(str(data["channel"])))
                    values = {"paper_id": str(data["paper_id"]), **values_of(data)}
                except (KeyError, ValueError, TypeError, ChannelError) as exc:
                    self.problem(number, f"not a {kind} record ({exc})")
                    continue
                if address not in self.channel_ids:
                    channel = find_channel(session, parse_address(address))
                    self.channel_ids[address] = channel.id if channel is not None else None
                channel_id = self.channel_ids[address]
                if channel_id is None or values["paper_id"] not in known:
                    named = missing.format(paper=values["paper_id"], channel=address)
                    self.problem(number, f"{named}, a channel or paper this import does not hold")
                    continue
                rows.append({"channel_id": channel_id, **values})
            if not rows:
                return 0
            before = _count(session, table)
            session.execute(_insert_ignoring(session, table), rows)
            return _count(session, table) - before

    def feed(self, number: int, data: dict[str, Any], session: Session) -> None:
        try:
            values = {name: data[name] for name in _FEED_FIELDS}
            values.update({name: _aware(data.get(name), name) for name in _FEED_TIMES})
            if not values["created_at"] or not NAME_PATTERN.match(str(values["name"])):
                raise ValueError("needs a valid name and created_at")
        except (KeyError, ValueError, TypeError) as exc:
            self.problem(number, f"not a feed record ({exc})")
            return
        taken = session.scalar(
            select(Feed.id).where((Feed.url == values["url"]) | (Feed.name == values["name"]))
        )
        if taken is None:
            session.add(Feed(**values))
            self.counts.feeds += 1


def _delivery_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {
        "status": str(data["status"]),
        "attempts": int(data.get("attempts") or 0),
        "error": data.get("error"),
        "created_at": _aware(data.get("created_at"), "created_at"),
        "sent_at": _aware(data.get("sent_at"), "sent_at"),
        **_message_values(data.get("message")),
    }
    if values["status"] not in ("pending", "sent", "failed"):
        raise ValueError("status must be pending, sent or failed")
    if values["created_at"] is None:
        raise ValueError("needs created_at")
    return values


def _message_values(message: object) -> dict[str, str | None]:
    """A delivery's message columns from its export (null, or absent from an export made
    before the ledger kept messages: not known)."""
    if message is None:
        return {"message_channel": None, "message_id": None, "message_link": None}
    if not isinstance(message, dict) or not all(
        isinstance(message.get(key), str) for key in ("channel", "id")
    ) or not isinstance(message.get("link"), str | None):
        raise ValueError("message must hold a channel, an id and a link (or null)")
    return {"message_channel": message["channel"], "message_id": message["id"],
            "message_link": message.get("link")}


def _rating_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {
        "user_id": str(data["user"])[:100],
        "vote": int(data["vote"]),
        "created_at": _aware(data.get("created_at"), "created_at"),
        "updated_at": _aware(data.get("updated_at"), "updated_at"),
    }
    if values["vote"] not in (1, -1):
        raise ValueError("vote must be 1 or -1")
    if values["created_at"] is None or values["updated_at"] is None:
        raise ValueError("needs created_at and updated_at")
    return values


def _saved_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {
        "saved_by": str(data["saved_by"])[:100],
        "saved_by_name": str(data.get("saved_by_name") or "")[:200],
        "saved_at": _aware(data.get("saved_at"), "saved_at"),
    }
    if values["saved_at"] is None:
        raise ValueError("needs saved_at")
    return values


class NotAnExport(UserError):
    """The file to import is not what ``digestbot export`` writes; nothing was imported."""


def import_database(
    db: Database,
    lines: Iterator[tuple[int, str]],
    *,
    store: Store,
    label: str,
) -> tuple[UpsertResult, int, ImportCounts]:
    """Import an export (or a plain catalog export); returns the papers' result,
    the papers skipped as bad lines, and the rest's counts and problems."""
    counts = ImportCounts()
    importer = _Importer(db, store, counts, label)
    later: list[tuple[int, dict[str, Any]]] = []
    bad_papers = 0
    first = True
    for number, line in lines:
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            if first:  # a seed file, a CSV...: say so once, import nothing
                raise NotAnExport(
                    f"{label} is not a digestbot export: line {number} is not a JSON object "
                    f"({exc}). import reads what `digestbot export` writes; seed files go in "
                    "with `digestbot seed FILE`."
                ) from None
            importer.problem(number, f"not JSON, skipped ({exc})")
            bad_papers += 1
            continue
        first = False
        kind = data.get("kind")
        if kind is None:
            before = len(counts.problems)
            importer.paper(number, data)
            bad_papers += len(counts.problems) - before
        elif kind == "channel":
            importer.channel(number, data)
        elif kind in ("delivery", "rating", "saved", "feed"):
            later.append((number, data))  # stored once the papers they name are
        else:
            importer.problem(number, f"unknown record kind {kind!r}")
        if len(later) >= 2000:
            _after_papers(importer, later)
            later = []
    _after_papers(importer, later)
    return importer.result, bad_papers, counts


def _after_papers(importer: _Importer, records: list[tuple[int, dict[str, Any]]]) -> None:
    importer.finish()  # deliveries, ratings and feeds name papers: those come first
    deliveries = [(n, d) for n, d in records if d["kind"] == "delivery"]
    if deliveries:
        importer.deliveries(deliveries)
    ratings = [(n, d) for n, d in records if d["kind"] == "rating"]
    if ratings:
        importer.ratings(ratings)
    saved = [(n, d) for n, d in records if d["kind"] == "saved"]
    if saved:
        importer.saved(saved)
    feeds = [(n, d) for n, d in records if d["kind"] == "feed"]
    if feeds:
        with importer.db.session() as session:
            for number, data in feeds:
                importer.feed(number, data, session)


def _count(session: Session, table: Table) -> int:
    return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _insert_ignoring(session: Session, table: Table) -> Any:
    """An INSERT for many rows that skips a row whose key is taken."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
