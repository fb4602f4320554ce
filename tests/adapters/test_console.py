"""The whole bot from plain text: the console adapter, the scheduler and the core together."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.chat.schedules import parse_schedule
from bot.chat.service import Service
from bot.model.papers import PaperRecord
from tests.console_bot import ConsoleBot

GENERAL = "console:local/general"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(db, index, clock: Clock) -> Service:
    service = Service(db=db, index=index, clock=clock)
    service.catalog.import_records([
        paper(1, "Breast MRI screening with deep learning"),
        paper(2, "Low-dose CT reconstruction", code_urls=("https://github.com/lab/ldct",)),
        paper(3, "Prostate MRI segmentation"),
    ])
    return service


@pytest.fixture
def bot(service: Service, clock: Clock) -> Iterator[ConsoleBot]:
    running = ConsoleBot(service, clock).start()
    yield running
    running.stop()


def paper(n: int, title: str, **extra: object) -> PaperRecord:
    return PaperRecord(id=f"2611.{n:05d}", title=title, authors=("Ann Lee", "Bo Li"),
                       abstract=f"{title}. Second sentence.", published=date(2026, 11, 27),
                       categories=("eess.IV",), **extra)  # type: ignore[arg-type]


def test_a_conversation_in_the_console(bot: ConsoleBot) -> None:
    assert "now follows: mri (1 of 25 topics)" in bot.say("/papers subscribe mri")
    assert "1. mri" in bot.say("/papers topics")
    shown = bot.say("/papers digest")
    assert "2 new papers for mri" in shown
    assert "Breast MRI screening with deep learning" in shown
    assert "Prostate MRI segmentation" in shown and "Low-dose CT" not in shown
    assert "Posted 2 new papers." in shown
    assert "Nothing new for this channel" in bot.say("/papers digest")
    found = bot.say("/papers search ct reconstruction")
    assert "Low-dose CT reconstruction" in found and "lab/ldct" in found
    assert "· 2611.00002" in found  # the id, for /papers show


def test_help_and_mistakes_say_what_to_do(bot: ConsoleBot) -> None:
    help_text = bot.say("/papers help")
    for name in ("search", "show", "subscribe", "unsubscribe", "topics", "schedule", "digest",
                 "pause", "resume", "help"):
        assert f"/papers {name}" in help_text
    assert "Usage: /papers subscribe TOPIC" in bot.say("/papers subscribe")
    assert "Try /papers help" in bot.say("/papers frobnicate")
    assert "Commands start with /papers" in bot.say("hello?")


def test_a_hostile_title_cannot_drive_the_terminal(service: Service, bot: ConsoleBot) -> None:
    service.catalog.import_records([paper(9, "MRI \x1b[2J\x1b[31mred\u202egnp.exe title")])
    shown = bot.say("/papers search red")
    assert "red" in shown and "\x1b" not in shown and "\u202e" not in shown


def test_schedule_command_moves_the_channel_job(bot: ConsoleBot) -> None:
    bot.say("/papers subscribe mri")
    assert "weekdays at 07:30 Asia/Tokyo" in bot.say("/papers schedule 07:30 Asia/Tokyo weekdays")
    # Saturday 28 Nov 12:00 UTC: the next weekday 07:30 in Tokyo is Monday's.
    monday = datetime(2026, 11, 30, 7, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert bot.bot.scheduler.next_digest(GENERAL) == monday
    assert str(bot.bot.scheduler.next_digest(GENERAL).tzinfo) == "Asia/Tokyo"  # type: ignore[union-attr]
    bot.say("/papers search mri")  # changes nothing: the job stays as it was
    assert bot.bot.scheduler.next_digest(GENERAL) == monday
    bot.say("/papers pause conference week")
    assert bot.bot.scheduler.next_digest(GENERAL) is None
    assert "Digests are back on" in bot.say("/papers resume")
    assert bot.bot.scheduler.next_digest(GENERAL) == monday


def test_missed_digest_prints_once_after_a_restart(service: Service, clock: Clock) -> None:
    service.channels.subscribe(GENERAL, "mri")
    service.channels.set_schedule(GENERAL, parse_schedule(["09:00", "UTC"]))
    # The bot was down at 09:00; it starts at 12:00, within the 6-hour grace.
    first = ConsoleBot(service, clock).start()
    try:
        screen = first.wait_for("2 new papers for mri")
    finally:
        first.stop()
    assert screen.count("new papers for mri") == 1
    # A second restart the same day posts nothing more.
    clock.now += timedelta(minutes=30)
    second = ConsoleBot(service, clock).start()
    try:
        second.settle()
        assert "new papers" not in second.say("/papers topics")
        assert "new papers" not in second.screen.getvalue()
    finally:
        second.stop()


def test_digest_missed_beyond_the_grace_waits_for_the_next_day(service: Service, clock: Clock) -> None:
    service.channels.subscribe(GENERAL, "mri")
    service.channels.set_schedule(GENERAL, parse_schedule(["03:00", "UTC"]))
    late = ConsoleBot(service, clock, catch_up=timedelta(hours=6)).start()
    try:
        late.settle()
        assert "new papers" not in late.screen.getvalue()
        assert late.bot.scheduler.next_digest(GENERAL) == datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    finally:
        late.stop()


def test_quiet_day_line_when_asked_for(service: Service, clock: Clock) -> None:
    service.deliverer.quiet_day_line = True
    service.channels.subscribe(GENERAL, "liver")  # matches nothing
    service.channels.set_schedule(GENERAL, parse_schedule(["10:00", "UTC"]))
    running = ConsoleBot(service, clock).start()
    try:
        running.wait_for(f"Nothing new today for {GENERAL}.")
    finally:
        running.stop()


def test_digestbot_run_console_reads_commands_from_stdin(tmp_path: Path, database_url: str) -> None:
    commands = "/papers subscribe tumor\n/papers topics\n/papers search ct\nquit\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(tmp_path / "data"),
         "--database", database_url, "run", "--console"],
        input=commands, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "this terminal is the channel console:local/general" in result.stdout
    assert "This channel now follows: tumor" in result.stdout
    assert "1. tumor" in result.stdout
    # quit, then the end of the input: one stop, not a second one's warning.
    assert "already stopping" not in result.stderr, result.stderr


def test_show_prints_the_paper_then_its_abstract_once(bot: ConsoleBot) -> None:
    shown = bot.say("/papers show 2611.00001").splitlines()
    assert shown == [
        "Breast MRI screening with deep learning",
        "Ann Lee, Bo Li · 2026-11-27 · eess.IV · 2611.00001",
        "",
        "Breast MRI screening with deep learning. Second sentence.",
    ]


def test_a_paper_with_a_wrapped_abstract_shows_its_paragraphs(service: Service, bot: ConsoleBot) -> None:
    service.catalog.import_records([PaperRecord(
        id="2611.00009", title="Liver CT", url="https://arxiv.org/abs/2611.00009",
        abstract="Liver CT is hard. We\nsegment it.\n\nCode is out.", code_urls=("https://github.com/lab/liver",))])
    shown = bot.say("/papers show 2611.00009")
    assert shown.splitlines() == [
        "Liver CT",
        "unknown authors · undated · uncategorized · 2611.00009",
        "code: lab/liver https://github.com/lab/liver",
        "https://arxiv.org/abs/2611.00009",
        "",
        "Liver CT is hard. We segment it.",
        "",
        "Code is out.",
    ]
    # A list of papers keeps its heading first and each paper's snippet.
    found = bot.say("/papers search liver")
    assert found.index("Liver CT") > found.index("1.") >= 0
    assert "Liver CT is hard." in found


def test_workspace_gone_pauses_its_channels_and_their_jobs(service: Service, bot: ConsoleBot) -> None:
    bot.say("/papers subscribe mri")
    service.channels.subscribe("console:other/general", "mri")
    bot.bot.scheduler.sync()
    assert bot.bot.scheduler.known("console", "local") == [GENERAL]
    bot.run(bot.bot.workspace_gone("console", "local", reason="the app was uninstalled"))
    assert bot.bot.scheduler.known("console", "local") == []
    assert bot.bot.scheduler.known("console", "other") == ["console:other/general"]
    assert "paused here (the app was uninstalled)" in bot.say("/papers topics")
