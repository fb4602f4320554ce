"""The scheduler lease: one process at a time runs the scheduler, and a standby
takes over when the holder stops or dies (SQLite lock file, PostgreSQL advisory lock)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.chat import runtime
from bot.chat.schedules import parse_schedule
from bot.chat.service import Service
from bot.search.index import SearchIndex
from bot.store.db import AdvisoryLease, FileLease, SchedulerLease, open_database
from tests.console_bot import ConsoleBot

GENERAL = "console:local/general"


def test_a_lock_file_lets_one_holder_in_at_a_time(tmp_path: Path) -> None:
    first, second = FileLease(tmp_path / "x.lock"), FileLease(tmp_path / "x.lock")
    assert first.acquire() and first.holding()
    assert not second.acquire() and not second.holding()
    first.release()
    assert not first.holding()
    assert second.acquire()
    second.release()


def test_each_database_gets_the_lease_its_engine_needs(db, tmp_path: Path) -> None:
    lease = db.scheduler_lease()
    kind = AdvisoryLease if db.engine.url.get_backend_name() == "postgresql" else FileLease
    assert type(lease) is kind
    memory = open_database("sqlite://")
    assert type(memory.scheduler_lease()) is SchedulerLease  # one process only: always held
    memory.dispose()


@pytest.mark.postgresql
def test_an_advisory_lease_is_freed_when_its_session_dies(postgresql_database) -> None:
    url = postgresql_database()
    first_db, second_db = open_database(url), open_database(url)
    first, second = first_db.scheduler_lease(), second_db.scheduler_lease()
    try:
        assert first.acquire() and not second.acquire()
        assert first.holding()
        # The holder's session ends as when its process dies or its connection drops.
        with second_db.engine.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
            ))
        deadline = time.monotonic() + 10
        while not second.acquire():
            assert time.monotonic() < deadline, "the lock was never freed"
            time.sleep(0.05)
        assert not first.holding()  # and the old holder knows it lost the lease
        assert not first.acquire()
    finally:
        first.release()
        second.release()
        first_db.dispose()
        second_db.dispose()


def test_a_standby_bot_takes_over_the_schedule(
    database_url: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(runtime, "LEASE_SECONDS", 0.05)
    now = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

    def service(name: str) -> Service:
        db = open_database(database_url)
        index = SearchIndex.open(tmp_path / name, catalog_id=db.catalog_id)
        return Service(db=db, index=index, clock=lambda: now)

    first_service, second_service = service("first"), service("second")
    first_service.channels.subscribe(GENERAL, "liver")
    first_service.channels.set_schedule(GENERAL, parse_schedule(["09:00", "UTC"]))
    first = ConsoleBot(first_service, lambda: now,
                       lease=first_service.db.scheduler_lease()).start()
    second = ConsoleBot(second_service, lambda: now,
                        lease=second_service.db.scheduler_lease()).start()
    try:
        first.settle()
        assert (first.bot.leading, second.bot.leading) == (True, False)
        assert first.run(first.bot.heartbeat(database=None)).scheduler == "leader"
        assert second.run(second.bot.heartbeat(database=None)).scheduler == "standby"
        assert not second.bot.scheduler.running
        first.stop()
        deadline = time.monotonic() + 10
        while not second.bot.leading:
            assert time.monotonic() < deadline, "the standby never took the lease"
            time.sleep(0.02)
        assert second.bot.scheduler.running
        assert second.bot.scheduler.known("console", "local") == [GENERAL]
    finally:
        second.stop()
        first_service.close()
        second_service.close()
