"""The catalog as the bot uses it: the database rows and the search index in step.

``Catalog`` is the one writer of papers (every write goes to the database
first, then the index catches up from it) and the one reader behind
``search``, ``show`` and ``like``. Feed ingestion gets it handed down as
its writer (``write``); the CLI's ``export`` and ``import`` go through it.
It returns plain values; turning them into text is the caller's job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import IO

from bot.model.papers import PaperRecord
from bot.search.index import IndexBusyError, Progress, SearchIndex, catch_up
from bot.search.rank import SearchResults, more_like, search
from bot.store.catalog import (
    ImportReport,
    UpsertResult,
    count_papers,
    get_paper,
    set_meta,
    upsert_papers,
)
from bot.store.db import Database
from bot.store.transfer import ExportCounts, ImportCounts, export_database, import_database

__all__ = ["Catalog"]

log = logging.getLogger(__name__)


def _batches(items: Iterable[PaperRecord], size: int) -> Iterator[list[PaperRecord]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class Catalog:
    """The papers of one database and their search index."""

    def __init__(self, *, db: Database, index: SearchIndex, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.index = index
        self.clock = clock

    # -- writing -------------------------------------------------------------

    def sync_index(self, *, progress: Progress | None = None) -> int:
        """Bring the search index up to the catalog; returns papers indexed."""
        with self.db.session() as session:
            return catch_up(session, self.index, progress=progress)

    def reindex(self, *, progress: Progress | None = None) -> int:
        """Rebuild the search index from the catalog."""
        self.index.reset()
        return self.sync_index(progress=progress)

    def import_records(
        self,
        records: Iterable[PaperRecord],
        *,
        batch_size: int = 5000,
        progress: Progress | None = None,
        merge: bool = False,
        not_news: Collection[str] = (),
    ) -> UpsertResult:
        """Upsert ``records`` in batches (one transaction each) and index them.

        Each batch is committed to the database before the index sees it;
        the index is committed once at the end with everything else the
        catalog wrote meanwhile, so an interrupted import is finished by the
        next catch-up, never lost.
        """
        total = UpsertResult()
        written: list[int] = []
        with self.index.writer() as writer:
            for batch in _batches(records, batch_size):
                with self.db.session() as session:
                    result = upsert_papers(
                        session, batch, now=self.clock(), merge=merge, not_news=not_news
                    )
                total.new += result.new
                total.updated += result.updated
                total.unchanged += result.unchanged
                if result.revision is not None:
                    written.append(result.revision)
                    # The papers go to the index straight from memory rather
                    # than being read back from the database.
                    writer.add(result.added, replace=False)
                    writer.add(result.replaced)
                if progress:
                    progress(total.seen)
            with self.db.session() as session:
                caught_up, target = writer.catch_up(session, skip_revisions=written)
            if written or caught_up:
                writer.commit(target)
        return total

    def write(self, records: Sequence[PaperRecord], *, not_news: Collection[str] = ()) -> UpsertResult:
        """Feed ingestion's writer: merge what a feed says into the papers it already knows."""
        return self.import_records(records, merge=True, not_news=not_news)

    def write_page(
        self,
        records: Sequence[PaperRecord],
        *,
        not_news: Collection[str],
        meta: Mapping[str, str | None],
    ) -> UpsertResult:
        """A harvested page's papers and the harvest's position, in one transaction.

        The ``catalog_meta`` rows in ``meta`` are set in the very transaction
        that stores the page's papers (merged as a feed's are), so a harvest
        killed at any point finds its position and its papers in step: the
        page is stored with the token that follows it, or neither is.
        """
        with self.index.writer() as writer:
            with self.db.session() as session:
                result = upsert_papers(
                    session, records, now=self.clock(), merge=True, not_news=not_news
                )
                set_meta(session, meta)
            written = [result.revision] if result.revision is not None else []
            if written:
                writer.add(result.added, replace=False)
                writer.add(result.replaced)
            with self.db.session() as session:
                caught_up, target = writer.catch_up(session, skip_revisions=written)
            if written or caught_up:
                writer.commit(target)
        return result

    def import_jsonl(
        self, stream: IO[str], *, label: str, progress: Progress | None = None
    ) -> tuple[ImportReport, ImportCounts]:
        """Restore what ``export`` wrote (a bad line is reported and skipped): the
        papers' report, and what came besides (channels, topics, deliveries, feeds)."""
        seen = 0

        def store(records: Sequence[PaperRecord], not_news: Collection[str]) -> UpsertResult:
            nonlocal seen
            result = self.import_records(records, not_news=not_news)
            seen += len(records)
            if progress:
                progress(seen)
            return result

        result, bad, counts = import_database(
            self.db, enumerate(stream, start=1), store=store, label=label
        )
        report = ImportReport(
            label=label,
            seen=result.seen + bad,
            new=result.new,
            updated=result.updated,
            skipped=bad,
            problems=tuple(counts.problems),
        )
        return report, counts

    def export(self, out: IO[str]) -> ExportCounts:
        """Write the whole database as JSON Lines (``bot.store.transfer``); says what it wrote."""
        return export_database(self.db, out)

    # -- reading -------------------------------------------------------------

    def search(self, text: str, *, limit: int = 10) -> SearchResults:
        try:
            with self.db.session() as session:
                catch_up(session, self.index, wait_seconds=0)
        except IndexBusyError:
            # Another process is writing the index and will bring it up to
            # date; answering from the index as it stands beats waiting.
            log.info("search index busy; searching it as it stands")
        with self.db.session() as session:
            return search(session, self.index, text, limit=limit)

    def more_like(
        self, paper_id: str, *, limit: int = 5
    ) -> tuple[PaperRecord, str | None, list[PaperRecord]] | None:
        """The paper, the query that finds papers like it, and the best ``limit`` of those.

        None when there is no such paper; the query is None when the paper
        has no word another paper shares.
        """
        record = self.get(paper_id)
        if record is None:
            return None
        query = more_like(self.index, record)
        if query is None:
            return record, None, []
        hits = self.search(query, limit=limit + 1).hits
        return record, query, [h.paper for h in hits if h.paper.id != record.id][:limit]

    def get(self, paper_id: str) -> PaperRecord | None:
        with self.db.session() as session:
            return get_paper(session, paper_id.strip())

    def count(self) -> int:
        with self.db.session() as session:
            return count_papers(session)
