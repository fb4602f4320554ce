"""Digest selection and the delivery ledger, on a real catalog with an injected clock."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.digest.ledger import claim
from bot.digest.select import select_digest
from bot.model.messages import Digest
from bot.store.models import Channel, Delivery
from bot.model.papers import PaperRecord
from bot.chat.commands import handle
from bot.chat.service import Service
from bot.model.address import parse_address
from bot.store.channels import find_channel

GENERAL = "console:local/general"
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(db, index, clock: Clock) -> Service:
    return Service(db=db, index=index, clock=clock)


def paper(n: int, title: str, *, day: date = date(2024, 1, 1), **extra: object) -> PaperRecord:
    return PaperRecord(id=f"2401.{n:05d}", title=title, authors=("Ann Lee", "Bo Li"),
                       abstract=f"{title}. More text.", published=day, **extra)  # type: ignore[arg-type]


def run(service: Service, **kwargs: object) -> Digest | None:
    sent: list[Digest] = []
    digest = service.deliverer.digest(GENERAL, send=sent.append, **kwargs)  # type: ignore[arg-type]
    assert sent == ([digest] if digest else [])
    return digest


def titles(digest: Digest | None) -> list[str]:
    return [item.title for item in digest.items] if digest else []


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


def test_failed_send_is_retried_next_time(service: Service, clock: Clock) -> None:
    service.catalog.import_records([paper(1, "Breast MRI")])
    service.channels.subscribe(GENERAL, "breast")

    def broken(digest: Digest) -> None:
        raise ConnectionError("platform down")

    with pytest.raises(ConnectionError):
        service.deliverer.digest(GENERAL, send=broken)
    clock.now += timedelta(days=1)
    service.catalog.import_records([paper(2, "Breast ultrasound")])
    clock.now += timedelta(hours=1)
    assert sorted(titles(run(service))) == ["Breast MRI", "Breast ultrasound"]
    assert run(service) is None
    with service.db.session() as session:
        ledger = {(d.paper_id, d.status, d.attempts, d.error is None)
                  for d in session.query(Delivery)}
    assert ledger == {("2401.00001", "sent", 2, True), ("2401.00002", "sent", 1, True)}


def test_killed_between_claim_and_send_neither_loses_nor_duplicates(
    service: Service, db, clock: Clock
) -> None:
    service.catalog.import_records([paper(1, "Breast MRI"), paper(2, "Breast CT")])
    service.channels.subscribe(GENERAL, "breast")
    # A process claims the digest in the ledger and dies before sending.
    with db.session() as session:
        channel = session.get(Channel, 1)
        assert channel is not None
        selection = select_digest(session, channel, now=clock.now)
        assert selection is not None
        claim(session, [(channel, selection)], now=clock.now)
    clock.now += timedelta(hours=1)
    assert sorted(titles(run(service))) == ["Breast CT", "Breast MRI"]
    clock.now += timedelta(days=1)
    assert run(service) is None


def test_channel_without_topics_or_unknown_gets_nothing(service: Service) -> None:
    service.catalog.import_records([paper(1, "Breast MRI")])
    assert run(service) is None
    service.channels.subscribe(GENERAL, "prostate")
    assert run(service) is None


def test_cli_digest_json(tmp_path, capsys, monkeypatch, database_url: str) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    data = ["--data-dir", str(tmp_path / "data"), "--database", database_url]
    assert main([*data, "seed"]) == 0
    assert main([*data, "subscribe", GENERAL, "tumor"]) == 0
    capsys.readouterr()
    assert main([*data, "digest", "--channel", GENERAL, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["channel"] == GENERAL and payload["topics"] == ["tumor"]
    assert payload["papers"] and all(p["matched_topics"] == ["tumor"] for p in payload["papers"])
    assert {"id", "title", "authors", "published", "code_urls", "has_code"} <= set(payload["papers"][0])
    assert main([*data, "digest", "--channel", GENERAL]) == 0
    assert "Nothing new for console:local/general." in capsys.readouterr().out


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


def test_channel_gone_is_paused_with_the_reason_and_keeps_its_papers(
    service: Service, clock: Clock
) -> None:
    from bot.model.messages import IncomingCommand
    from bot.digest.deliver import ChannelUnavailable

    service.catalog.import_records([paper(1, "Breast MRI")])
    service.channels.subscribe(GENERAL, "breast")
    service.channels.subscribe("console:local/other", "breast")

    def post(message: object) -> None:
        if getattr(message, "channel", None) == GENERAL:
            raise ChannelUnavailable("the bot was removed from this channel; invite it back")

    outcomes = service.deliverer.run_scheduled({GENERAL: clock.now, "console:local/other": clock.now}, send=post)
    assert [(o.address, o.error is None) for o in outcomes] == [
        (GENERAL, False), ("console:local/other", True)
    ]
    info = service.channels.info(GENERAL)
    assert info is not None and info.paused
    assert [i.address for i in service.channels.scheduled()] == ["console:local/other"]
    reply = handle(service, IncomingCommand(platform="console", workspace_id="local",
                                           channel_id="general", user_id="ann", text="topics"),
                    send=lambda d: None).reply
    assert "paused here (the bot was removed from this channel; invite it back)" in reply.text
    service.channels.resume(GENERAL)
    clock.now += timedelta(days=1)
    assert titles(run(service)) == ["Breast MRI"]


def test_digest_asked_for_while_one_is_being_posted_is_not_doubled(service: Service) -> None:
    import threading

    from bot.model.messages import IncomingCommand

    service.catalog.import_records([paper(1, "Breast MRI")])
    service.channels.subscribe(GENERAL, "breast")
    posting, release = threading.Event(), threading.Event()
    sent: list[Digest] = []

    def slow(message: object) -> None:
        posting.set()
        release.wait(10)
        sent.append(message)  # type: ignore[arg-type]

    scheduled = threading.Thread(
        target=service.deliverer.run_scheduled, args=({GENERAL: START},), kwargs={"send": slow}
    )
    scheduled.start()
    assert posting.wait(10)
    reply = handle(service, IncomingCommand(platform="console", workspace_id="local",
                                           channel_id="general", user_id="ann", text="digest"),
                    send=sent.append).reply
    release.set()
    scheduled.join(10)
    assert reply.text.startswith("A digest is being posted to this channel right now")
    assert titles(sent[0]) == ["Breast MRI"] and len(sent) == 1
    assert run(service) is None


def test_workspace_gone_pauses_all_its_channels_and_spares_others(
    service: Service, clock: Clock
) -> None:
    from bot.digest.deliver import WorkspaceUnavailable

    service.catalog.import_records([paper(1, "Breast MRI")])
    addresses = ["slack:T1/C1", "slack:T1/C2", "slack:T2/C1", "slack:T1/C3"]
    for address in addresses:
        service.channels.subscribe(address, "breast")
    service.channels.pause("slack:T1/C3", reason="conference week")
    tried: list[str] = []

    def post(message: object) -> None:
        channel = str(getattr(message, "channel", ""))
        tried.append(channel)
        if channel.startswith("slack:T1/"):
            raise WorkspaceUnavailable("the app was uninstalled from this workspace; reinstall it")

    outcomes = service.deliverer.run_scheduled({a: clock.now for a in addresses}, send=post)
    assert tried == ["slack:T1/C1", "slack:T2/C1"]  # C2 skipped once T1 was known gone
    assert {o.address: o.error is None for o in outcomes} == {
        "slack:T1/C1": False, "slack:T1/C2": False, "slack:T2/C1": True
    }
    for address in ("slack:T1/C1", "slack:T1/C2", "slack:T1/C3"):
        info = service.channels.info(address)
        assert info is not None and info.paused
        assert info.paused_reason == "the app was uninstalled from this workspace; reinstall it"
    # Nothing lost: once resumed, T1/C2 still gets the paper.
    service.channels.resume("slack:T1/C2")
    clock.now += timedelta(days=1)
    sent: list[Digest] = []
    assert service.deliverer.digest("slack:T1/C2", send=sent.append) is not None
    assert titles(sent[0]) == ["Breast MRI"]


def test_digest_cut_short_after_some_messages_confirms_only_what_was_posted(
    service: Service, clock: Clock
) -> None:
    from bot.digest.deliver import PartlySent

    service.catalog.import_records([paper(1, "Breast MRI"), paper(2, "Breast CT"), paper(3, "Breast PET")])
    service.channels.subscribe(GENERAL, "breast")

    def post(message: object) -> None:
        assert isinstance(message, Digest)
        first = message.items[0].paper_id  # the first message went out, then the link broke
        raise PartlySent([first], ConnectionError("connection reset"))

    [outcome] = service.deliverer.run_scheduled({GENERAL: clock.now}, send=post)
    assert outcome.error == "connection reset"
    assert isinstance(outcome.message, Digest)
    posted = outcome.message.items[0].title
    clock.now += timedelta(days=1)
    again = titles(run(service))
    assert sorted(again + [posted]) == ["Breast CT", "Breast MRI", "Breast PET"]


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


WORDS = ["breast", "mri", "liver", "ct", "segmentation", "tumor", "dose", "low", "brain", "pet"]


@pytest.mark.parametrize("segments", ["one", "several"])
def test_batch_selection_agrees_with_the_rules_applied_one_paper_at_a_time(
    service: Service, db, clock: Clock, monkeypatch: pytest.MonkeyPatch, segments: str
) -> None:
    """Channels with different windows, caps and ledgers, selected in one batch,
    against a plain reading of the rules: every eligible paper a topic matches
    (``match_all`` on an index of the same papers), ranked by its best score,
    then recency, then id. With "several", the batch's in-memory index has
    several segments, as a very large batch may, and hits are numbered by
    (segment, document)."""
    import random

    from sqlalchemy import select

    from bot.digest import select as digest_module
    from bot.store.catalog import PAPERS
    from bot.digest.select import select_digests
    from bot.search.index import IndexWriter, SearchIndex
    from bot.search.query import parse_query
    from bot.search.rank import SCORE_DECIMALS, match_all

    rng = random.Random(7)
    records = []
    for n in range(1, 91):
        title = " ".join(rng.choices(WORDS, k=rng.randint(1, 4)))
        records.append(paper(n, title.capitalize(), day=date(2024, 1, 1 + n % 5),
                             has_code=n % 3 == 0))
    # Three imports, so that windows after revision 1, 2 or nothing differ.
    for start in (0, 30, 60):
        clock.now += timedelta(hours=1)
        service.catalog.import_records(records[start:start + 30])
    topics = {
        "console:local/a": ["breast", "mri"],
        "console:local/b": ["mri"],
        "console:local/c": ['"low dose" ct', "tumor OR brain", "has:code"],
        "console:local/d": ["segmentation -liver", "pet", "breast mri"],
        "console:local/e": ["has:code cat:cs.CV", "ct"],
        "console:local/f": ["liver", "mri"],
    }
    for address, wanted in topics.items():
        for topic in wanted:
            service.channels.subscribe(address, topic)
    with db.session() as session:
        entered = dict(session.execute(select(PAPERS.c.id, PAPERS.c.entered_revision)).all())
        first_revision = min(entered.values())
        channels: dict[str, Channel] = {}
        for address in topics:
            found_channel = find_channel(session, parse_address(address))
            assert found_channel is not None
            channels[address] = found_channel
        caps = {"a": 3, "b": 1, "c": 10, "d": 2, "e": 4, "f": 5}
        after = {"a": first_revision, "b": first_revision + 1, "c": None, "d": first_revision,
                 "e": first_revision + 1, "f": first_revision}
        for address, channel in channels.items():
            channel.max_papers = caps[address[-1]]
            channel.last_revision = after[address[-1]]
            channel.last_digest_at = None if after[address[-1]] is None else clock.now
        # Ledgers: "a" was sent one of its papers, "b" still owes one from before its window.
        session.add(Delivery(channel_id=channels["console:local/a"].id, paper_id="2401.00080",
                             status="sent", attempts=1, created_at=clock.now))
        session.add(Delivery(channel_id=channels["console:local/b"].id, paper_id="2401.00009",
                             status="failed", attempts=1, created_at=clock.now))
        session.flush()
        pools: list[digest_module._Pool] = []
        original_init, add = digest_module._Pool.__init__, IndexWriter.add

        def add_in_parts(writer: IndexWriter, records, *, replace: bool = True) -> int:
            count = 0
            for n, record in enumerate(records, start=1):
                count += add(writer, [record], replace=replace)
                if n % 10 == 0:
                    writer._writer.commit()  # a segment of its own
            return count

        def spy(pool: digest_module._Pool, *args: object, **kwargs: object) -> None:
            pools.append(pool)
            if segments == "several":
                monkeypatch.setattr(IndexWriter, "add", add_in_parts)
            original_init(pool, *args, **kwargs)  # type: ignore[arg-type]
            monkeypatch.setattr(IndexWriter, "add", add)

        monkeypatch.setattr(digest_module._Pool, "__init__", spy)
        found = select_digests(session, list(channels.values()), now=clock.now)
        monkeypatch.setattr(digest_module._Pool, "__init__", original_init)
        [pool] = pools
        assert (pool._addresses is None) == (segments == "one")

        # Every paper is a candidate ("c" takes its first week): the same
        # index gives the same scores.
        reference = SearchIndex.in_memory()
        with reference.writer(threads=1) as writer:
            writer.add(records, replace=False)
            writer.commit(0)
        days = {r.id: r.published.toordinal() for r in records if r.published is not None}
        for address, channel in channels.items():
            window = {i for i, r in entered.items()
                      if channel.last_revision is None or r > channel.last_revision}
            if address.endswith("/a"):
                window -= {"2401.00080"}
            if address.endswith("/b"):
                window |= {"2401.00009"}
            best: dict[str, tuple[float, int, str]] = {}
            matched: dict[str, list[str]] = {}
            for topic in topics[address]:
                parsed = parse_query(topic)
                for paper_id, score in match_all(reference, parsed):
                    if paper_id not in window:
                        continue
                    key = (-round(score, SCORE_DECIMALS) if parsed.scored else 0.0,
                           -days[paper_id], paper_id)
                    best[paper_id] = min(best.get(paper_id, key), key)
                    matched.setdefault(paper_id, []).append(topic)
            shown = sorted(best, key=best.__getitem__)[:channel.max_papers]
            selection = found.get(channel.id)
            if not shown:
                assert selection is None, address
                continue
            assert selection is not None, address
            assert list(selection.paper_ids) == shown, address
            assert [list(t) for _, t in selection.digest.entries()] == [
                matched[i] for i in shown
            ], address
            assert selection.digest.more == len(best) - len(shown), address
