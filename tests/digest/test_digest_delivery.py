"""Delivering digests through the ledger: retries, crashes, lost channels, partial posts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.chat.commands import handle
from bot.chat.service import Service
from bot.digest.ledger import claim
from bot.digest.select import select_digest
from bot.digest.sending import NotAllSent
from bot.model.messages import Digest
from bot.store.models import Channel, Delivery
from tests.digest.digest_helpers import GENERAL, START, Clock, paper, run, titles


def test_failed_send_is_retried_next_time(service: Service, clock: Clock) -> None:
    service.catalog.import_records([paper(1, "Breast MRI")])
    service.channels.subscribe(GENERAL, "breast")

    def broken(digest: Digest) -> None:
        raise ConnectionError("platform down")

    with pytest.raises(NotAllSent) as raised:
        service.deliverer.digest(GENERAL, send=broken)
    assert isinstance(raised.value.cause, ConnectionError)
    assert raised.value.line() == "The digest could not be posted; its 1 paper will be retried " \
        "in the next digest."
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


def test_channel_gone_is_paused_with_the_reason_and_keeps_its_papers(
    service: Service, clock: Clock
) -> None:
    from bot.digest.deliver import ChannelUnavailable
    from bot.model.messages import IncomingCommand

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
