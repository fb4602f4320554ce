"""Slack out of reach or refusing a token: one line per attempt, never a traceback.

`digestbot run` itself, in a process of its own, against an unresolvable host
(``.invalid`` never resolves) or the fake Slack Web API (tests/fakes)
refusing a token; in-process, the real adapter for the attempts that follow
and for slack_sdk's own reconnecting.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.slack.adapter import SlackAdapter
from bot.chat.service import Service
from tests.adapters.digestbot_run import DigestbotRun, LateRelay, refused_port
from tests.adapters.slack.test_adapter import SocketModeServer
from tests.console_bot import ConsoleBot
from tests.fakes import FakeSlackAPI
from tests.fakes.http import serving

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
BOT_TOKEN, APP_TOKEN = "xoxb-test-token", "xapp-test-token"
SOCKET_MODE = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}


def test_slack_unreachable_is_one_line_and_the_bot_runs_on(tmp_path: Path) -> None:
    with DigestbotRun(tmp_path, DIGESTBOT_SLACK_API_URL="http://slack.invalid/api/",
                      DIGESTBOT_LOG_LEVEL="INFO", **SOCKET_MODE) as bot:
        [line] = bot.wait_for("Slack unreachable")
        bot.wait_for("running with slack")  # the scheduler and the rest go on meanwhile
    assert line.endswith("Slack unreachable (DNS lookup failed for slack.invalid); "
                         "retrying in 5 s")
    assert bot.returncode == 0
    assert "Traceback" not in bot.log
    assert "will be unused" not in bot.log  # bolt's warning about a token it was given twice


def test_http_mode_serves_while_slack_is_unreachable(tmp_path: Path) -> None:
    with DigestbotRun(tmp_path, DIGESTBOT_PORT=str(refused_port()),
                      DIGESTBOT_SLACK_API_URL="http://slack.invalid/api/",
                      DIGESTBOT_LOG_LEVEL="INFO", DIGESTBOT_SLACK_HTTP="true",
                      SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET="secret") as bot:
        [line] = bot.wait_for("Slack unreachable")
        bot.wait_for("running with slack")
    assert line.endswith("Slack unreachable (DNS lookup failed for slack.invalid); "
                         "serving /slack/events anyway")
    assert "Traceback" not in bot.log


@pytest.mark.parametrize(("bot_token", "app_token", "refused"), [
    ("xoxb-revoked", APP_TOKEN, "SLACK_BOT_TOKEN"),
    (BOT_TOKEN, "xapp-revoked", "SLACK_APP_TOKEN"),
])
def test_a_refused_token_stops_the_bot_with_one_line(tmp_path: Path, bot_token: str,
                                                     app_token: str, refused: str) -> None:
    with serving(FakeSlackAPI(tokens=[BOT_TOKEN, APP_TOKEN])) as fake, \
            DigestbotRun(tmp_path, DIGESTBOT_SLACK_API_URL=fake.api_url,
                         SLACK_BOT_TOKEN=bot_token, SLACK_APP_TOKEN=app_token) as bot:
        assert bot.wait() == 1
        checks = fake.calls()
    last = bot.log.strip().splitlines()[-1]
    assert last.startswith(f"digestbot: Slack refused {refused} (invalid_auth): check {refused} (")
    assert "Traceback" not in bot.log
    assert len(checks) <= 2  # auth.test, apps.connections.open: once, no retrying


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
    adapter = SlackAdapter(bot_token=BOT_TOKEN, signing_secret="", app_token=APP_TOKEN,
                           api_url=f"http://127.0.0.1:{port}/api/", retry_seconds=(0.01, 0.02))
    bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
    try:
        records = _wait(caplog, "Slack unreachable", 3)
        assert not bot.run(adapter.is_connected())
    finally:
        bot.stop()
    assert [r.getMessage() for r in records[:3]] == [
        f"Slack unreachable (connection refused by 127.0.0.1:{port}); retrying in {s} s"
        for s in ("0.01", "0.02", "0.02")
    ]
    assert all(r.exc_info is None for r in caplog.records)


def test_connects_once_slack_is_back(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    server = SocketModeServer().start()
    with serving(FakeSlackAPI()) as fake:
        fake.respond("apps.connections.open",
                     {"ok": True, "url": f"ws://127.0.0.1:{server.port}/link"}, times=None)
        relay = LateRelay(target=int(fake.url.rsplit(":", 1)[1]))
        adapter = SlackAdapter(bot_token=BOT_TOKEN, signing_secret="", app_token=APP_TOKEN,
                               api_url=f"http://127.0.0.1:{relay.port}/api/",
                               retry_seconds=(0.05,))
        bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
        try:
            _wait(caplog, "Slack unreachable", 1)
            relay.open()  # the network is back
            _wait(caplog, "Slack: connected in Socket Mode", 1)
            assert bot.run(adapter.is_connected())
        finally:
            bot.stop()
            relay.close()
            server.stop()
    assert "Traceback" not in caplog.text


def test_socket_mode_reconnects_are_one_line(service: Service,
                                             caplog: pytest.LogCaptureFixture) -> None:
    # Connected, then the websocket's server goes away: slack_sdk reconnects by
    # itself, and logs each failed attempt with a traceback unless tamed.
    caplog.set_level(logging.INFO)
    server = SocketModeServer().start()
    with serving(FakeSlackAPI()) as fake:
        fake.respond("apps.connections.open",
                     {"ok": True, "url": f"ws://127.0.0.1:{server.port}/link"}, times=None)
        adapter = SlackAdapter(bot_token=BOT_TOKEN, signing_secret="", app_token=APP_TOKEN,
                               api_url=fake.api_url)
        bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
        try:
            server.drop()
            [record] = _wait(caplog, "Failed to connect", 1)[:1]
        finally:
            bot.stop()
            server.stop()
    assert record.name == "adapters.slack.socket_mode"
    assert record.exc_info is None
    assert f"127.0.0.1:{server.port}" in record.getMessage()
    assert "Traceback" not in caplog.text
