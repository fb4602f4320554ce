"""Thread notes in the core (issue 16 §1): which changes of a paper are news, which channels
are told, once and at most once, and code that appears making a paper news again for
channels that follow only papers with code. The platform side (Slack thread_ts, Discord
message_reference, deleted messages and channels) is in tests/adapters/*/test_thread_notes.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.chat.service import Service
from bot.digest.sending import Posted
from bot.digest.updates import POSTING, THREAD
from bot.model.address import MessageRef
from bot.model.messages import Digest, NothingNew, PaperNote
from bot.store.catalog import paper_news
from bot.store.models import ThreadNote
from tests.digest.digest_helpers import GENERAL, Clock, paper, run, titles

BASE = {"arxiv_version": 1, "title": "A", "abstract": "B", "authors": ["X"],
        "code_urls": [], "has_code": False}


@pytest.mark.parametrize(("new", "expected"), [
    ({"arxiv_version": 2}, (2, (), ())),
    ({"arxiv_version": 2, "title": "A2", "authors": ["X", "Y"]}, (2, ("title", "authors"), ())),
    ({"code_urls": ["https://github.com/o/r"]}, (None, (), ("https://github.com/o/r",))),
    ({"arxiv_version": 3, "abstract": "B2", "code_urls": ["https://github.com/o/r"]},
     (3, ("abstract",), ("https://github.com/o/r",))),
    ({"title": "A, reworded"}, None),  # an edit without a version: no note
    ({"arxiv_version": 1}, None),
])
def test_what_an_update_tells(new: dict[str, object], expected: tuple[object, ...] | None) -> None:
    news = paper_news(BASE, {**BASE, **new})
    assert (None if news is None else (news.version, news.changed, news.code_urls)) == expected


def test_a_second_code_link_or_a_lost_one_is_no_news() -> None:
    with_code = {**BASE, "code_urls": ["https://github.com/o/r"], "has_code": True}
    assert paper_news(with_code, {**with_code, "code_urls": ["https://github.com/o/r",
                                                             "https://github.com/o/s"]}) is None
    news = paper_news(with_code, {**with_code, "arxiv_version": 2, "code_urls": []})
    assert news is not None and (news.version, news.code_urls) == (2, ())


def threaded(message: Digest | NothingNew) -> Iterator[Posted]:
    """A platform that names the message it made, as Slack and Discord do."""
    if isinstance(message, Digest):
        yield Posted(tuple(i.paper_id for i in message.items), MessageRef(channel="C1", id="1.5"))


def test_only_channels_sent_the_paper_before_the_change_are_told(
    service: Service, clock: Clock,
) -> None:
    service.catalog.import_records([paper(1, "Breast MRI screening", version=1)])
    service.channels.subscribe(GENERAL, "breast mri")
    service.channels.subscribe("console:local/late", "breast mri")
    assert service.deliverer.digest(GENERAL, send=threaded) is not None
    clock.now += timedelta(hours=1)
    service.catalog.import_records([paper(1, "Breast MRI screening", version=2)], merge=True)
    clock.now += timedelta(hours=1)
    # This channel is sent version 2 itself: no note for what it was shown.
    assert service.deliverer.digest("console:local/late", send=threaded) is not None
    told: list[PaperNote] = []
    report = service.updates.run(send=lambda note: told.append(note) or THREAD)
    assert [(str(n.channel), n.version, n.thread) for n in told] == [
        (GENERAL, 2, MessageRef(channel="C1", id="1.5"))]
    assert report.line() == ("thread notes: queued=1 posted=1 (top-level=0) waiting=0 "
                             "failed=0 dropped=0")


def test_a_note_a_crash_left_with_the_platform_is_never_posted_again(
    service: Service, clock: Clock,
) -> None:
    service.catalog.import_records([paper(1, "Breast MRI screening", version=1)])
    service.channels.subscribe(GENERAL, "breast mri")
    service.deliverer.digest(GENERAL, send=threaded)
    clock.now += timedelta(hours=1)
    service.catalog.import_records([paper(1, "Breast MRI screening", version=2)], merge=True)

    def killed(note: PaperNote) -> str:
        raise SystemExit("killed while the platform had the note")

    with pytest.raises(SystemExit):
        service.updates.run(send=killed)
    with service.db.session() as session:
        assert session.scalars(select(ThreadNote.status)).all() == [POSTING]
    clock.now += timedelta(days=2)
    told: list[PaperNote] = []
    service.updates.run(send=lambda note: told.append(note) or THREAD)
    assert told == []


def test_code_that_appears_makes_a_paper_news_for_a_has_code_channel(
    service: Service, clock: Clock,
) -> None:
    service.catalog.import_records([paper(1, "Breast MRI screening", version=1)])
    service.channels.subscribe(GENERAL, "breast mri has:code")
    assert titles(run(service)) == []
    clock.now += timedelta(days=1)
    service.catalog.import_records([
        paper(1, "Breast MRI screening", version=1, code_urls=("https://github.com/o/r",))],
        merge=True)
    assert titles(run(service)) == ["Breast MRI screening"]
    clock.now += timedelta(days=1)
    assert titles(run(service)) == []  # and never twice


def test_a_version_told_once_is_not_told_again_when_the_catalog_goes_back_and_forth(
    service: Service, clock: Clock,
) -> None:
    service.catalog.import_records([paper(1, "Breast MRI screening", version=1)])
    service.channels.subscribe(GENERAL, "breast mri")
    service.deliverer.digest(GENERAL, send=threaded)
    told: list[PaperNote] = []
    for version, days in ((2, 1), (1, 3), (2, 5)):  # a seed file put v1 back, a feed v2 again
        clock.now += timedelta(days=days)
        service.catalog.import_records([paper(1, "Breast MRI screening", version=version)])
        service.updates.run(send=lambda note: told.append(note) or THREAD)
    assert [n.version for n in told] == [2]
