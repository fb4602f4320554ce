"""Chat platform faults in the middle of a digest, against the real `digestbot run`.

Each row of ``SLACK`` and ``DISCORD`` scripts one fault on the fake platform
(on the digest's second message, so that one message is already out). A
fault that waiting fixes (429, 5xx) must leave every paper posted once. A
fault that waiting does not fix (the channel gone, the bot removed, the
token refused) must pause the channel with a reason that says what to do
("/papers resume"), keep the papers not posted in the ledger, and post them
once someone does it: ``/papers resume`` then ``/papers digest`` in the
channel. A fault that outlasts the retries (``kept``) leaves the rest of the
digest for the channel's next one (``/papers digest`` here). Either way: 0
lost, 0 duplicated.

To add a fault, add a ``Fault`` row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.discord_data import SEND_MESSAGE
from tests.faults.harness import (
    BotProcess,
    DiscordSide,
    Platform,
    SlackSide,
    bot_env,
    seed,
    settings_for,
    wait_until,
)
from tests.faults.tally import Tally, channel_state, tally

pytestmark = pytest.mark.system

POST = "chat.postMessage"


@pytest.fixture
def backend() -> str:
    """SQLite: the platform's faults do not depend on the engine (tests/faults/test_kill.py
    runs both)."""
    return "sqlite"


@dataclass(frozen=True)
class Fault:
    """One fault: ``inject`` scripts it on the fake. ``paused``: words the channel's
    pause reason must hold; ``kept``: the digest is not sent but the channel is not
    paused (the papers wait for its next digest). Neither: the digest goes through."""

    name: str
    inject: Callable[[Any], None]
    paused: str | None = None
    kept: bool = False

    def __str__(self) -> str:
        return self.name


SLACK = [
    Fault("429-retry-after", lambda f: f.rate_limit(POST, retry_after=1, after=1)),
    Fault("500", lambda f: f.server_error(POST, status=500, after=1)),
    # More 5xx than slack_sdk retries: the rest waits for the next digest.
    Fault("500-beyond-retries", lambda f: f.server_error(POST, status=500, times=3, after=1),
          kept=True),
    Fault("channel_not_found", lambda f: f.fail(POST, error="channel_not_found", after=1),
          paused="cannot find this channel"),
    # A public channel the bot left: it joins again and posts.
    Fault("not_in_channel-public", lambda f: f.fail(POST, error="not_in_channel", after=1)),
    # A private one: joining is refused, the channel waits for an /invite.
    Fault("not_in_channel-private", lambda f: (
        f.fail(POST, error="not_in_channel", after=1),
        f.fail("conversations.join", error="method_not_supported_for_channel_type")),
        paused="/invite @digestbot"),
    Fault("token_revoked", lambda f: f.fail(POST, error="token_revoked", after=1),
          paused="token for this workspace was revoked; reinstall the app"),
    Fault("invalid_auth", lambda f: f.fail(POST, error="invalid_auth", after=1),
          paused="no longer accepts digestbot's token"),
]

DISCORD = [
    Fault("429-retry-after", lambda f: f.rate_limit(SEND_MESSAGE, retry_after=0.2, after=1)),
    Fault("500", lambda f: f.respond(SEND_MESSAGE, {"message": "500: Internal Server Error",
                                                    "code": 0}, status=500, after=1)),
    Fault("404-unknown-channel", lambda f: f.fail(SEND_MESSAGE, status=404, code=10003,
                                                  message="Unknown Channel", after=1),
          paused="no longer exists for digestbot"),
    Fault("403-missing-access", lambda f: f.fail(SEND_MESSAGE, after=1),
          paused="access (View Channel)"),
    Fault("403-missing-permissions", lambda f: f.fail(SEND_MESSAGE, code=50013,
                                                      message="Missing Permissions", after=1),
          paused="Send Messages and Embed Links"),
    Fault("401-mid-run", lambda f: f.fail(SEND_MESSAGE, status=401, code=0,
                                          message="401: Unauthorized", after=1),
          paused="DISCORD_TOKEN"),
]


def _run(tmp_path: Path, database_url: str, platform: Platform, fault: Fault,
         processes: list[BotProcess]) -> None:
    settings = settings_for(tmp_path, database_url)
    papers = platform.per_message + platform.per_message // 2  # two messages
    ids = seed(settings, platform.address, papers)
    fault.inject(platform.fake)
    bot = BotProcess(tmp_path, bot_env(tmp_path, database_url, platform))
    processes.append(bot)
    bot.start()

    if fault.paused is None and not fault.kept:
        bot.wait_for(f"digest channel={platform.address}")
        counts = tally(ids, platform.shown())
        assert (counts.posted, counts.lost, counts.duplicated) == (papers, 0, 0), (
            f"{counts}\n{bot.log()}")
    else:
        bot.wait_for(f"digest for {platform.address} not sent, kept for the next run")
        state = channel_state(settings, platform.address)
        assert state.paused == (fault.paused is not None), bot.log()
        if fault.paused is not None:
            assert fault.paused in (state.reason or ""), state.reason
            assert "/papers resume" in (state.reason or ""), state.reason
        # The first message went out; the rest wait in the ledger, none lost.
        counts = tally(ids, platform.shown(), waiting=state.waiting())
        assert counts == Tally(posted=platform.per_message, lost=0, duplicated=0,
                                      waiting=papers - platform.per_message), (
            f"{counts}\n{bot.log()}")
        if fault.paused is not None:  # someone fixes it and says so in the channel
            platform.say("resume")
            wait_until(lambda: not channel_state(settings, platform.address).paused,
                       "the channel resumed", log=bot.log)
        platform.say("digest")  # the next digest, now
        wait_until(lambda: len(platform.shown()) >= papers, "every paper", log=bot.log)
        bot.wait_for(f"digest channel={platform.address}")
        counts = tally(ids, platform.shown())
        assert (counts.posted, counts.lost, counts.duplicated) == (papers, 0, 0), (
            f"{counts}\n{bot.log()}")
        assert channel_state(settings, platform.address).waiting() == set()
    bot.stop()
    shown = bot.log()
    assert "Traceback" not in shown, shown


@pytest.mark.parametrize("fault", SLACK, ids=str)
def test_slack_fault_mid_digest(tmp_path: Path, database_url: str, slack: SlackSide,
                                fault: Fault, processes: list[BotProcess]) -> None:
    _run(tmp_path, database_url, slack, fault, processes)


@pytest.mark.parametrize("fault", DISCORD, ids=str)
def test_discord_fault_mid_digest(tmp_path: Path, database_url: str, discord: DiscordSide,
                                  fault: Fault, processes: list[BotProcess]) -> None:
    _run(tmp_path, database_url, discord, fault, processes)
