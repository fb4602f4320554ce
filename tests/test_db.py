"""The database: migrations create the schema the models describe and keep data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.catalog import current_revision, get_paper, upsert_papers
from bot.db import DatabaseError, migrate, open_database
from bot.models import Base
from bot.papers import PaperRecord


def test_migrations_match_the_models(db) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_reopening_keeps_data_and_identity(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    first = open_database(url)
    paper = PaperRecord(id="2401.00001", title="Kept", authors=("A B",), published=date(2024, 1, 2))
    with first.session() as session:
        upsert_papers(session, [paper], now=datetime.now(UTC))
    catalog_id = first.catalog_id
    first.dispose()

    again = open_database(url)
    assert again.catalog_id == catalog_id
    assert migrate(again.engine) is False  # already at the newest revision
    with again.session() as session:
        stored = get_paper(session, "2401.00001")
        assert stored is not None and stored.title == "Kept"
        assert current_revision(session) == 1
    again.dispose()


def test_creates_the_data_directory(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'a' / 'b' / 'c.sqlite3'}")
    assert (tmp_path / "a" / "b" / "c.sqlite3").exists()
    db.dispose()


@pytest.mark.parametrize("url", ["not a url", "nosuchdialect://x/y"])
def test_bad_database_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(DatabaseError):
        open_database(url)


def test_unwritable_database_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "dir-not-file"
    target.mkdir()
    with pytest.raises(DatabaseError, match="Cannot open the database"):
        open_database(f"sqlite:///{target}")
