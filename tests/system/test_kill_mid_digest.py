"""`digestbot run` killed (SIGKILL) between two messages of one digest: the messages
the platform accepted before the kill are never posted again.

The digest is long enough to take three messages. The fake Slack (or
Discord) accepts the first and holds the second before accepting it; the
process is killed there, so the platform never shows the held one (its
client is gone). A second `digestbot run` finishes the digest: every paper
is shown exactly once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.chat.schedules import parse_schedule
from bot.chat.service import Service
from bot.config import Settings
from bot.model.messages import Digest
from bot.model.papers import PaperRecord
from bot.store.models import Delivery
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.discord_data import CHANNEL_ID, GUILD_ID, SEND_MESSAGE
from tests.fakes.http import serving
from tests.fakes.slack_api import TEAM_ID, FakeSlackAPI, SlackCall
from tests.system.test_run import (
    START_SECONDS,
    STOP_SECONDS,
    _env,
    _free_port,
    _wait_for,
)

PAPERS = 40  # three Slack messages: 16, 16 and 8 papers
TOKEN = "xoxb-kill"
CHANNEL = "C0KILL"
ADDRESS = f"slack:{TEAM_ID}/{CHANNEL}"


@pytest.fixture
def stopped_at_end() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes killed at the end of the test if it left them running."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _paper_ids(call: SlackCall) -> list[str]:
    """The papers a digest message shows: each item's buttons carry its id."""
    return [element["value"] for block in call.blocks or []
            if block.get("type") == "actions" for element in block["elements"][:1]]


def _prepare(settings: Settings, address: str, papers: int) -> None:
    service = Service.open(settings)
    service.catalog.import_records(
        PaperRecord(id=f"2611.{n:05d}", title=f"Breast MRI study number {n}",
                    url=f"https://arxiv.org/abs/2611.{n:05d}")
        for n in range(papers))
    service.channels.subscribe(address, "breast")
    service.channels.set_max_papers(address, papers)
    # A few minutes ago: the bot's start catches the digest up.
    when = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%H:%M")
    service.channels.set_schedule(address, parse_schedule([when, "UTC"]))
    service.close()


def _confirmed(settings: Settings, count: int) -> None:
    """Wait (a few seconds at most) for ``count`` papers confirmed as sent."""
    deadline = time.monotonic() + 5
    while _sent(settings) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def _finished(settings: Settings, address: str, papers: int) -> None:
    """Nothing is left to post, pending or waiting: every paper is sent."""
    service = Service.open(settings)
    try:
        seen: list[Digest] = []
        assert service.deliverer.digest(address, send=seen.append, dry_run=True) is None
        assert _sent(settings) == papers
        assert json.dumps(service.deliverer.interrupted()) == "[]"
    finally:
        service.close()


def _sent(settings: Settings) -> int:
    service = Service.open(settings)
    try:
        with service.db.session() as session:
            return int(session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == "sent")) or 0)
    finally:
        service.close()


def _start(tmp_path: Path, env: dict[str, str], name: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / name
    with log.open("wb") as out:
        bot = subprocess.Popen([sys.executable, "-m", "bot", "run"], stdin=subprocess.DEVNULL,
                               stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path, env=env)
    return bot, log


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_between_two_messages_of_a_digest_posts_each_paper_once(
    tmp_path: Path, database_url: str, stopped_at_end: list[subprocess.Popen[bytes]],
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    _prepare(settings, ADDRESS, PAPERS)

    with FakeSlackAPI(tokens=[TOKEN]) as fake:
        fake.hold("chat.postMessage", after=1)  # the first message goes through
        env = _env(tmp_path, database_url, DIGESTBOT_SLACK_API_URL=fake.api_url,
                   DIGESTBOT_SLACK_HTTP="true", DIGESTBOT_PORT=str(_free_port()),
                   SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="secret")
        first, log = _start(tmp_path, env, "first.log")
        stopped_at_end.append(first)
        try:
            fake.wait_held(1, timeout=START_SECONDS)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log.read_text()}") from None
        [accepted] = fake.posts()
        assert len(_paper_ids(accepted)) == 16
        # The first message's confirmation is written as Slack accepts it
        # (within moments), not at the end of the digest.
        _confirmed(settings, 16)
        first.kill()
        first.wait(STOP_SECONDS)
        fake.release()  # the held message finds its client gone: never shown

        second, log = _start(tmp_path, env, "second.log")
        stopped_at_end.append(second)

        def shown() -> Counter[str]:
            return Counter(paper for call in fake.posts() for paper in _paper_ids(call))

        deadline = time.monotonic() + START_SECONDS
        while len(shown()) < PAPERS:
            if time.monotonic() > deadline or second.poll() is not None:
                raise AssertionError(f"not every paper came: {len(shown())}\n{log.read_text()}")
            time.sleep(0.1)
        _wait_for(log.read_text, f"digest channel={ADDRESS}", second)
        second.send_signal(signal.SIGTERM)
        assert second.wait(STOP_SECONDS) == 0, log.read_text()
        counts = shown()
        held = [c for c in fake.calls("chat.postMessage") if c.status != 200]
    assert len(held) == 1 and set(_paper_ids(held[0])).isdisjoint(_paper_ids(accepted))
    assert len(counts) == PAPERS
    twice = sorted(paper for paper, n in counts.items() if n > 1)
    assert twice == [], f"posted again after the restart: {twice}"
    assert "Traceback" not in log.read_text()

    _finished(settings, ADDRESS, PAPERS)


DISCORD_PAPERS = 15  # three Discord messages of 5 papers
DISCORD_ADDRESS = f"discord:{GUILD_ID}/{CHANNEL_ID}"


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_between_two_discord_messages_posts_each_paper_once(
    tmp_path: Path, database_url: str, stopped_at_end: list[subprocess.Popen[bytes]],
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    _prepare(settings, DISCORD_ADDRESS, DISCORD_PAPERS)
    ids = [f"2611.{n:05d}" for n in range(DISCORD_PAPERS)]

    with serving(FakeDiscord()) as fake:
        def shown() -> Counter[str]:
            return Counter(i for call in fake.messages(CHANNEL_ID) for i in ids
                           if i in json.dumps(call.payload))

        fake.hold(SEND_MESSAGE, after=1)  # the first message goes through
        env = _env(tmp_path, database_url, DISCORD_TOKEN="discord-bot-token",
                   DIGESTBOT_DISCORD_API_URL=fake.rest_url,
                   DIGESTBOT_DISCORD_GATEWAY_URL=fake.gateway_url)
        first, log = _start(tmp_path, env, "first.log")
        stopped_at_end.append(first)
        try:
            fake.wait_held(1, timeout=START_SECONDS)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log.read_text()}") from None
        [accepted] = fake.messages(CHANNEL_ID)
        assert len(shown()) == 5
        _confirmed(settings, 5)
        first.kill()
        first.wait(STOP_SECONDS)
        fake.release()  # the held message finds its client gone: never shown
        before = len(fake.calls(SEND_MESSAGE))

        second, log = _start(tmp_path, env, "second.log")
        stopped_at_end.append(second)
        _wait_for(log.read_text, f"digest channel={DISCORD_ADDRESS}", second)
        second.send_signal(signal.SIGTERM)
        assert second.wait(STOP_SECONDS) == 0, log.read_text()
        counts = shown()
        # Not even tried again: Discord's nonce would catch a retry only for a
        # few minutes, the ledger for good.
        again = [i for call in fake.calls(SEND_MESSAGE)[before:] for i in ids
                 if i in json.dumps(call.payload) and i in json.dumps(accepted.payload)]
    assert again == [], f"the accepted message was sent again: {again}"
    assert len(counts) == DISCORD_PAPERS, log.read_text()
    twice = sorted(paper for paper, n in counts.items() if n > 1)
    assert twice == [], f"posted again after the restart: {twice}"
    assert "Traceback" not in log.read_text()
    _finished(settings, DISCORD_ADDRESS, DISCORD_PAPERS)


# -- the window: the platform took the message, the process died before its answer --


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("history", [True, False], ids=["history", "no-history-scope"])
def test_kill_after_slack_took_a_message_before_its_answer(
    tmp_path: Path, database_url: str, stopped_at_end: list[subprocess.Popen[bytes]],
    history: bool,
) -> None:
    """Slack shows the second message, the bot never hears so: after the restart it
    reads the channel's history (the message's metadata names its papers) and posts
    only the rest. Without the history scopes it says so once and posts it again."""
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    _prepare(settings, ADDRESS, PAPERS)

    with FakeSlackAPI(tokens=[TOKEN]) as fake:
        if not history:
            fake.fail("conversations.history", error="missing_scope", times=None,
                      needed="channels:history", provided="commands,chat:write")
        fake.hold("chat.postMessage", after=1, accepted=True)
        env = _env(tmp_path, database_url, DIGESTBOT_SLACK_API_URL=fake.api_url,
                   DIGESTBOT_SLACK_HTTP="true", DIGESTBOT_PORT=str(_free_port()),
                   SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="secret")
        first, log = _start(tmp_path, env, "first.log")
        stopped_at_end.append(first)
        try:
            fake.wait_held(1, timeout=START_SECONDS)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log.read_text()}") from None
        _confirmed(settings, 16)
        first.kill()
        first.wait(STOP_SECONDS)
        [_, taken] = fake.posts()  # in the channel, though the bot never heard
        fake.release()
        assert _sent(settings) == 16

        second, log = _start(tmp_path, env, "second.log")
        stopped_at_end.append(second)
        _wait_for(log.read_text, f"digest channel={ADDRESS}", second)
        second.send_signal(signal.SIGTERM)
        assert second.wait(STOP_SECONDS) == 0, log.read_text()
        counts = Counter(paper for call in fake.posts() for paper in _paper_ids(call))
        reads = fake.calls("conversations.history")
    text = log.read_text()
    assert "Traceback" not in text
    assert len(counts) == PAPERS
    twice = sorted(paper for paper, n in counts.items() if n > 1)
    assert len(reads) == 1 and reads[0].params["channel"] == CHANNEL
    assert reads[0].params["include_all_metadata"] in ("1", "true", True)
    if history:
        assert twice == [], f"posted again after the restart: {twice}"
        assert "16 papers of the digest interrupted" in text
    else:
        assert twice == sorted(_paper_ids(taken))  # as before the check: the cut-off message again
        assert text.count("cannot read C0KILL's history (missing_scope)") == 1
        assert "channels:history and groups:history" in text
    _finished(settings, ADDRESS, PAPERS)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_after_discord_took_a_message_before_its_answer(
    tmp_path: Path, database_url: str, stopped_at_end: list[subprocess.Popen[bytes]],
) -> None:
    """Discord shows the second message, the bot never hears so: after the restart
    the message is sent again with the same nonce, and Discord answers with the one
    it has instead of showing it twice."""
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    _prepare(settings, DISCORD_ADDRESS, DISCORD_PAPERS)
    ids = [f"2611.{n:05d}" for n in range(DISCORD_PAPERS)]

    with serving(FakeDiscord()) as fake:
        def shown() -> Counter[str]:
            return Counter(i for call in fake.messages(CHANNEL_ID) for i in ids
                           if i in json.dumps(call.payload))

        fake.hold(SEND_MESSAGE, after=1, accepted=True)
        env = _env(tmp_path, database_url, DISCORD_TOKEN="discord-bot-token",
                   DIGESTBOT_DISCORD_API_URL=fake.rest_url,
                   DIGESTBOT_DISCORD_GATEWAY_URL=fake.gateway_url)
        first, log = _start(tmp_path, env, "first.log")
        stopped_at_end.append(first)
        try:
            fake.wait_held(1, timeout=START_SECONDS)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log.read_text()}") from None
        _confirmed(settings, 5)
        first.kill()
        first.wait(STOP_SECONDS)
        fake.release()
        assert len(shown()) == 10 and _sent(settings) == 5

        second, log = _start(tmp_path, env, "second.log")
        stopped_at_end.append(second)
        _wait_for(log.read_text, f"digest channel={DISCORD_ADDRESS}", second)
        second.send_signal(signal.SIGTERM)
        assert second.wait(STOP_SECONDS) == 0, log.read_text()
        counts = shown()
        sends = len(fake.calls(SEND_MESSAGE))
    assert sends == 4  # the cut-off message was sent again, and taken as the same one
    assert len(counts) == DISCORD_PAPERS, log.read_text()
    twice = sorted(paper for paper, n in counts.items() if n > 1)
    assert twice == [], f"posted again after the restart: {twice}"
    assert "Traceback" not in log.read_text()
    _finished(settings, DISCORD_ADDRESS, DISCORD_PAPERS)
