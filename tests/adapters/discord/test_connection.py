"""Discord out of reach or refusing the token: one line per attempt, never a traceback.

`digestbot run` itself, in a process of its own, against an unresolvable host
(``.invalid`` never resolves), a local port that refuses connections, or the
fake Discord (tests/fakes) refusing the token; in-process, the real adapter
for the attempts that follow.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.discord.adapter import DiscordAdapter
from bot.chat.service import Service
from tests.adapters.digestbot_run import DigestbotRun, LateRelay, refused_port
from tests.console_bot import ConsoleBot
from tests.fakes import FakeDiscord
from tests.fakes.http import serving

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
NOWHERE = "http://discord.invalid/api/v10"
LOGIN = "GET /users/@me"


def test_discord_unreachable_is_one_line_and_the_bot_runs_on(tmp_path: Path) -> None:
    with DigestbotRun(tmp_path, DISCORD_TOKEN="discord-bot-token",
                      DIGESTBOT_DISCORD_API_URL=NOWHERE, DIGESTBOT_LOG_LEVEL="INFO") as bot:
        [line] = bot.wait_for("Discord unreachable")
        bot.wait_for("running with discord")  # the scheduler and the rest go on meanwhile
    assert line.endswith("Discord unreachable (DNS lookup failed for discord.invalid); "
                         "retrying in 5 s")
    assert bot.returncode == 0
    assert "Traceback" not in bot.log


def test_the_traceback_is_there_with_vv(tmp_path: Path) -> None:
    with DigestbotRun(tmp_path, "-vv", DISCORD_TOKEN="discord-bot-token",
                      DIGESTBOT_DISCORD_API_URL=NOWHERE) as bot:
        bot.wait_for("Discord unreachable")
        bot.wait_for("ClientConnectorDNSError")
    assert "Traceback" in bot.log


def test_a_refused_token_stops_the_bot_with_one_line(tmp_path: Path) -> None:
    with serving(FakeDiscord(tokens=["the-real-token"])) as fake, \
            DigestbotRun(tmp_path, DISCORD_TOKEN="a-revoked-token",
                         DIGESTBOT_DISCORD_API_URL=fake.rest_url,
                         DIGESTBOT_DISCORD_GATEWAY_URL=fake.gateway_url) as bot:
        assert bot.wait() == 1
        logins = fake.calls(LOGIN)
    assert bot.log.strip().splitlines()[-1] == (
        "digestbot: Discord refused the token (401): check DISCORD_TOKEN (the Bot page of "
        "the application in Discord's developer portal)")
    assert "Traceback" not in bot.log
    assert len(logins) == 1  # no retrying a token Discord refused


@pytest.fixture
def service(db, index) -> Service:
    return Service(db=db, index=index, clock=lambda: NOW)


def _lines(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


def _wait(caplog: pytest.LogCaptureFixture, text: str, count: int) -> list[logging.LogRecord]:
    deadline = time.monotonic() + 10
    while len(_lines(caplog, text)) < count:
        assert time.monotonic() < deadline, caplog.text
        time.sleep(0.02)
    return _lines(caplog, text)


def test_each_attempt_is_one_line(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    port = refused_port()
    adapter = DiscordAdapter(token="discord-bot-token", api_url=f"http://127.0.0.1:{port}/api/v10",
                             retry_seconds=(0.01, 0.02))
    bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
    try:
        records = _wait(caplog, "Discord unreachable", 3)
        assert not bot.run(adapter.is_connected())
    finally:
        bot.stop()
    assert [r.getMessage() for r in records[:3]] == [
        f"Discord unreachable (connection refused by 127.0.0.1:{port}); retrying in {s} s"
        for s in ("0.01", "0.02", "0.02")
    ]
    assert all(r.exc_info is None for r in caplog.records)
    assert "Traceback" not in caplog.text


def test_gateway_unreachable_after_login_is_one_line_per_reconnect(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    # REST answers, the gateway refuses: discord.py reconnects by itself, and
    # logs each attempt with a traceback unless tamed.
    caplog.set_level(logging.INFO)
    port = refused_port()
    with serving(FakeDiscord()) as fake:
        adapter = DiscordAdapter(token="discord-bot-token", api_url=fake.rest_url,
                                 gateway_url=f"ws://127.0.0.1:{port}/gateway")
        bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()  # returns: not stuck
        try:
            [record] = _wait(caplog, "Attempting a reconnect", 1)[:1]
        finally:
            bot.stop()
    assert record.name == "discord.client"
    assert record.exc_info is None
    assert f"connection refused by 127.0.0.1:{port}" in record.getMessage()
    assert "Traceback" not in caplog.text


def test_a_token_refused_once_running_stops_discord_only(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    # Unreachable at start (the bot runs on), then Discord answers: 401.
    with serving(FakeDiscord(tokens=["the-real-token"])) as fake:
        relay = LateRelay(target=int(fake.url.rsplit(":", 1)[1]))
        adapter = DiscordAdapter(token="a-revoked-token",
                                 api_url=f"http://127.0.0.1:{relay.port}/api/v10",
                                 gateway_url=fake.gateway_url, retry_seconds=(0.05,))
        bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
        try:
            _wait(caplog, "Discord unreachable", 1)
            relay.open()  # the network is back
            [record] = _wait(caplog, "Discord refused the token (401)", 1)
            assert "/papers help" in bot.say("/papers help")  # the rest of the bot goes on
            assert len(_lines(caplog, "Discord refused")) == 1  # and no more attempts
        finally:
            bot.stop()
            relay.close()
    assert record.levelno == logging.ERROR
    assert record.getMessage().endswith("; Discord stays off until digestbot restarts")
    assert "Traceback" not in caplog.text
