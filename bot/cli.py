"""The ``digestbot`` command: the only module that prints.

Each verb calls ``bot.chat.service`` and turns what it returns into terminal
text or JSON. Errors are one line on stderr with a non-zero exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import IO

from bot import __version__
from bot.errors import UserError
from bot.config import ConfigError, Settings, default_data_dir, load_settings
from bot.store.db import DatabaseError
from bot.chat.health import check as check_health
from bot.chat.health import heartbeat_path
from bot.model.messages import Digest, short_authors
from bot.model.papers import PaperRecord
from bot.search.query import QueryError
from bot.chat.runtime import Bot, adapter_factories
from bot.chat.schedules import parse_schedule
from bot.chat.service import Service, utcnow
from bot.chat.channels import MAX_TOPICS, parse_max_papers
from bot.text.terminal import format_digest

__all__ = ["main"]

EXIT_ERROR = 1
EXIT_USAGE = 2


class CommandError(UserError):
    """A user mistake the command reports in one line (exit code 1)."""


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _progress(verb: str, *, every: int = 100_000) -> Callable[[int], None]:
    """A progress callback that reports on stderr each time ``every`` more are done."""
    reported = 0

    def report(done: int) -> None:
        nonlocal reported
        if done - reported >= every:
            reported = done - done % every
            _err(f"{verb} {done:,} papers…")

    return report


# -- formatting --------------------------------------------------------------


def format_paper(record: PaperRecord, *, number: int | None = None, full: bool = False) -> str:
    lead = f"{number}. " if number is not None else ""
    pad = " " * len(lead)
    authors = ", ".join(record.authors) + (" et al." if record.authors_truncated else "")
    facts = [
        authors if full else short_authors(record),
        record.published.isoformat() if record.published else "undated",
        ", ".join(record.categories) or "uncategorized",
    ]
    lines = [f"{lead}{record.title}", f"{pad}{' · '.join(facts)}"]
    if record.code_urls:
        lines += [f"{pad}code: {url}" for url in record.code_urls]
    elif record.has_code:
        lines.append(f"{pad}code: announced (no link yet)")
    if record.project_url:
        lines.append(f"{pad}project: {record.project_url}")
    if record.url:
        lines.append(f"{pad}{record.url}")
    if full and record.journal_ref:
        lines.append(f"{pad}published in: {record.journal_ref}")
    if full and record.doi:
        lines.append(f"{pad}doi: https://doi.org/{record.doi}")
    lines.append(f"{pad}id: {record.id}")
    if full and record.abstract:
        lines += ["", record.abstract]
    return "\n".join(lines)


def paper_json(record: PaperRecord) -> dict[str, object]:
    data = record.to_json()
    return {
        key: data[key]
        for key in (
            "id",
            "title",
            "authors",
            "published",
            "categories",
            "url",
            "code_urls",
            "has_code",
            "project_url",
            "doi",
            "journal_ref",
            "abstract",
        )
    }


# -- verbs -------------------------------------------------------------------


def cmd_init(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    count = service.catalog.count()
    _out(f"Catalog ready: {count:,} papers in {_where(settings)}.")
    if count == 0:
        _out("Next: `digestbot seed` imports the seed catalog.")
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
        _out(report.line())
        for problem in report.problems:
            _err(f"  skipped {problem}")
    if not any(r.changed for r in reports):
        _out("Nothing new or changed: the catalog already holds these papers.")
    return 0


def cmd_search(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    text = " ".join(args.query)
    limit = args.limit or settings.search_limit
    results = service.catalog.search(text, limit=limit)
    if args.json:
        payload = [dict(paper_json(h.paper), score=round(h.score, 4)) for h in results.hits]
        _out(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    if not results.hits:
        _out(f"No papers match {text.strip()!r}. Try fewer or broader words.")
        return 0
    blocks = [format_paper(hit.paper, number=n) for n, hit in enumerate(results.hits, start=1)]
    _out("\n\n".join(blocks))
    return 0


def cmd_show(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    record = service.catalog.get(args.id)
    if record is None:
        raise CommandError(
            f"No paper with id {args.id!r}. Find ids with: digestbot search WORDS"
        )
    if args.json:
        _out(json.dumps(paper_json(record), ensure_ascii=False, indent=2))
    else:
        _out(format_paper(record, full=True))
    return 0


def cmd_export(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    with ExitStack() as stack:
        out: IO[str] = sys.stdout
        if args.output and args.output != "-":
            target = Path(args.output)
            partial = target.with_name(target.name + ".partial")
            out = stack.enter_context(partial.open("w", encoding="utf-8"))
        count = service.catalog.export(out)
    if args.output and args.output != "-":
        partial.replace(target)
        _err(f"Exported {count:,} papers to {target}.")
    return 0


def cmd_import(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    if args.file == "-":
        report, counts = service.catalog.import_jsonl(
            sys.stdin, label="stdin", progress=_progress("imported")
        )
    else:
        path = Path(args.file)
        try:
            with path.open(encoding="utf-8") as stream:
                report, counts = service.catalog.import_jsonl(
                    stream, label=str(path), progress=_progress("imported")
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
    _out(report.line())
    if counts.channels or counts.topics or counts.deliveries or counts.feeds:
        _out(f"{report.label}: {counts.line()}")
    for problem in report.problems:
        _err(f"  skipped {problem}")
    return 0


def cmd_feeds(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    action = args.action or "list"
    if action == "add":
        info, done = service.feeds.add(args.url, name=args.name)
        if done == "already listed":
            _out(f"Feed {info.name} is already listed ({info.url}).")
        else:
            _out(f"Feed {info.name} {done}: {info.url}")
            _out(f"Next: `digestbot ingest {info.name}` reads it now; `digestbot run` reads it "
                 f"every {settings.ingest_minutes} minutes.")
        return 0
    if action == "remove":
        info = service.feeds.remove(args.name)
        note = " (still named in the feeds setting, so it is kept as disabled)" \
            if info.origin == "config" else ""
        _out(f"Feed {info.name} removed{note}; its papers stay in the catalog.")
        return 0
    if action == "enable":
        info = service.feeds.enable(args.name)
        _out(f"Feed {info.name} enabled: the next ingest reads it ({info.url}).")
        return 0
    feeds = service.feeds.all()
    if getattr(args, "json", False):
        _out(json.dumps([f.to_json() for f in feeds], ensure_ascii=False, indent=2))
        return 0
    if not feeds:
        _out("No feeds. Add one with: digestbot feeds add URL")
        return 0
    width = max(len(f.name) for f in feeds)
    _out(f"{'NAME':<{width}}  {'STATUS':<9}  {'LAST FETCH':<16}  {'PAPERS':>7}  URL")
    for f in feeds:
        fetched = f"{f.last_fetch_at:%Y-%m-%d %H:%M}" if f.last_fetch_at else "never"
        _out(f"{f.name:<{width}}  {f.status:<9}  {fetched:<16}  {f.papers_added:>7,}  {f.url}")
        pad = " " * (width + 2)
        if not f.enabled and f.disabled_reason:
            _out(f"{pad}disabled: {f.disabled_reason}")
        elif f.failures:
            retry = f"; next try {f.next_fetch_at:%Y-%m-%d %H:%M} UTC" if f.next_fetch_at else ""
            times = "failure" if f.failures == 1 else "failures"
            _out(f"{pad}last error: {f.last_error} ({f.failures} {times} in a row{retry})")
        elif f.last_error:
            _out(f"{pad}note: {f.last_error}")
    return 0


def cmd_ingest(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    reports = service.ingestion.run_feeds(args.targets, report=lambda r: _out(r.line()))
    if not reports:  # no targets given, and no feed enabled
        raise CommandError("No enabled feeds. Add one with `digestbot feeds add URL`, or "
                           "give a feed file: digestbot ingest FILE")
    new = sum(r.new for r in reports)
    updated = sum(r.updated for r in reports)
    failed = [r.feed for r in reports if r.failed]
    summary = f"{len(reports)} feed{'s' if len(reports) != 1 else ''}: {new:,} new papers, " \
        f"{updated:,} updated"
    if failed:
        summary += f"; failed: {', '.join(failed)} (`digestbot feeds list` says why)"
    _err(summary + ".")
    return EXIT_ERROR if failed else 0


def cmd_reindex(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    count = service.catalog.reindex(progress=_progress("indexed"))
    _out(f"Search index rebuilt: {count:,} papers.")
    return 0


def cmd_subscribe(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    result = service.channels.subscribe(args.channel, " ".join(args.topic))
    if result.added:
        _out(f"{args.channel} now follows: {result.topic} ({result.count} of {MAX_TOPICS} topics)")
    else:
        _out(f"{args.channel} already follows: {result.topic}")
    return 0


def cmd_unsubscribe(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    removed = service.channels.unsubscribe(args.channel, " ".join(args.topic))
    if removed is None:
        raise CommandError(
            f"{args.channel} does not follow {' '.join(args.topic)!r}; "
            f"list its topics with: digestbot topics {args.channel}"
        )
    _out(f"{args.channel} no longer follows: {removed}")
    return 0


def cmd_topics(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    topics = service.channels.topics(args.channel)
    if args.json:
        _out(json.dumps(topics, ensure_ascii=False))
    elif topics:
        _out("\n".join(f"{n}. {topic}" for n, topic in enumerate(topics, start=1)))
    else:
        _out(f"{args.channel} follows no topics yet; add one with: "
             f"digestbot subscribe {args.channel} TOPIC")
    return 0


def cmd_schedule(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    info = service.channels.set_schedule(args.channel, parse_schedule(args.when))
    _out(f"{info.address} gets its digest {info.schedule}.")
    return 0


def cmd_limit(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    info = service.channels.set_max_papers(args.channel, parse_max_papers(args.count))
    _out(f"{info.address}'s digests show at most {info.max_papers} papers.")
    return 0


def cmd_digest(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    shown: list[Digest] = []
    digest = service.deliverer.digest(args.channel, send=shown.append, dry_run=args.dry_run)
    if digest is None:
        if args.json:
            _out("null")
        elif not service.channels.topics(args.channel):
            _out(f"{args.channel} follows no topics yet; add one with: "
                 f"digestbot subscribe {args.channel} TOPIC")
        else:
            _out(f"Nothing new for {args.channel}.")
        return 0
    if args.json:
        papers = []
        for item, matched in digest.entries():
            record = service.catalog.get(item.paper_id)
            if record is not None:
                papers.append(dict(paper_json(record), matched_topics=list(matched)))
        payload = {
            "channel": digest.channel,
            "date": digest.date,
            "topics": list(digest.topics),
            "papers": papers,
            "more": digest.more,
            "more_query": digest.more_query,
        }
        _out(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        _out(format_digest(digest))
    return 0


def cmd_run(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    factories = adapter_factories()
    adapters = [
        adapter
        for name, factory in sorted(factories.items())
        if name != "console" and (adapter := factory(settings)) is not None
    ]
    if not adapters or args.console:
        if "console" not in factories:
            raise CommandError("no chat platform is configured and the console adapter is not "
                               "installed; reinstall digestbot (pip install -e .).")
        console = factories["console"](settings)
        assert console is not None
        adapters.append(console)
    bot = Bot(
        service=service,
        adapters=adapters,
        clock=utcnow,
        catch_up=timedelta(hours=settings.catch_up_hours),
        ingest_every=timedelta(minutes=settings.ingest_minutes),
        health_file=heartbeat_path(settings.data_dir),
        # Several `digestbot run` on one database: one runs the scheduler.
        lease=service.db.scheduler_lease(),
    )
    asyncio.run(bot.run())
    return 0


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the running bot is healthy, 1 with the reasons when not (opens no Service)."""
    report = check_health(settings.data_dir, database_url=settings.effective_database_url,
                          now=utcnow())
    if args.json:
        _out(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for line in report.lines():
            _out(line)
    return 0 if report.healthy else EXIT_ERROR


# -- parser ------------------------------------------------------------------


def _where(settings: Settings) -> str:
    if settings.database_url:
        return "the database at DIGESTBOT_DATABASE_URL/--database"
    return str(settings.data_dir)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digestbot",
        description="A research-paper digest bot: a searchable paper catalog for Slack and Discord.",
        epilog=(
            f"Data directory (database and search index): {default_data_dir()} by default; "
            "change it with --data-dir or DIGESTBOT_DATA_DIR. "
            "Run `digestbot VERB --help` for help on a verb."
        ),
    )
    parser.add_argument("--version", action="version", version=f"digestbot {__version__}")
    parser.add_argument(
        "--data-dir", metavar="DIR", help="where the database and search index live"
    )
    parser.add_argument(
        "--database", metavar="URL", help="SQLAlchemy database URL (default: SQLite in the data dir)"
    )
    parser.add_argument("--config", metavar="FILE", help="TOML settings file")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")

    def verb(name: str, func: Callable[..., int], help: str, description: str) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, help=help, description=description)
        sub.set_defaults(func=func)
        return sub

    verb("init", cmd_init, "create or upgrade the catalog", "Create the data directory, "
         "the database and the search index, or upgrade them to this version.")
    sub = verb("seed", cmd_seed, "import seed files", "Import seed files into the catalog "
               "(default: the project's seeds/ directory). Importing again changes nothing.")
    sub.add_argument("paths", nargs="*", metavar="PATH", help="seed files or directories of *.txt")
    sub = verb("search", cmd_search, "search the catalog", SEARCH_HELP)
    sub.formatter_class = argparse.RawDescriptionHelpFormatter
    sub.add_argument("query", nargs="+", metavar="QUERY", help="words and filters (quote them)")
    sub.add_argument("--limit", type=_limit, metavar="N", help="results to show, 1-100 (default 10)")
    sub.add_argument("--json", action="store_true", help="print a JSON array")
    sub = verb("show", cmd_show, "show one paper", "Show one paper with its abstract.")
    sub.add_argument("id", metavar="ID", help="the paper's id, as search shows it")
    sub.add_argument("--json", action="store_true", help="print a JSON object")
    sub = verb("export", cmd_export, "export everything as JSON Lines", "Write the whole "
               "database as JSON Lines: channels with their topics, schedules and digest "
               "windows, every paper, the delivery ledger and the feeds (a backup, or a move "
               "to another database, e.g. from SQLite to PostgreSQL).")
    sub.add_argument("--output", "-o", metavar="FILE", help="file to write (default: stdout)")
    sub = verb("import", cmd_import, "import a JSON Lines export", "Import what "
               "`digestbot export` wrote (FILE, or - for stdin): papers (existing ones are "
               "updated), channels, topics, deliveries and feeds (existing ones are kept). "
               "Each channel's next digest shows what it would have shown before the move.")
    sub.add_argument("file", metavar="FILE")
    channel_help = "a channel address PLATFORM:WORKSPACE/CHANNEL, e.g. console:local/general"
    sub = verb("subscribe", cmd_subscribe, "follow a topic in a channel", "Make CHANNEL follow "
               "TOPIC, a query in the search language (see `digestbot search --help`), "
               f"e.g. '\"breast MRI\" has:code -survey'. At most {MAX_TOPICS} topics a channel.")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub.add_argument("topic", nargs="+", metavar="TOPIC")
    sub = verb("unsubscribe", cmd_unsubscribe, "stop following a topic",
               "Make CHANNEL stop following TOPIC (written as when subscribing).")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub.add_argument("topic", nargs="+", metavar="TOPIC")
    sub = verb("topics", cmd_topics, "list a channel's topics", "List the topics CHANNEL follows.")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub.add_argument("--json", action="store_true", help="print a JSON array")
    sub = verb("schedule", cmd_schedule, "set when a channel gets its digest",
               "Set CHANNEL's digest time: HH:MM [TIMEZONE] [daily|weekdays|weekly DAY], e.g. "
               "08:30 Europe/Berlin weekdays. Parts left out keep their current values.")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub.add_argument("when", nargs="+", metavar="WHEN")
    sub = verb("limit", cmd_limit, "set how many papers a channel's digest shows",
               "Show at most N papers (1-50, default 10) in CHANNEL's digests; the footer "
               "counts the rest and names the search that lists them.")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub.add_argument("count", metavar="N")
    sub = verb("digest", cmd_digest, "build a channel's digest now", "Build CHANNEL's digest "
               "now: the papers new since its last digest that match its topics. Without "
               "--dry-run the papers are recorded as delivered, so the next run shows only "
               "what is new.")
    sub.add_argument("--channel", required=True, metavar="CHANNEL", help=channel_help)
    sub.add_argument("--dry-run", action="store_true", help="show it without recording it")
    sub.add_argument("--json", action="store_true", help="print the digest as JSON")
    sub = verb("run", cmd_run, "run the bot", "Run the bot: post each channel's digest on "
               "its schedule, look for new papers every ingest_minutes, and answer /papers "
               "commands. With no chat platform configured, this terminal is the channel "
               "console:local/general. Stop with quit, Ctrl-D or Ctrl-C.")
    sub.add_argument("--console", action="store_true",
                     help="use the terminal as a channel even when a chat platform is configured")
    sub.add_argument("--slack-http", action="store_true", default=None,
                     help="serve Slack's request URLs over HTTP instead of Socket Mode "
                     "(needs SLACK_SIGNING_SECRET)")
    sub.add_argument("--port", type=int, metavar="PORT",
                     help="port of the HTTP server for Slack (default 3000, setting port)")
    sub = verb("health", cmd_health, "check that the running bot is healthy", "Check the "
               "bot that `digestbot run` runs with this data directory: its heartbeat is "
               "recent, the database answers, the scheduler runs and each chat platform is "
               "connected. Prints one line per check; exits 1 when one fails (for docker "
               "compose's health check).")
    sub.add_argument("--json", action="store_true", help="print a JSON object")
    sub = verb("feeds", cmd_feeds, "list, add or remove the feeds digestbot reads",
               "The RSS/Atom feeds the ingest job reads: those of the feeds setting "
               "(arXiv's cs.CV, eess.IV and cs.LG by default) and those added here. "
               "Without an action, list them.")
    actions = sub.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="each feed with its status, last fetch, "
                                 "last error and papers added",
                                 description="List the feeds with their status.")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    adding = actions.add_parser("add", help="read another feed",
                                description="Add a feed URL (or enable a removed or "
                                "disabled one again).")
    adding.add_argument("url", metavar="URL", help="the feed's http(s) URL")
    adding.add_argument("--name", metavar="NAME",
                        help="a short name for it (default: from the URL, e.g. cs.CV)")
    removing = actions.add_parser("remove", help="stop reading a feed",
                                  description="Stop reading a feed; its papers stay.")
    removing.add_argument("name", metavar="NAME")
    enabling = actions.add_parser("enable", help="read a disabled feed again",
                                  description="Read a feed disabled after failures again.")
    enabling.add_argument("name", metavar="NAME")
    sub = verb("ingest", cmd_ingest, "read feeds into the catalog now", "Fetch feeds and add "
               "their new papers to the catalog: every enabled feed by default, or the given "
               "feed names, URLs or feed files. Prints one line per feed.")
    sub.add_argument("targets", nargs="*", metavar="NAME|URL|FILE")
    verb("reindex", cmd_reindex, "rebuild the search index", "Rebuild the search index "
         "from the catalog database (the index is derived; the database is the truth).")
    return parser


SEARCH_HELP = """Search titles, authors and abstracts; best matches first.

  breast mri               papers with both words (stemmed: mri, segment...)
  "breast mri"             the exact phrase
  ct OR mri                either word
  mri -survey              exclude a word
  segm*                    words starting with segm
  author:luo               an author's name
  cat:cs.CV  (or cat:CV)   an arXiv category
  has:code                 papers with code
  after:2024-01-01         published on or after a date (YYYY, YYYY-MM or YYYY-MM-DD)
  before:2025              published before a date
"""


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError("must be between 1 and 100")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        settings = load_settings(
            config_file=Path(args.config) if args.config else None,
            overrides={
                "data_dir": args.data_dir,
                "database_url": args.database,
                "slack_http": getattr(args, "slack_http", None),
                "port": getattr(args, "port", None),
            },
        )
    except ConfigError as exc:
        _err(f"digestbot: {exc}")
        return EXIT_ERROR
    logging.basicConfig(
        level=logging.INFO if args.verbose else settings.log_level.upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # Their INFO lines come with every job run (a resync each minute) and
        # every connection: noise beside one line per feed and per digest.
        for chatty in ("apscheduler", "alembic"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
    if args.func is cmd_health:
        # Reads; opens, creates and migrates nothing.
        return cmd_health(args, settings)
    first_use = not settings.database_url and not settings.data_dir.exists()
    try:
        service = Service.open(settings)
    except DatabaseError as exc:
        _err(f"digestbot: {exc}")
        return EXIT_ERROR
    if first_use:
        _err(f"digestbot: created a new catalog in {settings.data_dir} "
             "(change with --data-dir or DIGESTBOT_DATA_DIR).")
    try:
        return int(args.func(service, args, settings))
    except QueryError as exc:
        # A query is written like a command's arguments: a usage mistake.
        _err(f"digestbot: {exc}")
        return EXIT_USAGE
    except UserError as exc:
        _err(f"digestbot: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("digestbot: interrupted; nothing half-written is kept.")
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not an error of ours.
        sys.stderr.close()
        return 0
    finally:
        service.close()
