"""Engines, sessions and migrations: the only module that opens connections.

``open_database`` creates the engine for a URL, creates the data directory
for a SQLite file, and upgrades the schema to the newest Alembic revision, so
an upgrade of digestbot never needs a manual step and never loses data.
``ping`` only asks a database whether it answers (``digestbot health``).
"""

from __future__ import annotations

import logging
import typing
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Insert, Table, create_engine, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from bot.models import CatalogMeta

__all__ = ["Database", "DatabaseError", "insert_missing", "open_database", "ping"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
META = typing.cast(Table, CatalogMeta.__table__)


class DatabaseError(Exception):
    """The database could not be opened or upgraded; the message says why."""


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    catalog_id: str

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        """Run ``SELECT 1``; raise ``DatabaseError`` saying why the database does not answer."""
        _select_one(self.engine)


def _select_one(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        message = str(cause).strip()
        reason = message.splitlines()[0] if message else type(cause).__name__
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseError(f"The database {where} does not answer: {reason}.") from None


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets searches read while an import writes; NORMAL is durable in WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoint the WAL every ~80 MB rather than every 4 MB: bulk imports
    # rewrite the same index pages far less often (+15% import throughput,
    # docs/benchmarks.md).
    cursor.execute("PRAGMA wal_autocheckpoint=20000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"Database URL {url!r} is not valid; use e.g. sqlite:///path/to/file.sqlite3."
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver digestbot installs; SQLAlchemy's default
        # for a bare postgresql:// is psycopg2, and postgres:// it does not know.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except NoSuchModuleError:
        raise DatabaseError(
            f"Unknown database kind {parsed.drivername!r}; use sqlite:///FILE or "
            "postgresql+psycopg://USER@HOST/NAME."
        ) from None
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"The driver for {parsed.drivername} is not installed ({exc.name}); "
            "install it with pip, e.g. pip install 'psycopg[binary]'."
        ) from None


def migrate(engine: Engine) -> bool:
    """Upgrade the schema to the newest revision; True when anything changed."""
    script = ScriptDirectory.from_config(_alembic_config(engine))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == script.get_current_head():
        return False
    log.info("upgrading database schema from %s to %s", current, script.get_current_head())
    command.upgrade(_alembic_config(engine), "head")
    return True


def insert_missing(table: Table, dialect: Dialect, **values: object) -> Insert:
    """``INSERT`` of one row that does nothing when its key is taken.

    Unlike a read then an insert, it is safe when another process inserts
    the same key at the same time: on PostgreSQL it waits for that
    transaction and then does nothing.
    """
    if dialect.name == "postgresql":
        return postgresql.insert(table).values(**values).on_conflict_do_nothing()
    if dialect.name == "sqlite":
        return sqlite.insert(table).values(**values).on_conflict_do_nothing()
    raise DatabaseError(f"digestbot does not support {dialect.name} databases.")


def _ensure_catalog_id(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        session.execute(
            insert_missing(META, session.get_bind().dialect, key="catalog_id", value=uuid.uuid4().hex)
        )
        return str(session.scalar(select(META.c.value).where(META.c.key == "catalog_id")))


def open_database(url: str) -> Database:
    """Open (creating and upgrading when needed) the catalog database at ``url``."""
    engine = create_db_engine(url)
    try:
        migrate(engine)
        sessions = sessionmaker(engine, expire_on_commit=False)
        catalog_id = _ensure_catalog_id(sessions)
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(f"Cannot open the database {engine.url!r}: {reason}.") from None
    return Database(engine=engine, sessions=sessions, catalog_id=catalog_id)


def ping(url: str, *, timeout: float = 5.0) -> None:
    """Connect to the database at ``url`` and run ``SELECT 1``, waiting at most ``timeout`` s.

    Unlike ``open_database`` it creates and migrates nothing (a health check
    must not change what it checks): a SQLite file that does not exist is an
    error. Raises ``DatabaseError`` saying why the database does not answer.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"Database URL {url!r} is not valid.") from None
    where = parsed.render_as_string(hide_password=True)
    connect_args: dict[str, object] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            if not Path(parsed.database).expanduser().is_file():
                raise DatabaseError(f"There is no database file at {parsed.database}.")
        connect_args["timeout"] = timeout
    elif parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, round(timeout))
    try:
        engine = create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except NoSuchModuleError:
        raise DatabaseError(f"Unknown database kind {parsed.drivername!r} in {where}.") from None
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"The driver for {parsed.drivername} is not installed ({exc.name})."
        ) from None
    try:
        _select_one(engine)
    finally:
        engine.dispose()
