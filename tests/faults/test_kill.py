"""`digestbot run` killed (SIGKILL) in the middle of a digest, on each engine: after a
restart every paper is shown exactly once.

The fake platform accepts the digest's first message and holds the second:
either before doing it (``accepted=False``: the channel never shows it) or
after (``accepted=True``: the channel shows it, the bot never hears so; the
restart must find out, from Slack's history or Discord's nonce). The
process is killed there and a second ``digestbot run`` finishes the digest.
Runs on SQLite and on PostgreSQL (``[postgresql]``, skipped without a server).

To add a case, add a ``Kill`` row.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.discord_data import SEND_MESSAGE
from tests.faults.harness import (
    START_SECONDS,
    BotProcess,
    Platform,
    SlackSide,
    bot_env,
    seed,
    settings_for,
    wait_until,
)
from tests.faults.tally import channel_state, tally

pytestmark = [pytest.mark.system,
              pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")]


@dataclass(frozen=True)
class Kill:
    name: str
    platform: str  # "slack" or "discord": the fixture the row runs against
    accepted: bool  # the platform did the held message before the kill

    def __str__(self) -> str:
        return self.name


KILLS = [
    Kill("slack-before-slack-took-it", "slack", accepted=False),
    Kill("slack-after-slack-took-it", "slack", accepted=True),
    Kill("discord-before-discord-took-it", "discord", accepted=False),
    Kill("discord-after-discord-took-it", "discord", accepted=True),
]


@pytest.mark.parametrize("kill", KILLS, ids=str)
def test_sigkill_mid_post_then_restart_posts_each_paper_once(
    tmp_path: Path, database_url: str, kill: Kill, request: pytest.FixtureRequest,
    processes: list[BotProcess],
) -> None:
    platform: Platform = request.getfixturevalue(kill.platform)
    fake = platform.fake
    settings = settings_for(tmp_path, database_url)
    papers = platform.per_message * 2 + 1  # three messages
    ids = seed(settings, platform.address, papers)
    method = "chat.postMessage" if isinstance(platform, SlackSide) else SEND_MESSAGE
    fake.hold(method, after=1, accepted=kill.accepted)
    bot = BotProcess(tmp_path, bot_env(tmp_path, database_url, platform))
    processes.append(bot)

    bot.start()
    try:
        fake.wait_held(1, timeout=START_SECONDS)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{bot.log()}") from None

    def confirmed() -> int:
        return sum(s == "sent" for s in channel_state(settings, platform.address).statuses.values())

    # Each accepted message is confirmed as the platform answers it.
    wait_until(lambda: confirmed() == platform.per_message, "the first message confirmed",
               timeout=5, log=bot.log)
    bot.kill()
    fake.release()  # the held message finds its client gone
    before = tally(ids, platform.shown())
    held = platform.per_message if kill.accepted else 0
    assert (before.posted, before.duplicated) == (platform.per_message + held, 0), before

    bot.start()
    bot.wait_for(f"digest channel={platform.address}")
    bot.stop()
    state = channel_state(settings, platform.address)
    after = tally(ids, platform.shown(), waiting=state.waiting())
    assert (after.posted, after.lost, after.duplicated, after.waiting) == (papers, 0, 0, 0), (
        f"{after}\n{bot.log()}")
    assert set(state.statuses.values()) == {"sent"} and not state.paused
    assert "Traceback" not in bot.log()
