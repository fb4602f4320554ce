"""The feed list: the ``feeds`` table, its names, and each feed's health and backoff.

I/O: the ``feeds`` table through the caller's ``Database``, or read only
through ``bot.store.db.read_only`` (``read_feeds``); nothing else.
``Feeds`` brings the configured feeds into the table beside those added by
hand (``feeds add``), says which are due, and records how each fetch went:
a feed that fails waits longer after each failure and, after
``MAX_FAILURES`` failures in a row, is disabled with the reason.
Running the feeds is ``bot.ingest.run``'s ``Ingester``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Connection, select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.ingest.pacing import is_arxiv_host
from bot.store.db import Database, read_only
from bot.store.models import NAME_PATTERN, Feed

__all__ = [
    "MAX_FAILURES",
    "REMOVED_REASON",
    "FeedError",
    "FeedInfo",
    "Feeds",
    "arxiv_categories",
    "check_name",
    "feed_name_for",
    "read_feeds",
]

MAX_FAILURES = 5
# Waits after the 1st, 2nd, 3rd and 4th failure in a row: 1, 2, 4 and 8 hours,
# so a feed is disabled about 15 hours after it started failing, not after
# one bad afternoon. A server's Retry-After is honoured when longer.
BACKOFF_FIRST = timedelta(hours=1)
BACKOFF_MAX = timedelta(hours=24)
# A feed is due a little before its time, so an hourly job does not miss a
# retry set for "one hour after this fetch" by the seconds the fetch took.
DUE_SLACK = timedelta(minutes=5)
_ARXIV_LISTING = re.compile(r"^/(?:rss|atom)/(?P<categories>[^/]+?)/?$")
# arXiv's own titles for its listing feeds: "cs.CV updates on arXiv.org".
_ARXIV_TITLE = re.compile(r"^(?P<categories>\S+) updates on arXiv\.org$", re.IGNORECASE)
_CATEGORY = re.compile(r"^[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?$")
_GENERIC_TAIL = {"rss", "feed", "feeds", "atom", "xml", "rss2", "index", "rdf", ""}
_FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".php", ".cgi", ".aspx"}

REMOVED_REASON = (
    "removed with `digestbot feeds remove`; it stays listed because the feeds setting names it"
)

URL_LENGTH: int = Feed.__table__.c.url.type.length  # type: ignore[attr-defined]

Clock = Callable[[], datetime]


class FeedError(UserError):
    """A feed command that cannot be done; the message says what to do instead."""


def feed_name_for(url: str) -> str:
    """A short name for a feed URL: ``cs.CV`` for arXiv's cs.CV listing,
    ``biorxiv-neuroscience`` for ``connect.biorxiv.org/.../neuroscience.xml``."""
    parts = urlsplit(url)
    host = (parts.hostname or "feed").lower()
    if is_arxiv_host(host):
        listing = _ARXIV_LISTING.match(parts.path)
        if listing:
            return _safe_name(listing["categories"])
    labels = [label for label in host.split(".") if label not in ("www", "rss", "feeds", "feed")]
    if host.replace(".", "").isdigit() or ":" in host or len(labels) < 2:
        site = host  # an IP address or a single-label host: all of it
    else:
        site = labels[-2]
    segments = [s for s in parts.path.split("/") if s]
    tail = segments[-1] if segments else ""
    if Path(tail).suffix.lower() in _FEED_SUFFIXES:
        tail = Path(tail).stem
    return _safe_name(f"{site}-{tail}" if tail.lower() not in _GENERIC_TAIL else site)


def arxiv_categories(url: str, title: str = "") -> tuple[str, ...]:
    """The arXiv categories a feed lists: ``("cs.CV",)`` for rss.arxiv.org/rss/cs.CV.

    From an arXiv listing URL, else from the title arXiv gives its listing
    feeds ("cs.CV+eess.IV updates on arXiv.org"), so a mirror of the feed
    counts too. Empty for any other feed.
    """
    parts = urlsplit(url)
    listing = _ARXIV_LISTING.match(parts.path)
    found = None
    if listing and is_arxiv_host(parts.hostname or ""):
        found = listing["categories"]
    elif match := _ARXIV_TITLE.match(" ".join(title.split())):
        found = match["categories"]
    if found is None:
        return ()
    categories = tuple(dict.fromkeys(c for c in found.split("+") if c))
    return categories if categories and all(_CATEGORY.match(c) for c in categories) else ()


def _safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-._+")[:100]
    return name or "feed"


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise FeedError(
            f"Feed name {name!r} is not usable: use up to 100 letters, digits and . _ + - "
            "(starting with a letter or digit), e.g. cs.CV or biorxiv-neuro."
        )
    return name



@dataclass(frozen=True)
class FeedInfo:
    """A feed as ``feeds list`` shows it."""

    name: str
    url: str
    origin: str
    enabled: bool
    disabled_reason: str | None
    last_fetch_at: datetime | None
    last_status: str | None
    last_error: str | None
    failures: int
    next_fetch_at: datetime | None
    papers_added: int
    last_success_at: datetime | None = None
    added_at: datetime | None = None

    @classmethod
    def of(cls, feed: Feed) -> FeedInfo:
        return cls(
            name=feed.name,
            url=feed.url,
            origin=feed.origin,
            enabled=feed.enabled,
            disabled_reason=feed.disabled_reason,
            last_fetch_at=feed.last_fetch_at,
            last_status=feed.last_status,
            last_error=feed.last_error,
            failures=feed.failures,
            next_fetch_at=feed.next_fetch_at,
            papers_added=feed.papers_added,
            last_success_at=feed.last_success_at,
            added_at=feed.created_at,
        )

    @property
    def status(self) -> str:
        """One word: new, ok, unchanged, failing or disabled."""
        if not self.enabled:
            return "disabled"
        if self.failures:
            return "failing"
        return {None: "new", "304": "unchanged"}.get(self.last_status, "ok")

    @property
    def gave_up(self) -> bool:
        """Disabled by its failures (not removed by hand): wanted, but not read."""
        return not self.enabled and self.failures > 0 and self.disabled_reason != REMOVED_REASON

    def to_json(self) -> dict[str, object]:
        def stamp(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "name": self.name,
            "url": self.url,
            "origin": self.origin,
            "status": self.status,
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "last_fetch_at": stamp(self.last_fetch_at),
            "last_status": self.last_status,
            "last_error": self.last_error,
            "failures": self.failures,
            "next_fetch_at": stamp(self.next_fetch_at),
            "papers_added": self.papers_added,
        }



class Feeds:
    """The feed list in the database: the configured feeds plus those added by hand."""

    def __init__(self, db: Database, *, configured: Sequence[str], clock: Clock) -> None:
        self.db = db
        self.configured = tuple(dict.fromkeys(configured))
        self.clock = clock

    def sync(self, session: Session) -> None:
        """Bring the configured feeds into the table. A configured feed removed
        with ``feeds remove`` stays a disabled row, so it does not come back."""
        rows = {feed.url: feed for feed in session.scalars(select(Feed))}
        taken = {feed.name for feed in rows.values()}
        for url in self.configured:
            if url not in rows:
                name = _unique(feed_name_for(url), taken)
                taken.add(name)
                session.add(_new_feed(name, url, "config", self.clock()))
        session.flush()

    def _current(self) -> ColumnElement[bool]:
        return _current(self.configured)

    def all(self) -> list[FeedInfo]:
        with self.db.session() as session:
            self.sync(session)
            feeds = session.scalars(select(Feed).where(self._current()).order_by(Feed.name))
            return [FeedInfo.of(f) for f in feeds]

    def vet(self, url: str, *, name: str | None = None) -> FeedInfo | None:
        """What ``add`` would refuse, refused now, writing nothing (before a check's fetch).

        Returns the feed when ``url`` is listed and enabled already, so that
        ``add`` would change nothing; None when ``add`` would add or enable it.
        """
        _check_input(url, name)
        with self.db.session() as session:
            self.sync(session)
            existing = session.scalar(select(Feed).where(Feed.url == url))
            if existing is None:
                if name is not None and session.scalar(select(Feed.id).where(Feed.name == name)):
                    raise _name_taken(name)
                return None
            if existing.enabled and (existing.origin != "config" or url in self.configured):
                return FeedInfo.of(existing)
            return None

    def add(self, url: str, *, name: str | None = None) -> tuple[FeedInfo, str]:
        """Add a feed, or enable it again; returns it and what was done."""
        _check_input(url, name)
        with self.db.session() as session:
            self.sync(session)
            existing = session.scalar(select(Feed).where(Feed.url == url))
            if existing is not None and existing.origin == "config" and url not in self.configured:
                existing.origin = "user"  # the config dropped it; now it is the user's
                _enable(existing)
                return FeedInfo.of(existing), "added"
            if existing is not None:
                if existing.enabled:
                    return FeedInfo.of(existing), "already listed"
                _enable(existing)
                return FeedInfo.of(existing), "enabled again"
            taken = set(session.scalars(select(Feed.name)))
            if name is not None and name in taken:
                raise _name_taken(name)
            feed = _new_feed(name or _unique(feed_name_for(url), taken), url, "user", self.clock())
            session.add(feed)
            session.flush()
            return FeedInfo.of(feed), "added"

    def remove(self, name: str) -> FeedInfo:
        """Stop reading a feed; its papers stay in the catalog."""
        with self.db.session() as session:
            self.sync(session)
            feed = self._named(session, name)
            info = FeedInfo.of(feed)
            if feed.origin == "config":
                feed.enabled = False
                feed.disabled_reason = REMOVED_REASON
            else:
                session.delete(feed)
            return info

    def enable(self, name: str) -> FeedInfo:
        with self.db.session() as session:
            self.sync(session)
            feed = self._named(session, name)
            _enable(feed)
            session.flush()
            return FeedInfo.of(feed)

    def resolve(self, target: str) -> FeedInfo | None:
        """The feed named ``target`` or with that URL, if any."""
        with self.db.session() as session:
            self.sync(session)
            feed = session.scalar(
                select(Feed).where((Feed.name == target) | (Feed.url == target), self._current())
            )
            return FeedInfo.of(feed) if feed is not None else None

    def due(self) -> list[FeedInfo]:
        """The enabled feeds whose backoff, if any, is over."""
        soon = self.clock() + DUE_SLACK
        with self.db.session() as session:
            self.sync(session)
            feeds = session.scalars(
                select(Feed).where(Feed.enabled, self._current()).order_by(Feed.id)
            )
            return [
                FeedInfo.of(f) for f in feeds if f.next_fetch_at is None or f.next_fetch_at <= soon
            ]

    def validators(self, name: str) -> tuple[str | None, str | None]:
        with self.db.session() as session:
            feed = self._named(session, name)
            return feed.etag, feed.last_modified

    def succeeded(
        self,
        name: str,
        *,
        status: str,
        etag: str | None,
        last_modified: str | None,
        new: int,
        note: str | None,
        moved_to: str | None,
    ) -> bool:
        """Record a good fetch; returns whether the feed's URL was updated to ``moved_to``."""
        now = self.clock()
        with self.db.session() as session:
            feed = self._named(session, name)
            feed.last_fetch_at = feed.last_success_at = now
            feed.last_status = status
            feed.last_error = note
            feed.failures = 0
            feed.next_fetch_at = None
            feed.papers_added += new
            if status == "200" or etag or last_modified:
                feed.etag, feed.last_modified = etag, last_modified
            if not feed.enabled:
                _enable(feed)
            moved = False
            if moved_to and moved_to != feed.url and feed.origin == "user":
                if session.scalar(select(Feed.id).where(Feed.url == moved_to)) is None:
                    feed.url = moved_to
                    moved = True
            return moved

    def failed(self, name: str, reason: str, *, retry_after: float | None) -> FeedInfo:
        now = self.clock()
        with self.db.session() as session:
            feed = self._named(session, name)
            feed.last_fetch_at = now
            feed.last_status = "error"
            feed.last_error = reason
            feed.failures += 1
            delay = min(BACKOFF_FIRST * 2 ** (feed.failures - 1), BACKOFF_MAX)
            if retry_after:
                delay = max(delay, min(timedelta(seconds=retry_after), BACKOFF_MAX))
            feed.next_fetch_at = now + delay
            if feed.failures >= MAX_FAILURES and feed.enabled:
                feed.enabled = False
                feed.disabled_reason = (
                    f"{feed.failures} failures in a row, the last: {reason}. Fix the URL or "
                    f"wait for the site, then `digestbot feeds enable {feed.name}`"
                )
            session.flush()
            return FeedInfo.of(feed)

    def _named(self, session: Session, name: str) -> Feed:
        feed = session.scalar(select(Feed).where(Feed.name == name))
        if feed is None:
            known = ", ".join(session.scalars(select(Feed.name).order_by(Feed.name))) or "none yet"
            raise FeedError(f"No feed named {name!r} (feeds: {known}).")
        return feed


def _check_input(url: str, name: str | None) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedError(
            f"{url!r} is not a feed URL; give an http(s) URL such as "
            "https://rss.arxiv.org/rss/cs.CV (a local file goes to `digestbot ingest FILE`)."
        )
    if len(url) > URL_LENGTH:
        raise FeedError(f"That URL is {len(url):,} characters long; feed URLs are at most "
                        f"{URL_LENGTH:,}.")
    if name is not None:
        check_name(name)


def _name_taken(name: str) -> FeedError:
    return FeedError(
        f"A feed named {name!r} exists already; choose another --name "
        "(`digestbot feeds list` shows the names)."
    )


def read_feeds(url: str, *, configured: Collection[str], timeout: float = 5.0) -> list[FeedInfo]:
    """The feed list as ``Feeds.all`` has it, read without writing (``digestbot health``).

    The configured feeds not in the table yet are left out: the bot adds
    them when it starts. Raises ``DatabaseError`` when the database does not
    answer or has no feeds table.
    """
    def query(connection: Connection) -> list[FeedInfo]:
        with Session(connection) as session:
            feeds = session.scalars(
                select(Feed).where(_current(configured)).order_by(Feed.name)
            )
            return [FeedInfo.of(f) for f in feeds]

    return read_only(url, query, timeout=timeout)


def _current(configured: Collection[str]) -> ColumnElement[bool]:
    # A configured feed the configuration no longer lists is left alone, with
    # its state, in case it comes back (another process, another config file).
    return (Feed.origin != "config") | Feed.url.in_(tuple(configured))


def _new_feed(name: str, url: str, origin: str, now: datetime) -> Feed:
    return Feed(
        name=name, url=url, origin=origin, enabled=True, failures=0, papers_added=0, created_at=now
    )


def _enable(feed: Feed) -> None:
    feed.enabled = True
    feed.disabled_reason = None
    feed.failures = 0
    feed.next_fetch_at = None


def _unique(name: str, taken: Collection[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        suffix = f"-{number}"
        candidate, number = name[: 100 - len(suffix)] + suffix, number + 1
    return candidate

