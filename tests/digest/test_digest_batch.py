"""One batch selection for many channels agrees with the rules applied one paper at a time."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.chat.service import Service
from bot.model.address import parse_address
from bot.store.channels import find_channel
from bot.store.models import Channel, Delivery
from tests.digest.digest_helpers import Clock, paper

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
    from bot.digest.select import select_digests
    from bot.search.index import IndexWriter, SearchIndex
    from bot.search.query import parse_query
    from bot.search.rank import SCORE_DECIMALS, match_all
    from bot.store.catalog import PAPERS

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
