"""What fills the catalog, as jobs: the scheduled ingest, feeds run by hand, seed files.

``Ingestion`` ties the feeds table, the feed runner and the seed directory
to a catalog writer it is handed (``SourcesWriter``: the search package's
``Catalog`` in the bot), so ingestion never reaches back up into the
layers that use it. Each job returns report objects; callers print them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from bot.ingest.registry import FeedError, Feeds
from bot.ingest.run import CatalogWriter, FeedReport, Ingester
from bot.ingest.seeds import read_seed_file, seed_paths
from bot.model.papers import PaperRecord
from bot.store.catalog import ImportReport, UpsertResult

__all__ = ["Ingestion", "SourcesWriter"]


class SourcesWriter(CatalogWriter, Protocol):
    """What the ingest jobs write to: a feed's ``CatalogWriter``, plus seed files
    stored as given and the index brought up to the database."""

    def import_records(self, records: Iterable[PaperRecord]) -> UpsertResult:
        """Store papers as given (seed files): new ones added, known ones replaced.
        Every write MUST reach the database before it returns."""
        ...

    def sync_index(self) -> int:
        """Bring the search index up to the database, whoever wrote to it."""
        ...


def _display_path(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


class Ingestion:
    """The ingest jobs of one catalog."""

    def __init__(
        self,
        *,
        feeds: Feeds,
        ingester: Ingester,
        writer: SourcesWriter,
        seeds_dir: Path | None = None,
    ) -> None:
        self.feeds = feeds
        self.ingester = ingester
        self.writer = writer
        # Where the scheduled job looks for seed files, besides the feeds.
        self.seeds_dir = seeds_dir

    def run(self) -> list[ImportReport | FeedReport]:
        """The scheduled job: bring in whatever is new from the configured sources.

        The feeds that are due (enabled, and not waiting out a backoff), then
        the seed directory (a file dropped there is picked up; importing it
        again changes nothing). Also brings the index up to the catalog,
        whoever wrote to it.
        """
        reports: list[ImportReport | FeedReport] = []
        reports += self.ingester.run(self.feeds.due())
        if self.seeds_dir is not None and self.seeds_dir.is_dir():
            reports += self.import_seed_files([self.seeds_dir])
        self.writer.sync_index()
        return reports

    def import_seed_files(self, paths: Sequence[Path]) -> list[ImportReport]:
        """Import seed files (directories expand to their ``*.txt``), one report each."""
        reports = []
        for path in seed_paths(paths):
            parsed = read_seed_file(_display_path(path))
            result = self.writer.import_records(parsed.records)
            reports.append(
                ImportReport(
                    label=parsed.path,
                    seen=len(parsed.records) + len(parsed.problems),
                    new=result.new,
                    updated=result.updated,
                    skipped=len(parsed.problems),
                    problems=tuple(str(p) for p in parsed.problems),
                )
            )
        return reports

    def run_feeds(
        self,
        targets: Sequence[str] = (),
        *,
        report: Callable[[FeedReport], None] | None = None,
    ) -> list[FeedReport]:
        """Run feeds now: each target is a feed name, a feed URL (listed or not)
        or a feed file; without targets, every enabled feed, backoff or not."""
        if not targets:
            return self.ingester.run([f for f in self.feeds.all() if f.enabled], report=report)
        reports = []
        for target in targets:
            info = self.feeds.resolve(target)
            if info is not None:
                reports += self.ingester.run([info], report=report)
                continue
            if target.startswith(("http://", "https://")):
                one = self.ingester.run_url(target)
            elif Path(target).is_file():
                one = self.ingester.run_file(Path(target))
            else:
                raise FeedError(
                    f"{target!r} is no feed name, URL or file; `digestbot feeds list` "
                    "shows the feeds."
                )
            if report is not None:
                report(one)
            reports.append(one)
        return reports
