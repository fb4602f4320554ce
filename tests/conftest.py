"""Shared fixtures: a real SQLite catalog file and an on-disk search index per test."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.catalog import upsert_papers
from bot.db import Database, open_database
from bot.index import SearchIndex, catch_up
from bot.papers import PaperRecord

# Tests never reach the internet: no default arXiv feeds, in this process or
# in the digestbot processes tests start (they inherit the environment).
os.environ["DIGESTBOT_FEEDS"] = ""

REPO = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO / "seeds"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    yield database
    database.dispose()


@pytest.fixture
def index(tmp_path: Path, db: Database) -> SearchIndex:
    return SearchIndex.open(tmp_path / "index", catalog_id=db.catalog_id)


def store(db: Database, index: SearchIndex | None, records: Iterable[PaperRecord]) -> None:
    """Put ``records`` in the catalog and bring ``index`` up to date."""
    with db.session() as session:
        upsert_papers(session, list(records), now=datetime.now(UTC))
    if index is not None:
        with db.session() as session:
            catch_up(session, index)
