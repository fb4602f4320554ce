"""The bot's health: the heartbeat a running bot writes, and what `digestbot health` makes of it."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat.health import (
    Heartbeat,
    check,
    evaluate,
    heartbeat_dir,
    heartbeat_path,
    read_heartbeat,
    write_heartbeat,
)
from bot.chat.service import Service
from bot.cli import main
from bot.digest.deliver import Outcome
from bot.ingest.fetch import Fetcher
from bot.ingest.registry import MAX_FAILURES
from bot.model.messages import Digest, NothingNew
from bot.model.papers import PaperRecord
from bot.search.index import SearchIndex
from bot.store.db import DatabaseError, open_database, ping
from tests.console_bot import TIMEOUT, ConsoleBot
from tests.fakes.feed_server import (
    FakeFeedServer,
    error,
    feed,
    feed_server_fixture,  # noqa: F401  (registers the feed_server fixture)
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def beat(*, age: float = 5, scheduler: str = "running", database: str | None = None,
         **adapters: bool) -> Heartbeat:
    return Heartbeat(pid=4242, started_at=NOW - timedelta(hours=1),
                     updated_at=NOW - timedelta(seconds=age), database=database,
                     scheduler=scheduler, adapters=adapters or {"slack": True})


def failed(report) -> dict[str, str]:
    return {c.name: c.detail for c in report.checks if not c.ok}


# -- judging a heartbeat -------------------------------------------------------


def test_fresh_heartbeat_with_everything_up_is_healthy() -> None:
    report = evaluate(beat(slack=True, discord=True), now=NOW, database_error=None)
    assert report.healthy
    assert [c.name for c in report.checks] == ["bot", "database", "scheduler", "discord", "slack"]
    lines = report.lines()
    assert lines[0] == "ok   bot: process 4242 running since 2026-11-28T11:00:00+00:00, " \
                       "heartbeat 5 s ago"
    assert "ok   slack: connected" in lines
    assert lines[-1] == "healthy"
    assert report.as_dict()["healthy"] is True


def test_a_disconnected_adapter_is_unhealthy_and_named() -> None:
    report = evaluate(beat(slack=True, discord=False), now=NOW, database_error=None)
    assert not report.healthy
    assert failed(report) == {"discord": "disconnected"}
    assert report.lines()[-1] == "unhealthy: discord"


def test_stale_heartbeat_is_unhealthy_and_says_nothing_of_the_rest() -> None:
    report = evaluate(beat(age=300), now=NOW, database_error=None)
    assert not report.healthy
    assert "last wrote its heartbeat 300 s ago (more than 90 s): stuck or gone" in failed(report)["bot"]
    # A stale beat says nothing about the present scheduler or connections.
    assert [c.name for c in report.checks] == ["bot", "database"]


def test_missing_heartbeat_is_unhealthy() -> None:
    report = evaluate(None, now=NOW, database_error=None, where="/data/health")
    assert failed(report) == {"bot": "no heartbeat in /data/health: the bot is not running "
                                     "or has not started yet (digestbot run writes it)"}


def test_stopped_or_starting_bot_is_unhealthy() -> None:
    assert "stopped 5 s ago" in failed(evaluate(beat(scheduler="stopped"), now=NOW,
                                                database_error=None))["bot"]
    assert failed(evaluate(beat(scheduler="starting"), now=NOW,
                           database_error=None)) == {"scheduler": "starting"}


def test_waiting_for_the_scheduler_lease_is_healthy() -> None:
    report = evaluate(beat(scheduler="standby"), now=NOW, database_error=None)
    assert report.healthy
    assert "ok   scheduler: waiting for the lease (another process holds it)" in report.lines()
    assert evaluate(beat(scheduler="leader"), now=NOW, database_error=None).healthy


def test_unreachable_database_is_unhealthy_whoever_finds_it() -> None:
    report = evaluate(beat(), now=NOW, database_error="The database x does not answer: refused.")
    assert failed(report) == {"database": "The database x does not answer: refused."}
    report = evaluate(beat(database="The database x does not answer: timeout."), now=NOW,
                      database_error=None)
    assert failed(report) == {
        "database": "answers here, but not the bot: The database x does not answer: timeout."
    }


# -- the heartbeat file --------------------------------------------------------


def test_heartbeat_file_round_trips_and_is_replaced_whole(tmp_path: Path) -> None:
    path = heartbeat_path(tmp_path / "data")
    assert read_heartbeat(path) is None
    write_heartbeat(path, beat(slack=True, discord=False))
    write_heartbeat(path, beat(age=1, slack=True, discord=True))
    assert read_heartbeat(path) == beat(age=1, slack=True, discord=True)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial file left


@pytest.mark.parametrize("content", ["", "{", "[]", '{"pid": 1}', json.dumps({
    "pid": 1, "started_at": "2026-11-28T12:00:00", "updated_at": "2026-11-28T12:00:00",
    "database": None, "scheduler": "running", "adapters": {}})])
def test_unreadable_heartbeat_is_unhealthy(tmp_path: Path, content: str) -> None:
    path = heartbeat_path(tmp_path)
    path.parent.mkdir()
    path.write_text(content, "utf-8")
    with pytest.raises(ValueError, match="not a digestbot heartbeat"):
        read_heartbeat(path)
    (tmp_path / "db.sqlite3").touch()
    report = check(tmp_path, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", now=NOW)
    assert f"the heartbeat file {path} is unreadable" in failed(report)["bot"]


def test_the_process_running_the_scheduler_speaks_for_the_data_directory(
    tmp_path: Path, db
) -> None:
    # Three processes ran with one data directory: one holds the lease, one
    # stands by, one (started by mistake) stopped a moment ago.
    data = tmp_path / "data"
    url = db.engine.url.render_as_string(hide_password=False)
    for pid, scheduler, age in ((101, "standby", 3), (102, "leader", 8), (103, "stopped", 1)):
        write_heartbeat(heartbeat_path(data, pid=pid), Heartbeat(
            pid=pid, started_at=NOW - timedelta(hours=1), updated_at=NOW - timedelta(seconds=age),
            database=None, scheduler=scheduler, adapters={"slack": True}))
    report = check(data, database_url=url, now=NOW)
    assert report.healthy, report.lines()
    assert report.lines()[0] == ("ok   bot: process 102 running since 2026-11-28T11:00:00+00:00, "
                                 "heartbeat 8 s ago; process 101 too (standby)")
    assert "ok   scheduler: leader" in report.lines()

    # The leader stops: the standby is what runs now.
    write_heartbeat(heartbeat_path(data, pid=102), beat(scheduler="stopped"))
    report = check(data, database_url=url, now=NOW)
    assert report.healthy
    assert report.lines()[0].startswith("ok   bot: process 101 running since")
    # All stopped: the last to stop is reported.
    write_heartbeat(heartbeat_path(data, pid=101), Heartbeat(
        pid=101, started_at=NOW, updated_at=NOW - timedelta(seconds=2), database=None,
        scheduler="stopped"))
    assert failed(check(data, database_url=url, now=NOW))["bot"] == "process 103 stopped 1 s ago"


# -- feeds -----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def feed_service(db, index, clock: Clock, feeds: list[str]) -> Service:  # type: ignore[no-untyped-def]
    fetcher = Fetcher(connect_timeout=2, read_timeout=2, deadline=5)
    return Service(db=db, index=index, clock=clock, feeds=feeds, fetcher=fetcher)


def judged(db, tmp_path: Path, at: datetime, feeds: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """`digestbot health`'s lines at ``at``, a bot beating beside."""
    data = tmp_path / "data"
    write_heartbeat(heartbeat_path(data), Heartbeat(
        pid=os.getpid(), started_at=NOW, updated_at=at, database=None, scheduler="running"))
    url = db.engine.url.render_as_string(hide_password=False)
    return check(data, database_url=url, now=at, feeds=feeds).lines()


def test_a_failing_feed_is_a_warning_until_no_feed_was_read_for_a_day(
    db, index, tmp_path: Path, feed_server: FakeFeedServer
) -> None:
    clock = Clock()
    good = feed_server.route("/rss/cs.CV", feed("arxiv-rss-announce.xml"))
    down = feed_server.route("/down", error(503))
    feeds = [good, down]
    service = feed_service(db, index, clock, feeds)
    service.ingestion.run()

    lines = judged(db, tmp_path, NOW + timedelta(hours=3, minutes=5), feeds)
    assert "WARN feed 127.0.0.1-down: failing for 3 h 5 min (1 failure in a row): " \
           "HTTP 503 Service Unavailable" in lines
    assert "ok   feeds: 1 of 2 read fine" in lines
    assert lines[-1] == "healthy, with warnings: feed 127.0.0.1-down"

    # The other feed fails too, an hour later: both failing, but not for a day.
    feed_server.route("/rss/cs.CV", error(500))
    clock.now = NOW + timedelta(hours=1)
    assert {r.feed: r.failed for r in service.ingestion.run()} == {
        "127.0.0.1-cs.CV": True, "127.0.0.1-down": True}
    lines = judged(db, tmp_path, NOW + timedelta(hours=23, minutes=59), feeds)
    assert "WARN feed 127.0.0.1-cs.CV: failing for 23 h 59 min (1 failure in a row): " \
           "HTTP 500 Internal Server Error" in lines
    assert "WARN feed 127.0.0.1-down: failing for 23 h 59 min (2 failures in a row): " \
           "HTTP 503 Service Unavailable" in lines
    assert lines[-1] == "healthy, with warnings: feed 127.0.0.1-cs.CV, feed 127.0.0.1-down"

    # A day since the last good fetch of any feed: unhealthy, saying what to do.
    lines = judged(db, tmp_path, NOW + timedelta(hours=24, minutes=1), feeds)
    assert lines[-1] == "unhealthy: feeds"
    assert "FAIL feeds: no feed has been read for over 1 day (the last good fetch 1 day ago), " \
           "so no new papers come in: check that this machine reaches the feeds' sites and " \
           "that their URLs are right (`digestbot feeds list` shows each error), then " \
           "`digestbot feeds enable NAME` for each one disabled" in lines

    # One feed back is enough.
    feed_server.route("/rss/cs.CV", feed("arxiv-rss-announce.xml"))
    clock.now = NOW + timedelta(hours=25)
    service.ingestion.run()
    lines = judged(db, tmp_path, clock.now, feeds)
    assert lines[-1] == "healthy, with warnings: feed 127.0.0.1-down"
    assert "ok   feeds: 1 of 2 read fine" in lines


def test_feeds_disabled_by_their_failures_still_count_removed_ones_do_not(
    db, index, tmp_path: Path, feed_server: FakeFeedServer
) -> None:
    clock = Clock()
    down = feed_server.route("/down", error(500))
    service = feed_service(db, index, clock, [down])
    for _ in range(MAX_FAILURES):  # about 15 hours of backoff, then disabled
        service.ingestion.run()
        [info] = service.feeds.all()
        if info.enabled:
            assert info.next_fetch_at is not None
            clock.now = info.next_fetch_at
    assert info.status == "disabled"

    lines = judged(db, tmp_path, NOW + timedelta(hours=16), [down])
    assert "WARN feed 127.0.0.1-down: not read for 16 h, disabled after 5 failures in a row, " \
           "the last: HTTP 500 Internal Server Error; `digestbot feeds enable 127.0.0.1-down` " \
           "reads it again" in lines
    assert lines[-1] == "healthy, with warnings: feed 127.0.0.1-down"
    lines = judged(db, tmp_path, NOW + timedelta(days=1, hours=1), [down])
    assert lines[-1] == "unhealthy: feeds"
    assert any(line.startswith("FAIL feeds: no feed has been read for over 1 day (none was ever "
                               "read)") for line in lines)

    service.feeds.remove("127.0.0.1-down")  # the user does not want it: nothing to warn of
    lines = judged(db, tmp_path, NOW + timedelta(days=1, hours=1), [down])
    assert lines[-2:] == ["ok   feeds: none to read", "healthy"]


# -- asking the database -------------------------------------------------------


def test_ping_answers_and_creates_nothing(tmp_path: Path, db) -> None:
    ping(str(db.engine.url))
    db.ping()
    missing = tmp_path / "nowhere" / "digestbot.sqlite3"
    with pytest.raises(DatabaseError, match="There is no database file at"):
        ping(f"sqlite:///{missing}")
    assert not missing.parent.exists()


def test_ping_of_an_unreachable_server_fails_quickly_without_the_password() -> None:
    started = time.monotonic()
    # Port 1 on this machine: nothing listens. Without the PostgreSQL driver
    # installed, that is said instead; both are a DatabaseError.
    with pytest.raises(DatabaseError) as raised:
        ping("postgresql+psycopg://digestbot:s3cret-pw@127.0.0.1:1/digestbot", timeout=2)
    assert time.monotonic() - started < 10
    assert "s3cret-pw" not in str(raised.value)


# -- `digestbot health` ----------------------------------------------------------


@pytest.fixture
def health(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("DIGESTBOT_"):
            monkeypatch.delenv(name)

    def invoke(data: Path, *args: str) -> tuple[int, str]:
        code = main(["--data-dir", str(data), "health", *args])
        return code, capsys.readouterr().out

    return invoke


def now_beat(**overrides: object) -> Heartbeat:
    now = datetime.now(UTC)
    values: dict[str, object] = dict(pid=os.getpid(), started_at=now, updated_at=now,
                                     database=None, scheduler="running", adapters={"slack": True})
    values.update(overrides)
    return Heartbeat(**values)  # type: ignore[arg-type]


def test_health_command_exits_0_when_healthy_and_1_with_the_reason(health, tmp_path: Path) -> None:
    data = tmp_path / "data"
    open_database(f"sqlite:///{data / 'digestbot.sqlite3'}").dispose()  # the default catalog
    write_heartbeat(heartbeat_path(data), now_beat())
    code, out = health(data)
    assert code == 0, out
    assert out.splitlines()[-1] == "healthy"
    assert "ok   database: answers" in out

    write_heartbeat(heartbeat_path(data), now_beat(adapters={"slack": False}))
    code, out = health(data)
    assert code == 1
    assert "FAIL slack: disconnected" in out
    assert out.splitlines()[-1] == "unhealthy: slack"

    write_heartbeat(heartbeat_path(data), now_beat(
        updated_at=datetime.now(UTC) - timedelta(minutes=10)))
    code, out = health(data, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["healthy"] is False
    assert [c["name"] for c in report["checks"] if not c["ok"]] == ["bot"]


def test_health_command_opens_creates_and_migrates_nothing(health, tmp_path: Path) -> None:
    data = tmp_path / "never-run"
    code, out = health(data)
    assert code == 1
    assert "FAIL bot: no heartbeat in" in out
    assert "FAIL database: There is no database file at" in out
    assert not data.exists()


def test_health_command_warns_of_a_failing_feed_and_fails_when_none_is_read(
    health, tmp_path: Path, feed_server: FakeFeedServer
) -> None:
    url = feed_server.route("/down", error(503))

    def catalog(data: Path, *, failing_for: timedelta) -> None:
        """The default catalog in ``data``, its one feed added and failed ``failing_for`` ago."""
        db = open_database(f"sqlite:///{data / 'digestbot.sqlite3'}")
        clock = Clock()
        clock.now = datetime.now(UTC) - failing_for
        service = feed_service(db, SearchIndex.open(data / "index", catalog_id=db.catalog_id),
                               clock, [])
        service.feeds.add(url, name="journal")
        service.ingestion.run()
        db.dispose()
        write_heartbeat(heartbeat_path(data), now_beat())

    catalog(tmp_path / "a", failing_for=timedelta(hours=2))
    code, out = health(tmp_path / "a")
    assert code == 0, out
    assert "WARN feed journal: failing for 2 h (1 failure in a row): " \
           "HTTP 503 Service Unavailable" in out
    assert out.splitlines()[-1] == "healthy, with warnings: feed journal"
    code, out = health(tmp_path / "a", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["healthy"] is True
    [warning] = [c for c in report["checks"] if c["warning"]]
    assert warning["name"] == "feed journal" and warning["ok"] is True
    assert "HTTP 503 Service Unavailable" in warning["detail"]

    # The only feed, failing for more than a day: nothing comes in.
    catalog(tmp_path / "b", failing_for=timedelta(hours=25))
    code, out = health(tmp_path / "b")
    assert code == 1, out
    assert "FAIL feeds: no feed has been read for over 1 day (none was ever read)" in out
    assert out.splitlines()[-1] == "unhealthy: feeds"
    code, out = health(tmp_path / "b", "--json")
    assert code == 1
    assert [c["name"] for c in json.loads(out)["checks"] if not c["ok"]] == ["feeds"]


# -- the running bot writes it ---------------------------------------------------


class FakePlatform:
    """An adapter whose connection a test switches on and off."""

    platform = "fake"

    def __init__(self) -> None:
        self.connected = True

    async def start(self, bot: object) -> None:
        pass

    async def post(self, message: Digest | NothingNew, *, on_part: object = None) -> int:
        return 3

    async def stop(self) -> None:
        pass

    async def is_connected(self) -> bool:
        return self.connected


def wait_for_beat(path: Path, scheduler: str) -> Heartbeat:
    deadline = time.monotonic() + TIMEOUT
    while True:
        found = read_heartbeat(path)
        if found is not None and found.pid == os.getpid() and found.scheduler == scheduler:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no {scheduler} heartbeat; last: {found}")
        time.sleep(0.02)


def test_running_bot_writes_its_heartbeat_and_marks_its_stop(db, index, tmp_path: Path) -> None:
    path = heartbeat_path(tmp_path / "data")
    write_heartbeat(path, beat(age=10))  # a previous run's, still fresh
    service = Service(db=db, index=index, clock=lambda: NOW)
    fake = FakePlatform()
    bot = ConsoleBot(service, lambda: NOW, others=[fake], health_file=path).start()
    try:
        running = wait_for_beat(path, "running")
        assert running.updated_at == NOW
        assert running.database is None
        assert running.adapters == {"console": True, "fake": True}
        assert evaluate(running, now=NOW, database_error=None).healthy

        fake.connected = False  # what the next beat records:
        report = evaluate(bot.run(bot.bot.heartbeat(database=None)), now=NOW,
                          database_error=None)
        assert failed(report) == {"fake": "disconnected"}
    finally:
        bot.stop()
    stopped = wait_for_beat(path, "stopped")
    assert stopped.adapters == {"console": False, "fake": False}
    assert "stopped" in failed(evaluate(stopped, now=NOW, database_error=None))["bot"]


def test_a_starting_bot_removes_the_heartbeats_of_processes_gone(db, index, tmp_path: Path) -> None:
    data = tmp_path / "data"
    for pid, scheduler, age in ((201, "stopped", 5), (202, "leader", 300), (203, "standby", 5)):
        write_heartbeat(heartbeat_path(data, pid=pid),
                        replace(beat(scheduler=scheduler, age=age), pid=pid))
    unknown = heartbeat_dir(data) / "other-version.json"
    unknown.write_text("{}", "utf-8")
    path = heartbeat_path(data)
    bot = ConsoleBot(Service(db=db, index=index, clock=lambda: NOW), lambda: NOW,
                     health_file=path).start()
    try:
        wait_for_beat(path, "running")
        # Stopped and silent ones go; the live one and one it cannot read stay.
        assert sorted(p.name for p in heartbeat_dir(data).iterdir()) == sorted(
            [path.name, heartbeat_path(data, pid=203).name, unknown.name])
        report = check(data, database_url=db.engine.url.render_as_string(hide_password=False),
                       now=NOW)
        assert report.lines()[0].startswith(f"ok   bot: process {os.getpid()} running since")
        assert report.lines()[0].endswith("; process 203 too (standby)")
    finally:
        bot.stop()
    wait_for_beat(path, "stopped")


def test_each_digest_posted_is_one_log_line(db, index, caplog) -> None:
    service = Service(db=db, index=index, clock=lambda: NOW)
    service.catalog.import_records([PaperRecord(
        id="2611.00001", title="Breast MRI screening", authors=("Ann Lee",),
        abstract="Breast MRI screening. More.", published=date(2026, 11, 27),
        categories=("eess.IV",))])
    fake = FakePlatform()
    caplog.set_level(logging.INFO, logger="bot.digest.deliver")
    bot = ConsoleBot(service, lambda: NOW, others=[fake]).start()
    try:
        bot.say("/papers subscribe breast mri")
        assert "Posted 1 new paper." in bot.say("/papers digest")
        service.channels.subscribe("fake:w/c", "breast mri")
        outcomes = bot.run(_scheduled(bot, "fake:w/c"))
        assert [o.error for o in outcomes] == [None]
    finally:
        bot.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.digest.deliver"]
    assert lines == ["digest channel=console:local/general papers=1 parts=1",
                     "digest channel=fake:w/c papers=1 parts=3"]


async def _scheduled(bot: ConsoleBot, address: str) -> list[Outcome]:
    # The scheduler's own call, for one channel.
    return await asyncio.to_thread(bot.service.deliverer.run_scheduled, {address: NOW}, send=bot.bot._post)


def test_digestbot_run_is_healthy_while_it_runs_and_not_once_stopped(tmp_path: Path) -> None:
    # What compose does: `digestbot run` with its console (stdin held open,
    # INFO logs), then `digestbot health` beside it.
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTBOT_")}
    env.update(DIGESTBOT_FEEDS="", DIGESTBOT_LOG_LEVEL="INFO")
    command = [sys.executable, "-m", "bot", "--data-dir", str(data)]
    bot = subprocess.Popen([*command, "run", "--console"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            health = subprocess.run([*command, "health"], capture_output=True, text=True,
                                    env=env, cwd=tmp_path, timeout=60)
            if health.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert health.returncode == 0, health.stdout
        assert "ok   console: connected" in health.stdout
    finally:
        _, errors = bot.communicate("quit\n", timeout=60)
    assert bot.returncode == 0, errors
    assert "INFO bot.chat.runtime: running with console" in errors
    assert "apscheduler" not in errors  # a line per job run would bury the feed and digest lines
    health = subprocess.run([*command, "health"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=60)
    assert health.returncode == 1
    assert "FAIL bot: process" in health.stdout and "stopped" in health.stdout
