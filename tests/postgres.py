"""A PostgreSQL server for the tests, and a fresh database per test.

``PostgresServer.find`` uses the server at ``DIGESTBOT_TEST_POSTGRES_URL``
when set (a URL whose user may create databases), else starts a throwaway
cluster of its own: ``initdb`` in a temporary directory, the server on a
free loopback port with durability off (``fsync=off``: nothing here
outlives the test session), stopped and deleted at the end. The server
binaries are looked up where Debian installs them
(``/usr/lib/postgresql/<version>/bin``), then with ``pg_config`` and on
``PATH``. PostgreSQL refuses to run as root, so as root the cluster
belongs to the ``postgres`` user (created by Debian's package) and its
commands run through ``runuser``.

The cluster collates text with ICU's English rules where the server has
them (PostgreSQL 15 and later), as a production server would, so that an
``ORDER BY`` on text differs from SQLite's byte order wherever it can.

Each test database is a copy of a template that the migrations brought to
the newest schema once per session (``CREATE DATABASE ... TEMPLATE``), so
a test starts from exactly what ``digestbot init`` makes. A test's database
is then emptied (rows deleted, sequences restarted) for the next test, which
is much faster than making another.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, MetaData, NullPool, create_engine, text
from sqlalchemy.engine import URL, make_url

from bot.store.db import create_db_engine, migrate

__all__ = ["ENV_URL", "PostgresServer", "PostgresUnavailable"]

ENV_URL = "DIGESTBOT_TEST_POSTGRES_URL"
TEMPLATE = "digestbot_test_template"
_SERVER_USER = "postgres"
_START_SECONDS = 60


class PostgresUnavailable(Exception):
    """No server to test against; the message says what to install or set."""


def _server_bindirs() -> list[Path]:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
            found.append(Path(out.stdout.strip()))
        except (OSError, subprocess.CalledProcessError):
            pass
    initdb = shutil.which("initdb")
    if initdb:
        found.append(Path(initdb).resolve().parent)
    return [d for d in found if (d / "initdb").is_file() and (d / "pg_ctl").is_file()]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Cluster:
    """A throwaway cluster in a temporary directory, run by ``user`` (None: by us)."""

    def __init__(self, bindir: Path, user: str | None) -> None:
        self.bindir = bindir
        self.user = user
        # The server's user must reach the directory: $TMPDIR may be under
        # root's home, /tmp never is.
        self.root = Path(tempfile.mkdtemp(prefix="digestbot-pg-", dir="/tmp" if user else None))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0

    def _run(self, args: Sequence[str], *, timeout: float = _START_SECONDS) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  cwd=self.root)
        except OSError as exc:  # no runuser, say
            raise PostgresUnavailable(f"cannot run {command[0]}: {exc}") from None
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"{' '.join(args[:2])} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-2000:]}\n{log}"
            )

    def start(self) -> URL:
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        initdb = ["initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]
        try:
            self._run([*initdb, "--locale-provider=icu", "--icu-locale=en-US"])
        except PostgresUnavailable:  # before PostgreSQL 15, or built without ICU
            shutil.rmtree(self.data, ignore_errors=True)
            self._run(initdb)
        for attempt in range(3):
            self.port = _free_port()
            options = " ".join([
                "-c listen_addresses=127.0.0.1", f"-c port={self.port}",
                "-c unix_socket_directories=''", "-c fsync=off", "-c synchronous_commit=off",
                "-c full_page_writes=off", "-c max_connections=300",
            ])
            try:
                self._run(["pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                           "-w", "-t", str(_START_SECONDS), "start"])
                break
            except PostgresUnavailable:
                if attempt == 2:  # the port may have been taken meanwhile: try another
                    raise
        return URL.create("postgresql+psycopg", username="postgres", host="127.0.0.1",
                          port=self.port, database="postgres")

    def stop(self) -> None:
        try:
            self._run(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        except (PostgresUnavailable, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)


class PostgresServer:
    """A server the tests may create and drop databases on."""

    def __init__(self, admin_url: URL, cluster: _Cluster | None = None) -> None:
        self.admin_url = admin_url
        self._cluster = cluster
        self._admin: Engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._names = itertools.count(1)
        self._prefix = f"digestbot_test_{os.getpid()}_"
        self._template = f"{TEMPLATE}_{os.getpid()}"
        self._strategy = ""
        # Databases made from the template, and those of them free for the next test.
        self._reusable: set[str] = set()
        self._ready: list[str] = []
        self._tables: list[str] | None = None
        self._sequences: list[str] = []

    @classmethod
    def find(cls) -> PostgresServer:
        """The server to test against; raises ``PostgresUnavailable`` saying why there is none."""
        configured = os.environ.get(ENV_URL)
        cluster: _Cluster | None = None
        if configured:
            url = make_url(configured)
            if url.drivername in ("postgresql", "postgres"):
                url = url.set(drivername="postgresql+psycopg")
        else:
            bindirs = _server_bindirs()
            if not bindirs:
                raise PostgresUnavailable(
                    "no PostgreSQL server found (initdb and pg_ctl, in /usr/lib/postgresql/*/bin "
                    f"or on PATH): install it (Debian: apt-get install postgresql) or set {ENV_URL}"
                )
            user = None
            if os.geteuid() == 0:
                try:
                    pwd.getpwnam(_SERVER_USER)
                except KeyError:
                    raise PostgresUnavailable(
                        f"running as root, and no {_SERVER_USER!r} user to run the PostgreSQL "
                        f"server as: create one, or set {ENV_URL}"
                    ) from None
                user = _SERVER_USER
            cluster = _Cluster(bindirs[0], user)
            try:
                url = cluster.start()
            except BaseException:
                cluster.stop()
                raise
        server = cls(url, cluster)
        try:
            server._make_template()
        except Exception as exc:
            server.close()
            raise PostgresUnavailable(f"cannot prepare a database on {url!r}: {exc}") from exc
        return server

    def _make_template(self) -> None:
        with self._admin.connect() as conn:
            version = int(conn.execute(text("SHOW server_version_num")).scalar_one())
        # Copying the small template's files beats writing it all to the WAL
        # (PostgreSQL 15's default): 0.14 s a database rather than 0.36 s.
        self._strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
        deadline = time.monotonic() + 10
        while True:
            try:
                self._execute(f'DROP DATABASE IF EXISTS "{self._template}"')
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self._execute(f'CREATE DATABASE "{self._template}"')
        engine = create_db_engine(self.admin_url.set(database=self._template)
                                  .render_as_string(hide_password=False))
        try:
            migrate(engine)
        finally:
            engine.dispose()

    def _execute(self, statement: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(statement))

    def _url(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create_database(self, *, migrated: bool = True) -> str:
        """A fresh database's URL: at the newest schema, or empty with ``migrated=False``."""
        if migrated and self._ready:
            return self._url(self._ready.pop())
        name = f"{self._prefix}{next(self._names)}"
        template = self._template if migrated else "template0"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{self._strategy}')
        if migrated:
            self._reusable.add(name)
        return self._url(name)

    def release(self, url: str) -> None:
        """The test is done with the database at ``url``: emptied for another test, or dropped.

        Emptying the tables takes milliseconds where a new database takes a
        tenth of a second or more (its files written, two checkpoints).
        """
        name = make_url(url).database
        assert name is not None
        # A test may leave connections open (a bot it did not stop).
        self._execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        if name in self._reusable:
            try:
                self._empty(name)
                self._ready.append(name)
                return
            except Exception:
                self._reusable.discard(name)
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _empty(self, name: str) -> None:
        """Delete every row and restart every sequence: as the template made it."""
        engine = create_engine(self._url(name), poolclass=NullPool)
        try:
            with engine.begin() as conn:
                if self._tables is None:
                    metadata = MetaData()
                    metadata.reflect(conn)
                    self._tables = [
                        t.name for t in reversed(metadata.sorted_tables) if t.name != "alembic_version"
                    ]
                    self._sequences = list(conn.execute(text(
                        "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
                    )).scalars())
                for table in self._tables:
                    conn.execute(text(f'DELETE FROM "{table}"'))
                for sequence in self._sequences:
                    conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        finally:
            engine.dispose()

    def close(self) -> None:
        try:
            if self._cluster is None:
                for name in [*self._reusable, self._template]:
                    self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            self._admin.dispose()
            if self._cluster is not None:
                self._cluster.stop()
