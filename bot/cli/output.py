"""What the ``digestbot`` command prints: lines, progress, papers as text and as JSON.

The only I/O: stdout and stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bot.config import Settings
from bot.errors import UserError
from bot.model.messages import short_authors
from bot.model.papers import PaperRecord

__all__ = [
    "CommandError",
    "EXIT_ERROR",
    "EXIT_USAGE",
    "err",
    "format_paper",
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


def where(settings: Settings) -> str:
    if settings.database_url:
        return "the database at DIGESTBOT_DATABASE_URL/--database"
    return str(settings.data_dir)
