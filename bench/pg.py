"""PostgreSQL for the benchmarks: a local server, and what the benchmarks need of a database.

Start a server whose data stays under ``bench/out/`` (git-ignored)::

    .venv/bin/python -m bench.pg start bench/out/pg     # prints the server's URL
    .venv/bin/python -m bench.pg stop bench/out/pg      # stops it (the files stay)

The cluster is made as ``tests/postgres.py`` makes the tests' one (``initdb``
from ``/usr/lib/postgresql/<version>/bin``, ICU English collation where the
server has it, loopback only, as the ``postgres`` user when run as root), but
with PostgreSQL's durable defaults: ``fsync``, ``synchronous_commit`` and
``full_page_writes`` on, so that an import rate is what a production server
would give. Other settings are the server's defaults (``shared_buffers``
128 MB, ``max_wal_size`` 1 GB, ...) unless given with ``--set name=value``.

``bench_catalog`` and ``bench_digest`` take ``--database-url`` with a
database name of their own on that server: ``prepare`` creates it, and
refuses one that already holds papers unless the run reuses them.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["database_mb", "describe", "is_postgres", "prepare", "prewarm"]

_SERVER_USER = "postgres"


def is_postgres(url: str | None) -> bool:
    return bool(url) and not str(url).startswith("sqlite")


def _bindir() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for d in found:
        if (d / "initdb").is_file():
            return d
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise SystemExit("no PostgreSQL server binaries (initdb) in /usr/lib/postgresql/*/bin or on PATH")


def _run(args: list[str], *, cwd: Path) -> None:
    user = _SERVER_USER if os.geteuid() == 0 else None
    command = [str(_bindir() / args[0]), *args[1:]]
    if user:
        command = ["runuser", "-u", user, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed: {(done.stderr or done.stdout).strip()[-2000:]}")


def start(root: Path, settings: list[str]) -> str:
    root = root.resolve()
    data = root / "data"
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(_SERVER_USER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    if not (data / "PG_VERSION").exists():
        initdb = ["initdb", "-D", str(data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8"]
        try:
            _run([*initdb, "--locale-provider=icu", "--icu-locale=en-US"], cwd=root)
        except SystemExit:  # before PostgreSQL 15, or built without ICU
            shutil.rmtree(data, ignore_errors=True)
            _run(initdb, cwd=root)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = ["-c listen_addresses=127.0.0.1", f"-c port={port}",
               "-c unix_socket_directories=''", *(f"-c {s}" for s in settings)]
    _run(["pg_ctl", "-D", str(data), "-l", str(root / "server.log"), "-o", " ".join(options),
          "-w", "-t", "60", "start"], cwd=root)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    (root / "url").write_text(url + "\n", "utf-8")
    return url


def stop(root: Path) -> None:
    root = root.resolve()
    _run(["pg_ctl", "-D", str(root / "data"), "-m", "fast", "-w", "stop"], cwd=root)


def prepare(url: str, *, reuse: bool) -> None:
    """Create the database at ``url`` if missing; without ``reuse`` it must hold no papers."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            ).scalar()
            if not exists:
                if reuse:
                    raise SystemExit(f"--reuse: no database {target.database!r} on {url}")
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
                return
    finally:
        admin.dispose()
    if reuse:
        return
    engine = create_engine(target)
    try:
        with engine.connect() as conn:
            has_papers = conn.execute(text("SELECT to_regclass('papers') IS NOT NULL")).scalar()
            if has_papers and conn.execute(text("SELECT EXISTS (SELECT 1 FROM papers)")).scalar():
                raise SystemExit(
                    f"the database {target.database!r} holds papers; pass --reuse to use them, "
                    "or give another database name"
                )
    finally:
        engine.dispose()


def prewarm(url: str) -> float:
    """Read every table and index of the database once (``pg_prewarm``, mode ``read``).

    The files pass through the OS page cache, as a busy server would have
    them, like the SQLite benchmarks' reading of the database file.
    """
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    start = time.perf_counter()
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
            conn.execute(text(
                "SELECT pg_prewarm(c.oid::regclass, 'read') FROM pg_class c "
                "WHERE c.oid >= 16384 AND c.relkind IN ('r', 'i', 't') AND c.relpersistence = 'p'"
            )).all()
    finally:
        engine.dispose()
    return time.perf_counter() - start


def database_mb(url: str) -> float:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    finally:
        engine.dispose()
    return float(size) / 2**20


def describe(url: str) -> dict[str, Any]:
    """The server's version and the settings that matter for these benchmarks."""
    from sqlalchemy import create_engine, text

    names = ("shared_buffers", "work_mem", "maintenance_work_mem", "effective_cache_size",
             "max_wal_size", "checkpoint_timeout", "fsync", "synchronous_commit",
             "full_page_writes", "wal_level", "wal_compression")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
            settings = {n: conn.execute(text(f"SHOW {n}")).scalar_one() for n in names}
    finally:
        engine.dispose()
    return {"version": version, "settings": settings}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pg", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("dir", type=Path, help="the cluster's directory, e.g. bench/out/pg")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a server setting (repeatable); default: PostgreSQL's defaults")
    args = parser.parse_args(argv)
    if args.action == "start":
        print(start(args.dir, args.set))
    else:
        stop(args.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
