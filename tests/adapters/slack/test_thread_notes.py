"""A posted paper's later news in its Slack thread (issue 16 §1, §4): a new arXiv version and
code released are replied with ``thread_ts`` to the digest message that carried the paper,
once per change and at most once a day; a deleted message gets a top-level note, a channel
the app left drops the note; ``/papers updates off`` stops them. The real slack-bolt app and
AsyncWebClient against the fake Slack Web API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.chat.service import Service
from bot.digest.updates import NotesReport
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


def notes(bot: ConsoleBot) -> NotesReport:
    """The thread-note job the running bot runs after each ingest, posting through Slack."""
    return bot.run(asyncio.to_thread(bot.service.updates.run, send=bot.bot._post_note))


def posted(bot: ConsoleBot, service: Service, slack: Slack) -> str:
    """Post the digest with papers 1 and 2 (version 1); returns its message's ts."""
    service.catalog.import_records([
        paper(1, "Breast MRI screening with deep learning", version=1),
        paper(2, "<!channel> Free GPUs <@U123> <https://evil.example|arxiv.org> breast MRI",
              version=1),
    ])
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    [outcome] = bot.run(_scheduled(bot))
    assert outcome.error is None
    [post] = slack.api.posts(CHANNEL)
    return str(post.response["ts"])


def later(service: Service, hours: float) -> None:
    service.clock = lambda: NOW + timedelta(hours=hours)


def test_a_new_version_with_code_is_replied_in_the_thread_once(
    running: tuple[ConsoleBot, Slack], service: Service,
) -> None:
    bot, slack = running
    ts = posted(bot, service, slack)
    later(service, 2)
    service.catalog.import_records([
        paper(1, "Breast MRI screening with deep learning, revised", version=2,
              code_urls=("https://github.com/lab/mri-screen",)),
    ], merge=True)

    report = notes(bot)
    assert (report.queued, report.threaded, report.top_level) == (1, 1, 0)
    [reply] = slack.api.posts(CHANNEL)[1:]
    assert reply.params["thread_ts"] == ts
    assert reply.params["text"].splitlines() == [
        "*Breast MRI screening with deep learning, revised* (2611.00001)",
        "v2 posted 28 Nov: title changed, abstract changed, now with code",
        "Code released: <https://github.com/lab/mri-screen|lab/mri-screen>",
    ]
    assert reply.params["blocks"][0]["text"]["verbatim"] is True

    # Nothing new: nothing posted; the same version again changes nothing.
    service.catalog.import_records([
        paper(1, "Breast MRI screening with deep learning, revised", version=2,
              code_urls=("https://github.com/lab/mri-screen",)),
    ], merge=True)
    assert notes(bot).posted == 0
    assert len(slack.api.posts(CHANNEL)) == 2


def test_news_within_a_day_waits_and_goes_with_the_next_note(
    running: tuple[ConsoleBot, Slack], service: Service,
) -> None:
    bot, slack = running
    ts = posted(bot, service, slack)
    later(service, 1)
    service.catalog.import_records([paper(1, "Breast MRI screening v2", version=2)], merge=True)
    assert notes(bot).threaded == 1
    later(service, 5)
    service.catalog.import_records([paper(1, "Breast MRI screening v3", version=3)], merge=True)
    report = notes(bot)
    assert (report.queued, report.posted, report.waiting) == (1, 0, 1)
    later(service, 26)  # a day after the first note
    report = notes(bot)
    assert report.threaded == 1
    replies = slack.api.posts(CHANNEL)[1:]
    assert [r.params["thread_ts"] for r in replies] == [ts, ts]
    assert replies[1].params["text"].splitlines()[1] == (
        "v3 posted 28 Nov: title changed, abstract changed")


def test_a_hostile_title_is_escaped_in_the_note(
    running: tuple[ConsoleBot, Slack], service: Service,
) -> None:
    bot, slack = running
    posted(bot, service, slack)
    later(service, 2)
    service.catalog.import_records([
        paper(2, "<!channel> @everyone <@U123> breast MRI *bold*", version=2),
    ], merge=True)
    assert notes(bot).threaded == 1
    [reply] = slack.api.posts(CHANNEL)[1:]
    text = reply.params["text"]
    assert "<!channel>" not in text and "<@U123>" not in text and "&lt;!channel&gt;" in text
    assert "@everyone" not in text  # a word joiner follows the @


def test_a_deleted_digest_message_gets_a_top_level_note(
    running: tuple[ConsoleBot, Slack], service: Service,
) -> None:
    bot, slack = running
    posted(bot, service, slack)
    later(service, 2)
    service.catalog.import_records([paper(1, "Breast MRI v2", version=2)], merge=True)
    slack.api.fail("chat.postMessage", error="thread_not_found")
    report = notes(bot)
    assert (report.threaded, report.top_level) == (0, 1)
    [note] = slack.api.posts(CHANNEL)[1:]
    assert "thread_ts" not in note.params
    assert note.params["text"].startswith("An update on a paper posted here (the digest message")


def test_a_channel_the_app_left_drops_its_notes_and_never_retries(
    running: tuple[ConsoleBot, Slack], service: Service,
) -> None:
    bot, slack = running
    posted(bot, service, slack)
    later(service, 2)
    service.catalog.import_records([paper(1, "Breast MRI v2", version=2)], merge=True)
    slack.api.fail("chat.postMessage", error="channel_not_found", times=None)
    report = notes(bot)
    assert (report.posted, report.dropped) == (0, 1)
    later(service, 30)
    assert notes(bot).dropped == 0  # dropped once, not tried again


def test_a_platform_failure_is_retried_then_dropped(
    running: tuple[ConsoleBot, Slack], service: Service,
) -> None:
    bot, slack = running
    posted(bot, service, slack)
    later(service, 2)
    service.catalog.import_records([paper(1, "Breast MRI v2", version=2)], merge=True)
    slack.api.fail("chat.postMessage", error="internal_error", times=None)
    hours = 2
    outcomes = []
    for _ in range(4):
        report = notes(bot)
        outcomes.append((report.failed, report.dropped))
        hours += 2
        later(service, hours)
    assert outcomes == [(1, 0), (1, 0), (0, 1), (0, 0)]


def test_updates_off_stops_the_notes(running: tuple[ConsoleBot, Slack], service: Service) -> None:
    bot, slack = running
    posted(bot, service, slack)
    status, body = slack.command("updates off")
    assert status == 200 and isinstance(body, dict)
    assert body["text"].startswith("No more notes of posted papers' new versions")
    later(service, 2)
    service.catalog.import_records([paper(1, "Breast MRI v2", version=2)], merge=True)
    assert notes(bot).queued == 0
    assert len(slack.api.posts(CHANNEL)) == 1


def test_the_running_bot_posts_the_notes_after_each_ingest(
    running: tuple[ConsoleBot, Slack], service: Service,
) -> None:
    bot, slack = running
    ts = posted(bot, service, slack)
    later(service, 2)
    service.catalog.import_records([paper(1, "Breast MRI v2", version=2)], merge=True)
    bot.run(asyncio.to_thread(bot.bot._ingest))  # the scheduler's ingest job
    [reply] = slack.api.posts(CHANNEL)[1:]
    assert reply.params["thread_ts"] == ts


def test_notes_queued_before_updates_off_are_not_posted(
    running: tuple[ConsoleBot, Slack], service: Service,
) -> None:
    bot, slack = running
    posted(bot, service, slack)
    later(service, 2)
    service.catalog.import_records([paper(1, "Breast MRI v2", version=2)], merge=True)
    assert service.updates.queue() == 1
    slack.command("updates off")
    assert notes(bot).posted == 0
    assert len(slack.api.posts(CHANNEL)) == 1
