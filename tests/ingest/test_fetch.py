"""Fetching feeds over HTTP: validators and 304, limits, failures, redirects, arXiv pacing.

Every fetch crosses a real socket to the fake feed host
(tests/fakes/feed_server.py). Timeouts are a fraction of a second, so the
slow-server cases stay fast.
"""

from __future__ import annotations

import importlib.metadata
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from bot.ingest.feeds import parse_feed
from bot.ingest.fetch import (
    Fetcher,
    FetchError,
    FetchResult,
    default_user_agent,
    digestbot_version,
)
from bot.ingest.pacing import HostPacer, is_arxiv_host, parse_retry_after
from tests.fakes.feed_server import (
    Answer,
    FakeFeedServer,
    error,
    feed,
    feed_server_fixture,  # noqa: F401  (registers the `feed_server` fixture)
    html_page,
    huge,
    redirect,
)

FEEDS = Path(__file__).resolve().parent / "feeds"
ANNOUNCE = "arxiv-rss-announce.xml"
LAST_MODIFIED = "Mon, 12 Feb 2024 05:00:00 GMT"
KB64 = 64 * 1024


def fetcher(**options: object) -> Fetcher:
    """A Fetcher with test-sized limits; nothing paced unless a pacer is given."""
    settings: dict[str, object] = {
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "deadline": 3.0,
        "pacer": HostPacer(domains=()),
    }
    settings.update(options)
    return Fetcher(**settings)  # type: ignore[arg-type]


def failure(url: str, **options: object) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetcher(**options).fetch(url)
    return caught.value


# -- a good fetch, and conditional GET ------------------------------------------------


def test_fetch_returns_the_document_its_headers_and_validators(
    feed_server: FakeFeedServer,
) -> None:
    url = feed_server.route("/rss/cs.CV", feed(ANNOUNCE, etag='"v1"', last_modified=LAST_MODIFIED))
    result = fetcher().fetch(url)

    assert isinstance(result, FetchResult)
    assert (result.status, result.url, result.not_modified) == (200, url, False)
    assert result.body == (FEEDS / ANNOUNCE).read_bytes()
    assert (result.etag, result.last_modified) == ('"v1"', LAST_MODIFIED)
    assert result.headers["content-type"] == "application/xml; charset=utf-8"
    assert all(name == name.lower() for name in result.headers)
    assert 0 <= result.elapsed < 1
    parsed = parse_feed(result.body, source="cs.CV", headers=result.headers)
    assert parsed.ok and len(parsed.entries) == 4


def test_a_matching_etag_gets_a_304_that_costs_nothing(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/rss/cs.CV", feed(ANNOUNCE, etag='"v1"'))
    result = fetcher().fetch(url, etag='"v1"')

    assert result.not_modified and result.status == 304
    assert (result.body, result.etag) == (b"", '"v1"')
    assert feed_server.requests_to("/rss/cs.CV")[0].if_none_match == '"v1"'


def test_a_stale_etag_gets_the_new_document(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/rss/cs.CV", feed(ANNOUNCE, etag='"v2"'))
    result = fetcher().fetch(url, etag='"v1"')

    assert result.status == 200 and result.etag == '"v2"'
    assert result.body == (FEEDS / ANNOUNCE).read_bytes()


def test_last_modified_alone_gets_a_304(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/feed", feed(ANNOUNCE, last_modified=LAST_MODIFIED))
    result = fetcher().fetch(url, last_modified=LAST_MODIFIED)

    assert result.not_modified and result.last_modified == LAST_MODIFIED
    assert feed_server.requests[0].if_modified_since == LAST_MODIFIED
    assert feed_server.requests[0].if_none_match is None


def test_a_document_changed_since_last_modified_is_fetched(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/feed", feed(ANNOUNCE, last_modified="Tue, 13 Feb 2024 05:00:00 GMT"))
    assert fetcher().fetch(url, last_modified=LAST_MODIFIED).status == 200


def test_a_304_without_validators_keeps_the_ones_sent(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/feed", Answer(status=304, content_type=None))
    result = fetcher().fetch(url, etag='"v1"', last_modified=LAST_MODIFIED)

    assert result.not_modified
    assert (result.etag, result.last_modified) == ('"v1"', LAST_MODIFIED)


def test_no_validators_no_conditional_headers(feed_server: FakeFeedServer) -> None:
    fetcher().fetch(feed_server.route("/feed", feed(ANNOUNCE, etag='"v1"')))
    request = feed_server.requests[0]
    assert request.if_none_match is None and request.if_modified_since is None


# -- who we say we are ----------------------------------------------------------------


def test_user_agent_names_digestbot_and_its_version(feed_server: FakeFeedServer) -> None:
    fetcher().fetch(feed_server.route("/feed", feed(ANNOUNCE)))
    request = feed_server.requests[0]

    version = importlib.metadata.version("digestbot")
    assert request.user_agent == default_user_agent()
    assert request.user_agent is not None
    assert request.user_agent.startswith(f"digestbot/{version} ")
    assert "gzip" in request.headers["Accept-Encoding"]
    assert "application/rss+xml" in request.headers["Accept"]


def test_version_falls_back_when_the_package_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert digestbot_version() == "0+unknown"
    assert default_user_agent().startswith("digestbot/0+unknown ")


def test_a_configured_user_agent_is_sent(feed_server: FakeFeedServer) -> None:
    fetcher(user_agent="digestbot/9 (ops@example.org)").fetch(
        feed_server.route("/feed", feed(ANNOUNCE))
    )
    assert feed_server.requests[0].user_agent == "digestbot/9 (ops@example.org)"


# -- size cap and gzip ----------------------------------------------------------------


def test_a_declared_length_over_the_cap_is_refused_unread(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/big", huge(50 * 1024 * 1024))
    started = time.monotonic()
    caught = failure(url, max_bytes=KB64)

    assert caught.reason == "response larger than 64 KB"
    assert caught.status == 200 and caught.url == url
    assert time.monotonic() - started < 1


def test_an_undeclared_body_is_capped_while_streaming(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/big", huge(50 * 1024 * 1024, content_length=False))
    started = time.monotonic()
    assert failure(url, max_bytes=KB64).reason == "response larger than 64 KB"
    assert time.monotonic() - started < 1
    assert feed_server.wait_idle()
    assert feed_server.requests[0].status == 200 and not feed_server.requests[0].completed


def test_a_document_exactly_at_the_cap_is_fine(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/edge", huge(KB64, content_length=False))
    assert len(fetcher(max_bytes=KB64).fetch(url).body) == KB64


def test_a_gzip_body_is_decompressed(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/feed", feed(ANNOUNCE, gzip=True, etag='"z"'))
    result = fetcher().fetch(url)

    assert result.body == (FEEDS / ANNOUNCE).read_bytes()
    assert "content-encoding" not in result.headers
    assert result.headers["content-length"] == str(len(result.body))
    assert parse_feed(result.body, source="cs.CV", headers=result.headers).ok


def test_a_gzip_bomb_is_stopped_at_the_decompressed_cap(feed_server: FakeFeedServer) -> None:
    # 200 MB of filler compresses to well under the cap: only the inflated size betrays it.
    url = feed_server.route("/bomb", huge(200 * 1024 * 1024, gzip=True))
    started = time.monotonic()
    assert failure(url, max_bytes=KB64 * 4).reason == "response larger than 256 KB"
    assert time.monotonic() - started < 1


def test_corrupt_gzip_is_a_reason(feed_server: FakeFeedServer) -> None:
    url = feed_server.route(
        "/feed", Answer(body=b"plain text", headers={"Content-Encoding": "gzip"})
    )
    assert failure(url).reason == "the gzip-compressed response is corrupt"


def test_an_unknown_content_encoding_is_a_reason(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/feed", Answer(body=b"\x00\x01", headers={"Content-Encoding": "br"}))
    assert failure(url).reason == "unsupported Content-Encoding 'br'"


# -- slow servers ---------------------------------------------------------------------


def test_a_server_silent_before_its_headers_times_out(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/slow", feed(ANNOUNCE, delay=5))
    started = time.monotonic()
    caught = failure(url, read_timeout=0.3)

    assert caught.reason == "timed out after 0.3 s waiting for the server"
    assert caught.status is None
    assert time.monotonic() - started < 1


def test_a_slow_drip_cannot_outlast_the_deadline(feed_server: FakeFeedServer) -> None:
    # A byte every 50 ms never trips the 0.3 s read timeout; only the deadline ends it.
    url = feed_server.route("/drip", feed(ANNOUNCE, chunk_size=1, drip=0.05))
    started = time.monotonic()
    caught = failure(url, read_timeout=0.3, deadline=0.6)

    assert caught.reason == "took longer than 0.6 s in all (the server is too slow)"
    assert 0.5 < time.monotonic() - started < 1.2


def test_a_drip_without_content_length_is_no_document(feed_server: FakeFeedServer) -> None:
    # Cut off by the deadline, a close-delimited body would look complete.
    url = feed_server.route("/drip", feed(ANNOUNCE, chunk_size=1, drip=0.05, content_length=False))
    assert failure(url, read_timeout=0.3, deadline=0.4).reason.startswith("took longer than 0.4 s")


def test_a_body_cut_short_is_a_reason(feed_server: FakeFeedServer) -> None:
    truncated = Answer(body=b"<rss>", content_length=False, headers={"Content-Length": "5000"})
    url = feed_server.route("/cut", truncated)
    assert failure(url).reason == "the connection closed before the response was complete"


# -- HTTP errors and non-feeds --------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reason", "status", "retry_after"),
    [
        (error(404), "HTTP 404 Not Found", 404, None),
        (error(500), "HTTP 500 Internal Server Error", 500, None),
        (error(410), "HTTP 410 Gone", 410, None),
        (
            error(503, retry_after=120),
            "HTTP 503 Service Unavailable (retry after 120 s)",
            503,
            120.0,
        ),
        (error(429, retry_after=5), "HTTP 429 Too Many Requests (retry after 5 s)", 429, 5.0),
        (error(503, retry_after="soon"), "HTTP 503 Service Unavailable", 503, None),
    ],
    ids=["404", "500", "410", "503-retry-after", "429-retry-after", "503-bad-retry-after"],
)
def test_http_errors_come_back_as_reasons(
    feed_server: FakeFeedServer,
    answer: Answer,
    reason: str,
    status: int,
    retry_after: float | None,
) -> None:
    url = feed_server.route("/feed", answer)
    caught = failure(url)
    assert (caught.reason, caught.status, caught.retry_after, caught.url) == (
        reason,
        status,
        retry_after,
        url,
    )


def test_retry_after_as_an_http_date(feed_server: FakeFeedServer) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    caught = failure(feed_server.route("/feed", error(429, retry_after=later)))
    assert caught.retry_after is not None and 85 <= caught.retry_after <= 90


def test_retry_after_parsing() -> None:
    now = datetime(2024, 2, 12, 12, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after("Mon, 12 Feb 2024 12:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Mon, 12 Feb 2024 11:00:00 GMT", now=now) == 0.0  # already past
    assert parse_retry_after("-5", now=now) is None
    assert parse_retry_after("later", now=now) is None
    assert parse_retry_after(None) is None


def test_an_unrouted_path_is_a_404(feed_server: FakeFeedServer) -> None:
    assert failure(feed_server.url_for("/nowhere")).reason == "HTTP 404 Not Found"


def test_an_html_error_page_with_status_200_is_not_a_feed(feed_server: FakeFeedServer) -> None:
    caught = failure(feed_server.route("/feed", html_page()))
    assert caught.reason == "not a feed: got text/html ('503 Service Unavailable')"
    assert caught.status == 200


def test_an_html_page_labelled_as_rss_is_not_a_feed(feed_server: FakeFeedServer) -> None:
    caught = failure(feed_server.route("/feed", html_page(content_type="application/rss+xml")))
    assert caught.reason == (
        "not a feed: got an HTML page served as application/rss+xml ('503 Service Unavailable')"
    )


def test_a_feed_served_as_text_html_is_still_a_feed(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/feed", feed("generic-journal-rss20.xml", content_type="text/html"))
    result = fetcher().fetch(url)
    assert parse_feed(result.body, source="journal", headers=result.headers).ok


def test_bare_markup_served_as_text_html_is_not_a_feed(feed_server: FakeFeedServer) -> None:
    answer = Answer(body=b"<h1>Bad Gateway</h1>", content_type="text/html")
    assert failure(feed_server.route("/feed", answer)).reason == "not a feed: got text/html"


def test_a_scripted_sequence_fails_then_recovers(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/feed", error(503, retry_after=1), feed(ANNOUNCE))
    assert failure(url).status == 503
    assert fetcher().fetch(url).status == 200
    assert fetcher().fetch(url).status == 200  # the last answer repeats


# -- redirects and schemes ------------------------------------------------------------


def test_redirects_are_followed_to_the_final_url(feed_server: FakeFeedServer) -> None:
    final = feed_server.route("/new/cs.CV", feed(ANNOUNCE, etag='"v1"'))
    feed_server.route("/old/cs.CV", redirect("/new/cs.CV", status=301))
    result = fetcher().fetch(feed_server.url_for("/old/cs.CV"), etag='"v0"')

    assert (result.status, result.url, result.etag) == (200, final, '"v1"')
    assert result.redirects == ((301, final),)
    assert result.moved_permanently == final
    assert feed_server.requests_to("/new/cs.CV")[0].if_none_match == '"v0"'


def test_a_temporary_redirect_is_not_a_move(feed_server: FakeFeedServer) -> None:
    feed_server.route("/final", feed(ANNOUNCE))
    feed_server.route("/hop", redirect(feed_server.url_for("/final"), status=302))
    result = fetcher().fetch(feed_server.route("/start", redirect("hop", status=301)))

    assert [status for status, _ in result.redirects] == [301, 302]
    assert result.moved_permanently is None


def test_a_redirect_loop_stops_at_the_limit(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/loop", redirect("/loop"))
    caught = failure(url, max_redirects=3)
    assert caught.reason == "too many redirects (more than 3)"
    assert len(feed_server.requests_to("/loop")) == 4


def test_a_redirect_without_location_is_a_reason(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/feed", Answer(status=302, content_type=None))
    assert failure(url).reason == "HTTP 302 redirect without a Location"


def test_a_redirect_to_a_local_file_is_refused(feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/feed", redirect("file:///etc/passwd"))
    caught = failure(url)
    assert caught.reason == "unsupported URL scheme file: (only http and https)"
    assert caught.url == "file:///etc/passwd"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/hosts", "unsupported URL scheme file: (only http and https)"),
        ("ftp://ftp.example.org/feed.xml", "unsupported URL scheme ftp: (only http and https)"),
        ("export.arxiv.org/rss/cs.CV", "unsupported URL scheme none (only http and https)"),
        ("http:///no-host", "not a valid URL: no host"),
        ("http://example.org:99999/feed", "not a valid URL: "),
        ("http://" + "x" * 70 + ".example.org/feed", "not a valid URL: bad host name "),
    ],
)
def test_urls_that_cannot_be_fetched(url: str, reason: str) -> None:
    caught = failure(url)
    assert caught.reason.startswith(reason)  # the last two go on to quote what is wrong
    assert caught.url == url and caught.status is None


def test_a_closed_port_is_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    caught = failure(f"http://127.0.0.1:{port}/feed")
    assert (caught.reason, caught.status) == ("connection refused", None)


def test_an_answer_that_is_not_http_is_a_reason() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def babble() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

        thread = threading.Thread(target=babble)
        thread.start()
        caught = failure(f"http://127.0.0.1:{listener.getsockname()[1]}/feed")
        thread.join()
    assert caught.reason == "not an HTTP answer (BadStatusLine)"


# -- arXiv pacing ---------------------------------------------------------------------


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
