"""The running bot's health: its heartbeat files, and the check ``digestbot health`` makes.

Each ``digestbot run`` (``bot.chat.runtime.Bot``) writes its own heartbeat,
``health/HOST-PID.json`` in the data directory, when it starts, every
``BEAT_SECONDS`` while it runs, and when it stops: its process id, when it
started, when it wrote, whether its database answered, the scheduler's state
and whether each chat adapter is connected. One file per process, so a
second ``digestbot run`` on the same data directory (a standby, or one
started by mistake and stopped) never speaks for the bot that runs; a
process that starts removes the files of processes long gone.

``check`` reads those files and judges the live process among them (the
one that runs the scheduler first), asks the database itself
(``bot.store.db.ping``) and reads the feeds table
(``bot.ingest.registry.read_feeds``): the feeds' state is the database's, so
it is true whether or not a bot runs. It returns one ``Check`` per item; the
bot is healthy when all pass. A failing feed is a warning, not a failure,
unless no feed has been read for ``FEEDS_DOWN_AFTER``. docker compose's
health check runs ``digestbot health``, which exits non-zero when unhealthy.

Reading and writing the heartbeat files is this module's only I/O (the
database queries are ``bot.store.db``'s and ``bot.ingest.registry``'s).
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.ingest.registry import FeedInfo, read_feeds
from bot.store.db import DatabaseError, ping

__all__ = [
    "BEAT_SECONDS",
    "FEEDS_DOWN_AFTER",
    "HEALTHY_SCHEDULER_STATES",
    "STALE_AFTER",
    "Check",
    "HealthReport",
    "Heartbeat",
    "HeartbeatFile",
    "check",
    "evaluate",
    "heartbeat_dir",
    "heartbeat_path",
    "is_live",
    "read_heartbeat",
    "read_heartbeats",
    "sweep_heartbeats",
    "write_heartbeat",
]

HEARTBEAT_DIR = "health"
BEAT_SECONDS = 20.0
# Three missed beats and a margin: a bot whose event loop is blocked this
# long answers no chat command either.
STALE_AFTER = timedelta(seconds=90)
# "running": this process fires the digests. A process that waits for the
# scheduler lease while another holds it reports "standby", the holder
# "leader"; both are healthy. "starting" and "stopped" are not.
HEALTHY_SCHEDULER_STATES = frozenset({"running", "leader", "standby"})
# Of several live processes, the one health speaks of: the scheduler's first.
_RANK = {"leader": 3, "running": 3, "standby": 2, "starting": 1}
# Feeds fail now and then (a site down for an afternoon): a warning. When
# none has been read for this long, the catalog gets nothing new: unhealthy.
FEEDS_DOWN_AFTER = timedelta(days=1)


@dataclass(frozen=True, kw_only=True)
class Heartbeat:
    """What the running bot reports about itself.

    ``database`` is None when the bot's own ``SELECT 1`` answered, else why
    not; ``adapters`` maps each platform to whether it is connected.
    """

    pid: int
    started_at: datetime
    updated_at: datetime
    database: str | None
    scheduler: str
    adapters: Mapping[str, bool] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({
            "pid": self.pid,
            "started_at": self.started_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "database": self.database,
            "scheduler": self.scheduler,
            "adapters": dict(self.adapters),
        }, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Heartbeat:
        """Parse ``to_json``'s output; ValueError when it is not that."""
        try:
            data: Any = json.loads(text)
            beat = cls(
                pid=int(data["pid"]),
                started_at=datetime.fromisoformat(data["started_at"]),
                updated_at=datetime.fromisoformat(data["updated_at"]),
                database=None if data["database"] is None else str(data["database"]),
                scheduler=str(data["scheduler"]),
                adapters={str(k): bool(v) for k, v in dict(data["adapters"]).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a digestbot heartbeat ({exc!r})") from None
        if beat.updated_at.tzinfo is None:
            raise ValueError("not a digestbot heartbeat (a time without a time zone)")
        return beat


def heartbeat_dir(data_dir: Path) -> Path:
    """Where the processes running with ``data_dir`` write their heartbeats."""
    return data_dir / HEARTBEAT_DIR


def heartbeat_path(data_dir: Path, *, pid: int | None = None) -> Path:
    """The heartbeat file of process ``pid`` (default: this one) on this host.

    The host name keeps apart processes of two containers that share the
    data directory (each may be process 1).
    """
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", platform.node()).strip("._") or "host"
    return heartbeat_dir(data_dir) / f"{host}-{os.getpid() if pid is None else pid}.json"


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    """Replace the file at ``path`` atomically: a reader sees the old beat or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(beat.to_json(), "utf-8")
    os.replace(partial, path)


def read_heartbeat(path: Path) -> Heartbeat | None:
    """The beat at ``path``; None when there is none; ValueError when it is unreadable."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(f"cannot read it ({exc.strerror})") from None
    return Heartbeat.from_json(text)


@dataclass(frozen=True)
class HeartbeatFile:
    """One process's heartbeat file: its beat, or why it cannot be read."""

    path: Path
    beat: Heartbeat | None
    unreadable: str | None = None


def read_heartbeats(directory: Path) -> list[HeartbeatFile]:
    """Every heartbeat file in ``directory`` (none when it does not exist)."""
    try:
        paths = sorted(directory.glob("*.json"))
    except OSError:
        return []
    found = []
    for path in paths:
        try:
            beat = read_heartbeat(path)
        except ValueError as exc:
            found.append(HeartbeatFile(path, None, str(exc)))
            continue
        if beat is not None:  # removed since the listing: a process gone
            found.append(HeartbeatFile(path, beat))
    return found


def is_live(beat: Heartbeat, *, now: datetime, stale_after: timedelta = STALE_AFTER) -> bool:
    """Whether ``beat`` is of a process that runs: not stopped, and written lately."""
    return beat.scheduler != "stopped" and now - beat.updated_at <= stale_after


def sweep_heartbeats(directory: Path, *, keep: Path, now: datetime,
                     stale_after: timedelta = STALE_AFTER) -> None:
    """Remove the heartbeat files of processes that stopped or went silent, but ``keep``.

    A file that cannot be read is left alone (it may be another version's).
    """
    for found in read_heartbeats(directory):
        if found.path == keep or found.beat is None:
            continue
        if not is_live(found.beat, now=now, stale_after=stale_after):
            try:
                found.path.unlink()
            except OSError:
                pass  # another process removed it, or may not: either way, no harm


@dataclass(frozen=True)
class Check:
    """One item of the report. A warning passes: it is said, and the bot stays healthy."""

    name: str
    ok: bool
    detail: str
    warning: bool = False

    def line(self) -> str:
        label = "FAIL" if not self.ok else "WARN" if self.warning else "ok"
        return f"{label:<4} {self.name}: {self.detail}"


@dataclass(frozen=True)
class HealthReport:
    checks: tuple[Check, ...]

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)

    def lines(self) -> list[str]:
        """One line per check, then the verdict naming what failed (or warned)."""
        failed = [c.name for c in self.checks if not c.ok]
        warned = [c.name for c in self.checks if c.ok and c.warning]
        if failed:
            verdict = f"unhealthy: {', '.join(failed)}"
        elif warned:
            verdict = f"healthy, with warnings: {', '.join(warned)}"
        else:
            verdict = "healthy"
        return [c.line() for c in self.checks] + [verdict]

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "checks": [{"name": c.name, "ok": c.ok, "warning": c.warning, "detail": c.detail}
                       for c in self.checks],
        }


def _ago(now: datetime, then: datetime) -> str:
    return f"{max(0, round((now - then).total_seconds()))} s ago"


def _span(length: timedelta) -> str:
    """A duration as a person says it: 40 min, 3 h 20 min, 2 days 5 h."""
    minutes = max(0, int(length.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} day{'s' if days > 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min"


def _failing(feed: FeedInfo) -> bool:
    return feed.gave_up or (feed.enabled and feed.failures > 0)


def _failing_for(feed: FeedInfo, now: datetime) -> timedelta:
    # Since its last good fetch: the fetches after it all failed. A feed
    # never read fails since it was added.
    since = feed.last_success_at or feed.added_at
    return now - since if since is not None else timedelta(0)


def _feed_warning(feed: FeedInfo, now: datetime) -> Check:
    times = f"{feed.failures} failure{'s' if feed.failures > 1 else ''} in a row"
    last = feed.last_error or "no reason recorded"
    span = _span(_failing_for(feed, now))
    if feed.gave_up:
        detail = (f"not read for {span}, disabled after {times}, the last: {last}; "
                  f"`digestbot feeds enable {feed.name}` reads it again")
    else:
        detail = f"failing for {span} ({times}): {last}"
    return Check(f"feed {feed.name}", True, detail, warning=True)


def _feed_checks(feeds: Sequence[FeedInfo], now: datetime) -> list[Check]:
    """A warning per failing feed, then the verdict on them all."""
    wanted = [f for f in feeds if f.enabled or f.gave_up]
    failing = [f for f in wanted if _failing(f)]
    checks = [_feed_warning(f, now) for f in failing]
    if not wanted:
        checks.append(Check("feeds", True, "none to read"))
    elif len(failing) == len(wanted) and all(
        _failing_for(f, now) > FEEDS_DOWN_AFTER for f in failing
    ):
        successes = [f.last_success_at for f in wanted if f.last_success_at is not None]
        last = (f"the last good fetch {_span(now - max(successes))} ago" if successes
                else "none was ever read")
        checks.append(Check("feeds", False, (
            f"no feed has been read for over {_span(FEEDS_DOWN_AFTER)} ({last}), so no new "
            "papers come in: check that this machine reaches the feeds' sites and that "
            "their URLs are right (`digestbot feeds list` shows each error), then "
            "`digestbot feeds enable NAME` for each one disabled")))
    else:
        read = len(wanted) - len(failing)
        checks.append(Check("feeds", True, f"{read} of {len(wanted)} read fine" if failing
                            else f"{len(wanted)} read fine"))
    return checks


def evaluate(
    beat: Heartbeat | None,
    *,
    now: datetime,
    database_error: str | None,
    stale_after: timedelta = STALE_AFTER,
    where: Path | str = HEARTBEAT_DIR,
    unreadable: str | None = None,
    others: Sequence[Heartbeat] = (),
    feeds: Sequence[FeedInfo] | None = None,
    feeds_error: str | None = None,
) -> HealthReport:
    """Judge a heartbeat and a fresh database answer at ``now``.

    ``beat`` is the process to judge (None: no heartbeat in the directory
    ``where``; ``unreadable``: why the file ``where`` cannot be read);
    ``others``, the other live processes with the same data directory. The
    scheduler and adapter checks come from a live heartbeat only: a stale
    one says nothing about the present. ``feeds`` (as the database has
    them; None: not known, ``feeds_error`` says why) add a warning per
    failing feed and a check of them all.
    """
    checks: list[Check] = []
    live = False
    if unreadable is not None:
        checks.append(Check("bot", False, f"the heartbeat file {where} is unreadable: {unreadable}"))
    elif beat is None:
        checks.append(Check("bot", False, f"no heartbeat in {where}: the bot is not running "
                                          "or has not started yet (digestbot run writes it)"))
    elif beat.scheduler == "stopped":
        checks.append(Check("bot", False, f"process {beat.pid} stopped "
                                          f"{_ago(now, beat.updated_at)}"))
    elif now - beat.updated_at > stale_after:
        checks.append(Check("bot", False, f"process {beat.pid} last wrote its heartbeat "
                                          f"{_ago(now, beat.updated_at)} (more than "
                                          f"{round(stale_after.total_seconds())} s): stuck "
                                          "or gone"))
    else:
        live = True
        also = "".join(f"; process {o.pid} too ({o.scheduler})" for o in others)
        checks.append(Check("bot", True, f"process {beat.pid} running since "
                                         f"{beat.started_at.isoformat(timespec='seconds')}, "
                                         f"heartbeat {_ago(now, beat.updated_at)}{also}"))

    if database_error is not None:
        checks.append(Check("database", False, database_error))
    elif live and beat is not None and beat.database is not None:
        checks.append(Check("database", False, f"answers here, but not the bot: {beat.database}"))
    else:
        checks.append(Check("database", True, "answers"))

    if live and beat is not None:
        state = beat.scheduler
        if state in HEALTHY_SCHEDULER_STATES:
            detail = "waiting for the lease (another process holds it)" if state == "standby" \
                else state
            checks.append(Check("scheduler", True, detail))
        else:
            checks.append(Check("scheduler", False, state))
        for platform, connected in sorted(beat.adapters.items()):
            checks.append(Check(platform, connected, "connected" if connected else "disconnected"))

    if feeds is not None:
        checks += _feed_checks(feeds, now)
    elif feeds_error is not None:
        checks.append(Check("feeds", True, f"cannot tell how they fare: {feeds_error}",
                            warning=True))
    return HealthReport(tuple(checks))


def check(
    data_dir: Path,
    *,
    database_url: str,
    now: datetime,
    stale_after: timedelta = STALE_AFTER,
    feeds: Collection[str] = (),
) -> HealthReport:
    """Read the heartbeats in ``data_dir``, ask the database, and judge them.

    ``feeds`` are the configured feed URLs (the ``feeds`` setting), so the
    feeds judged are those the bot reads.
    """
    directory = heartbeat_dir(data_dir)
    found = read_heartbeats(directory)
    beats = [f.beat for f in found if f.beat is not None]
    live = sorted((b for b in beats if is_live(b, now=now, stale_after=stale_after)),
                  key=lambda b: (_RANK.get(b.scheduler, 0), b.updated_at), reverse=True)
    bad = [f for f in found if f.unreadable is not None]
    beat: Heartbeat | None = None
    where: Path = directory
    unreadable: str | None = None
    if live:
        beat = live[0]
    elif bad:  # perhaps the running process's
        where, unreadable = bad[0].path, bad[0].unreadable
    elif beats:  # the last to stop or fall silent
        beat = max(beats, key=lambda b: b.updated_at)
    database_error: str | None = None
    feed_list: list[FeedInfo] | None = None
    feeds_error: str | None = None
    try:
        ping(database_url)
    except DatabaseError as exc:
        database_error = str(exc)
    else:
        try:
            feed_list = read_feeds(database_url, configured=feeds)
        except DatabaseError as exc:
            feeds_error = str(exc)
    return evaluate(beat, now=now, database_error=database_error, stale_after=stale_after,
                    where=where, unreadable=unreadable, others=live[1:],
                    feeds=feed_list, feeds_error=feeds_error)
