"""What the fetch tests share: a Fetcher with test-sized limits, and the error a fetch fails with.

Every fetch crosses a real socket to the fake feed host
(tests/fakes/feed_server.py). Timeouts are a fraction of a second, so the
slow-server cases stay fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ingest.fetch import Fetcher, FetchError
from bot.ingest.pacing import HostPacer

__all__ = [
    "ANNOUNCE",
    "FEEDS",
    "KB64",
    "LAST_MODIFIED",
    "failure",
    "fetcher",
]

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
