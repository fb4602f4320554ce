"""Channels follow topics: addresses, canonical topics, the 25-topic cap."""

from __future__ import annotations

import pytest

from bot.chat.channels import MAX_TOPICS, TopicLimitError
from bot.chat.service import Service
from bot.model.address import ChannelAddress, ChannelError, parse_address
from bot.search.query import QueryError, parse_query

GENERAL = "console:local/general"


@pytest.fixture
def service(db, index) -> Service:
    return Service(db=db, index=index, timezone="Europe/Berlin", digest_time="08:30")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("console:local/general", ("console", "local", "general")),
        ("slack:T0123ABC/C0456DEF", ("slack", "T0123ABC", "C0456DEF")),
        ("discord:123456789012345678/987654321098765432", ("discord", "123456789012345678", "987654321098765432")),
        ("  console:local/ml-papers  ", ("console", "local", "ml-papers")),
    ],
)
def test_addresses(text: str, parts: tuple[str, str, str]) -> None:
    assert parse_address(text) == ChannelAddress(*parts)
    assert str(parse_address(text)) == text.strip()


@pytest.mark.parametrize(
    "text", ["general", "console:general", "console:/general", ":local/general", "console:local/",
             "console:local/gen eral", "<!channel>:x/y", "console:local/a/b", ""]
)
def test_bad_addresses_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ChannelError, match="PLATFORM:WORKSPACE/CHANNEL, e.g. console:local/general"):
        parse_address(text)


def test_same_topic_twice_is_one_topic(service: Service) -> None:
    first = service.channels.subscribe(GENERAL, '"Breast MRI"  has:code')
    again = service.channels.subscribe(GENERAL, '"breast mri" has:code')
    assert first.added and not again.added
    assert first.topic == again.topic == '"breast mri" has:code'
    assert service.channels.topics(GENERAL) == ['"breast mri" has:code']


def test_topics_are_per_channel_and_in_order(service: Service) -> None:
    service.channels.subscribe(GENERAL, "ct reconstruction")
    service.channels.subscribe(GENERAL, "author:luo")
    service.channels.subscribe("console:local/other", "tumor")
    assert service.channels.topics(GENERAL) == ["ct reconstruction", "author:luo"]
    assert service.channels.topics("console:local/other") == ["tumor"]
    assert service.channels.topics("console:local/nobody") == []


def test_invalid_topic_gives_the_search_message(service: Service) -> None:
    with pytest.raises(QueryError) as from_search:
        parse_query("col:x breast")
    with pytest.raises(QueryError) as from_subscribe:
        service.channels.subscribe(GENERAL, "col:x breast")
    assert str(from_subscribe.value) == str(from_search.value)
    assert service.channels.topics(GENERAL) == []


def test_at_most_25_topics(service: Service) -> None:
    for n in range(MAX_TOPICS):
        assert service.channels.subscribe(GENERAL, f"topic{n}").count == n + 1
    with pytest.raises(TopicLimitError, match="already follows 25 topics.*unsubscribe"):
        service.channels.subscribe(GENERAL, "one more")
    # Following one it already has is not an addition, so it is fine.
    assert service.channels.subscribe(GENERAL, "topic3").added is False
    assert service.channels.unsubscribe(GENERAL, "topic3") == "topic3"
    assert service.channels.subscribe(GENERAL, "one more").added


def test_unsubscribe_matches_the_canonical_form(service: Service) -> None:
    service.channels.subscribe(GENERAL, '"low dose" CT')
    assert service.channels.unsubscribe(GENERAL, '"Low Dose"   ct') == '"low dose" ct'
    assert service.channels.unsubscribe(GENERAL, '"low dose" ct') is None
    assert service.channels.unsubscribe("console:local/never-seen", "ct") is None


def test_new_channel_takes_the_configured_schedule(service: Service, db) -> None:
    from bot.store.channels import find_channel

    service.channels.subscribe(GENERAL, "mri")
    with db.session() as session:
        channel = find_channel(session, parse_address(GENERAL))
        assert channel is not None
        assert (channel.timezone, channel.digest_time, channel.cadence) == ("Europe/Berlin", "08:30", "daily")
        assert (channel.max_papers, channel.paused, channel.address) == (10, False, GENERAL)
