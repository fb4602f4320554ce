"""The real bot under a fault: seed papers, subscribe a channel, run `digestbot run`.

``seed`` fills a fresh database with papers one channel follows, its digest
due a few minutes ago, so that the bot's start catches the digest up (as
tests/system do). ``BotProcess`` starts ``python -m bot run`` in a process of
its own, reads its log, stops it (SIGTERM) or kills it (SIGKILL).
``SlackSide`` and ``DiscordSide`` are the far side of each platform: a fake
(tests/fakes) the bot posts to, what the channel shows (paper ids, counted),
and the ``/papers`` commands a person types there (a signed slash command
over HTTP; an interaction over the fake gateway).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from slack_sdk.signature import SignatureVerifier

from bot.chat.schedules import parse_schedule
from bot.chat.service import Service
from bot.config import Settings
from bot.model.papers import PaperRecord
from tests.fakes.discord_api import (
    CHANNEL_ID,
    GUILD_ID,
    MANAGE_CHANNELS,
    MEMBER_PERMISSIONS,
    FakeDiscord,
)
from tests.fakes.discord_data import SEND_MESSAGE
from tests.fakes.slack_api import TEAM_ID, FakeSlackAPI, SlackCall
from tests.system.test_run import START_SECONDS, STOP_SECONDS, _env, _free_port, _wait_for

__all__ = [
    "START_SECONDS", "STOP_SECONDS", "BotProcess", "DiscordSide", "Platform", "SlackSide",
    "bot_env", "paper_ids", "seed", "settings_for", "wait_until",
]

SLACK_TOKEN = "xoxb-faults"
SLACK_SECRET = "faults-signing-secret"
SLACK_CHANNEL = "C0FAULT"
DISCORD_TOKEN = "discord-bot-token"


def settings_for(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


def paper_ids(count: int) -> list[str]:
    return [f"2611.{n:05d}" for n in range(count)]


def seed(settings: Settings, address: str, count: int) -> list[str]:
    """``count`` papers that ``address`` follows, its digest due a few minutes ago."""
    ids = paper_ids(count)
    service = Service.open(settings)
    try:
        service.catalog.import_records(
            PaperRecord(id=i, title=f"Breast MRI study number {n}",
                        url=f"https://arxiv.org/abs/{i}") for n, i in enumerate(ids))
        service.channels.subscribe(address, "breast")
        service.channels.set_max_papers(address, count)
        # The time of day only (the date moved ahead or not): the start catches it up.
        when = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%H:%M")
        service.channels.set_schedule(address, parse_schedule([when, "UTC"]))
    finally:
        service.close()
    return ids


def wait_until(check: Callable[[], bool], what: str, *, timeout: float = START_SECONDS,
               log: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never came:\n{log()}")
        time.sleep(0.05)


@dataclass
class BotProcess:
    """``digestbot run`` (or another verb) in a process of its own, its output in a log file."""

    tmp_path: Path
    env: dict[str, str]
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = self.tmp_path / f"run{len(self.logs) + 1}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "bot", *(args or ("run",))],
                                       stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, cwd=self.tmp_path, env=self.env)
        self.started.append(process)
        self.logs.append(log)
        return process

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.started[-1]

    def log(self) -> str:
        """Everything every run printed, in order."""
        return "".join(path.read_text(errors="replace") for path in self.logs)

    def wait_for(self, text: str, timeout: float = START_SECONDS) -> str:
        return _wait_for(lambda: self.logs[-1].read_text(errors="replace"), text, self.process,
                         timeout)

    def stop(self) -> None:
        """SIGTERM, and the bot ends cleanly."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(STOP_SECONDS) == 0, self.log()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(STOP_SECONDS)

    def cleanup(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(STOP_SECONDS)


class Platform(Protocol):
    """The far side of one chat platform, as a fault test needs it."""

    name: str
    address: str
    per_message: int  # papers a digest message carries
    fake: Any  # the fake platform, to script faults on

    def bot_env(self) -> dict[str, str]: ...
    def shown(self) -> Counter[str]: ...
    def say(self, text: str) -> None: ...
    def attempts(self) -> int: ...


def _bot_clock() -> float:
    """The time the bot's process lives in: the kernel's. This process's wall clock may be
    moved ahead (tests/date_moved.sh), the file system's never is."""
    with tempfile.NamedTemporaryFile() as marker:
        return os.fstat(marker.fileno()).st_mtime


def _slack_ids(call: SlackCall) -> list[str]:
    """The papers a Slack digest message shows: each item's first button carries its id."""
    return [element["value"] for block in call.blocks or []
            if block.get("type") == "actions" for element in block["elements"][:1]]


class SlackSide:
    """A FakeSlackAPI for one workspace, and the bot serving it over HTTP."""

    name = "slack"
    per_message = 16

    def __init__(self, fake: FakeSlackAPI) -> None:
        self.fake = fake
        self.port = _free_port()
        self.address = f"slack:{TEAM_ID}/{SLACK_CHANNEL}"
        self._triggers = iter(range(1, 1_000_000))

    def bot_env(self) -> dict[str, str]:
        return dict(DIGESTBOT_SLACK_API_URL=self.fake.api_url, DIGESTBOT_SLACK_HTTP="true",
                    DIGESTBOT_PORT=str(self.port), SLACK_BOT_TOKEN=SLACK_TOKEN,
                    SLACK_SIGNING_SECRET=SLACK_SECRET)

    def shown(self) -> Counter[str]:
        return Counter(i for call in self.fake.posts(SLACK_CHANNEL) for i in _slack_ids(call))

    def attempts(self) -> int:
        return len(self.fake.posts(SLACK_CHANNEL, include_failed=True))

    def say(self, text: str) -> None:
        """Type ``/papers TEXT`` in the channel: a slash command signed as Slack signs it."""
        form = {"command": "/papers", "text": text, "team_id": TEAM_ID, "channel_id": SLACK_CHANNEL,
                "user_id": "U0FAULT", "user_name": "ann",
                "trigger_id": f"7.7.{next(self._triggers)}",
                "response_url": self.fake.response_url("faults")}
        body = urllib.parse.urlencode(form).encode()
        timestamp = str(int(_bot_clock()))
        signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=timestamp,
                                                                       body=body)
        assert signature is not None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events", data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, response.read()


class DiscordSide:
    """A FakeDiscord with one guild and channel, and the bot connected to it."""

    name = "discord"
    per_message = 5

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.address = f"discord:{GUILD_ID}/{CHANNEL_ID}"

    def bot_env(self) -> dict[str, str]:
        return dict(DISCORD_TOKEN=DISCORD_TOKEN, DIGESTBOT_DISCORD_API_URL=self.fake.rest_url,
                    DIGESTBOT_DISCORD_GATEWAY_URL=self.fake.gateway_url)

    def shown(self) -> Counter[str]:
        shown: Counter[str] = Counter()
        for call in self.fake.messages(CHANNEL_ID):
            payload: Any = call.payload or {}
            for component in payload.get("components") or []:
                ids = {button.get("custom_id", "").split(":", 2)[-1]
                       for button in component.get("components") or []}
                shown.update(i for i in ids if i)
        return shown

    def attempts(self) -> int:
        return len(self.fake.calls(SEND_MESSAGE))

    def say(self, text: str) -> None:
        """Type ``/papers TEXT`` in the channel, as a member who manages it."""
        verb, _, rest = text.partition(" ")
        options = {"text": rest} if rest else None
        self.fake.dispatch("INTERACTION_CREATE", self.fake.command_interaction(
            f"papers {verb}", options, permissions=MEMBER_PERMISSIONS | MANAGE_CHANNELS))


def bot_env(tmp_path: Path, database_url: str, platform: Platform, **extra: str) -> dict[str, str]:
    return _env(tmp_path, database_url, **platform.bot_env(), **extra)
