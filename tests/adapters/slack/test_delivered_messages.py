"""Which Slack message showed each paper (issue 16 §1): the ledger keeps the ``ts`` and
channel chat.postMessage answered (or that conversations.history shows, after a crash),
and /papers why links the message. The real slack-bolt app and AsyncWebClient against
the fake Slack Web API."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.chat.service import Service
from bot.digest.ledger import mark_pending
from bot.model.messages import Digest
from bot.store.channels import find_channel
from bot.store.models import Delivery
from tests.adapters.slack.test_adapter import (  # noqa: F401  (the fixtures)
    ADDRESS,
    CHANNEL,
    NOW,
    Slack,
    _scheduled,
    paper,
    running,
    service,
)
from tests.console_bot import ConsoleBot
from tests.fakes import slack_api_fixture  # noqa: F401  (the slack_api fixture)


def messages(service: Service) -> dict[str, tuple[str, str | None, str | None, str | None]]:
    """Each delivery's paper: its status and the message the ledger names."""
    with service.db.session() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.paper_id))
        return {d.paper_id: (d.status, d.message_channel, d.message_id, d.message_link)
                for d in rows}


def link(ts: str) -> str:
    return f"https://slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}"


def test_the_ledger_keeps_the_ts_slack_answered_and_why_links_it(
    running: tuple[ConsoleBot, Slack],
) -> None:
    bot, slack = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    [outcome] = bot.run(_scheduled(bot))
    assert outcome.error is None
    [post] = slack.api.posts(CHANNEL)
    ts = post.response["ts"]
    assert messages(bot.service) == {
        "2611.00001": ("sent", CHANNEL, ts, link(ts)),
        "2611.00002": ("sent", CHANNEL, ts, link(ts)),
    }
    slack.command("why 2611.00001")
    [answer] = slack.api.wait_for("response_url")
    [section] = answer.params["blocks"]
    assert section["text"]["text"].splitlines()[1] == (
        f"This channel's digest posted it Sat 28 Nov 12:00 UTC in message {ts} ({link(ts)}); "
        "a paper is never posted to a channel twice.")


def test_each_paper_of_a_split_digest_names_the_message_that_showed_it(
    running: tuple[ConsoleBot, Slack], service: Service,
) -> None:
    bot, slack = running
    service.catalog.import_records([
        paper(100 + n, f"Breast MRI study number {n} " + "with a long title " * 8,
              code_urls=(f"https://github.com/lab/repo{n}",))
        for n in range(50)
    ])
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    bot.service.channels.set_max_papers(ADDRESS, 50)
    [outcome] = bot.run(_scheduled(bot))
    assert outcome.error is None
    posts = slack.api.posts(CHANNEL)
    assert len(posts) > 1
    shown_in = {paper_id: post.response["ts"] for post in posts
                for paper_id in post.params["metadata"]["event_payload"]["papers"]}
    assert len(set(shown_in.values())) == len(posts)
    assert messages(bot.service) == {
        paper_id: ("sent", CHANNEL, ts, link(ts)) for paper_id, ts in shown_in.items()
    }


def test_after_a_crash_the_message_found_in_history_is_the_one_named(
    running: tuple[ConsoleBot, Slack],
) -> None:
    bot, slack = running
    service = bot.service
    service.channels.subscribe(ADDRESS, "breast mri")
    # A post that went out and died before the ledger heard: Slack shows the
    # message, the ledger holds its papers as pending.
    digest = service.deliverer.digest(ADDRESS, send=lambda d: None, dry_run=True)
    assert isinstance(digest, Digest)
    bot.run(bot.bot.adapters["slack"].post(digest))
    [first] = slack.api.posts(CHANNEL)
    with service.db.session() as session:
        channel = find_channel(session, digest.channel)
        assert channel is not None
        mark_pending(session, channel.id, [i.paper_id for i in digest.items],
                     now=NOW - timedelta(minutes=1))
    assert {status for status, *_ in messages(service).values()} == {"pending"}

    [outcome] = bot.run(_scheduled(bot))
    assert outcome.error is None
    assert slack.api.posts(CHANNEL) == [first]  # read back from history, not posted again
    assert slack.api.calls("conversations.history")
    ts = first.response["ts"]
    assert messages(service) == {
        "2611.00001": ("sent", CHANNEL, ts, link(ts)),
        "2611.00002": ("sent", CHANNEL, ts, link(ts)),
    }
