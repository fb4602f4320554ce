"""Shared fixtures: a real catalog database and an on-disk search index per test.

Every test that takes ``db`` (or ``database_url``, ``new_database``) runs
twice, on SQLite (a fresh file) and on PostgreSQL (a fresh database,
``tests/postgres.py``): ``test_x[sqlite]`` and ``test_x[postgresql]``.
Without a PostgreSQL server here the second one skips, saying how to get
one; under CI (``CI`` set) it fails instead, so CI cannot pass by skipping.
``pytest -m "not postgresql"`` runs the SQLite half alone.

With ``DIGESTBOT_TEST_DATE_SHIFT_DAYS=N`` the whole session runs with the
date moved N days ahead (``tests/date_moved.sh``): no test may depend on
today's date.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.model.papers import PaperRecord
from bot.search.index import SearchIndex, catch_up
from bot.store.catalog import upsert_papers
from bot.store.db import Database, create_db_engine, migrate, open_database
from tests.postgres import PostgresServer, PostgresUnavailable

# Tests never reach the internet: no default arXiv feeds, in this process or
# in the digestbot processes tests start (they inherit the environment).
os.environ["DIGESTBOT_FEEDS"] = ""
# Nor the arXiv API: no backfill unless a test asks for one, and then from a local fake.
os.environ["DIGESTBOT_BACKFILL_MAX_DAYS"] = "0"
os.environ["DIGESTBOT_ARXIV_API_URL"] = "http://127.0.0.1:9/api/query"
# Nor arXiv's OAI-PMH interface: harvests go to a local fake (tests/fakes/oai_pmh.py).
os.environ["DIGESTBOT_OAI_URL"] = "http://127.0.0.1:9/oai"

REPO = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO / "seeds"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
DatabaseFactory = Callable[..., str]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgresql: runs against PostgreSQL (skips without a server, fails under CI)"
    )
    config.addinivalue_line(
        "markers", "system: starts several digestbot processes (tests/system/); -m 'not system' skips them"
    )
    shift = os.environ.get("DIGESTBOT_TEST_DATE_SHIFT_DAYS")
    if shift:
        # The wall clock (time.time, datetime.now, date.today) of this process,
        # ticking on from the moved date; monotonic clocks and timeouts are
        # untouched. Processes the tests start run at the real date.
        import time_machine

        time_machine.travel(datetime.now(UTC) + timedelta(days=int(shift)), tick=True).start()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent.name == "system":
            item.add_marker(pytest.mark.system)


def pytest_report_header(config: pytest.Config) -> str | None:
    if os.environ.get("DIGESTBOT_TEST_DATE_SHIFT_DAYS"):
        return f"date moved ahead: today is {datetime.now(UTC):%Y-%m-%d} in this session"
    return None


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | str]:
    """The session's PostgreSQL server, or why there is none."""
    try:
        server = PostgresServer.find()
    except PostgresUnavailable as exc:
        yield str(exc)
        return
    yield server
    server.close()


def _server(request: pytest.FixtureRequest) -> PostgresServer:
    found = request.getfixturevalue("postgres")
    if isinstance(found, str):
        if os.environ.get("CI"):
            pytest.fail(f"needs PostgreSQL, and under CI (CI is set) it must run: {found}")
        pytest.skip(f"needs PostgreSQL: {found}")
    return found


@pytest.fixture
def postgresql_database(request: pytest.FixtureRequest) -> Iterator[DatabaseFactory]:
    """Makes fresh PostgreSQL databases, whatever the backend: for moves between engines.

    A test that uses it SHOULD carry ``@pytest.mark.postgresql``.
    """
    server = _server(request)
    made: list[str] = []

    def make(*, migrated: bool = True) -> str:
        made.append(server.create_database(migrated=migrated))
        return made[-1]

    yield make
    for url in made:
        server.release(url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database engine this run of the test uses: ``sqlite`` or ``postgresql``."""
    return str(request.param)


@pytest.fixture
def new_database(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[DatabaseFactory]:
    """Makes fresh databases on this test's backend: ``new_database()`` is a URL.

    Databases start at the newest schema; with ``migrated=False`` they start
    empty (a PostgreSQL database with no tables, a SQLite file not there yet),
    so that opening them migrates them.
    """
    if backend == "postgresql":
        yield request.getfixturevalue("postgresql_database")
        return
    files = (tmp_path / f"catalog{n or ''}.sqlite3" for n in itertools.count())

    def make(*, migrated: bool = True) -> str:
        path = next(files)
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"

    yield make


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file the migrations brought to the newest schema, once a session.

    Each test's database starts as a copy (its catalog id is made when it is
    first opened), which spares every test the migrations' run.
    """
    path = tmp_path_factory.mktemp("template") / "catalog.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return path


@pytest.fixture
def database_url(new_database: DatabaseFactory) -> str:
    return new_database()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
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
