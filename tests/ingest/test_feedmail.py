"""bot.ingest.feedmail: feedparser's author e-mail search, the same answer in linear time."""

from __future__ import annotations

import re
import time

import feedparser.mixin
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bot.ingest.feeds  # noqa: F401  (installs the method)
from bot.ingest import feedmail
from bot.ingest.feeds import parse_feed

# Characters that matter to the pattern, and a few that do not.
_ALPHABET = "ab.Z9-_+@[]?=subject ()<>&;é\t"


def test_installed_in_place_of_feedparsers_own() -> None:
    assert feedparser.mixin._FeedParserMixin._sync_author_detail is feedmail._sync_author_detail
    assert feedmail.install()  # twice is once
    # The method it replaced is the one it copies (a feedparser upgrade fails here).
    assert feedmail._is_the_copied_method(feedmail._ORIGINAL)


def test_another_method_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def other(self: object, key: str = "author") -> None: ...

    monkeypatch.setattr(feedmail, "_ORIGINAL", other)
    monkeypatch.setattr(feedparser.mixin._FeedParserMixin, "_sync_author_detail", other)
    assert not feedmail.install()
    assert feedparser.mixin._FeedParserMixin._sync_author_detail is other


@pytest.mark.parametrize("author", [
    "Ann Lee (ann@example.org)", "ann@example.org (Ann Lee)", "<a.b+c@x-y.example.co>",
    "mail a@[192.168.0.1] now", "x@y", "@@a@b.cd", "a@b.c.d.e", "a@b.cd?subject=hi there",
    "Ann Lee", "", "x" * 1000 + "@", "a@" + "x" * 1000, "a.b@c@d.ef", "é@x.org",
])
def test_the_same_match_as_feedparsers_search(author: str) -> None:
    expected = re.search(feedmail._EMAIL_PATTERN, author)
    found = feedmail.find_email(author)
    assert (found and (found.span(), found.groups())) == (expected and (expected.span(), expected.groups()))


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=60))
def test_the_same_match_for_any_string(author: str) -> None:
    expected = re.search(feedmail._EMAIL_PATTERN, author)
    found = feedmail.find_email(author)
    assert (found and (found.span(), found.groups())) == (expected and (expected.span(), expected.groups()))


def _rss(author: str) -> bytes:
    return (
        '<rss version="2.0"><channel><title>t</title><item><title>A paper</title>'
        f"<link>https://example.org/1</link><author>{author}</author></item></channel></rss>"
    ).encode()


def test_a_feeds_author_reads_as_before() -> None:
    [entry] = parse_feed(_rss("ann@example.org (Ann Lee)"), source="t").entries
    assert entry.record.authors == ("Ann Lee",)


def test_a_long_word_with_an_at_sign_reads_in_linear_time() -> None:
    started = time.process_time()
    for author in ("x" * 200_000 + "@", "a@" + "x" * 200_000, "x@" * 100_000):
        feedmail.find_email(author)
    assert time.process_time() - started < 1  # feedparser's own search: minutes
