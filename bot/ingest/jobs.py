"""What fills the catalog, as jobs: the scheduled ingest, feeds run by hand, seed files,
a feed added after one look at it.

``Ingestion`` ties the feeds table, the feed runner and the seed directory
to a catalog writer it is handed (``SourcesWriter``: the search package's
``Catalog`` in the bot), so ingestion never reaches back up into the
layers that use it. Each job returns report objects; callers print them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.ingest.registry import FeedError, FeedInfo, Feeds
from bot.ingest.run import CatalogWriter, FeedCheck, FeedReport, Ingester
from bot.ingest.seeds import read_seed_file, seed_paths
from bot.model.papers import PaperRecord
from bot.store.catalog import ImportReport, UpsertResult

__all__ = ["FeedAdded", "Ingestion", "SourcesWriter"]


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


@dataclass(frozen=True)
class FeedAdded:
    """What adding a feed did.

    ``done`` is "added", "enabled again" or "already listed". ``check`` is
    the look at its URL before it was saved and ``report`` the storing of
    what that look read; both None when it was added unchecked or was
    listed already.
    """

    info: FeedInfo
    done: str
    check: FeedCheck | None = None
    report: FeedReport | None = None


# What to do about a URL that failed its check, by FeedCheck.kind.
_ADVICE = {
    "unreachable": "Check the URL and that the site is up",
    "http": "Check the URL",
    "document": "Give the feed's own URL (a site's page links to it as RSS or Atom)",
}


def _refusal(check: FeedCheck) -> str:
    problem = str(check.problem)
    said = {
        "unreachable": f"could not fetch {check.url}: {problem}",
        "http": f"{check.url} answered {problem}",
    }.get(check.kind, f"{check.url} is not a feed: {problem.removeprefix('not a feed: ')}")
    advice = _ADVICE.get(check.kind, _ADVICE["document"])
    return f"Not added: {said}. {advice}, or add it unchecked with --no-check."


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

    def add_feed(self, url: str, *, name: str | None = None, check: bool = True) -> FeedAdded:
        """Add a feed (or enable it again), after fetching it once unless told not to.

        The check refuses, with a ``FeedError`` that says what to do and
        before anything is saved, a URL that gives no feed: no answer, an
        HTTP error, an HTML page, a document with nothing to read. What a
        good check read is stored at once, as the feed's first fetch, so the
        next ingest asks for it conditionally. An empty feed passes.
        """
        listed = self.feeds.vet(url, name=name)
        if listed is not None:
            return FeedAdded(listed, "already listed")
        if not check:
            return FeedAdded(*self.feeds.add(url, name=name))
        checked = self.ingester.check(url)
        if not checked.ok:
            raise FeedError(_refusal(checked))
        info, done = self.feeds.add(url, name=name)
        if done == "already listed":  # added by another process meanwhile
            return FeedAdded(info, done)
        return FeedAdded(info, done, checked, self.ingester.take(info, checked))

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
