"""What the feed parser tests share: the fixture directory, parsing a fixture,
and comparing records field by field.

Each fixture under tests/ingest/feeds/ says in its header what the case is and what
to expect; the tests hold the parser to it, record by record and field by field.
Nothing in these tests touches the network or the database.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

from bot.ingest.feeds import ParsedFeed, parse_feed
from bot.model.papers import PaperRecord

__all__ = [
    "FEB_12",
    "FEEDS",
    "arxiv",
    "assert_record",
    "parse",
]

FEEDS = Path(__file__).resolve().parent / "feeds"
FEB_12 = date(2024, 2, 12)


def parse(name: str, source: str = "cs.CV", **kwargs: Any) -> ParsedFeed:
    return parse_feed((FEEDS / name).read_bytes(), source=source, **kwargs)


def assert_record(actual: PaperRecord, expected: PaperRecord) -> None:
    """Every field, ``extra`` included (it is left out of ``==``), named on failure."""
    for field in dataclasses.fields(PaperRecord):
        got, want = getattr(actual, field.name), getattr(expected, field.name)
        assert got == want, f"{expected.id}: {field.name} is {got!r}, expected {want!r}"


def arxiv(paper_id: str, version: int, title: str, **fields: Any) -> PaperRecord:
    return PaperRecord(
        id=paper_id,
        version=version,
        title=title,
        url=f"https://arxiv.org/abs/{paper_id}",
        **{"published": FEB_12, "source": "cs.CV", **fields},
    )
