"""`digestbot run` as a service runs it: no terminal on stdin (systemd, nohup, cron,
docker without -t), stopped by SIGTERM or SIGINT; and in a terminal (a pty) with
its console, or without it (--no-console).

Each test starts the real command in a process of its own, with a data
directory of its own, no feeds from the network and no seed files unless
it says so.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat.schedules import parse_schedule
from bot.chat.service import Service
from bot.config import Settings
from bot.model.messages import Digest
from bot.model.papers import PaperRecord
from tests.fakes.slack_api import TEAM_ID, FakeSlackAPI

START_SECONDS = 30.0
STOP_SECONDS = 10.0
RUNNING = "this process reads the feeds every hour"
PROMPT = "papers> "
TOKEN = "xoxb-run"


def _env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    no_seeds = tmp_path / "no-seeds"
    no_seeds.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DIGESTBOT_", "SLACK_", "DISCORD_"))}
    env.update(DIGESTBOT_DATA_DIR=str(tmp_path / "data"), DIGESTBOT_DATABASE_URL=database_url,
               DIGESTBOT_FEEDS="", DIGESTBOT_SEEDS_DIR=str(no_seeds), DIGESTBOT_LOG_LEVEL="INFO")
    env.update(extra)
    return env


def _wait_for(read: Callable[[], str], text: str, process: subprocess.Popen[bytes],
              timeout: float = START_SECONDS) -> str:
    """What ``read`` shows once ``text`` is in it; fails if the process ends first."""
    deadline = time.monotonic() + timeout
    while text not in (shown := read()):
        if process.poll() is not None:
            raise AssertionError(f"digestbot run ended (rc={process.returncode}) before "
                                 f"{text!r}:\n{read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never came:\n{shown}")
        time.sleep(0.05)
    return shown


@pytest.fixture
def stopped_at_end() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes killed at the end of the test if it left them running."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_without_a_terminal_the_bot_runs_until_a_signal_stops_it(
    tmp_path: Path, database_url: str, stop: signal.Signals,
    stopped_at_end: list[subprocess.Popen[bytes]],
) -> None:
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        bot = subprocess.Popen([sys.executable, "-m", "bot", "run"], stdin=subprocess.DEVNULL,
                               stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
                               env=_env(tmp_path, database_url))
    stopped_at_end.append(bot)
    shown = _wait_for(log.read_text, RUNNING, bot)
    assert "console off (stdin is not a terminal)" in shown
    assert "no chat platform and no console" in shown and "posts no digests" in shown
    time.sleep(0.5)  # it stays up: nothing is waiting for a console's input
    assert bot.poll() is None, log.read_text()

    bot.send_signal(stop)
    assert bot.wait(STOP_SECONDS) == 0, log.read_text()
    shown = log.read_text()
    assert "Traceback" not in shown and "Error" not in shown, shown
    assert shown.rstrip().endswith("stopped"), shown


def test_a_console_channel_without_a_console_is_said_to_wait(
    tmp_path: Path, database_url: str, stopped_at_end: list[subprocess.Popen[bytes]],
) -> None:
    service = Service.open(Settings(data_dir=tmp_path / "data", database_url=database_url))
    service.channels.subscribe("console:local/general", "mri")
    service.close()
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        bot = subprocess.Popen([sys.executable, "-m", "bot", "run"], stdin=subprocess.DEVNULL,
                               stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
                               env=_env(tmp_path, database_url))
    stopped_at_end.append(bot)
    shown = _wait_for(log.read_text, RUNNING, bot)
    assert ("the digests of 1 channel on console wait, their papers kept, until a digestbot "
            "run serves console (the console: one in a terminal)") in shown
    bot.send_signal(signal.SIGTERM)
    assert bot.wait(STOP_SECONDS) == 0, log.read_text()


def test_console_asked_for_with_nothing_on_stdin_stops_at_its_end_cleanly(
    tmp_path: Path, database_url: str,
) -> None:
    # The end of stdin is Ctrl-D: the bot stops at once, while its first
    # jobs (the ingest) are only just handed to the loop.
    result = subprocess.run([sys.executable, "-m", "bot", "run", "--console"], check=False,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            cwd=tmp_path, env=_env(tmp_path, database_url), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "this terminal is the channel console:local/general" in result.stdout
    assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sigterm_mid_post_finishes_that_post_and_keeps_the_rest(
    tmp_path: Path, database_url: str, stopped_at_end: list[subprocess.Popen[bytes]],
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    service = Service.open(settings)
    service.catalog.import_records(
        PaperRecord(id=f"2611.0000{n}", title=f"Breast MRI study {n}") for n in range(1, 4))
    channels = [f"slack:{TEAM_ID}/C0RUN{n}" for n in (1, 2)]
    # A few minutes ago: the bot's start catches both digests up.
    when = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%H:%M")
    for address in channels:
        service.channels.subscribe(address, "breast")
        service.channels.set_schedule(address, parse_schedule([when, "UTC"]))
    service.close()

    log = tmp_path / "run.log"
    with FakeSlackAPI(tokens=[TOKEN]) as fake:
        fake.hold("chat.postMessage")
        env = _env(tmp_path, database_url, DIGESTBOT_SLACK_API_URL=fake.api_url,
                   DIGESTBOT_SLACK_HTTP="true", DIGESTBOT_PORT=str(_free_port()),
                   SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="secret")
        with log.open("wb") as out:
            bot = subprocess.Popen([sys.executable, "-m", "bot", "run"],
                                   stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, cwd=tmp_path, env=env)
        stopped_at_end.append(bot)
        try:
            fake.wait_held(1, timeout=START_SECONDS)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log.read_text()}") from None
        bot.send_signal(signal.SIGTERM)
        _wait_for(log.read_text, "stopping", bot)
        fake.release()  # Slack answers the post in flight
        assert bot.wait(STOP_SECONDS) == 0, log.read_text()
        posted = [call.channel for call in fake.posts()]
    shown = log.read_text()
    assert "Traceback" not in shown, shown
    assert len(posted) == 1, shown

    done = f"slack:{TEAM_ID}/{posted[0]}"
    [kept] = [address for address in channels if address != done]
    assert f"digest for {kept} not sent, kept for the next run" in shown
    service = Service.open(settings)
    try:
        seen: list[Digest] = []
        # The post in flight was finished and confirmed; the other's papers wait for it.
        assert service.deliverer.digest(done, send=seen.append, dry_run=True) is None
        waiting = service.deliverer.digest(kept, send=seen.append, dry_run=True)
        assert waiting is not None and waiting.count == 3
    finally:
        service.close()


# -- in a terminal ------------------------------------------------------------


class Terminal:
    """A pseudo-terminal with ``digestbot run`` in it: type lines, read the screen."""

    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        self._master, slave = pty.openpty()
        self.process = subprocess.Popen([sys.executable, "-m", "bot", *args], stdin=slave,
                                        stdout=slave, stderr=slave, cwd=cwd, env=env)
        os.close(slave)
        self.raw = ""

    def read(self) -> str:
        """Everything written to the terminal so far, as it was written."""
        while select.select([self._master], [], [], 0.02)[0]:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # the process closed the terminal
                break
            if not chunk:
                break
            self.raw += chunk.decode(errors="replace")
        return self.raw

    def screen(self) -> list[str]:
        """The lines as the terminal shows them: a carriage return goes back to the
        line's start, erase-line clears from there to its end."""
        lines = []
        for raw_line in self.read().replace("\r\n", "\n").split("\n"):
            line, column = "", 0
            for part in re.split(r"(\r|\x1b\[K)", raw_line):
                if part == "\r":
                    column = 0
                elif part == "\x1b[K":
                    line = line[:column]
                else:
                    line = line[:column] + part + line[column + len(part):]
                    column += len(part)
            lines.append(line)
        return lines

    def type(self, text: str) -> None:
        os.write(self._master, text.encode())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        os.close(self._master)


@pytest.fixture
def terminal(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Terminal]]:
    opened: list[Terminal] = []

    def open_terminal(*args: str, **env: str) -> Terminal:
        opened.append(Terminal(list(args), cwd=tmp_path,
                               env=_env(tmp_path, database_url,
                                        **{"DIGESTBOT_LOG_LEVEL": "WARNING", **env})))
        return opened[-1]

    yield open_terminal
    for each in opened:
        each.close()


def test_log_lines_of_the_startup_ingest_leave_the_prompt_whole(
    terminal: Callable[..., Terminal],
) -> None:
    port = _free_port()  # free a moment ago: nothing listens there
    # Feeds that cannot be read: the startup ingest logs a warning for each.
    bot = terminal("run", DIGESTBOT_FEEDS=f"http://127.0.0.1:{port}/a.xml "
                   f"http://127.0.0.1:{port}/b.xml")
    _wait_for(bot.read, "feed=127.0.0.1-b", bot.process)
    _wait_for(lambda: bot.read().rsplit("feed=127.0.0.1-b", 1)[1], PROMPT, bot.process)
    screen = bot.screen()
    warnings = [line for line in screen if "WARNING bot.ingest.run" in line]
    assert len(warnings) == 2 and all(line.startswith("WARNING") for line in warnings), screen
    assert screen[-1] == PROMPT, screen  # drawn again below them, nothing in it
    assert all(line == PROMPT for line in screen if PROMPT in line), screen

    bot.type("/papers topics\n")
    _wait_for(bot.read, "follows no topics", bot.process)
    bot.type("quit\n")
    assert bot.process.wait(STOP_SECONDS) == 0, bot.read()
    screen = bot.screen()
    assert f"{PROMPT}/papers topics" in screen, screen
    assert "Traceback" not in bot.read()


def test_no_console_in_a_terminal_shows_no_prompt_and_stops_on_ctrl_c(
    terminal: Callable[..., Terminal],
) -> None:
    bot = terminal("run", "--no-console", DIGESTBOT_LOG_LEVEL="INFO")
    _wait_for(bot.read, RUNNING, bot.process)
    shown = bot.read()
    assert "console off (--no-console)" in shown
    assert PROMPT not in shown and "this terminal is the channel" not in shown
    bot.process.send_signal(signal.SIGINT)  # Ctrl-C
    assert bot.process.wait(STOP_SECONDS) == 0, bot.read()
    assert PROMPT not in bot.read() and "Traceback" not in bot.read()
