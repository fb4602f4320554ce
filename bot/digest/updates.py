"""Thread notes: a paper's later news, told in the thread of the message that carried it.

When an import stores a later arXiv version of a paper, or code links on a
paper that had none, it records a ``PaperChange`` (``bot.store.catalog``).
``Updates.run`` turns the changes since its last run into one due note per
channel that was sent the paper before the change, in a message the ledger
names (``Delivery.message_id``), with ``thread_updates`` on and not paused;
then it posts the due notes through ``send``, the changes of one paper to
one channel merged into one note.

The rules a channel sees:

- never a top-level post for news of a posted paper, unless its message is
  gone (the adapter then posts the note to the channel, saying so);
- never twice for one change: a note is ``posting`` in the database before
  it is handed to the platform, and one a crash left there is never posted
  again (at most once, as a note matters less than a digest's paper);
- at most one note per paper and channel in ``NOTE_EVERY``: news that comes
  sooner waits, and goes with the next;
- a channel the bot can no longer post to drops its notes, logged; a note
  the platform keeps refusing is dropped after ``ATTEMPTS`` tries, never
  retried forever.

Only the process that runs the scheduler runs this (after each ingest).
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, func, select, update
from sqlalchemy.orm import Session

from bot.digest.ledger import SENT, chunked, message_of
from bot.digest.sending import ChannelUnavailable, WorkspaceUnavailable
from bot.model.links import repo_label
from bot.model.messages import CodeLink, PaperNote
from bot.store.catalog import current_revision, get_papers, set_meta
from bot.store.db import Database, insert_missing
from bot.store.models import CatalogMeta, Channel, Delivery, PaperChange, ThreadNote

__all__ = [
    "ATTEMPTS", "DROPPED", "DUE", "NOTE_EVERY", "POSTING", "SENT_NOTE", "THREAD", "TOP_LEVEL",
    "NoteSend", "NotesReport", "Updates",
]

log = logging.getLogger(__name__)

DUE, POSTING, SENT_NOTE, DROPPED = "due", "posting", "sent", "dropped"
# Where a note went: what ``NoteSend`` returns.
THREAD, TOP_LEVEL = "thread", "channel"
# At most one note per paper and channel in this time.
NOTE_EVERY = timedelta(hours=24)
# A note the platform refused for a reason worth retrying is tried this many
# times, RETRY_AFTER apart, then dropped.
ATTEMPTS = 3
RETRY_AFTER = timedelta(hours=1)
# The catalog revision whose changes were last turned into notes.
BOOKMARK_KEY = "thread_notes_revision"
_NOTES = typing.cast(Table, ThreadNote.__table__)

# Posts one note; returns THREAD, or TOP_LEVEL when the thread's message was
# gone and the note went to the channel. Raises ``ChannelUnavailable`` (or
# ``WorkspaceUnavailable``) when the channel takes no posts; any other
# exception is a failure worth retrying.
NoteSend = Callable[[PaperNote], str]


@dataclass
class NotesReport:
    """What one ``Updates.run`` did."""

    queued: int = 0
    threaded: int = 0
    top_level: int = 0
    waiting: int = 0
    dropped: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def posted(self) -> int:
        return self.threaded + self.top_level

    def line(self) -> str:
        return (f"thread notes: queued={self.queued} posted={self.posted} "
                f"(top-level={self.top_level}) waiting={self.waiting} failed={self.failed} "
                f"dropped={self.dropped}")


@dataclass(frozen=True)
class _Due:
    """The due notes of one paper for one channel, merged into the note to post."""

    note_ids: tuple[int, ...]
    note: PaperNote


class Updates:
    """The thread notes of every channel, on one database."""

    def __init__(self, *, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def run(self, send: NoteSend) -> NotesReport:
        """Queue the notes of the changes since the last run, then post every due one."""
        report = NotesReport(queued=self.queue())
        for due in self.due(report):
            self._post(due, send, report)
        if report.posted or report.failed or report.dropped:
            log.info("%s", report.line())
        return report

    def queue(self) -> int:
        """Turn the changes committed since the last run into due notes; returns how many."""
        now = self.clock()
        with self.db.session() as session:
            after = _bookmark(session)
            up_to = current_revision(session)
            if up_to <= after:
                return 0
            rows = session.execute(
                select(PaperChange.id, PaperChange.paper_id, Delivery.channel_id)
                .join(Delivery, Delivery.paper_id == PaperChange.paper_id)
                .join(Channel, Channel.id == Delivery.channel_id)
                .where(
                    PaperChange.revision > after, PaperChange.revision <= up_to,
                    Delivery.status == SENT, Delivery.message_id.is_not(None),
                    # What was posted after the change showed it already.
                    Delivery.sent_at < PaperChange.created_at,
                    Channel.thread_updates.is_(True), Channel.paused.is_(False),
                )
            ).all()
            dialect = session.get_bind().dialect
            queued = 0
            for change_id, paper_id, channel_id in rows:
                # RETURNING says whether the row was new (rowcount is -1 on PostgreSQL here).
                made = session.execute(insert_missing(
                    _NOTES, dialect, channel_id=channel_id, paper_id=paper_id,
                    change_id=change_id, status=DUE, not_before=now, attempts=0,
                ).returning(_NOTES.c.id)).all()
                queued += len(made)
            set_meta(session, {BOOKMARK_KEY: str(up_to)})
            return queued

    def due(self, report: NotesReport | None = None) -> list[_Due]:
        """The notes to post now, one per paper and channel; those held back by
        ``NOTE_EVERY`` are set to wait until their time (counted in ``report``)."""
        now = self.clock()
        with self.db.session() as session:
            notes = session.scalars(
                select(ThreadNote)
                .where(ThreadNote.status == DUE, ThreadNote.not_before <= now)
                .order_by(ThreadNote.channel_id, ThreadNote.paper_id, ThreadNote.id)
            ).all()
            groups: dict[tuple[int, str], list[ThreadNote]] = {}
            for note in notes:
                groups.setdefault((note.channel_id, note.paper_id), []).append(note)
            if not groups:
                return []
            last = _last_posted(session, list(groups))
            ready = []
            for key, group in groups.items():
                told = last.get(key)
                if told is not None and told + NOTE_EVERY > now:
                    for note in group:
                        note.not_before = told + NOTE_EVERY
                    if report is not None:
                        report.waiting += 1
                    continue
                built = _build(session, key, group)
                if isinstance(built, str):  # nothing to say, or nowhere to say it
                    for note in group:
                        note.status, note.error = DROPPED, built
                    continue
                ready.append(built)
            return ready

    def _post(self, due: _Due, send: NoteSend, report: NotesReport) -> None:
        note = due.note
        with self.db.session() as session:
            # Handed over from now: never posted again, and it counts for NOTE_EVERY.
            _set(session, due.note_ids, status=POSTING, posted_at=self.clock(),
                 attempts=ThreadNote.attempts + 1)
        try:
            where = send(note)
        except (ChannelUnavailable, WorkspaceUnavailable) as exc:
            log.warning("thread note on %s to %s dropped: %s", note.paper_id, note.channel, exc)
            self._end(due, DROPPED, error=str(exc))
            report.dropped += 1
            return
        except Exception as exc:
            with self.db.session() as session:
                attempts = session.scalar(
                    select(func.max(ThreadNote.attempts)).where(ThreadNote.id.in_(due.note_ids)))
            if (attempts or 0) >= ATTEMPTS:
                log.warning("thread note on %s to %s dropped after %d tries: %s",
                            note.paper_id, note.channel, attempts, exc)
                self._end(due, DROPPED, error=f"{ATTEMPTS} tries failed: {exc}")
                report.dropped += 1
            else:
                log.warning("thread note on %s to %s failed (%s); tried again in %s",
                            note.paper_id, note.channel, exc, RETRY_AFTER)
                with self.db.session() as session:
                    _set(session, due.note_ids, status=DUE, error=str(exc), posted_at=None,
                         not_before=self.clock() + RETRY_AFTER)
                report.failed += 1
            report.errors.append(f"{note.channel} {note.paper_id}: {exc}")
            return
        self._end(due, SENT_NOTE, posted_at=self.clock(), error=None)
        if where == TOP_LEVEL:
            report.top_level += 1
        else:
            report.threaded += 1

    def _end(self, due: _Due, status: str, **values: object) -> None:
        with self.db.session() as session:
            _set(session, due.note_ids, status=status, **values)


def _set(session: Session, note_ids: Sequence[int], **values: object) -> None:
    for chunk in chunked(list(note_ids)):
        session.execute(update(ThreadNote).where(ThreadNote.id.in_(chunk)).values(**values))


def _bookmark(session: Session) -> int:
    value = session.scalar(select(CatalogMeta.value).where(CatalogMeta.key == BOOKMARK_KEY))
    if value is None:
        return 0
    return int(value)


def _last_posted(
    session: Session, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], datetime]:
    """When each (channel, paper) was last sent a note (or one was handed to the platform)."""
    channels = sorted({channel_id for channel_id, _ in keys})
    wanted = set(keys)
    last: dict[tuple[int, str], datetime] = {}
    for chunk in chunked(channels):
        rows = session.execute(
            select(ThreadNote.channel_id, ThreadNote.paper_id,
                   func.max(ThreadNote.posted_at))
            .where(ThreadNote.channel_id.in_(chunk),
                   ThreadNote.status.in_((SENT_NOTE, POSTING)))
            .group_by(ThreadNote.channel_id, ThreadNote.paper_id)
        )
        for channel_id, paper_id, when in rows:
            if (channel_id, paper_id) in wanted and when is not None:
                last[channel_id, paper_id] = _aware(when)
    return last


def _aware(when: datetime) -> datetime:
    # An aggregate comes back as the engine stores it (naive UTC on SQLite).
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _build(session: Session, key: tuple[int, str], group: Sequence[ThreadNote]) -> _Due | str:
    """The note of ``group``'s changes, or why there is none."""
    channel_id, paper_id = key
    channel = session.get(Channel, channel_id)
    delivery = session.scalar(select(Delivery).where(
        and_(Delivery.channel_id == channel_id, Delivery.paper_id == paper_id)))
    thread = None if delivery is None else message_of(delivery)
    record = get_papers(session, [paper_id]).get(paper_id)
    if channel is None or thread is None or record is None:
        return "its message is no longer known"
    if channel.paused or channel.thread_updates is False:  # since the note was queued
        return "the channel is paused" if channel.paused else "the channel turned updates off"
    changes = session.scalars(
        select(PaperChange).where(PaperChange.id.in_([n.change_id for n in group]))
        .order_by(PaperChange.id)).all()
    # A version told before (the catalog went back to an older one, then
    # forward again) is not told twice.
    told = session.scalar(
        select(func.max(PaperChange.version))
        .join(ThreadNote, ThreadNote.change_id == PaperChange.id)
        .where(ThreadNote.channel_id == channel_id, ThreadNote.paper_id == paper_id,
               ThreadNote.status.in_((SENT_NOTE, POSTING))))
    versions = [c.version for c in changes
                if c.version is not None and (told is None or c.version > told)]
    changed = [name for name in ("title", "abstract", "authors")
               if any(name in c.changed for c in changes)]
    code = list(dict.fromkeys(url for c in changes for url in c.code_urls))
    if not versions and not code:
        return "told before"
    newest = max(changes, key=lambda c: c.created_at) if changes else None
    day = "" if newest is None else _day(newest.created_at, channel.timezone)
    note = PaperNote(
        channel=channel.address, paper_id=paper_id, title=record.title, url=record.url,
        thread=thread, version=max(versions) if versions else None, day=day,
        changed=tuple(changed),
        code=tuple(CodeLink(label=repo_label(url), url=url) for url in code),
    )
    return _Due(note_ids=tuple(n.id for n in group), note=note)


def _day(moment: datetime, timezone: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local.day} {local:%b}"
