"""The running bot's health: its heartbeat file, and the check ``digestbot health`` makes.

The running bot (``bot.chat.runtime.Bot``) writes ``health.json`` in the data
directory when it starts, every ``BEAT_SECONDS`` while it runs, and when it
stops: its process id, when it started, when it wrote, whether its database
answered, the scheduler's state and whether each chat adapter is connected.
``check`` reads that file, asks the database itself (``bot.store.db.ping``) and
returns one ``Check`` per item; the bot is healthy when all pass. docker
compose's health check runs ``digestbot health``, which exits non-zero then.

Reading and writing the heartbeat file is this module's only I/O (the
database query is ``bot.store.db``'s).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.store.db import DatabaseError, ping

__all__ = [
    "BEAT_SECONDS",
    "HEALTHY_SCHEDULER_STATES",
    "STALE_AFTER",
    "Check",
    "HealthReport",
    "Heartbeat",
    "check",
    "evaluate",
    "heartbeat_path",
    "read_heartbeat",
    "write_heartbeat",
]

HEARTBEAT_FILE = "health.json"
BEAT_SECONDS = 20.0
# Three missed beats and a margin: a bot whose event loop is blocked this
# long answers no chat command either.
STALE_AFTER = timedelta(seconds=90)
# "running": this process fires the digests. A process that waits for the
# scheduler lease while another holds it reports "standby", the holder
# "leader"; both are healthy. "starting" and "stopped" are not.
HEALTHY_SCHEDULER_STATES = frozenset({"running", "leader", "standby"})


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


def heartbeat_path(data_dir: Path) -> Path:
    return data_dir / HEARTBEAT_FILE


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
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'FAIL':<4} {self.name}: {self.detail}"


@dataclass(frozen=True)
class HealthReport:
    checks: tuple[Check, ...]

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)

    def lines(self) -> list[str]:
        """One line per check, then the verdict naming what failed."""
        failed = [c.name for c in self.checks if not c.ok]
        verdict = "healthy" if not failed else f"unhealthy: {', '.join(failed)}"
        return [c.line() for c in self.checks] + [verdict]

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


def _ago(now: datetime, then: datetime) -> str:
    return f"{max(0, round((now - then).total_seconds()))} s ago"


def evaluate(
    beat: Heartbeat | None,
    *,
    now: datetime,
    database_error: str | None,
    stale_after: timedelta = STALE_AFTER,
    where: Path | str = HEARTBEAT_FILE,
    unreadable: str | None = None,
) -> HealthReport:
    """Judge a heartbeat (None: no file at ``where``) and a fresh database answer at ``now``.

    The scheduler and adapter checks come from a fresh heartbeat only: a
    stale one says nothing about the present.
    """
    checks: list[Check] = []
    live = False
    if unreadable is not None:
        checks.append(Check("bot", False, f"the heartbeat file {where} is unreadable: {unreadable}"))
    elif beat is None:
        checks.append(Check("bot", False, f"no heartbeat file {where}: the bot is not running "
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
        checks.append(Check("bot", True, f"process {beat.pid} running since "
                                         f"{beat.started_at.isoformat(timespec='seconds')}, "
                                         f"heartbeat {_ago(now, beat.updated_at)}"))

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
    return HealthReport(tuple(checks))


def check(
    data_dir: Path,
    *,
    database_url: str,
    now: datetime,
    stale_after: timedelta = STALE_AFTER,
) -> HealthReport:
    """Read the heartbeat in ``data_dir``, ask the database, and judge both."""
    path = heartbeat_path(data_dir)
    beat: Heartbeat | None = None
    unreadable: str | None = None
    try:
        beat = read_heartbeat(path)
    except ValueError as exc:
        unreadable = str(exc)
    try:
        ping(database_url)
        database_error = None
    except DatabaseError as exc:
        database_error = str(exc)
    return evaluate(beat, now=now, database_error=database_error, stale_after=stale_after,
                    where=path, unreadable=unreadable)
