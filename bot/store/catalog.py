"""Upsert and lookup of papers in the catalog database.

Every write to ``papers`` goes through ``upsert_papers``, which stamps the
changed rows with a catalog *revision*: a counter taken under a row lock, so
revisions become visible in commit order on PostgreSQL as on SQLite. The
search index records the newest revision it holds and catches up from there
(``bot.search.index``). Functions take a ``Session``; callers own the transaction.

An update that is news to the readers of a paper already posted (a later
arXiv version, or code links on a paper that had none: ``paper_news``) is
recorded in ``paper_changes`` in the same transaction, for the thread notes
(``bot.digest.updates``). Code that appears on a paper that was news once
makes it news again (its ``entered_revision`` moves to this revision): a
channel that follows only papers with code gets it in its next digest.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Integer,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bot.model.papers import SEED_SOURCE, PaperRecord
from bot.store.db import insert_missing
from bot.store.models import CatalogMeta, Paper, PaperChange

__all__ = [
    "ImportReport",
    "News",
    "ID_LENGTH",
    "UpsertResult",
    "check_id",
    "count_entered",
    "count_papers",
    "current_revision",
    "get_paper",
    "get_papers",
    "id_order",
    "iter_papers",
    "merge_content",
    "meta_values",
    "paper_news",
    "record_from_row",
    "set_meta",
    "upsert_papers",
]

REVISION_KEY = "revision"
# Fields compared to decide whether a stored paper changed.
_CONTENT = (
    "title",
    "authors",
    "authors_truncated",
    "abstract",
    "categories",
    "published",
    "url",
    "code_urls",
    "has_code",
    "source",
    "arxiv_version",
    "doi",
    "journal_ref",
    "project_url",
)
_LOOKUP_BATCH = 500
PAPERS = typing.cast(Table, Paper.__table__)
META = typing.cast(Table, CatalogMeta.__table__)
# Column widths PostgreSQL enforces (SQLite does not): checked here for both.
ID_LENGTH: int = PAPERS.c.id.type.length  # type: ignore[attr-defined]
SOURCE_LENGTH: int = PAPERS.c.source.type.length  # type: ignore[attr-defined]
DOI_LENGTH: int = PAPERS.c.doi.type.length  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ImportReport:
    """What one import source (a seed file, an export) did to the catalog."""

    label: str
    seen: int
    new: int
    updated: int
    skipped: int
    problems: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated)

    def line(self) -> str:
        return (
            f"{self.label}: seen={self.seen} new={self.new} "
            f"updated={self.updated} skipped={self.skipped}"
        )


@dataclass
class UpsertResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    revision: int | None = None
    # The records now stored, in input order: papers new to the catalog, and
    # papers whose stored content changed.
    added: list[PaperRecord] = field(default_factory=list)
    replaced: list[PaperRecord] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.new + self.updated + self.unchanged


def check_id(paper_id: str) -> None:
    """Raises ``ValueError`` saying why, unless ``paper_id`` can be a catalog key."""
    if not paper_id.strip():
        raise ValueError("a paper id cannot be empty")
    if len(paper_id) > ID_LENGTH:
        raise ValueError(f"a paper id has at most {ID_LENGTH} characters, not {len(paper_id)}")
    if "\x00" in paper_id:
        raise ValueError("a paper id cannot contain NUL characters")


def _storable(record: PaperRecord) -> PaperRecord:
    """``record`` as every engine stores it.

    PostgreSQL refuses NUL characters in text and a ``source`` longer than its
    column, both of which SQLite would keep; no paper needs either, so no
    engine stores them: NULs are dropped and the source is cut.
    """
    # One search of the joined text: a small part of an import (see docs/benchmarks.md,
    # section "PostgreSQL", Where the import's time goes).
    texts = "".join((record.title, record.abstract, record.source, record.url or "",
                     *record.authors, *record.categories, *record.code_urls,
                     record.doi or "", record.journal_ref or "", record.project_url or ""))
    if (len(record.source) <= SOURCE_LENGTH and len(record.doi or "") <= DOI_LENGTH
            and "\x00" not in texts):
        return record

    def clean(text: str) -> str:
        return text.replace("\x00", "")

    return dataclasses.replace(
        record,
        title=clean(record.title),
        authors=tuple(map(clean, record.authors)),
        abstract=clean(record.abstract),
        categories=tuple(map(clean, record.categories)),
        url=clean(record.url) if record.url is not None else None,
        code_urls=tuple(map(clean, record.code_urls)),
        source=clean(record.source)[:SOURCE_LENGTH],
        # No real DOI comes near the column's length; a longer one is junk, not kept.
        doi=clean(record.doi) if record.doi and len(record.doi) <= DOI_LENGTH else None,
        journal_ref=clean(record.journal_ref) if record.journal_ref is not None else None,
        project_url=clean(record.project_url) if record.project_url is not None else None,
    )


def _content(record: PaperRecord) -> dict[str, Any]:
    return {
        "title": record.title,
        "authors": list(record.authors),
        "authors_truncated": record.authors_truncated,
        "abstract": record.abstract,
        "categories": list(record.categories),
        "published": record.published,
        "url": record.url,
        "code_urls": list(record.code_urls),
        "has_code": record.has_code,
        "source": record.source,
        "arxiv_version": record.version,
        "doi": record.doi,
        "journal_ref": record.journal_ref,
        "project_url": record.project_url,
    }


def record_from_row(row: Any) -> PaperRecord:
    """A ``PaperRecord`` from a ``Paper`` or a row with the same columns."""
    return PaperRecord(
        id=row.id,
        title=row.title,
        authors=tuple(row.authors or ()),
        authors_truncated=bool(row.authors_truncated),
        abstract=row.abstract or "",
        categories=tuple(row.categories or ()),
        published=row.published,
        url=row.url,
        code_urls=tuple(row.code_urls or ()),
        has_code=bool(row.has_code),
        source=row.source or "",
        version=row.arxiv_version,
        doi=row.doi,
        journal_ref=row.journal_ref,
        project_url=row.project_url,
        extra={"first_seen": row.first_seen, "updated_at": row.updated_at},
    )


def _record(paper_id: str, content: dict[str, Any]) -> PaperRecord:
    fields = {**content, "id": paper_id, "first_seen": None, "updated_at": None}
    return record_from_row(SimpleNamespace(**fields))


def _union(first: Sequence[str], second: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def merge_content(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What to store when a feed brings a paper the catalog already holds.

    - A higher arXiv version replaces the text (title, authors, abstract,
      links) in place; a lower one never does: the version never goes down.
    - Otherwise a record from the paper's own source updates it, and one
      from another source only fills what the stored paper lacks, so two
      feeds that word a paper differently do not change it back and forth.
    - Whatever wins, nothing is lost: categories (a cross-list adds its
      own) and code links are unions, the first ``source`` and the first
      ``published`` date are kept, and an empty field is filled from the
      other side.
    """
    old_version, new_version = old["arxiv_version"], new["arxiv_version"]
    if old_version is not None and new_version is not None and old_version != new_version:
        base, other = (new, old) if new_version > old_version else (old, new)
    elif new["source"] == old["source"]:
        base, other = new, old
    else:
        base, other = old, new
    merged = dict(base)
    for name in ("title", "abstract", "url", "doi", "journal_ref", "project_url", "arxiv_version"):
        if not merged[name] and other[name]:
            merged[name] = other[name]
    if not merged["authors"] and other["authors"]:
        merged["authors"] = other["authors"]
        merged["authors_truncated"] = other["authors_truncated"]
    merged["categories"] = _union(old["categories"], new["categories"])
    merged["code_urls"] = _union(base["code_urls"], other["code_urls"])
    merged["has_code"] = bool(old["has_code"] or new["has_code"] or merged["code_urls"])
    merged["published"] = old["published"] or new["published"]
    merged["source"] = old["source"] or new["source"]
    return merged


def _next_revision(session: Session) -> int:
    # The UPDATE comes first so that it takes the row's write lock before any
    # read: concurrent writers queue here and commit in revision order.
    bump = (
        update(META)
        .where(META.c.key == REVISION_KEY)
        .values(value=cast(cast(META.c.value, Integer) + 1, Text))
    )
    if session.execute(bump).rowcount == 0:  # type: ignore[attr-defined]
        # The catalog's first write. Another process may be making the row
        # right now (on PostgreSQL): then this waits for it, and counts after it.
        dialect = session.get_bind().dialect
        session.execute(insert_missing(META, dialect, key=REVISION_KEY, value="0"))
        session.execute(bump)
    return int(session.scalar(select(META.c.value).where(META.c.key == REVISION_KEY)) or 0)


def current_revision(session: Session) -> int:
    value = session.scalar(select(CatalogMeta.value).where(CatalogMeta.key == REVISION_KEY))
    return int(value) if value else 0


def upsert_papers(
    session: Session,
    records: Iterable[PaperRecord],
    *,
    now: datetime,
    merge: bool = False,
    not_news: Collection[str] = (),
) -> UpsertResult:
    """Insert new papers and update changed ones; identical ones are left alone.

    By default (seed files, restores) a record whose id is already stored
    replaces the stored content when any field differs, and within one call
    a later record with the same id wins. With ``merge`` (feeds) the stored
    paper and the record are merged by ``merge_content``'s rules instead.
    ``first_seen`` never changes. Raises ``ValueError`` (before writing
    anything) for an id ``check_id`` refuses.

    A paper in ``not_news`` that is new to the catalog is stored as one that
    entered it before any digest (``entered_revision`` 0): a revised version
    of an old paper is not news, even to a catalog that never held it.
    """
    result = UpsertResult()
    pending: dict[str, PaperRecord] = {}
    order: list[str] = []
    for record in records:
        check_id(record.id)
        record = _storable(record)
        earlier = pending.get(record.id)
        if earlier is not None:
            result.unchanged += 1  # a repeat inside the input: counted once as a paper
            if merge:
                record = _record(record.id, merge_content(_content(earlier), _content(record)))
        else:
            order.append(record.id)
        pending[record.id] = record
    stored: dict[str, dict[str, Any]] = {}
    columns = [PAPERS.c[name] for name in ("id", *_CONTENT)]
    for start in range(0, len(order), _LOOKUP_BATCH):
        chunk = order[start : start + _LOOKUP_BATCH]
        for row in session.execute(select(*columns).where(Paper.id.in_(chunk))):
            stored[row.id] = {name: getattr(row, name) for name in _CONTENT}

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for paper_id in order:
        record = pending[paper_id]
        content = _content(record)
        old = stored.get(paper_id)
        if old is None:
            # A restored backup keeps when the paper entered and last changed.
            first_seen = record.extra.get("first_seen") or now
            updated_at = record.extra.get("updated_at") or now
            inserts.append(
                {"id": paper_id, **content, "first_seen": first_seen, "updated_at": updated_at}
            )
            result.new += 1
            result.added.append(record)
            continue
        if merge:
            content = merge_content(old, content)
            if any(old[name] != content[name] for name in _CONTENT):
                record = _record(paper_id, content)
        if any(old[name] != content[name] for name in _CONTENT):
            updates.append({"key": paper_id, **content, "updated_at": now})
            result.updated += 1
            result.replaced.append(record)
        else:
            result.unchanged += 1
    if not inserts and not updates:
        return result
    revision = _next_revision(session)
    result.revision = revision
    news = [(values["key"], told) for values in updates
            if (told := paper_news(stored[values["key"]], values)) is not None]
    # Core statements run as one executemany each: the ORM's per-object
    # bookkeeping would cost more than SQLite's own work at bulk sizes.
    for values in (*inserts, *updates):
        values["revision"] = revision
    for values in inserts:
        values["entered_revision"] = 0 if values["id"] in not_news else revision
    if inserts:
        _insert(session, inserts)
    if updates:
        session.execute(update(PAPERS).where(PAPERS.c.id == bindparam("key")), updates)
    if news:
        session.execute(insert(PaperChange), [
            {"paper_id": paper_id, "revision": revision, "version": told.version,
             "changed": list(told.changed), "code_urls": list(told.code_urls), "created_at": now}
            for paper_id, told in news])
        released = [paper_id for paper_id, told in news if told.code_urls]
        for start in range(0, len(released), _LOOKUP_BATCH):
            session.execute(
                update(PAPERS)
                .where(PAPERS.c.id.in_(released[start : start + _LOOKUP_BATCH]),
                       PAPERS.c.entered_revision > 0)
                .values(entered_revision=revision))
    return result


@dataclass(frozen=True)
class News:
    """What a stored paper's update tells the people it was posted to (``paper_news``)."""

    # The new arXiv version, when the update is one; what of the text it changed.
    version: int | None
    changed: tuple[str, ...]
    # Code links on a paper that had none before.
    code_urls: tuple[str, ...]


def paper_news(old: dict[str, Any], new: dict[str, Any]) -> News | None:
    """What ``new`` tells beyond ``old`` (stored contents), or None: nothing worth a note.

    A later arXiv version is news (with which of title, abstract and
    authors it changed), and so are code links on a paper that had none. A
    version that drops a code link tells nothing of it; an edit that only
    adds a second code link is no news either.
    """
    old_version, new_version = old["arxiv_version"], new["arxiv_version"]
    version = (new_version if old_version is not None and new_version is not None
               and new_version > old_version else None)
    released: tuple[str, ...] = ()
    if not old["code_urls"] and not old["has_code"] and new["code_urls"]:
        released = tuple(new["code_urls"])
    if version is None and not released:
        return None
    changed = tuple(name for name in ("title", "abstract", "authors")
                    if version is not None and old[name] != new[name])
    return News(version=version, changed=changed, code_urls=released)


def set_meta(session: Session, values: Mapping[str, str | None]) -> None:
    """Set (or, for None, delete) ``catalog_meta`` rows in the caller's transaction.

    A harvest stores its position here in the same transaction as the
    papers of the page that moved it, so the two are never out of step.
    """
    for key, value in values.items():
        row = session.get(CatalogMeta, key)
        if value is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(CatalogMeta(key=key, value=value))
        else:
            row.value = value
    session.flush()


def meta_values(session: Session, prefix: str) -> dict[str, str]:
    """The ``catalog_meta`` rows whose key starts with ``prefix``, by key."""
    rows = session.execute(
        select(META.c.key, META.c.value).where(META.c.key.startswith(prefix, autoescape=True))
    )
    return {row.key: row.value for row in rows}


def _sqlite_datetime(value: datetime) -> str:
    # SQLAlchemy's storage format for DateTime on SQLite, in UTC (UTCDateTime).
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


def _sqlite_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _JSON_COLUMNS:
        return json.dumps(value)
    if name in ("first_seen", "updated_at"):
        return _sqlite_datetime(value)
    if name == "published":
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


_JSON_COLUMNS = frozenset({"authors", "categories", "code_urls"})
_SQLITE_INSERT = "INSERT INTO papers ({}) VALUES ({})".format(
    ", ".join(c.name for c in PAPERS.c), ", ".join("?" for _ in PAPERS.c)
)


_COPY = "COPY papers ({}) FROM STDIN".format(", ".join(c.name for c in PAPERS.c))


def _postgres_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _JSON_COLUMNS:
        return json.dumps(value)  # as psycopg's Json, which SQLAlchemy binds, dumps it
    if name in ("first_seen", "updated_at"):
        return value.astimezone(UTC).replace(tzinfo=None)  # as UTCDateTime binds it
    return value


def _copy(connection: Connection, rows: list[dict[str, Any]]) -> None:
    # COPY streams the rows in one statement: faster than SQLAlchemy's
    # batched multi-row INSERTs at bulk sizes (see docs/benchmarks.md, section
    # "PostgreSQL", Where the import's time goes), in the same transaction
    # (a test compares what the two store, as text).
    names = [c.name for c in PAPERS.c]
    dbapi = connection.dialect.loaded_dbapi
    raw: Any = connection.connection.driver_connection
    try:
        with raw.cursor() as cursor, cursor.copy(_COPY) as copy:
            for row in rows:
                copy.write_row(tuple(_postgres_value(n, row[n]) for n in names))
    except dbapi.Error as exc:  # raised as SQLAlchemy raises a failed INSERT
        raise DBAPIError.instance(_COPY, None, exc, dbapi.Error) from exc


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        _copy(connection, rows)
        return
    if connection.dialect.name != "sqlite":
        session.execute(insert(PAPERS), rows)
        return
    # At bulk sizes SQLAlchemy's per-value type processing costs as much as
    # SQLite's own insert, so on SQLite the rows are serialized here, in the
    # formats SQLAlchemy itself stores (a test compares the two byte for byte).
    names = [c.name for c in PAPERS.c]
    connection.exec_driver_sql(
        _SQLITE_INSERT, [tuple(_sqlite_value(n, row[n]) for n in names) for row in rows]
    )


def get_paper(session: Session, paper_id: str) -> PaperRecord | None:
    return get_papers(session, [paper_id]).get(paper_id)


def get_papers(session: Session, ids: Sequence[str]) -> dict[str, PaperRecord]:
    """The stored papers among ``ids``, keyed by id (missing ids are absent)."""
    found: dict[str, PaperRecord] = {}
    for start in range(0, len(ids), _LOOKUP_BATCH):
        chunk = list(ids[start : start + _LOOKUP_BATCH])
        for row in session.execute(select(PAPERS).where(PAPERS.c.id.in_(chunk))):
            found[row.id] = record_from_row(row)
    return found


def count_papers(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Paper)) or 0)


def count_entered(
    session: Session,
    *,
    after_revision: int | None,
    first_seen_after: datetime | None = None,
    seeds: bool = True,
) -> int:
    """Papers that entered the catalog as news after ``after_revision`` or first
    seen after ``first_seen_after`` (either, when both are given; all news,
    when neither is); without ``seeds``, seed-file papers left out: what a
    digest window holds."""
    query = select(func.count()).select_from(Paper).where(Paper.entered_revision > 0)
    since = []
    if after_revision is not None:
        since.append(Paper.entered_revision > after_revision)
    if first_seen_after is not None:
        since.append(Paper.first_seen > first_seen_after)
    if since:
        query = query.where(or_(*since))
    if not seeds:
        query = query.where(~Paper.source.startswith(SEED_SOURCE, autoescape=True))
    return int(session.scalar(query) or 0)


def id_order(session: Session) -> Any:
    """Paper ids as an ORDER BY term, by code point on every engine.

    PostgreSQL sorts text by the database's language rules ("a" before "B");
    SQLite, and so every engine here, by code point.
    """
    if session.get_bind().dialect.name == "postgresql":
        return PAPERS.c.id.collate("C")
    return PAPERS.c.id


def iter_papers(
    session: Session,
    *,
    after_revision: int = 0,
    up_to_revision: int | None = None,
    skip_revisions: Collection[int] = (),
    batch: int = 2000,
) -> Iterator[tuple[int, PaperRecord]]:
    """Papers with a revision in (``after_revision``, ``up_to_revision``], oldest
    first, then by id (by code point, on every engine).

    ``skip_revisions`` leaves out writes the caller already has.
    """
    stmt = select(PAPERS).where(PAPERS.c.revision > after_revision)
    if up_to_revision is not None:
        stmt = stmt.where(PAPERS.c.revision <= up_to_revision)
    if skip_revisions:
        stmt = stmt.where(PAPERS.c.revision.not_in(sorted(skip_revisions)))
    stmt = stmt.order_by(PAPERS.c.revision, id_order(session)).execution_options(yield_per=batch)
    for row in session.execute(stmt):
        yield row.revision, record_from_row(row)
