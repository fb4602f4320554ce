"""The database: migrations create the schema the models describe and keep data."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.model.papers import PaperRecord
from bot.store.catalog import current_revision, get_paper, iter_papers, upsert_papers
from bot.store.db import (
    DatabaseError,
    FileLease,
    create_db_engine,
    migrate,
    open_database,
    open_read_only,
)
from bot.store.models import Base
from tests.conftest import REPO, DatabaseFactory


def test_migrations_match_the_models(db) -> None:
    with db.engine.connect() as conn:
        # slack_* tables belong to slack_sdk's stores (the Slack adapter's tests check them).
        context = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_name": lambda name, kind, parent: not (name or "").startswith("slack_"),
        })
        assert compare_metadata(context, Base.metadata) == []


def test_reopening_keeps_data_and_identity(new_database: DatabaseFactory) -> None:
    url = new_database(migrated=False)
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


def test_postgresql_urls_use_psycopg() -> None:
    for url in ("postgresql://u@127.0.0.1/x", "postgres://u@127.0.0.1/x",
                "postgresql+psycopg://u@127.0.0.1/x"):
        engine = create_db_engine(url)
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
        engine.dispose()


def test_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DatabaseError, match="Cannot open the database"):
        open_database(f"postgresql://digestbot@127.0.0.1:{port}/digestbot")


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


def test_bulk_insert_stores_exactly_what_sqlalchemy_would(db) -> None:
    """The fast paths in upsert_papers (SQLite's executemany, PostgreSQL's COPY)
    write SQLAlchemy's own formats."""
    from sqlalchemy import insert, text

    from bot.store.catalog import PAPERS

    now = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    record = PaperRecord(
        id="fast", title="Ünïcode — title", authors=("Zoë Ä", "B C"), authors_truncated=True,
        abstract="x", categories=("cs.CV", "eess.IV"), published=date(2024, 2, 29),
        url="https://arxiv.org/abs/2402.00001", code_urls=("https://github.com/a/b",),
        has_code=True, source="seed:x.txt", version=3,
    )
    with db.session() as session:
        result = upsert_papers(session, [record], now=now)
        values = {column.name: None for column in PAPERS.c}
        row = session.execute(text("SELECT * FROM papers WHERE id = 'fast'")).mappings().one()
        values.update(dict(row), id="core")
        values.update(
            authors=list(record.authors), categories=list(record.categories),
            code_urls=list(record.code_urls), published=record.published,
            first_seen=now, updated_at=now, has_code=True, authors_truncated=True,
        )
        session.execute(insert(PAPERS), [values])
        fast, core = (
            dict(session.execute(text(f"SELECT * FROM papers WHERE id = '{i}'")).mappings().one())
            for i in ("fast", "core")
        )
        as_text = None
        if session.get_bind().dialect.name == "postgresql":
            # JSON columns keep the text they were given: compare the rows as text.
            as_text = [
                session.execute(text(
                    f"SELECT (p.*)::text FROM (SELECT * FROM papers WHERE id = '{i}') p"
                )).scalar_one().replace(f"({i},", "(", 1)
                for i in ("fast", "core")
            ]
    assert result.new == 1
    assert {**fast, "id": None} == {**core, "id": None}
    if as_text is not None:
        assert as_text[0] == as_text[1]
    with db.session() as session:
        stored = get_paper(session, "fast")
    assert stored is not None
    assert stored.extra["first_seen"] == now
    assert (stored.title, stored.authors, stored.categories, stored.published, stored.version) == (
        record.title, record.authors, record.categories, record.published, 3
    )


def test_concurrent_writers_take_distinct_revisions_in_commit_order(db) -> None:
    """Writers that start together, on a catalog never written before, count one by one."""
    writers = 6
    start = threading.Barrier(writers)
    revisions: list[int] = []

    def write(n: int) -> None:
        start.wait()
        with db.session() as session:
            result = upsert_papers(
                session, [PaperRecord(id=f"2401.{n:05d}", title=f"Paper {n}")], now=datetime.now(UTC)
            )
            assert result.revision is not None
            revisions.append(result.revision)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(revisions) == list(range(1, writers + 1))
    with db.session() as session:
        assert current_revision(session) == writers


@pytest.mark.postgresql
def test_processes_opening_a_new_database_together_agree(
    postgresql_database: DatabaseFactory,
) -> None:
    """Bot processes started at once on a new PostgreSQL database: one upgrades, all agree."""
    url = postgresql_database(migrated=False)
    # Each waits for the same moment, then opens (and so upgrades) the database.
    child = (
        "import sys, time; from bot.store.db import open_database; "
        "time.sleep(max(0, float(sys.argv[2]) - time.time())); "
        "print(open_database(sys.argv[1]).catalog_id)"
    )
    at = str(time.time() + 3)
    processes = [
        subprocess.Popen([sys.executable, "-c", child, url, at], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=REPO)
        for _ in range(4)
    ]
    results = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, results
    assert len({out.strip() for out, _ in results}) == 1


def test_papers_come_in_the_same_order_on_every_engine(db) -> None:
    """By revision, then id by code point: PostgreSQL's collation would put "a" before "B"."""
    ids = ["b2", "B1", "a1", "A2", "_x", "Z", "2401.00001", "é1", "e2"]
    with db.session() as session:
        upsert_papers(session, [PaperRecord(id=i, title=i) for i in ids], now=datetime.now(UTC))
        upsert_papers(session, [PaperRecord(id="0", title="later")], now=datetime.now(UTC))
        assert [record.id for _, record in iter_papers(session)] == [*sorted(ids), "0"]


def test_a_database_opened_read_only_refuses_writers_and_keeps_its_lease_beside_it(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "catalog.sqlite3"
    path.write_bytes(sqlite_template.read_bytes())
    open_database(f"sqlite:///{path}").dispose()  # its catalog id
    writable = open_database(f"sqlite:///{path}")
    writable.check_writable()  # nothing to say
    writable.dispose()
    db = open_read_only(path)
    try:
        with pytest.raises(DatabaseError, match="is read-only for this user, who cannot change it"):
            db.check_writable()
        lease = db.scheduler_lease()
        # The file's path, not the URI open_read_only names it by ("file:...").
        assert isinstance(lease, FileLease)
        assert lease.path == path.resolve().with_suffix(".scheduler.lock")
    finally:
        db.dispose()
