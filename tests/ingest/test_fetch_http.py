"""Fetching a feed over HTTP: validators and 304, User-Agent, size cap and gzip, slow servers."""

from __future__ import annotations

import importlib.metadata
import time

import pytest

from bot.ingest.feeds import parse_feed
from bot.ingest.fetch import FetchResult, default_user_agent, digestbot_version
from tests.fakes.feed_server import (
    Answer,
    FakeFeedServer,
    feed,
    feed_server_fixture,  # noqa: F401  (registers the `feed_server` fixture)
    huge,
)
from tests.ingest.fetch_helpers import ANNOUNCE, FEEDS, KB64, LAST_MODIFIED, failure, fetcher

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
