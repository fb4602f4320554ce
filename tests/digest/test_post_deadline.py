"""A digest post has a deadline, its retries included: past it the post is cancelled
(nothing more goes out), and whoever typed `/papers digest` hears what was posted
and what waits for the next digest.

The real Slack adapter (slack-bolt serving HTTP, slack_sdk posting) against the
fake Slack Web API; the deadline is the bot's ``post_timeout``, seconds here.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.slack.adapter import SlackAdapter
from bot.chat.service import Service
from bot.model.papers import PaperRecord
from bot.store.models import Delivery
from tests.adapters.slack.test_adapter import ADDRESS, NOW, SECRET, TOKEN, Slack
from tests.console_bot import ConsoleBot
from tests.fakes import FakeSlackAPI, slack_api_fixture  # noqa: F401  (the slack_api fixture)
from tests.fakes.slack_api import CLIENT_GONE, SlackCall

PAPERS = 40  # three Slack messages: 16, 16 and 8 papers
# Slack's adapter posts a channel's messages a second apart: the second
# message goes out within the deadline, the third would not.
DEADLINE = 2.5
FIRST_ONLY = ("Posted 16 papers (1 message) before the post failed; 24 papers will be "
              "retried in the next digest.")


@pytest.fixture
def service(db, index) -> Service:
    service = Service(db=db, index=index, clock=lambda: NOW)
    service.catalog.import_records(
        PaperRecord(id=f"2611.{n:05d}", title=f"Breast MRI study number {n}",
                    url=f"https://arxiv.org/abs/2611.{n:05d}")
        for n in range(PAPERS))
    service.channels.subscribe(ADDRESS, "breast")
    service.channels.set_max_papers(ADDRESS, PAPERS)
    return service


@pytest.fixture
def deadline() -> float:
    return DEADLINE


@pytest.fixture
def slack(service: Service, slack_api: FakeSlackAPI, deadline: float) -> Iterator[Slack]:
    adapter = SlackAdapter(bot_token=TOKEN, signing_secret=SECRET, api_url=slack_api.api_url,
                           port=0, host="127.0.0.1")
    bot = ConsoleBot(service, lambda: NOW, others=[adapter], post_timeout=deadline,
                     catch_up=timedelta(0)).start()
    assert adapter.bound_port
    yield Slack(slack_api, adapter.bound_port)
    bot.stop()


def _paper_ids(call: SlackCall) -> list[str]:
    return [element["value"] for block in call.blocks or []
            if block.get("type") == "actions" for element in block["elements"][:1]]


def _ledger(service: Service) -> Counter[str]:
    with service.db.session() as session:
        return Counter(session.scalars(select(Delivery.status)))


def _answer(slack: Slack, number: int = 1) -> str:
    answers = slack.api.wait_for("response_url", number, timeout=40)
    return str(answers[number - 1].params["text"])


def test_a_post_past_its_deadline_is_cancelled_and_the_user_told_what_went_out(
    slack: Slack, service: Service,
) -> None:
    slack.api.hold("chat.postMessage", after=1)  # Slack takes the first message, then hangs
    status, body = slack.command("digest")
    assert status == 200 and isinstance(body, dict) and body["text"] == "Working on it…"
    assert _answer(slack) == FIRST_ONLY
    assert _ledger(service) == {"sent": 16, "failed": 24}
    # The message in flight at the deadline was given up: when Slack answers
    # at last, nobody is there to take it, and nothing is shown.
    slack.api.release()
    deadline = time.monotonic() + 5
    while not [c for c in slack.api.calls("chat.postMessage") if c.status == CLIENT_GONE]:
        assert time.monotonic() < deadline, "the held message was still being posted"
        time.sleep(0.05)
    [first] = slack.api.posts()

    slack.command("digest")  # the next digest brings the rest, once
    assert _answer(slack, 2) == "Posted 24 new papers."
    shown = Counter(paper for call in slack.api.posts() for paper in _paper_ids(call))
    assert len(shown) == PAPERS and set(shown.values()) == {1}
    assert set(_paper_ids(first)) <= set(shown)
    assert _ledger(service) == {"sent": PAPERS}


def test_rate_limits_longer_than_the_deadline_are_not_waited_out(
    slack: Slack, service: Service,
) -> None:
    slack.api.respond("chat.postMessage", {"ok": True, "channel": "C0GENERAL", "ts": "1.1"})
    slack.api.rate_limit("chat.postMessage", retry_after=35, times=4)
    started = time.monotonic()
    slack.command("digest")
    assert _answer(slack) == FIRST_ONLY
    assert time.monotonic() - started < DEADLINE + 5  # not 35 s, let alone 4 × 35
    assert [c.status for c in slack.api.calls("chat.postMessage")] == [200, 429]
    assert _ledger(service) == {"sent": 16, "failed": 24}


# Long enough for slack_sdk's retries (with their backoff) to be used up first.
@pytest.mark.parametrize("deadline", [30.0])
@pytest.mark.parametrize(("status", "times"), [(429, 4), (500, 3)], ids=["429x4", "500x3"])
def test_retries_used_up_are_answered_without_a_traceback(
    slack: Slack, service: Service, caplog: pytest.LogCaptureFixture, status: int, times: int,
) -> None:
    if status == 429:
        slack.api.rate_limit("chat.postMessage", retry_after=0, times=times)
    else:
        slack.api.server_error("chat.postMessage", status=status, times=times)
    with caplog.at_level(logging.WARNING):
        slack.command("digest")
        answer = _answer(slack)
    assert answer == "The digest could not be posted; its 40 papers will be retried in the " \
        "next digest."
    assert [c.status for c in slack.api.calls("chat.postMessage")] == [status] * times
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert _ledger(service) == {"failed": PAPERS}
    slack.command("digest")
    assert _answer(slack, 2) == "Posted 40 new papers."
