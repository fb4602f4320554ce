"""/papers commands, parsed once in the core: a conversation in one channel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.chat.commands import COMMANDS, handle
from bot.chat.service import Service
from bot.model.messages import Digest, IncomingCommand, Reply
from bot.model.papers import PaperRecord
from tests.conftest import SEEDS_DIR


class Channel:
    """One chat channel: say() a /papers command, read what it shows."""

    def __init__(self, service: Service, name: str = "general") -> None:
        self.service = service
        self.name = name
        self.posted: list[Digest] = []

    @property
    def address(self) -> str:
        return f"console:local/{self.name}"

    def say(self, text: str) -> Reply:
        assert text.startswith("/papers")
        command = IncomingCommand(platform="console", workspace_id="local", channel_id=self.name,
                                  user_id="ann", text=text.removeprefix("/papers").strip())
        return handle(self.service, command, send=self.posted.append).reply


@pytest.fixture
def channel(db, index) -> Channel:
    service = Service(db=db, index=index)
    service.ingestion.import_seed_files([SEEDS_DIR])
    return Channel(service)


def test_subscribe_then_digest_then_nothing_new(channel: Channel) -> None:
    assert channel.say("/papers subscribe breast MRI").text == (
        "This channel now follows: breast mri (1 of 25 topics). 1 paper from the last 7 days "
        "matches it; the next digest brings it, or type /papers digest."
    )
    assert channel.say("/papers topics").text == "This channel follows:\n1. breast mri"
    assert channel.say("/papers digest").text == "Posted 1 new paper."
    [digest] = channel.posted
    assert digest.items[0].title.startswith("A Large Model for Non-invasive")
    assert digest.items[0].code_links[0].label == "LLYXC/MOME"
    assert channel.say("/papers digest").text.startswith(
        "Nothing new for this channel since its last digest. No paper came in since "
    )


def test_search_and_show(channel: Channel) -> None:
    reply = channel.say('/papers search "ct reconstruction"')
    assert reply.text.startswith('Top 1 for "ct reconstruction":')
    paper_id = reply.items[0].paper_id
    shown = channel.say(f"/papers show {paper_id}")
    assert shown.items[0].paper_id == paper_id
    assert shown.text.startswith("Low-dose computed tomography")
    assert channel.say("/papers search zebrafish").text.startswith("No papers match zebrafish")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/papers frobnicate", "Unknown command 'frobnicate'. Try /papers help."),
        ("/papers search", "Say what to search for. Usage: /papers search QUERY"),
        ("/papers subscribe", "Say which topic to follow. Usage: /papers subscribe TOPIC"),
        ("/papers show a b", "Give one paper id, as search shows it. Usage: /papers show ID"),
        ("/papers search col:x", 'Unknown filter "col:". Filters are author:, cat:, has:code, '
                                 "after:YYYY-MM-DD, before:YYYY-MM-DD."),
        ("/papers schedule 25:00", "'25:00' is not a time of day. Use schedule HH:MM [TIMEZONE] "
                                   "[daily|weekdays|weekly DAY], e.g. schedule 08:30 Europe/Berlin weekdays."),
        ("/papers unsubscribe zebra", "This channel does not follow zebra. See its topics with /papers topics."),
        ("/papers show 9999.99999", "No paper with id 9999.99999. Find ids with /papers search WORDS."),
    ],
)
def test_mistakes_get_one_helpful_sentence(channel: Channel, text: str, expected: str) -> None:
    assert channel.say(text).text == expected


def test_schedule_pause_resume(channel: Channel) -> None:
    # Friday 4 Dec 2026, 10:00 in Berlin: the next weekday 08:30 is Monday's.
    channel.service.clock = lambda: datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    monday = "Next digest: Mon 7 Dec 08:30 Europe/Berlin."
    assert channel.say("/papers schedule 08:30 Europe/Berlin weekdays").text == (
        "This channel gets its digest weekdays at 08:30 Europe/Berlin. "
        "The first digest comes once this channel follows a topic."
    )
    channel.say("/papers subscribe mri")
    assert channel.say("/papers schedule").text == (
        f"This channel gets its digest weekdays at 08:30 Europe/Berlin. {monday}"
    )
    assert channel.say("/papers pause conference week").text.startswith("Digests are paused here.")
    reply = channel.say("/papers topics")
    assert reply.text.startswith("Digests are paused here (conference week). /papers resume restarts them.")
    assert channel.say("/papers schedule").text.endswith(
        "No digest comes while digests are paused here."
    )
    assert channel.say("/papers resume").text == (
        f"Digests are back on: weekdays at 08:30 Europe/Berlin. {monday}"
    )
    assert not channel.say("/papers topics").text.startswith("Digests are paused")


def test_unsubscribe_takes_the_number_topics_shows(channel: Channel) -> None:
    for topic in ("breast mri", "ct reconstruction", "pet"):
        channel.say(f"/papers subscribe {topic}")
    assert channel.say("/papers unsubscribe 2").text == (
        "This channel no longer follows: ct reconstruction"
    )
    assert channel.say("/papers topics").text == "This channel follows:\n1. breast mri\n2. pet"
    assert channel.say("/papers unsubscribe 7").text.startswith("This channel does not follow 7.")
    assert channel.say("/papers unsubscribe pet").text == "This channel no longer follows: pet"


def test_show_takes_an_arxiv_id_as_people_paste_it(channel: Channel) -> None:
    channel.service.catalog.import_records([PaperRecord(id="2611.05001", title="Knee MRI at low field")])
    for ref in ("2611.05001", "2611.05001v1", "arXiv:2611.05001", "https://arxiv.org/abs/2611.05001",
                "https://arxiv.org/abs/2611.05001v3", "https://arxiv.org/pdf/2611.05001v2.pdf",
                "http://www.arxiv.org/pdf/2611.05001"):
        reply = channel.say(f"/papers show {ref}")
        assert [item.title for item in reply.items] == ["Knee MRI at low field"], ref
    assert channel.say("/papers show arXiv:2611.09999").text == (
        "No paper with id arXiv:2611.09999. Find ids with /papers search WORDS."
    )


def test_a_terminal_flag_in_a_chat_search_is_refused_with_a_hint(channel: Channel) -> None:
    reply = channel.say("/papers search mri --limit 1")
    assert reply.text.startswith("--limit is a flag of the terminal's digestbot search")
    assert reply.text.endswith("Usage: /papers search QUERY") and not reply.items
    assert channel.say("/papers search mri -survey").items  # an exclusion is still one


def test_one_paper_is_one_paper(channel: Channel) -> None:
    assert channel.say("/papers limit 1").text == (
        "This channel's digests now show at most 1 paper; the footer counts the rest."
    )
    assert channel.say("/papers limit").text == "This channel's digests show at most 1 paper."


def test_nothing_new_says_what_was_looked_at(channel: Channel) -> None:
    clock = {"now": datetime(2026, 12, 1, 9, 0, tzinfo=UTC)}  # a Tuesday
    channel.service.clock = lambda: clock["now"]
    channel.say("/papers subscribe breast mri")
    channel.say("/papers subscribe ct reconstruction")
    channel.say("/papers digest")
    clock["now"] = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    channel.service.catalog.import_records([
        PaperRecord(id="2612.00001", title="Galaxy surveys at high redshift"),
        PaperRecord(id="2612.00002", title="Graph neural networks for molecules"),
    ])
    clock["now"] = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    assert channel.say("/papers digest").text == (
        "Nothing new for this channel since its last digest. None of the 2 papers that came in "
        "since Tue 1 Dec 09:00 match its 2 topics; last digest Tue 1 Dec 09:00 UTC."
    )


def test_a_schedule_set_today_fires_today(channel: Channel) -> None:
    # The day's digest went out at 09:00; at 13:03 the channel moves it to
    # 13:05, and what came in since arrives at 13:05, not tomorrow.
    clock = {"now": datetime(2026, 12, 3, 9, 0, tzinfo=UTC)}
    channel.service.clock = lambda: clock["now"]
    channel.say("/papers subscribe mri")
    sent: list[Digest] = []
    assert channel.service.deliverer.run_scheduled({channel.address: clock["now"]}, send=sent.append)
    clock["now"] = datetime(2026, 12, 3, 13, 3, tzinfo=UTC)
    channel.service.catalog.import_records([
        PaperRecord(id="2612.00001", title="Knee MRI at low field"),
        PaperRecord(id="2612.00002", title="Cardiac MRI motion"),
    ])
    assert channel.say("/papers schedule 13:05").text == (
        "This channel gets its digest daily at 13:05 UTC. Next digest: Thu 3 Dec 13:05 UTC."
    )
    clock["now"] = datetime(2026, 12, 3, 13, 5, tzinfo=UTC)
    sent.clear()
    channel.service.deliverer.run_scheduled({channel.address: clock["now"]}, send=sent.append)
    assert sorted(item.title for d in sent for item in d.items) == [
        "Cardiac MRI motion", "Knee MRI at low field"
    ]
    # The same schedule again changes nothing: one scheduled digest a day.
    channel.say("/papers schedule 13:05")
    sent.clear()
    channel.service.deliverer.run_scheduled({channel.address: clock["now"]}, send=sent.append)
    assert sent == []


def test_a_paused_channel_hears_so_with_answers_not_with_mistakes(channel: Channel) -> None:
    channel.say("/papers subscribe mri")
    channel.say("/papers pause conference week")
    assert channel.say("/papers search mri").text.startswith("Digests are paused here")
    for mistake in ("/papers limit 0", "/papers schedule 25:00", "/papers show", "/papers frobnicate"):
        assert "paused" not in channel.say(mistake).text, mistake


def test_help_lists_every_command_with_an_example(channel: Channel) -> None:
    for text in ("/papers help", "/papers"):
        lines = channel.say(text).text.splitlines()
        assert len(lines) == len(COMMANDS)
        for command, line in zip(COMMANDS, lines, strict=True):
            assert line.startswith(f"/papers {command.usage} — ")
            assert f"(e.g. /papers {command.example})" in line


def test_topic_limit_message(channel: Channel) -> None:
    for n in range(25):
        channel.say(f"/papers subscribe topic{n}")
    assert "already follows 25 topics" in channel.say("/papers subscribe more").text


def test_digest_without_topics(channel: Channel) -> None:
    assert channel.say("/papers digest").text.startswith("This channel follows no topics yet.")
    assert channel.posted == []


def test_limit_caps_the_digest(channel: Channel) -> None:
    assert channel.say("/papers limit").text == "This channel's digests show at most 10 papers."
    assert channel.say("/papers limit 2").text.startswith(
        "This channel's digests now show at most 2 papers"
    )
    assert channel.say("/papers limit 0").text == "A digest can show 1 to 50 papers; got '0'."
    assert channel.say("/papers limit many").text == "A digest can show 1 to 50 papers; got 'many'."
    channel.say("/papers subscribe mri OR ct")
    assert channel.say("/papers digest").text == "Posted 2 new papers."
    [digest] = channel.posted
    assert digest.count == 2 and digest.more == 4
    assert digest.more_query is not None and digest.more_query.startswith("mri OR ct after:")
    assert digest.footer == f"4 more matched: /papers search {digest.more_query}"


def test_like_finds_related_papers_not_the_paper_itself(channel: Channel) -> None:
    reply = channel.say('/papers search "ct reconstruction"')
    paper_id = reply.items[0].paper_id
    like = channel.say(f"/papers like {paper_id}")
    assert like.text.startswith("Papers like Unsupervised Domain Adaptation for Low-dose CT")
    assert "(/papers search " in like.text
    ids = [item.paper_id for item in like.items]
    assert ids and paper_id not in ids and len(ids) <= 5
    assert channel.say("/papers like nope").text.startswith("No paper with id nope.")
    assert channel.say("/papers like").text == (
        "Give one paper id, as search shows it. Usage: /papers like ID"
    )


def test_digest_and_why_are_acknowledged_before_they_are_answered() -> None:
    from bot.chat.commands import is_slow

    assert is_slow("digest") and is_slow("  DIGEST now") and is_slow("why 2611.00001")
    assert not any(is_slow(text) for text in ("search digest", "help", "", "digests", "show 1"))


def test_command_table_says_who_may_run_what_and_how_it_takes_its_argument() -> None:
    managing = {c.name for c in COMMANDS if c.manages}
    assert managing == {"subscribe", "unsubscribe", "schedule", "limit", "digest", "pause", "resume"}
    assert {c.name: (c.argument, c.optional) for c in COMMANDS if c.argument} == {
        "search": ("query", False), "show": ("id", False), "like": ("id", False),
        "more": ("id", False), "less": ("id", False), "why": ("id", False),
        "taste": ("reset", True),
        "save": ("id", False), "read": ("id", False), "cite": ("id", False),
        "subscribe": ("topic", False), "unsubscribe": ("topic", False),
        "schedule": ("when", True), "limit": ("count", True), "pause": ("reason", True),
        "updates": ("state", True),
    }
