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
from bot.model.messages import short_authors
from bot.model.papers import PaperRecord
from bot.text.terminal import plain

__all__ = [
    "CommandError",
    "EXIT_ERROR",
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
