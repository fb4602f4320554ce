"""Issue 7's proof: three `digestbot run` processes on one PostgreSQL database,
the scheduler's process killed in the middle of a run, and every due paper
posted exactly once.

The processes are the real bot (Slack over HTTP) posting to the fake Slack
Web API. The fake lets the leader post a few channels' digests, then holds
its next post; the test kills the leader there (SIGKILL: no clean-up of any
kind), lets the held post go (the fake drops it: its client is gone, so
Slack never showed it), and waits for a standby to take the lease over
(``bot.chat.runtime.LEASE_SECONDS``) and finish the run from the catch-up of the
digests whose time passed (``DigestScheduler.start``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.chat.health import heartbeat_dir, read_heartbeats
from bot.chat.runtime import LEASE_SECONDS
from bot.chat.schedules import parse_schedule
from bot.chat.service import Service
from bot.model.messages import Digest
from bot.model.papers import PaperRecord
from bot.search.index import SearchIndex
from bot.store.db import open_database
from tests.fakes.slack_api import CLIENT_GONE, TEAM_ID, FakeSlackAPI, SlackCall

TOPICS = ("breast", "lung", "retina", "cardiac", "brain", "liver", "kidney", "skin", "bone")
PAPERS_PER_TOPIC = 4
CHANNELS = 15
POSTED_BEFORE_KILL = 5  # channels the leader posts before it dies on the next
PROCESSES = 3
START_SECONDS = 60
# The lease is tried every LEASE_SECONDS; the rest is start-up and posting.
TAKEOVER_SECONDS = LEASE_SECONDS * 4 + 30
TOKEN = "xoxb-three-processes"


def _address(n: int) -> str:
    return f"slack:{TEAM_ID}/C0CHAN{n:02d}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare(url: str, index_dir: Path) -> dict[str, set[str]]:
    """Papers, channels, topics and schedules; returns the papers due in each channel."""
    db = open_database(url)
    service = Service(db=db, index=SearchIndex.open(index_dir, catalog_id=db.catalog_id))
    try:
        service.catalog.import_records(
            PaperRecord(id=f"2611.{t:02d}{n:03d}", title=f"{topic.title()} imaging study {n}",
                        url=f"https://arxiv.org/abs/2611.{t:02d}{n:03d}")
            for t, topic in enumerate(TOPICS)
            for n in range(PAPERS_PER_TOPIC)
        )
        # A few minutes ago today (UTC): each leader's start catches these digests up.
        when = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%H:%M")
        due: dict[str, set[str]] = {}
        for n in range(CHANNELS):
            address = _address(n)
            service.channels.subscribe(address, TOPICS[n % len(TOPICS)])
            if n % 3 == 0:  # some channels follow two topics
                service.channels.subscribe(address, TOPICS[(n + 1) % len(TOPICS)])
            service.channels.set_schedule(address, parse_schedule([when, "UTC"]))

            def keep(message: Digest, address: str = address) -> None:
                due[address] = {item.paper_id for item in message.items}

            service.deliverer.digest(address, send=keep, dry_run=True)
        return due
    finally:
        service.close()


def _paper_ids(call: SlackCall) -> list[str]:
    """The papers a digest message shows: each item's buttons carry its id."""
    return [
        element["value"]
        for block in call.blocks or []
        if block.get("type") == "actions"
        for element in block["elements"][:1]
    ]


def _posted(fake: FakeSlackAPI) -> Counter[tuple[str, str]]:
    return Counter(
        (f"slack:{TEAM_ID}/{call.channel}", paper)
        for call in fake.posts()
        for paper in _paper_ids(call)
    )


def _scheduler_state(data_dir: Path) -> str | None:
    """What the process running with ``data_dir`` last said of its scheduler."""
    beats = [f.beat for f in read_heartbeats(heartbeat_dir(data_dir)) if f.beat is not None]
    return max(beats, key=lambda b: b.updated_at).scheduler if beats else None


def _logs(logs: list[Path]) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)


def _wait(condition: Any, timeout: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f}s for {what}\n{_logs(logs)}")
        time.sleep(0.1)


@pytest.mark.postgresql
def test_killing_the_scheduler_process_mid_run_posts_every_due_paper_exactly_once(
    postgresql_database, tmp_path: Path
) -> None:
    url = postgresql_database()
    due = _prepare(url, tmp_path / "setup-index")
    expected = Counter((address, paper) for address, papers in due.items() for paper in papers)
    assert len(due) == CHANNELS and all(len(papers) >= PAPERS_PER_TOPIC for papers in due.values())

    no_seeds = tmp_path / "no-seeds"
    no_seeds.mkdir()
    with FakeSlackAPI(tokens=[TOKEN]) as fake:
        fake.hold("chat.postMessage", after=POSTED_BEFORE_KILL)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DIGESTBOT_", "SLACK_", "DISCORD_"))}
        env.update(
            DIGESTBOT_DATABASE_URL=url, DIGESTBOT_FEEDS="", DIGESTBOT_SEEDS_DIR=str(no_seeds),
            DIGESTBOT_LOG_LEVEL="INFO", DIGESTBOT_SLACK_API_URL=fake.api_url,
            DIGESTBOT_SLACK_HTTP="true", SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="secret",
        )
        data_dirs = [tmp_path / f"bot{n}" for n in range(PROCESSES)]
        logs = [tmp_path / f"bot{n}.log" for n in range(PROCESSES)]
        bots: list[subprocess.Popen[bytes]] = []
        try:
            for data_dir, log in zip(data_dirs, logs, strict=True):
                with log.open("wb") as out:
                    bots.append(subprocess.Popen(
                        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "run"],
                        env={**env, "DIGESTBOT_PORT": str(_free_port())},
                        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                        cwd=tmp_path,
                    ))

            # The leader's catch-up posts POSTED_BEFORE_KILL digests; the next waits.
            try:
                fake.wait_held(1, timeout=START_SECONDS)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{_logs(logs)}") from None
            _wait(lambda: all(_scheduler_state(d) in ("leader", "standby") for d in data_dirs),
                  START_SECONDS, "every process to run", logs)
            states = [_scheduler_state(d) for d in data_dirs]
            assert Counter(states) == {"leader": 1, "standby": 2}, states
            assert len(fake.posts()) == POSTED_BEFORE_KILL
            leader = states.index("leader")

            bots[leader].kill()
            bots[leader].wait(timeout=10)  # reaped: its sockets are closed
            fake.release()
            survivors = [n for n in range(PROCESSES) if n != leader]

            _wait(lambda: set(_posted(fake)) >= set(expected), TAKEOVER_SECONDS,
                  "a standby to take over and post the rest", logs)
            _wait(lambda: [_scheduler_state(data_dirs[n]) for n in survivors].count("leader") == 1,
                  START_SECONDS, "one survivor to report leader", logs)
            assert Counter(_scheduler_state(data_dirs[n]) for n in survivors) == {
                "leader": 1, "standby": 1}

            # Stopped before the counting: no post can come after it.
            for n in survivors:
                bots[n].send_signal(signal.SIGTERM)
            for n in survivors:
                assert bots[n].wait(timeout=60) == 0, _logs(logs)
        finally:
            for bot in bots:
                if bot.poll() is None:
                    bot.kill()
                    bot.wait(timeout=30)

        posted = _posted(fake)
        assert posted == expected, (
            f"twice: {sorted(k for k, v in posted.items() if v > 1)}; "
            f"missing: {sorted(set(expected) - set(posted))}; "
            f"never due: {sorted(set(posted) - set(expected))}"
        )
        # The leader died in the middle of a post: Slack never answered it.
        dropped = [c for c in fake.posts(include_failed=True) if c.status == CLIENT_GONE]
        assert len(dropped) == 1
        assert dropped[0].channel not in {c.channel for c in fake.posts()[:POSTED_BEFORE_KILL]}
        assert not fake.errors
    took_over = [n for n in survivors if "scheduler lease taken" in logs[n].read_text()]
    assert len(took_over) == 1, _logs(logs)
