"""The delivery loop's locking strategies: what each engine's claim leaves behind.

``CommittedPending`` (SQLite) commits the batch's claims before sending, so a
run that dies while posting leaves the papers ``pending`` for the same day to
finish; ``RowLock`` (PostgreSQL) holds each channel's row from claim to
confirmation, so such a run leaves nothing at all, and a channel another
transaction holds is skipped, or refused to a ``digest`` command.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.chat.service import Service
from bot.digest.ledger import DigestInProgress, interrupted_channels
from bot.digest.locks import Planned, RowLock
from bot.model.address import parse_address
from bot.model.messages import Digest, NothingNew
from bot.model.papers import PaperRecord
from bot.search.index import SearchIndex
from bot.store.channels import find_channel
from bot.store.db import open_database
from bot.store.models import Channel, Delivery

GENERAL = "console:local/general"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Killed(BaseException):
    """The process dying while the platform takes the post (no ``except Exception`` sees it)."""


def papers() -> list[PaperRecord]:
    return [PaperRecord(id=f"2611.0000{n}", title=f"Breast study {n}") for n in (1, 2)]


def ledger(service: Service) -> set[tuple[str, str]]:
    with service.db.session() as session:
        return {(d.paper_id, d.status) for d in session.scalars(select(Delivery))}


def test_a_run_dying_mid_post_is_finished_by_the_next_one_on_either_engine(
    db, index, backend: str
) -> None:
    service = Service(db=db, index=index, clock=lambda: NOW)
    service.catalog.import_records(papers())
    service.channels.subscribe(GENERAL, "breast")

    def dies(message: Digest | NothingNew) -> None:
        raise Killed

    with pytest.raises(Killed):
        service.deliverer.run_scheduled({GENERAL: NOW}, send=dies)
    with db.session() as session:
        channel = find_channel(session, parse_address(GENERAL))
        assert channel is not None
        window = (channel.last_revision, channel.last_scheduled_on)
        interrupted = interrupted_channels(session)
    if backend == "postgresql":
        # The row lock's transaction rolled back: no window or day's mark; the
        # papers were marked pending apart, just before the send.
        assert window == (None, None)
    else:
        # Claimed and committed before the send: resumed by the same day's run.
        assert window[1] == NOW.date()
    assert ledger(service) == {("2611.00001", "pending"), ("2611.00002", "pending")}
    assert interrupted == [GENERAL]
    posted: list[Digest | NothingNew] = []
    [outcome] = service.deliverer.run_scheduled({GENERAL: NOW + timedelta(minutes=5)}, send=posted.append)
    assert outcome.error is None
    assert [[i.paper_id for i in m.items] for m in posted if isinstance(m, Digest)] == [
        ["2611.00001", "2611.00002"]
    ]
    # The dead post may have shown them: the adapter is told, to look where it can.
    [resumed] = posted
    assert isinstance(resumed, Digest)
    assert resumed.maybe_posted == ("2611.00001", "2611.00002")
    assert resumed.maybe_posted_after is not None and resumed.maybe_posted_after <= NOW
    assert ledger(service) == {("2611.00001", "sent"), ("2611.00002", "sent")}
    assert service.deliverer.run_scheduled({GENERAL: NOW + timedelta(minutes=10)}, send=posted.append) == []
    assert len(posted) == 1


@pytest.fixture
def pg_service(postgresql_database, tmp_path: Path) -> Iterator[Service]:
    db = open_database(postgresql_database())
    service = Service(db=db, index=SearchIndex.open(tmp_path / "index", catalog_id=db.catalog_id),
                      clock=lambda: NOW)
    service.catalog.import_records(papers())
    service.channels.subscribe(GENERAL, "breast")
    yield service
    service.close()


def planned(service: Service, *, last_revision: int | None = None) -> Planned:
    with service.db.session() as session:
        channel = find_channel(session, parse_address(GENERAL))
        assert channel is not None
        return Planned(channel_id=channel.id, address=parse_address(GENERAL),
                       timezone=channel.timezone, last_revision=last_revision, due=NOW,
                       selection=None)


@pytest.mark.postgresql
def test_row_lock_skips_a_channel_another_transaction_holds(pg_service: Service) -> None:
    lock = RowLock(pg_service.db)
    plan = planned(pg_service)
    with pg_service.db.session() as session:
        lock.claim_batch(session, [], {}, now=NOW)
    with pg_service.db.session() as other:  # another process, posting to the channel
        other.scalar(select(Channel).where(Channel.id == plan.channel_id).with_for_update())
        with lock.hold(plan, now=NOW, scheduled=True) as held:
            assert held is None
        with pytest.raises(DigestInProgress), lock.hold(plan, now=NOW, scheduled=False):
            pass
    with lock.hold(plan, now=NOW, scheduled=True) as held:
        assert held is not None and held.timezone == plan.timezone
    with pg_service.db.session() as session:
        channel = session.get(Channel, plan.channel_id)
        assert channel is not None and channel.last_scheduled_on == NOW.date()


@pytest.mark.postgresql
def test_row_lock_skips_a_channel_posted_since_the_selection(pg_service: Service) -> None:
    lock = RowLock(pg_service.db)
    # Selected when its window stood at revision 1; another process moved it since.
    plan = planned(pg_service, last_revision=1)
    with lock.hold(plan, now=NOW, scheduled=False) as held:
        assert held is None
    with pg_service.db.session() as session:
        channel = session.get(Channel, plan.channel_id)
        assert channel is not None and channel.last_revision is None
