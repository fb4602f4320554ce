"""The feed parser on generic RSS 1.0, RSS 2.0 and Atom feeds, and what HTTP headers tell it."""

from __future__ import annotations

import re
from datetime import date

from bot.ingest.identity import paper_id_for
from bot.ingest.identity import paper_id_for as feed_paper_id
from bot.model.papers import PaperRecord
from tests.ingest.feed_helpers import FEB_12, assert_record, parse


def test_biorxiv_rss10_with_dois_and_html() -> None:
    feed = parse("generic-biorxiv-rss10.xml", source="biorxiv")
    assert (feed.ok, feed.format, feed.seen, feed.skipped) == (True, "rss10", 2, ())
    first, second = feed.records
    assert_record(
        first,
        PaperRecord(
            id="doi:10.1101/2024.02.10.579001",
            title="Deep learning of cell morphology",
            authors=("J. Smith", "A. B. Jones", "C.-D. van der Berg"),
            abstract=(
                "Cells & tissues change shape under H2O stress <in vitro>. We train a "
                "café-sized model. Code: https://github.com/cellab/morpho."
            ),
            published=date(2024, 2, 13),
            url="http://biorxiv.org/cgi/content/short/2024.02.10.579001v1?rss=1",
            code_urls=("https://github.com/cellab/morpho",),
            has_code=True,
            source="biorxiv",
            extra={"doi": "10.1101/2024.02.10.579001"},
        ),
    )
    assert_record(
        second,
        PaperRecord(
            id="doi:10.1101/2024.02.11.579123",
            title="Protein language models for enzyme kinetics",
            authors=("Y. Okafor",),
            abstract="We predict kcat from sequence.",
            published=date(2024, 2, 14),
            url="http://biorxiv.org/cgi/content/short/2024.02.11.579123v1?rss=1",
            source="biorxiv",
            extra={"doi": "10.1101/2024.02.11.579123"},
        ),
    )
    assert [e.announce for e in feed.entries] == [None, None]


def test_journal_rss20() -> None:
    feed = parse("generic-journal-rss20.xml", source="ryai")
    assert (feed.ok, feed.malformed, feed.seen, len(feed.records)) == (True, None, 6, 5)
    doi_link, doi_only, link_only, guid_only, from_arxiv = feed.records
    assert_record(
        doi_link,
        PaperRecord(
            id="doi:10.1148/ryai.230001",
            title="Deep Learning Triage of Head CT",
            authors=("Maria Garcia",),
            abstract="Results & methods for triage.",
            categories=("Radiology", "Artificial Intelligence"),
            published=date(2024, 2, 13),
            url="https://journal.example.org/doi/10.1148/ryai.230001",
            source="ryai",
            extra={"doi": "10.1148/ryai.230001"},
        ),
    )
    assert_record(
        doi_only,
        PaperRecord(
            id="doi:10.1148/ryai.230002",
            title="External Validation of a Mammography Model",
            abstract="A multicenter study.",
            published=date(2024, 2, 13),
            url="https://doi.org/10.1148/RYAI.230002",
            source="ryai",
            extra={"doi": "10.1148/ryai.230002"},
        ),
    )
    clean_link = "https://journal.example.org/article/77"
    assert_record(
        link_only,
        PaperRecord(
            id=feed_paper_id(title="any", url=clean_link),
            title="Editorial: Foundation Models in the Clinic",
            abstract="An editorial.",
            published=date(2024, 2, 13),  # 08:00 at +0900, the 12th in UTC
            url=clean_link,
            source="ryai",
        ),
    )
    assert re.fullmatch(r"u[0-9a-f]{16}", link_only.id)
    assert_record(
        guid_only,
        PaperRecord(
            id=paper_id_for(title="Erratum: Triage of Head CT"),
            title="Erratum: Triage of Head CT",
            abstract="Corrects a table.",
            source="ryai",
        ),
    )
    assert_record(
        from_arxiv,
        PaperRecord(
            id="2402.10001",
            version=1,
            title="SegNet-X: Promptable Segmentation of Breast MRI",
            abstract="Preprint highlighted by the editors.",
            published=date(2024, 2, 14),
            url="https://arxiv.org/abs/2402.10001",
            source="ryai",
        ),
    )
    # One paper, whichever feed brings it.
    assert from_arxiv.id == parse("arxiv-rss-announce.xml").records[0].id
    [skipped] = feed.skipped
    assert (skipped.position, skipped.reason) == (5, "no id, link or DOI; skipped")
    assert str(skipped) == (
        "entry 5 (title 'An entry with nothing to identify it'): no id, link or DOI; skipped"
    )


def test_journal_atom10() -> None:
    feed = parse("generic-journal-atom10.xml", source="natmed")
    assert (feed.ok, feed.format, feed.seen, feed.skipped) == (True, "atom10", 2, ())
    first, second = feed.records
    assert_record(
        first,
        PaperRecord(
            id="doi:10.1038/s41591-024-00001-x",
            title="AI-supported breast cancer screening",
            authors=("Yuki Nakamura", "Lars Eriksson"),
            abstract="Screening with AI halves reading time & keeps sensitivity.",
            categories=("Oncology",),
            published=FEB_12,
            url="https://journal.example.org/articles/s41591-024-00001-x",
            source="natmed",
            extra={"doi": "10.1038/s41591-024-00001-x"},
        ),
    )
    assert_record(
        second,
        PaperRecord(
            id=feed_paper_id(title="any", url="https://journal.example.org/articles/88"),
            title="Federated learning across hospitals",
            authors=("Amina Diallo",),
            abstract="Text in bold and a list: one two",
            published=date(2024, 2, 10),
            url="https://journal.example.org/articles/88",
            source="natmed",
        ),
    )
    assert feed.entries[1].entry_id == "tag:journal.example.org,2024:article-88"


def test_headers_give_the_charset_and_the_base_of_relative_links() -> None:
    headers = {
        "content-TYPE": "application/rss+xml; charset=ISO-8859-1",
        "Content-Location": "https://revue.example.fr/flux.xml",
    }
    feed = parse("generic-latin1-rss20.xml", source="revue", headers=headers)
    assert (feed.ok, feed.malformed, feed.skipped) == (True, None, ())
    assert_record(
        feed.records[0],
        PaperRecord(
            id=feed_paper_id(title="any", url="https://revue.example.fr/articles/12"),
            title="Réseaux de neurones pour l'IRM",
            authors=("François Müller",),
            abstract="Étude préliminaire.",
            published=date(2024, 2, 15),
            url="https://revue.example.fr/articles/12",
            source="revue",
        ),
    )


def test_a_feed_served_as_html_is_still_a_clean_feed() -> None:
    plain = parse("arxiv-rss-announce.xml")
    served = parse("arxiv-rss-announce.xml", headers={"Content-Type": "text/html; charset=utf-8"})
    assert (served.ok, served.malformed) == (True, None)
    assert served.records == plain.records
