"""Engines, sessions and migrations: the only module that opens connections.

``open_database`` creates the engine for a URL, creates the data directory
for a SQLite file, and upgrades the schema to the newest Alembic revision, so
an upgrade of digestbot never needs a manual step and never loses data. A
SQLite file this user may only read (another user's) is opened read-only:
reads work, and a write fails with a ``DatabaseError`` that says why.
``ping`` only asks a database whether it answers, and ``read_only`` reads it
without changing it (``digestbot health``).
``Database.scheduler_lease`` decides which process runs the scheduler: a
PostgreSQL advisory lock, or a lock file beside a SQLite file.
"""

from __future__ import annotations

import logging
import os
import typing
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Insert, Table, create_engine, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, ExceptionContext, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from bot.errors import UserError
from bot.store.models import CatalogMeta

try:
    import fcntl
except ImportError:  # not on Windows: there a SQLite database gets no lease file
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "AdvisoryLease",
    "Database",
    "DatabaseError",
    "DiskFullError",
    "FileLease",
    "SchedulerLease",
    "insert_missing",
    "open_database",
    "open_read_only",
    "ping",
    "read_only",
]

log = logging.getLogger(__name__)
T = typing.TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE for "permission denied"
META = typing.cast(Table, CatalogMeta.__table__)


class DatabaseError(UserError):
    """The database could not be opened or upgraded; the message says why."""


class DiskFullError(DatabaseError):
    """The disk holding the database is full: the write under way was rolled back."""


# SQLite's result code and PostgreSQL's SQLSTATE for a full disk (or, for
# SQLite, a database at its max_page_count). A write the file system refuses
# for want of room (ENOSPC, or EFBIG at the file size limit) reaches SQLite
# as SQLITE_IOERR_WRITE when it grows its -wal file, not as SQLITE_FULL.
_SQLITE_FULL = 13
_SQLITE_IOERR_WRITE = 778
_PG_DISK_FULL = "53100"


def _disk_full(context: ExceptionContext) -> None:
    """A full disk raises ``DiskFullError``, one sentence, in place of the driver's error.

    Every write is a transaction, which the failure rolls back, so nothing
    stored before is lost: it is not a crash to show a traceback for.
    """
    cause = context.original_exception
    if (
        getattr(cause, "sqlite_errorcode", None) in (_SQLITE_FULL, _SQLITE_IOERR_WRITE)
        or getattr(cause, "sqlstate", None) == _PG_DISK_FULL
    ):
        where = context.engine.url.render_as_string(hide_password=True) if context.engine else ""
        raise DiskFullError(
            f"The disk holding the database {where} is full ({_first_line(cause)}): "
            "what was being written was rolled back and nothing stored before was lost. "
            "Free some space and try again."
        ) from None


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    catalog_id: str
    read_only: bool = False

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        try:
            with self.sessions.begin() as session:
                yield session
        except (OperationalError, ProgrammingError) as exc:
            # A file opened read-only, or a PostgreSQL role granted only SELECT.
            if "readonly" in str(exc.orig) and self.read_only:
                raise DatabaseError(_read_only_message(self.engine, "cannot change it")) from None
            if getattr(exc.orig, "sqlstate", None) == _INSUFFICIENT_PRIVILEGE:
                where = self.engine.url.render_as_string(hide_password=True)
                raise DatabaseError(
                    f"The database {where} refused the change: this user may not change it "
                    f"({_reason(exc)}). Run this as a user who may."
                ) from None
            raise

    def dispose(self) -> None:
        self.engine.dispose()

    def check_writable(self) -> None:
        """Raise ``DatabaseError`` (one sentence) when this user may only read the database.

        What only writes (``digestbot run``, ``ingest``) asks first, rather
        than failing at its first write, half-started.
        """
        if self.read_only:
            raise DatabaseError(_read_only_message(self.engine, "cannot change it"))

    def ping(self) -> None:
        """Run ``SELECT 1``; raise ``DatabaseError`` saying why the database does not answer."""
        _select_one(self.engine)

    def scheduler_lease(self) -> SchedulerLease:
        """The lease that lets one process at a time run the scheduler on this database."""
        url = self.engine.url
        if url.get_backend_name() == "postgresql":
            return AdvisoryLease(self.engine)
        if url.database and url.database != ":memory:" and fcntl is not None:
            # A file opened read-only is named by a URI (open_read_only): the file is its path.
            path = Path(url.database.removeprefix("file:")).expanduser()
            return FileLease(path.with_suffix(".scheduler.lock"))
        return SchedulerLease()


class SchedulerLease:
    """Held by the one process that runs the scheduler; others wait and retry.

    ``acquire`` tries to take it without waiting; ``holding`` says whether it
    is still held (a lost database connection loses it); ``release`` gives
    it up. This base lease is always held: a database only one process can
    open (in-memory SQLite) needs no lease.
    """

    def acquire(self) -> bool:
        return True

    def holding(self) -> bool:
        return True

    def release(self) -> None:
        return None


class AdvisoryLease(SchedulerLease):
    """PostgreSQL: a session-level advisory lock on a connection of its own.

    The lock lives as long as that connection: when the holding process
    dies, PostgreSQL ends its session and the lock is free for the next
    process that asks.
    """

    KEY = 0x6469676573740001  # any fixed 64-bit number; "digest" and 1

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._held = False

    def acquire(self) -> bool:
        if self._held:
            return self.holding()
        try:
            if self._conn is None:
                self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = self._conn.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.KEY}
            ).scalar()
        except SQLAlchemyError as exc:
            log.warning("scheduler lease: cannot ask the database: %s", _first_line(exc))
            self._drop()
            return False
        self._held = bool(got)
        return self._held

    def holding(self) -> bool:
        if not self._held or self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            log.warning("scheduler lease lost with its connection: %s", _first_line(exc))
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None and self._held:
            try:
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self.KEY}
                )
            except SQLAlchemyError:
                pass  # closing the connection below frees it anyway
        self._drop()

    def _drop(self) -> None:
        self._held = False
        if self._conn is not None:
            try:
                self._conn.invalidate()  # never back to the pool: its session held the lock
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None


class FileLease(SchedulerLease):
    """SQLite: an exclusive lock on a file beside the database file.

    The operating system drops the lock when the holding process ends, so
    two `digestbot run` on one SQLite file never both run the scheduler.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        assert fcntl is not None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def holding(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


def _first_line(exc: BaseException) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    message = str(cause).strip()
    return message.splitlines()[0] if message else type(cause).__name__


def _select_one(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseError(f"The database {where} does not answer: {_reason(exc)}.") from None


def _reason(exc: SQLAlchemyError) -> str:
    """The first line of what the driver said."""
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    message = str(cause).strip()
    return message.splitlines()[0] if message else type(cause).__name__


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def _read_only_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # Only the settings of this connection: the journal mode is the file's,
    # and a read-only connection may not change it.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets searches read while an import writes; NORMAL is durable in WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoint the WAL every ~80 MB rather than every 4 MB: bulk imports
    # rewrite the same index pages far less often, and run faster (see
    # docs/benchmarks.md, section "Catalog: bulk import and search", Reading).
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
        event.listen(engine, "handle_error", _disk_full)
        return engine
    try:
        engine = create_engine(parsed, pool_pre_ping=True)
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
    event.listen(engine, "handle_error", _disk_full)
    return engine


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
    query = select(META.c.value).where(META.c.key == "catalog_id")
    # Read first: a database this user may only read has its id already.
    with sessions.begin() as session:
        found = session.scalar(query)
    if found is not None:
        return str(found)
    with sessions.begin() as session:
        session.execute(
            insert_missing(META, session.get_bind().dialect, key="catalog_id", value=uuid.uuid4().hex)
        )
        return str(session.scalar(query))


def open_database(url: str) -> Database:
    """Open (creating and upgrading when needed) the catalog database at ``url``.

    A SQLite file this user may not write is opened read-only instead
    (``open_read_only``).
    """
    engine = create_db_engine(url)
    path = _sqlite_file(engine)
    if path is not None and path.is_file() and not _writable(path):
        # SQLite would open it read-only by itself, but then fail at the
        # first write, or at the first read when it cannot make the -shm file.
        engine.dispose()
        return open_read_only(path)
    try:
        migrate(engine)
        sessions = sessionmaker(engine, expire_on_commit=False)
        catalog_id = _ensure_catalog_id(sessions)
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(f"Cannot open the database {engine.url!r}: {reason}.") from None
    return Database(engine=engine, sessions=sessions, catalog_id=catalog_id)


def _sqlite_file(engine: Engine) -> Path | None:
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:"):
        return None  # a URI the user wrote: theirs to get right
    return Path(url.database).expanduser()


def _writable(path: Path) -> bool:
    """Whether this user may write the SQLite file at ``path`` and make its -wal and -shm files."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _read_only_message(engine: Engine, what: str) -> str:
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        where = url.database.removeprefix("file:")  # open_read_only's URI names the file
    else:
        where = url.render_as_string(hide_password=True)
    return (
        f"The database {where} is read-only for this user, who {what}: "
        "run this as the user who owns it."
    )


def open_read_only(path: Path) -> Database:
    """The SQLite file at ``path``, opened so that nothing is ever written to it.

    In WAL mode a reader needs the -shm file: while the owner's process has
    the database open it is there, and reading through it sees every commit.
    When it is not, and the directory is not writable either, no reader can
    create it; then there is no -wal file either (the owner's last
    connection folded it into the file and removed both), so everything
    committed is in the file and it is read as immutable.
    """
    wal = path.with_name(path.name + "-wal")
    options = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    engine = create_engine(f"sqlite:///file:{path.resolve()}?{options}&uri=true")
    event.listen(engine, "connect", _read_only_pragmas)
    try:
        script = ScriptDirectory.from_config(_alembic_config(engine))
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current != script.get_current_head():
            raise DatabaseError(_read_only_message(
                engine, "cannot upgrade it to this version of digestbot"
            ))
        sessions = sessionmaker(engine, expire_on_commit=False)
        with sessions.begin() as session:
            catalog_id = session.scalar(select(META.c.value).where(META.c.key == "catalog_id"))
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(f"Cannot read the database {path}: {reason}.") from None
    except DatabaseError:
        engine.dispose()
        raise
    if catalog_id is None:
        engine.dispose()
        raise DatabaseError(_read_only_message(engine, "cannot set it up"))
    log.info("database %s is read-only for this user; opened it read-only", path)
    return Database(engine=engine, sessions=sessions, catalog_id=str(catalog_id), read_only=True)


def ping(url: str, *, timeout: float = 5.0) -> None:
    """Connect to the database at ``url`` and run ``SELECT 1``, waiting at most ``timeout`` s.

    Unlike ``open_database`` it creates and migrates nothing (a health check
    must not change what it checks): a SQLite file that does not exist is an
    error. Raises ``DatabaseError`` saying why the database does not answer.
    """
    engine = _probe_engine(url, timeout)
    try:
        _select_one(engine)
    finally:
        engine.dispose()


def read_only(url: str, read: Callable[[Connection], T], *, timeout: float = 5.0) -> T:
    """``read`` on a connection to the database at ``url``, opened as ``ping`` opens it.

    Creates and migrates nothing, and commits nothing ``read`` did. Raises
    ``DatabaseError`` saying why when the database does not answer or the
    read fails (a table missing from a database never opened by digestbot).
    """
    engine = _probe_engine(url, timeout)
    try:
        with engine.connect() as connection:
            return read(connection)
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseError(f"Cannot read the database {where}: {_reason(exc)}.") from None
    finally:
        engine.dispose()


def _probe_engine(url: str, timeout: float) -> Engine:
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
        return create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except NoSuchModuleError:
        raise DatabaseError(f"Unknown database kind {parsed.drivername!r} in {where}.") from None
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"The driver for {parsed.drivername} is not installed ({exc.name})."
        ) from None
