"""The ``digestbot`` command line: the parser, settings, and one place that turns errors into
exit codes.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

from bot import __version__
from bot.chat.channels import MAX_TOPICS
from bot.chat.service import Clock, Service, utcnow
from bot.cli.catalog import (
    cmd_backfill,
    cmd_export,
    cmd_feeds,
    cmd_harvest,
    cmd_import,
    cmd_ingest,
    cmd_init,
    cmd_reindex,
    cmd_search,
    cmd_seed,
    cmd_show,
)
from bot.cli.channels import (
    cmd_channels,
    cmd_digest,
    cmd_feedback,
    cmd_limit,
    cmd_pause,
    cmd_resume,
    cmd_schedule,
    cmd_subscribe,
    cmd_taste,
    cmd_topics,
    cmd_unsubscribe,
    cmd_why,
)
from bot.cli.output import EXIT_ERROR, EXIT_USAGE, err
from bot.cli.reading import FORMATS, cmd_cite, cmd_read, cmd_save, cmd_saved
from bot.cli.run import cmd_health, cmd_run
from bot.config import ConfigError, Settings, default_data_dir, load_settings
from bot.errors import UserError
from bot.ingest.harvest import METADATA_PREFIXES
from bot.search.query import QueryError
from bot.store.db import DatabaseError

__all__ = ["build_parser", "main"]


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
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log progress details; twice (-vv), debugging details too, "
                        "with the traceback of each network failure")
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
    sub = verb("schedule", cmd_schedule, "show or set when a channel gets its digest",
               "Set CHANNEL's digest time: HH:MM [TIMEZONE] [daily|weekdays|weekly DAY], e.g. "
               "08:30 Europe/Berlin weekdays (8am, 8:30pm and 08.30 work too). Parts left out "
               "keep their current values. Without WHEN, show the schedule. Either way, say "
               "when the next digest comes.")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub.add_argument("when", nargs="*", metavar="WHEN")
    sub = verb("pause", cmd_pause, "stop a channel's digests", "Stop CHANNEL's digests "
               "until `digestbot resume` (or /papers resume); its papers keep coming into the "
               "catalog and wait for it. REASON is shown in the channel.")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub.add_argument("reason", nargs="*", metavar="REASON")
    sub = verb("resume", cmd_resume, "start a channel's digests again",
               "Start CHANNEL's digests again; the next one brings what waited.")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub = verb("feedback", cmd_feedback, "say a paper is (up) or is not (down) for a channel",
               "Record a vote on paper ID for CHANNEL, as its digest's 👍 / 👎 buttons and "
               "/papers more|less do: up (relevant) or down (not for us). One vote a person; "
               "the same vote again changes nothing, the other replaces it.")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub.add_argument("paper_id", metavar="ID")
    sub.add_argument("vote", metavar="up|down")
    sub.add_argument("--user", default="cli", metavar="NAME",
                     help="whose vote it is (default: cli)")
    sub = verb("why", cmd_why, "why a paper is or is not in a channel's digest",
               "Say why paper ID is or is not in CHANNEL's digests, as /papers why does: when "
               "it came in, whether the channel was sent it (when, and in which message), which "
               "topics match it, and where the next digest ranks it against the channel's cap.")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub.add_argument("paper_id", metavar="ID")
    sub.add_argument("--json", action="store_true", help="print a JSON object")
    sub = verb("taste", cmd_taste, "what a channel's votes taught its digests",
               "Say what CHANNEL's votes (👍 / 👎, /papers more|less, digestbot feedback) "
               "taught its digests' ranking, as /papers taste does: the words and authors "
               "that weigh most for and against, and how many votes it rests on.")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub.add_argument("--json", action="store_true", help="print a JSON object")
    sub.add_argument("--count", type=int, default=8, metavar="N",
                     help="features shown each way (default 8)")
    sub.add_argument("--reset", action="store_true",
                     help="forget what the votes taught (they stay recorded)")
    sub = verb("save", cmd_save, "put a paper on a channel's reading list",
               "Put paper ID on CHANNEL's reading list, as its digest's Save button and "
               "/papers save do; saving it again says who saved it and when.")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub.add_argument("paper_id", metavar="ID")
    sub.add_argument("--user", default="cli", metavar="NAME",
                     help="who saves it (default: cli)")
    sub = verb("saved", cmd_saved, "a channel's reading list, or its export",
               "List CHANNEL's reading list, newest first, with who saved each paper and who "
               "read it; or export it for a reference manager: --format bibtex (JabRef, "
               "Zotero, BibTeX/biblatex), ris (Zotero, Mendeley, EndNote), csv (a "
               "spreadsheet), json.")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub.add_argument("--format", choices=FORMATS, default="text",
                     help="text (default), bibtex, ris, csv or json")
    sub.add_argument("--output", type=Path, metavar="FILE",
                     help="write to FILE (whole, or not at all) instead of printing")
    sub = verb("read", cmd_read, "mark a paper of a channel's reading list read",
               "Mark paper ID of CHANNEL's reading list read for --user, as /papers read does.")
    sub.add_argument("channel", metavar="CHANNEL", help=channel_help)
    sub.add_argument("paper_id", metavar="ID")
    sub.add_argument("--user", default="cli", metavar="NAME",
                     help="who read it (default: cli)")
    sub = verb("cite", cmd_cite, "print a paper's BibTeX entry",
               "Print paper ID's BibTeX entry, as /papers cite does: @misc with eprint, "
               "archivePrefix and primaryClass for an arXiv paper, @article with its journal "
               "and DOI when it names them.")
    sub.add_argument("paper_id", metavar="ID")
    sub = verb("channels", cmd_channels, "list every channel", "List every channel: its "
               "schedule, the next and the last digest, how many topics it follows, and why "
               "it is paused.")
    sub.add_argument("--json", action="store_true", help="print a JSON array")
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
               "commands. With no chat platform configured and a terminal on stdin, this "
               "terminal is the channel console:local/general (stop with quit, Ctrl-D or "
               "Ctrl-C); without one (systemd, nohup, cron, docker without -t) the bot runs "
               "without a console until SIGTERM or Ctrl-C.")
    console = sub.add_mutually_exclusive_group()
    console.add_argument("--console", action="store_true",
                         help="use the terminal as a channel even when a chat platform is "
                         "configured, or read commands from stdin when it is not a terminal")
    console.add_argument("--no-console", action="store_true",
                         help="no console even with a terminal (as under systemd)")
    sub.add_argument("--slack-http", action="store_true", default=None,
                     help="serve Slack's request URLs over HTTP instead of Socket Mode "
                     "(needs SLACK_SIGNING_SECRET)")
    sub.add_argument("--port", type=int, metavar="PORT",
                     help="port of the HTTP server for Slack (default 3000, setting port)")
    sub = verb("health", cmd_health, "check that the running bot is healthy", "Check the "
               "bot that `digestbot run` runs with this data directory: its heartbeat is "
               "recent, the database answers, the scheduler runs, each chat platform is "
               "connected and the feeds are read (a failing feed is a warning; none read for "
               "over a day, a failure). Prints one line per check; exits 1 when one fails "
               "(for docker compose's health check).")
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
                                "disabled one again). The URL is fetched once first: one "
                                "that gives no feed (an HTTP error, an HTML page, no answer) "
                                "is refused and nothing is saved; a feed's papers are stored "
                                "at once.")
    adding.add_argument("url", metavar="URL", help="the feed's http(s) URL")
    adding.add_argument("--name", metavar="NAME",
                        help="a short name for it (default: from the URL, e.g. cs.CV)")
    adding.add_argument("--no-check", action="store_true",
                        help="save it without fetching it first (the next ingest reads it)")
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
    sub = verb("backfill", cmd_backfill, "fetch past arXiv announcement days from the API",
               "Fetch the papers of the arXiv announcements of the last N days from the arXiv "
               "API (arxiv_api_url), for the categories of the arXiv feeds or those given, "
               "one request at least every 3 seconds. Papers the catalog holds already are "
               "not doubled; the others come in as new. Prints one line per category.")
    sub.add_argument("--days", type=_days, metavar="N",
                     help="how many days back (1-60; default: the backfill_max_days setting)")
    sub.add_argument("--category", action="append", metavar="CATEGORY",
                     help="an arXiv category such as cs.CV (again for more; default: those "
                     "of the arXiv feeds)")
    sub = verb("harvest", cmd_harvest, "harvest the arXiv catalog over OAI-PMH",
               "Harvest arXiv's whole catalog, or one set of it, from its OAI-PMH interface "
               "(oai_url; ListRecords), following the resumption tokens to the end of the "
               "list, one request at least every 3 seconds; a 503 with Retry-After is waited "
               "out. Harvested papers are catalog, never news in a digest. A harvest stopped "
               "or killed goes on where it stopped; a later one without --from asks only for "
               "the records changed since the last. Prints a progress bar and one line.")
    sub.add_argument("--set", metavar="SET",
                     help="an OAI-PMH set, e.g. cs or physics:hep-th (default: everything)")
    sub.add_argument("--from", dest="from_day", type=_day, metavar="YYYY-MM-DD",
                     help="records changed on or after this day (default: since the last "
                     "harvest of this set, or from the start)")
    sub.add_argument("--until", type=_day, metavar="YYYY-MM-DD",
                     help="records changed on or before this day")
    sub.add_argument("--url", metavar="URL",
                     help="another OAI-PMH base URL (a mirror); default: the oai_url setting")
    sub.add_argument("--format", choices=METADATA_PREFIXES, default="arXiv",
                     help="the metadataPrefix asked for: arXiv (default) or arXivRaw (with "
                     "every version)")
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


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 1 <= value <= 60:
        raise argparse.ArgumentTypeError("must be between 1 and 60")
    return value


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day written YYYY-MM-DD") from None


def _clock(settings: Settings) -> Clock:
    """The real clock, or the fixed moment of ``fixed_now`` (a replayed day)."""
    if not settings.fixed_now:
        return utcnow
    moment = datetime.fromisoformat(settings.fixed_now)
    return lambda: moment


# Verbs that are nothing but writes: on a database this user may only read
# they stop at once, in one line, rather than at their first write.
_WRITERS = (cmd_run, cmd_ingest, cmd_seed, cmd_import, cmd_backfill, cmd_harvest)


def main(
    argv: Sequence[str] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> int:
    """Run ``digestbot ARGS``; the exit code. ``sleep`` and ``monotonic`` time the
    arXiv requests' spacing and the backfill's and harvest's waits (tests pass a clock of their own)."""
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
        err(f"digestbot: {exc}")
        return EXIT_ERROR
    logging.basicConfig(
        level=(logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose
               else settings.log_level.upper()),
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
        service = Service.open(settings, clock=_clock(settings), writes=args.func in _WRITERS,
                               sleep=sleep, monotonic=monotonic)
    except DatabaseError as exc:
        err(f"digestbot: {exc}")
        return EXIT_ERROR
    if first_use:
        err(f"digestbot: created a new catalog in {settings.data_dir} "
             "(change with --data-dir or DIGESTBOT_DATA_DIR).")
    try:
        return int(args.func(service, args, settings))
    except QueryError as exc:
        # A query is written like a command's arguments: a usage mistake.
        err(f"digestbot: {exc}")
        return EXIT_USAGE
    except UserError as exc:
        err(f"digestbot: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        err("digestbot: interrupted; nothing half-written is kept.")
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not an error of ours.
        sys.stderr.close()
        return 0
    finally:
        service.close()
