"""Fetches that fail: HTTP errors and non-feeds, redirects, unfetchable URLs, broken answers."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.ingest.feeds import parse_feed
from bot.ingest.pacing import parse_retry_after
from tests.fakes.feed_server import (
    Answer,
    FakeFeedServer,
    error,
    feed,
    feed_server_fixture,  # noqa: F401  (registers the `feed_server` fixture)
    html_page,
    redirect,
)
from tests.ingest.fetch_helpers import ANNOUNCE, failure, fetcher

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
