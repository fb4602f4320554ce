"""Digest selection on a real catalog: windows, caps, ranking, versions and topics."""

from __future__ import annotations

from datetime import date, timedelta

from bot.chat.service import Service
from bot.model.address import parse_address
from bot.model.messages import Digest
from bot.store.channels import find_channel
from tests.digest.digest_helpers import GENERAL, START, Clock, paper, run, titles


def test_first_digest_takes_the_last_week_then_only_what_is_new(service: Service, clock: Clock) -> None:
    clock.now = START - timedelta(days=10)
    service.catalog.import_records([paper(1, "Old breast MRI study")])
    clock.now = START - timedelta(days=3)
    service.catalog.import_records([paper(2, "Recent breast MRI study")])
    clock.now = START
    service.channels.subscribe(GENERAL, "breast")
    assert titles(run(service)) == ["Recent breast MRI study"]
    clock.now += timedelta(days=1)
    assert run(service) is None  # nothing new: never the same paper twice
    service.catalog.import_records([paper(3, "Breast ultrasound"), paper(4, "Liver CT")])
    clock.now += timedelta(days=1)
    assert titles(run(service)) == ["Breast ultrasound"]


def test_dry_run_records_nothing(service: Service) -> None:
    service.catalog.import_records([paper(1, "Breast MRI")])
    service.channels.subscribe(GENERAL, "breast")
    assert titles(run(service, dry_run=True)) == ["Breast MRI"]
    assert titles(run(service)) == ["Breast MRI"]
    assert run(service) is None


def test_paper_matching_two_topics_appears_once_with_both(service: Service) -> None:
    service.catalog.import_records([paper(1, "Breast MRI"), paper(2, "Prostate MRI")])
    service.channels.subscribe(GENERAL, "breast")
    service.channels.subscribe(GENERAL, "mri")
    digest = run(service)
    assert digest is not None
    by_title = {item.title: topics for item, topics in digest.entries()}
    assert by_title == {"Breast MRI": ("breast", "mri"), "Prostate MRI": ("mri",)}


def test_cap_with_footer_ranked_by_relevance_then_recency(service: Service, db) -> None:
    service.catalog.import_records(
        [paper(n, f"Segmentation study {n}", day=date(2024, 1, n)) for n in range(1, 6)]
        + [paper(9, "Segmentation segmentation segmentation")]
    )
    service.channels.subscribe(GENERAL, "segmentation")
    with db.session() as session:
        channel = find_channel(session, parse_address(GENERAL))
        assert channel is not None
        channel.max_papers = 3
    digest = run(service)
    assert digest is not None
    assert titles(digest)[0] == "Segmentation segmentation segmentation"
    assert titles(digest)[1:] == ["Segmentation study 5", "Segmentation study 4"]
    assert digest.more == 3
    assert digest.footer == "3 more matched: /papers search segmentation after:2026-10-25"


def test_new_version_of_a_delivered_paper_is_not_posted_again(service: Service, clock: Clock) -> None:
    service.catalog.import_records([paper(1, "Breast MRI", version=1)])
    service.channels.subscribe(GENERAL, "breast")
    assert titles(run(service)) == ["Breast MRI"]
    clock.now += timedelta(days=1)
    service.catalog.import_records([paper(1, "Breast MRI, revised", version=2)])
    clock.now += timedelta(days=1)
    assert run(service) is None


def test_channel_without_topics_or_unknown_gets_nothing(service: Service) -> None:
    service.catalog.import_records([paper(1, "Breast MRI")])
    assert run(service) is None
    service.channels.subscribe(GENERAL, "prostate")
    assert run(service) is None


def test_paper_committed_late_with_an_older_timestamp_is_not_lost(
    service: Service, clock: Clock
) -> None:
    # An import that stamped its papers before a digest ran but committed
    # after it: the revision window still hands them to the next digest.
    service.catalog.import_records([paper(1, "Breast MRI")])
    service.channels.subscribe(GENERAL, "breast")
    assert titles(run(service)) == ["Breast MRI"]
    clock.now = START - timedelta(minutes=5)
    service.catalog.import_records([paper(2, "Breast CT, committed late")])
    clock.now = START + timedelta(days=1)
    assert titles(run(service)) == ["Breast CT, committed late"]


def test_topic_cache_keeps_parses_and_leaves_prefix_topics_to_each_pool(service: Service) -> None:
    from bot.digest.topics import TopicCache
    from bot.search.index import SearchIndex

    cache = TopicCache()
    assert cache.warm(["breast mri", "segm*", "breast mri"]) == 2
    index = SearchIndex.in_memory()
    searcher = index.searcher()
    assert cache.query("breast mri", index, searcher) is cache.query("breast mri", index, searcher)
    assert cache.query("segm*", index, searcher) is not cache.query("segm*", index, searcher)
    # The warmed cache gives the same digest as a cold one.
    service.catalog.import_records([paper(1, "Breast MRI"), paper(2, "Segmentation of CT")])
    service.channels.subscribe(GENERAL, "segm*")
    service.channels.subscribe(GENERAL, "breast mri")
    assert service.deliverer.warm_topics() == 0  # parsed when subscribed
    restarted = Service(db=service.db, index=service.index, clock=service.clock)
    assert restarted.deliverer.warm_topics() == 2
    assert sorted(titles(run(restarted, dry_run=True))) == ["Breast MRI", "Segmentation of CT"]


def test_a_topic_that_no_longer_parses_matches_nothing_and_spares_the_batch(
    service: Service, db, clock: Clock
) -> None:
    from bot.store.models import Topic

    service.catalog.import_records([paper(1, "Breast MRI")])
    service.channels.subscribe(GENERAL, "breast")
    service.channels.subscribe("console:local/other", "breast")
    with db.session() as session:
        channel = find_channel(session, parse_address("console:local/other"))
        assert channel is not None
        # Stored by an older version whose grammar accepted it.
        session.add(Topic(channel_id=channel.id, query="col:x", created_at=clock.now))
    outcomes = service.deliverer.run_scheduled({GENERAL: clock.now, "console:local/other": clock.now},
                                     send=lambda message: None)
    assert [(o.address, o.error) for o in outcomes] == [
        (GENERAL, None), ("console:local/other", None)
    ]
    assert all(isinstance(o.message, Digest) for o in outcomes)


def test_a_paper_in_two_channels_shows_each_its_own_matched_topics_from_one_item(
    service: Service, db
) -> None:
    from bot.digest.select import select_digests

    service.catalog.import_records([paper(1, "Breast MRI"), paper(2, "Prostate MRI"), paper(3, "Liver CT")])
    for topic in ("breast", "mri"):
        service.channels.subscribe(GENERAL, topic)
    service.channels.subscribe("console:local/other", "mri")
    service.channels.subscribe("console:local/other", "liver")
    with db.session() as session:
        a, b = (find_channel(session, parse_address(address))
                for address in (GENERAL, "console:local/other"))
        assert a is not None and b is not None
        found = select_digests(session, [a, b], now=service.clock())
        mine, theirs = found[a.id].digest, found[b.id].digest
    assert [(item.title, topics) for item, topics in mine.entries()] == [
        ("Breast MRI", ("breast", "mri")), ("Prostate MRI", ("mri",))
    ]
    assert sorted((item.title, topics) for item, topics in theirs.entries()) == [
        ("Breast MRI", ("mri",)), ("Liver CT", ("liver",)), ("Prostate MRI", ("mri",))
    ]
    # One item per paper for the whole batch: the topics live in each digest.
    shared = {item.paper_id: item for item in theirs.items}
    assert all(item is shared[item.paper_id] for item in mine.items)


def test_a_topic_taken_up_later_looks_back_a_week_without_what_the_channel_had(
    service: Service, clock: Clock
) -> None:
    clock.now = START - timedelta(days=10)
    service.catalog.import_records([paper(1, "Old liver CT")])
    clock.now = START - timedelta(days=3)
    service.catalog.import_records([
        paper(2, "Breast MRI"), paper(3, "Liver CT study"), paper(4, "Breast and liver ultrasound"),
    ])
    clock.now = START
    service.channels.subscribe(GENERAL, "breast")
    assert titles(run(service)) == ["Breast MRI", "Breast and liver ultrasound"]
    clock.now += timedelta(hours=1)
    service.channels.subscribe(GENERAL, "liver")
    # What the new topic finds: from the last 7 days, less what the channel was sent.
    preview = service.deliverer.preview_topic(GENERAL, "liver")
    assert preview is not None and (preview.count, preview.days) == (1, 7)
    # Counted in the catalog's index, or (a prefix topic) in a pool of the window's papers.
    service.channels.subscribe(GENERAL, "live*")
    prefixed = service.deliverer.preview_topic(GENERAL, "live*")
    assert prefixed is not None and prefixed.count == 1
    service.channels.unsubscribe(GENERAL, "live*")
    assert titles(run(service, dry_run=True)) == ["Liver CT study"]
    clock.now += timedelta(hours=1)
    assert titles(run(service)) == ["Liver CT study"]
    clock.now += timedelta(days=1)
    assert run(service) is None  # once the topic had its digest, it takes only what is new
    clock.now += timedelta(hours=1)
    assert service.deliverer.nothing_new(GENERAL).startswith("No paper came in since")


def test_a_new_topic_of_a_channel_whose_last_digest_is_older_reaches_back_to_it(
    service: Service, clock: Clock
) -> None:
    service.channels.subscribe(GENERAL, "breast")
    assert run(service) is None  # the window now starts here
    clock.now = START + timedelta(days=2)
    service.catalog.import_records([paper(1, "Liver CT")])
    clock.now = START + timedelta(days=12)
    service.channels.subscribe(GENERAL, "liver")
    preview = service.deliverer.preview_topic(GENERAL, "liver")
    assert preview is not None and (preview.count, preview.days, preview.since) == (1, None, START)
    assert titles(run(service)) == ["Liver CT"]


def test_seed_papers_are_news_to_console_channels_only(service: Service, clock: Clock) -> None:
    from tests.conftest import SEEDS_DIR

    service.ingestion.import_seed_files([SEEDS_DIR])
    service.catalog.import_records([paper(1, "Prostate MRI from a feed")])
    slack = "slack:T1/C1"
    for address in (GENERAL, slack):
        service.channels.subscribe(address, "mri")
    console = service.deliverer.digest(GENERAL, send=lambda d: None)
    assert console is not None and len(console.items) > 1  # the Quick start's demo catalog
    assert service.deliverer.nothing_new(slack).startswith(
        "The one paper that came in since"
    )  # the seed papers are not counted as news there either
    posted = service.deliverer.digest(slack, send=lambda d: None)
    assert titles(posted) == ["Prostate MRI from a feed"]
    # Still the catalog's: search finds them for every channel.
    assert service.catalog.search("multi-sequence mri").hits
