"""The catalog's verbs: init, seed, search, show, export, import, feeds, ingest, backfill,
harvest, reindex."""

from __future__ import annotations

import argparse
import shlex
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from bot.chat.commands import paper_id_of
from bot.chat.service import Service
from bot.cli.output import (
    EXIT_ERROR,
    CommandError,
    HarvestBar,
    err,
    format_paper,
    json_text,
    out,
    paper_json,
    progress,
    where,
)
from bot.config import Settings
from bot.ingest.backfill import PAGE_SIZE
from bot.ingest.registry import arxiv_categories
from bot.ingest.run import FeedReport
from bot.search.lexer import show

__all__ = [
    "cmd_backfill",
    "cmd_export",
    "cmd_feeds",
    "cmd_harvest",
    "cmd_import",
    "cmd_ingest",
    "cmd_init",
    "cmd_reindex",
    "cmd_search",
    "cmd_seed",
    "cmd_show",
]


def cmd_init(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    count = service.catalog.count()
    out(f"Catalog ready: {count:,} papers in {where(settings)}.")
    if count == 0:
        out("Next: `digestbot seed` imports the seed catalog.")
    return 0


def cmd_seed(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    paths = [Path(p) for p in args.paths] or [settings.seeds_dir]
    try:
        reports = service.ingestion.import_seed_files(paths)
    except FileNotFoundError as exc:
        raise CommandError(f"{exc}. Pass seed files or directories: digestbot seed PATH...") from None
    if not reports:
        raise CommandError(f"No *.txt seed files in {', '.join(map(str, paths))}.")
    for report in reports:
        out(report.line())
        for problem in report.problems:
            err(f"  skipped {problem}")
    if not any(r.changed for r in reports):
        out("Nothing new or changed: the catalog already holds these papers.")
    return 0


def cmd_search(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    text = " ".join(args.query)
    limit = args.limit or settings.search_limit
    results = service.catalog.search(text, limit=limit)
    if args.json:
        payload = [dict(paper_json(h.paper), score=round(h.score, 4)) for h in results.hits]
        out(json_text(payload))
        return 0
    if not results.hits:
        out(f"No papers match {text.strip()!r}. Try fewer or broader words.")
        return 0
    blocks = [format_paper(hit.paper, number=n) for n, hit in enumerate(results.hits, start=1)]
    out("\n\n".join(blocks))
    return 0


def cmd_show(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    record = service.catalog.get(paper_id_of(args.id))
    if record is None:
        raise CommandError(
            f"No paper with id {show(args.id)!r}. Find ids with: digestbot search WORDS"
        )
    if args.json:
        out(json_text(paper_json(record)))
    else:
        out(format_paper(record, full=True))
    return 0


def cmd_export(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    with ExitStack() as stack:
        out: IO[str] = sys.stdout
        if args.output and args.output != "-":
            target = Path(args.output)
            partial = target.with_name(target.name + ".partial")
            out = stack.enter_context(partial.open("w", encoding="utf-8"))
        counts = service.catalog.export(out)
    if args.output and args.output != "-":
        partial.replace(target)
        err(f"Exported {counts.summary()} to {target}.")
    return 0


def cmd_import(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    if args.file == "-":
        report, counts = service.catalog.import_jsonl(
            sys.stdin, label="stdin", progress=progress("imported")
        )
    else:
        path = Path(args.file)
        try:
            with path.open(encoding="utf-8") as stream:
                report, counts = service.catalog.import_jsonl(
                    stream, label=str(path), progress=progress("imported")
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
    out(report.line())
    if (counts.channels or counts.topics or counts.deliveries or counts.feeds or counts.ratings
            or counts.saved):
        out(f"{report.label}: {counts.line()}")
    for problem in report.problems:
        err(f"  skipped {problem}")
    return 0


def cmd_feeds(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    action = args.action or "list"
    if action == "add":
        return _add_feed(service, args, settings)
    if action == "remove":
        info = service.feeds.remove(args.name)
        note = " (still named in the feeds setting, so it is kept as disabled)" \
            if info.origin == "config" else ""
        out(f"Feed {info.name} removed{note}; its papers stay in the catalog.")
        return 0
    if action == "enable":
        info = service.feeds.enable(args.name)
        out(f"Feed {info.name} enabled: the next ingest reads it ({info.url}).")
        return 0
    feeds = service.feeds.all()
    if getattr(args, "json", False):
        out(json_text([f.to_json() for f in feeds]))
        return 0
    if not feeds:
        out("No feeds. Add one with: digestbot feeds add URL")
        return 0
    width = max(len(f.name) for f in feeds)
    out(f"{'NAME':<{width}}  {'STATUS':<9}  {'LAST FETCH':<16}  {'PAPERS':>7}  URL")
    for f in feeds:
        fetched = f"{f.last_fetch_at:%Y-%m-%d %H:%M}" if f.last_fetch_at else "never"
        out(f"{f.name:<{width}}  {f.status:<9}  {fetched:<16}  {f.papers_added:>7,}  {f.url}")
        pad = " " * (width + 2)
        if not f.enabled and f.disabled_reason:
            out(f"{pad}disabled: {f.disabled_reason}")
        elif f.failures:
            retry = f"; next try {f.next_fetch_at:%Y-%m-%d %H:%M} UTC" if f.next_fetch_at else ""
            times = "failure" if f.failures == 1 else "failures"
            out(f"{pad}last error: {f.last_error} ({f.failures} {times} in a row{retry})")
        elif f.last_error:
            out(f"{pad}note: {f.last_error}")
    return 0


def _add_feed(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    added = service.ingestion.add_feed(args.url, name=args.name, check=not args.no_check)
    info = added.info
    if added.done == "already listed":
        out(f"Feed {info.name} is already listed ({info.url}).")
        return 0
    head = f"Added feed {info.name}" if added.done == "added" else \
        f"Enabled feed {info.name} again"
    every = f"`digestbot run` reads it every {settings.ingest_minutes} minutes"
    report, check = added.report, added.check
    if report is None or check is None or check.parsed is None:
        out(f"{head} ({info.url}), unchecked.")
        out(f"Next: `digestbot ingest {info.name}` reads it now; {every}.")
        return 0
    if report.seen == 0:
        out(f"{head} ({info.url}): no entries right now (an empty feed, as arXiv's are on "
            "weekends).")
    else:
        found = _count(report.seen, "entry", "entries") + " found"
        if report.skipped:
            found += f", {report.skipped:,} skipped"
        if report.changed:
            stored = f"{_count(report.new, 'new paper', 'new papers')} stored"
            stored += f", {report.updated:,} updated" if report.updated else ""
        else:
            stored = "the catalog holds them all already"
        out(f"{head} ({info.url}): {found}; {stored}.")
    for skipped in check.parsed.skipped:
        err(f"  {skipped}")
    if report.malformed:
        err(f"  {report.malformed}; kept what parsed")
    for moved in (n.removeprefix("moved_to=") for n in report.notes if n.startswith("moved_to=")):
        err(f"  it moved for good to {moved}: the feed reads that URL from now on")
    out(f"Next: {every}.")
    return 0


def _count(number: int, one: str, many: str) -> str:
    return f"{number:,} {one if number == 1 else many}"


# What to do about a failed report, by FeedReport.kind.
_FAILED_ADVICE = {
    "feed": "`digestbot feeds list` says why",
    "url": "check the URL and run `digestbot ingest {name}` again",
    "file": "fix the file and run `digestbot ingest {name}` again",
}


def _print_lines(report: FeedReport) -> None:
    for line in report.lines():
        out(line)


def cmd_ingest(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    reports = service.ingestion.run_feeds(args.targets, report=_print_lines)
    if not reports:  # no targets given, and no feed enabled
        raise CommandError("No enabled feeds. Add one with `digestbot feeds add URL`, or "
                           "give a feed file: digestbot ingest FILE")
    new = sum(r.new for r in reports)
    updated = sum(r.updated for r in reports)
    summary = f"{len(reports)} feed{'s' if len(reports) != 1 else ''}: {new:,} new papers, " \
        f"{updated:,} updated"
    failed = [r for r in reports if r.failed]
    feeds = [r.feed for r in failed if r.kind == "feed"]
    said = [f"{', '.join(feeds)} ({_FAILED_ADVICE['feed']})"] if feeds else []
    said += [f"{r.feed} ({_FAILED_ADVICE[r.kind].format(name=shlex.quote(r.feed))})"
             for r in failed if r.kind != "feed"]
    if said:
        summary += f"; failed: {'; '.join(said)}"
    backfilled = sum(r.backfilled for r in reports)
    if any(r.backfill for r in reports):
        summary += f"; {backfilled:,} new from the arXiv API for missed announcement days"
    stopped = [b.line().split(":", 1)[0] for r in reports for b in r.backfill if b.failed]
    if stopped:
        summary += f"; the backfill of {', '.join(stopped)} stopped (the next ingest goes on)"
    # A file cut short by an XML error gave what came before it; the rest waits for a fix.
    cut = [r.feed for r in reports if r.kind == "file" and r.malformed]
    if cut:
        summary += "; kept what parsed before the XML error in " + ", ".join(cut) + \
            " (fix the file and ingest it again for the rest)"
    err(summary + ".")
    return EXIT_ERROR if failed else 0


def cmd_reindex(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    count = service.catalog.reindex(progress=progress("indexed"))
    out(f"Search index rebuilt: {count:,} papers.")
    return 0


def cmd_backfill(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    categories = list(dict.fromkeys(args.category or ()))
    if not categories:
        feeds = [f for f in service.feeds.all() if f.enabled]
        categories = list(dict.fromkeys(c for f in feeds for c in arxiv_categories(f.url)))
    if not categories:
        raise CommandError("No arXiv feeds to backfill; name the categories: "
                           "digestbot backfill --category cs.CV")
    days = args.days or settings.backfill_max_days or 7
    reports = service.backfill.run_days(
        categories, days, progress=progress("backfilled", every=PAGE_SIZE)
    )
    for report in reports:
        out(report.line())
    return EXIT_ERROR if any(r.failed for r in reports) else 0


def cmd_harvest(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    url = args.url or settings.oai_url
    if args.from_day and args.until and args.from_day > args.until:
        raise CommandError(f"--from {args.from_day} is after --until {args.until}; "
                           "give the earlier day first.")
    bar = HarvestBar(args.set or "all")
    try:
        report = service.harvester.run(
            url, set_spec=args.set, prefix=args.format, from_day=args.from_day,
            until_day=args.until, progress=bar,
        )
    finally:
        bar.finish()
    for note in report.notes:
        err(f"note: {note}")
    out(report.line())
    if report.failed:
        err(f"digestbot: the harvest of {url} stopped: {report.error}; {report.advice}.")
        return EXIT_ERROR
    state = service.harvester.state(url, args.set, args.format)
    since = state.next_from if state is not None else None
    err("Harvest complete; harvested papers are catalog, not news for digests."
        + (f" The next `digestbot harvest` asks for what changed since {since}." if since else ""))
    return 0
