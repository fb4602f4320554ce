"""arXiv pacing: which hosts are paced, requests spaced apart, one at a time per paced host."""

from __future__ import annotations

import threading

import pytest

from bot.ingest.fetch import FetchResult
from bot.ingest.pacing import HostPacer, is_arxiv_host
from tests.fakes.feed_server import (
    FakeFeedServer,
    feed,
    feed_server_fixture,  # noqa: F401  (registers the `feed_server` fixture)
)
from tests.ingest.fetch_helpers import ANNOUNCE, fetcher


@pytest.mark.parametrize(
    ("host", "paced"),
    [
        ("arxiv.org", True),
        ("rss.arxiv.org", True),
        ("export.arxiv.org", True),
        ("EXPORT.ArXiv.org.", True),
        ("notarxiv.org", False),
        ("arxiv.org.example.com", False),
        ("biorxiv.org", False),
        ("127.0.0.1", False),
    ],
)
def test_which_hosts_are_arxiv(host: str, paced: bool) -> None:
    assert is_arxiv_host(host) is paced
    assert (HostPacer().domain_for(host) is not None) is paced


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_the_pacer_spaces_arxiv_requests_three_seconds_apart() -> None:
    clock = FakeClock()
    pacer = HostPacer(clock=clock, sleep=clock.sleep)

    with pacer.slot("rss.arxiv.org") as waited:
        clock.now += 0.5  # the request itself
    assert waited == 0.0
    with pacer.slot("export.arxiv.org") as waited:  # another arXiv host shares the slot
        pass
    assert waited == 3.0 and clock.sleeps == [3.0]
    clock.now += 1.0  # work between fetches counts toward the interval
    with pacer.slot("arxiv.org") as waited:
        pass
    assert waited == 2.0
    with pacer.slot("journals.example.org") as waited:
        pass
    assert waited == 0.0 and clock.sleeps == [3.0, 2.0]


def test_a_failed_request_still_counts_for_pacing() -> None:
    clock = FakeClock()
    pacer = HostPacer(clock=clock, sleep=clock.sleep)
    with pytest.raises(RuntimeError), pacer.slot("arxiv.org"):
        raise RuntimeError("the request failed")
    with pacer.slot("arxiv.org") as waited:
        pass
    assert waited == 3.0


def test_concurrent_fetches_to_a_paced_host_are_one_at_a_time(
    feed_server: FakeFeedServer,
) -> None:
    interval = 0.2
    url = feed_server.route("/feed", feed(ANNOUNCE, delay=0.1))
    shared = fetcher(pacer=HostPacer(domains=("127.0.0.1",), interval=interval))
    results: list[FetchResult] = []
    threads = [threading.Thread(target=lambda: results.append(shared.fetch(url))) for _ in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [result.status for result in results] == [200, 200]
    assert feed_server.max_in_flight == 1
    first, second = sorted(feed_server.requests, key=lambda request: request.received_at)
    assert first.finished_at is not None
    assert second.received_at - first.finished_at >= interval


def test_unpaced_hosts_are_fetched_concurrently(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/feed", feed(ANNOUNCE, delay=0.2))
    shared = fetcher(pacer=HostPacer())  # arXiv only: 127.0.0.1 is not paced
    threads = [threading.Thread(target=shared.fetch, args=(url,)) for _ in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert feed_server.max_in_flight == 2
