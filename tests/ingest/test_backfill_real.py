"""Real arXiv API responses: the parser reads every entry, and a backfill pages through them.

The responses live outside the repository, in ``../shared/real-data/arxiv_feeds/api_atom/``
(see its MANIFEST.md): the arxiv.py maintainers' recordings of the live API
(100 entries of the current format, and six consecutive pages of 10), an
app's cached response, and a 2016 page of the old format. The tests skip
when the directory is absent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.ingest.backfill import total_results
from bot.ingest.feeds import parse_feed
from tests.ingest.backfill_helpers import (
    api_fixture,  # noqa: F401  (registers the api fixture)
    cli_fixture,  # noqa: F401  (registers the cli fixture)
    clock_fixture,  # noqa: F401  (registers the clock fixture)
)

REPO = Path(__file__).resolve().parents[2]
REAL = REPO.parent / "shared" / "real-data" / "arxiv_feeds" / "api_atom"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"no real API responses in {REAL}")

_ENTRY_ID = re.compile(r"<entry>\s*<id>https?://arxiv\.org/abs/(?P<id>[^<]+?)v(?P<v>\d+)</id>")


def body(path: Path) -> bytes:
    """A response's body: the file itself, or the ``body`` of a recorded ``{url, body}``."""
    if path.suffix == ".json":
        return str(json.loads(path.read_text("utf-8"))["body"]).encode("utf-8")
    return path.read_bytes()


def responses() -> list[Path]:
    if not REAL.is_dir():
        return []
    return sorted(p for p in REAL.rglob("*") if p.suffix in (".xml", ".json"))


def pages() -> dict[int, bytes]:
    found = {}
    for path in sorted((REAL / "arxiv.py_pagination").glob("q_testing_s*_m10_*.json")):
        start = int(re.search(r"_s(\d+)_", path.name)[1])  # type: ignore[index]
        found[start] = body(path)
    return found


@pytest.mark.parametrize("path", responses(), ids=lambda p: str(p.relative_to(REAL)))
def test_every_entry_of_a_real_response_becomes_a_paper(path: Path) -> None:
    data = body(path)
    expected = [(m["id"], int(m["v"])) for m in _ENTRY_ID.finditer(data.decode("utf-8"))]
    assert expected, "each response holds entries"

    parsed = parse_feed(data, source="http://export.arxiv.org/api/query")

    assert parsed.error is None and parsed.malformed is None
    assert parsed.skipped == ()
    assert [(r.id, r.version) for r in parsed.records] == expected
    for record in parsed.records:
        assert record.title and record.authors and record.categories and record.published
        assert record.url == f"https://arxiv.org/abs/{record.id}"
    assert total_results(data) is not None


def test_a_backfill_pages_through_real_responses_until_they_end(cli, api) -> None:
    recorded = pages()
    assert sorted(recorded) == [0, 10, 20, 30, 40, 50]
    api.serve_recorded(recorded)
    ids = {m["id"] for page in recorded.values() for m in _ENTRY_ID.finditer(page.decode())}

    code, out, err = cli("backfill", "--days", "2", "--category", "cs.CV")

    # The real total (214,881) promises more after start=60; the fake has no more pages,
    # as the real API sometimes answers: asked again twice, then taken as the end.
    assert code == 0, err
    assert out.splitlines() == [f"cs.CV: 1 day, 60 papers ({len(ids)} new), 9 requests"]
    assert [q.start for q in api.queries()] == [0, 10, 20, 30, 40, 50, 60, 60, 60]
    assert min(api.gaps()) >= 3.0
    code, out, err = cli("show", "2202.12139", "--json")  # the first paper of the first page
    assert code == 0, err
    assert json.loads(out)["title"].startswith("Testing Deep Learning Models")
    stored = cli("search", "testing", "--json", "--limit", "100")[1]
    assert len(json.loads(stored)) == len(ids)


def test_the_recorded_pages_announce_the_real_total() -> None:
    assert {total_results(page) for page in pages().values()} == {214881}
