"""What the ``digestbot`` command prints: lines, progress, papers as text and as JSON.

Catalog text comes from feeds and imports, so it is untrusted: papers are
printed through ``bot.text.terminal.plain``, as digests are, and JSON
escapes every character a terminal would act on (``json_text``).
The only I/O: stdout and stderr.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable

from bot.config import Settings
from bot.errors import UserError
from bot.ingest.harvest import HarvestProgress
from bot.model.messages import short_authors
from bot.model.papers import PaperRecord
from bot.text.terminal import plain

__all__ = [
    "CommandError",
    "EXIT_ERROR",
    "HarvestBar",
    "EXIT_USAGE",
    "err",
    "format_paper",
    "json_text",
    "out",
    "paper_json",
    "progress",
    "where",
]


EXIT_ERROR = 1
EXIT_USAGE = 2


class CommandError(UserError):
    """A user mistake the command reports in one line (exit code 1)."""


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


def progress(verb: str, *, every: int = 100_000) -> Callable[[int], None]:
    """A progress callback that reports on stderr each time ``every`` more are done."""
    reported = 0

    def report(done: int) -> None:
        nonlocal reported
        if done - reported >= every:
            reported = done - done % every
            err(f"{verb} {done:,} papers…")

    return report


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class HarvestBar:
    """A harvest's progress on stderr: records, pages, rate and ETA.

    On a terminal the line is redrawn in place after every page; elsewhere
    (a log, a pipe) a line is written for the first page and then at most
    every ``every`` seconds of the harvest's clock, so a day-long harvest
    leaves a readable log, not a line per page.
    """

    WIDTH = 24

    def __init__(self, label: str, *, every: float = 60.0) -> None:
        self.label = label
        self.every = every
        self.tty = sys.stderr.isatty()
        self._last: float | None = None
        self._drawn = False

    def text(self, pages: int, done: int, total: int | None, run_records: int,
             elapsed: float) -> str:
        rate = run_records / elapsed if elapsed > 0 else 0.0
        parts = [f"{done:,} records" if total is None else f"{done:,} of {total:,} records",
                 f"{pages:,} page{'' if pages == 1 else 's'}"]
        if rate:
            parts.append(f"{rate:,.0f} records/s")
        head = f"harvest {self.label}: "
        if total:
            share = min(1.0, done / total)
            filled = int(share * self.WIDTH)
            head += f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {share:4.0%} "
            if rate and done < total:
                parts.append(f"ETA {_duration((total - done) / rate)}")
        return head + ", ".join(parts)

    def __call__(self, progress: HarvestProgress) -> None:
        line = self.text(progress.pages, progress.done, progress.total, progress.run_records,
                         progress.elapsed)
        if self.tty:
            sys.stderr.write("\r\x1b[K" + line)
            sys.stderr.flush()
            self._drawn = True
            return
        if self._last is None or progress.elapsed - self._last >= self.every:
            self._last = progress.elapsed
            err(line)

    def finish(self) -> None:
        """Ends the redrawn line, so what follows starts on a line of its own."""
        if self._drawn:
            sys.stderr.write("\n")
            self._drawn = False


# -- formatting --------------------------------------------------------------


def format_paper(record: PaperRecord, *, number: int | None = None, full: bool = False) -> str:
    """``record`` as search (or, ``full``, show) prints it, every field made safe by ``plain``."""
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
    safe = [plain(line) for line in lines]
    if full and record.abstract:
        # The abstract keeps its lines; each is made safe alone.
        safe += ["", *(plain(line) for line in record.abstract.splitlines())]
    return "\n".join(safe)


# What ``json.dumps(ensure_ascii=False)`` leaves raw that a terminal acts on:
# DEL, the C1 controls (U+009B starts a sequence as ESC [ does) and the
# bidirectional embeddings, overrides and isolates, and the line and
# paragraph separators (one JSON line stays one line). It escapes C0 itself.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def json_text(value: object, *, indent: int | None = 2) -> str:
    """``value`` as JSON that is safe to print: every character kept, the unsafe ones escaped."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    # Outside its strings JSON text is ASCII, so these can only sit inside one.
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


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


def where(settings: Settings) -> str:
    if settings.database_url:
        return "the database at DIGESTBOT_DATABASE_URL/--database"
    return str(settings.data_dir)
