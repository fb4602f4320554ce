"""Search on a real SQLite catalog and an on-disk index: what each query finds, and in which order."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings

from bot.model.papers import PaperRecord
from bot.search.index import SearchIndex
from bot.search.query import QueryError, parse_query
from bot.search.rank import MAX_LIMIT, SearchResults, compile_query, search, search_ids
from bot.store.db import Database
from tests.conftest import store
from tests.search.test_query import HOSTILE, QUERY_TEXT


def paper(pid: str, title: str, abstract: str, *, authors: tuple[str, ...] = ("A. Nonymous",),
          categories: tuple[str, ...] = ("cs.LG",), published: date | None = date(2020, 1, 1),
          **extra: object) -> PaperRecord:
    return PaperRecord(id=pid, title=title, abstract=abstract, authors=authors,
                       categories=categories, published=published, **extra)  # type: ignore[arg-type]


# Each paper is here for one or two assertions below; words are chosen so that
# every query's set of matches is known exactly.
CORPUS = [
    paper("breast", "Breast MRI segmentation with deep networks",
          "Tumour outlines in dynamic contrast enhanced scans.",
          authors=("Luyang Luo", "Hao Chen"), categories=("eess.IV", "cs.CV"),
          published=date(2024, 3, 1), has_code=True),
    paper("prostate", "Prostate MRI lesion detection",
          "A detector for prostate cancer.", authors=("Anna Schmidt",),
          categories=("cs.CV",), published=date(2023, 6, 10)),
    paper("lowdose", "Low-dose CT denoising with diffusion models",
          "Cleaner computed tomography at lower radiation.",
          authors=("Jürgen Müller", "Wei Wang"), categories=("eess.IV",),
          published=date(2024, 7, 15), code_urls=("https://github.com/example/lowdose",)),
    paper("doselow", "High dose low noise photon counting",
          "Detector physics for spectral tomography.", authors=("Sara Lind",),
          categories=("physics.med-ph",), published=date(2022, 2, 2)),
    paper("crossauth", "Federated learning across hospitals",
          "Privacy for clinical sites.", authors=("Xi Luyang", "Luo Bin"),
          published=date(2021, 5, 5)),
    paper("retina-title", "Retinal vessel tracing with transformers",
          "Vessel maps from fundus photographs.", published=date(2021, 1, 1)),
    paper("retina-abs", "Fundus photograph quality grading",
          "We grade retinal image quality for screening.", published=date(2025, 1, 1)),
    paper("mol-1", "Graph networks for molecules", "Message passing on molecular graphs.",
          published=date(2022, 1, 1)),
    paper("mol-2", "Graph networks for molecules", "Message passing on molecular graphs.",
          published=date(2023, 1, 1)),
    paper("segment", "Segment anything in microscopy", "Promptable masks for cells.",
          categories=("cs.CV",), published=date(2024, 1, 1)),
    paper("unet", "3D-UNet for liver tumours", "Volumetric networks for the liver.",
          published=date(2024, 12, 31)),
    paper("undated", "Survey of active learning", "Choosing which labels to buy.",
          categories=("cs.CV",), published=None),
]
ALL_IDS = {p.id for p in CORPUS}


@pytest.fixture
def corpus(db: Database, index: SearchIndex) -> tuple[Database, SearchIndex]:
    store(db, index, CORPUS)
    return db, index


def run(corpus: tuple[Database, SearchIndex], text: str, *, limit: int = 20) -> SearchResults:
    db, index = corpus
    with db.session() as session:
        return search(session, index, text, limit=limit)


def ids(corpus: tuple[Database, SearchIndex], text: str, *, limit: int = 20) -> list[str]:
    return [hit.paper.id for hit in run(corpus, text, limit=limit).hits]


def found(corpus: tuple[Database, SearchIndex], text: str) -> set[str]:
    return set(ids(corpus, text))


def test_words_all_must_match(corpus) -> None:
    assert found(corpus, "mri") == {"breast", "prostate"}
    assert found(corpus, "breast mri") == {"breast"}
    assert found(corpus, "breast cancer") == set()


def test_stemming(corpus) -> None:
    assert found(corpus, "segmentation") == {"breast", "segment"}
    assert found(corpus, "molecule") == {"mol-1", "mol-2"}


@pytest.mark.parametrize("text", ["muller", "Müller", "MÜLLER", "mueller muller", "author:MULLER"])
def test_case_and_accent_insensitive(corpus, text: str) -> None:
    expected = set() if text.startswith("mueller") else {"lowdose"}
    assert found(corpus, text) == expected


# The same words as typed on a keyboard that composes accents and on one that
# sends a letter and then its combining accent, which for "m̀" is the only way:
# Unicode has no precomposed m with a grave.
COMPOSED = ["mrì", "Müller", "Ðurić", "Ελληνικά", "naïve"]
DECOMPOSED = ["m\u0300ri", "Mu\u0308ller", "Ðuric\u0301", "Ελληνικα\u0301", "nai\u0308ve"]


@pytest.mark.parametrize("composed,decomposed", list(zip(COMPOSED, DECOMPOSED)))
def test_combining_accents_match_like_composed_ones(db, index, composed: str,
                                                    decomposed: str) -> None:
    store(db, index, [
        paper("typed-composed", f"A study of {composed} scans", "Composed."),
        paper("typed-decomposed", f"A study of {decomposed} scans", "Decomposed."),
    ])
    both = {"typed-composed", "typed-decomposed"}
    for text in (composed, decomposed, composed.upper(), f'"study of {decomposed} scans"'):
        assert found((db, index), text) == both, text


def test_title_match_outranks_abstract_only_match(corpus) -> None:
    # The abstract-only paper is newer, so recency alone would put it first.
    assert ids(corpus, "retinal") == ["retina-title", "retina-abs"]


def test_recency_breaks_ties(corpus) -> None:
    hits = run(corpus, "molecules").hits
    assert [h.paper.id for h in hits] == ["mol-2", "mol-1"]
    assert hits[0].score == pytest.approx(hits[1].score)


def test_exclusion(corpus) -> None:
    assert found(corpus, "mri -prostate") == {"breast"}
    assert found(corpus, "mri NOT prostate") == {"breast"}
    assert found(corpus, 'mri -"breast mri"') == {"prostate"}
    assert found(corpus, "mri -author:schmidt") == {"breast"}
    assert found(corpus, "mri -cat:IV") == {"prostate"}


def test_only_exclusions_match_everything_else_newest_first(corpus) -> None:
    result = ids(corpus, "-mri -tomography")
    assert set(result) == ALL_IDS - {"breast", "prostate", "lowdose", "doselow"}
    assert result[0] == "retina-abs" and result[-1] == "undated"


def test_or(corpus) -> None:
    assert found(corpus, "breast OR prostate") == {"breast", "prostate"}
    # OR binds tighter: (breast OR prostate) AND detection.
    assert found(corpus, "breast OR prostate detection") == {"prostate"}
    assert found(corpus, "molecules OR has:code") == {"mol-1", "mol-2", "breast", "lowdose"}


def test_phrases_need_adjacent_words_in_order(corpus) -> None:
    assert found(corpus, '"breast mri"') == {"breast"}
    assert found(corpus, '"mri breast"') == set()
    assert found(corpus, '"low dose"') == {"lowdose"}
    assert found(corpus, '"dose low"') == {"doselow"}
    assert found(corpus, "low dose") == {"lowdose", "doselow"}


def test_phrases_keep_the_gaps_of_stop_words(corpus) -> None:
    # Stop words are not indexed, but their places are: the phrase still
    # needs the words in those places.
    assert found(corpus, '"segment anything in microscopy"') == {"segment"}
    assert found(corpus, '"segment anything microscopy"') == set()
    assert found(corpus, '"anything of microscopy"') == {"segment"}
    assert found(corpus, '"graph networks for molecules"') == {"mol-1", "mol-2"}
    assert found(corpus, "graph for the molecules") == {"mol-1", "mol-2"}


def test_punctuated_words_are_phrases(corpus) -> None:
    assert found(corpus, "low-dose") == {"lowdose"}
    assert found(corpus, "3D-UNet") == {"unet"}
    assert found(corpus, "unet-3d") == set()


def test_author(corpus) -> None:
    assert found(corpus, "author:luo") == {"breast", "crossauth"}
    assert found(corpus, 'author:"Luyang Luo"') == {"breast"}
    # "Xi Luyang", "Luo Bin": the phrase must not run from one author into the next.
    assert found(corpus, 'author:"luyang luo"') == {"breast"}
    assert found(corpus, 'author:"Luo Luyang"') == set()


def test_bare_words_match_authors_too(corpus) -> None:
    assert found(corpus, "schmidt") == {"prostate"}


def test_category(corpus) -> None:
    cv = {"breast", "prostate", "segment", "undated"}
    assert found(corpus, "cat:cs.CV") == cv
    assert found(corpus, "cat:CV") == cv
    assert found(corpus, "cat:cv") == cv
    assert found(corpus, "cat:IV") == {"breast", "lowdose"}
    assert found(corpus, "cat:MP") == {"doselow"}
    assert found(corpus, "cat:CV OR cat:IV mri") == {"breast", "prostate"}


def test_dates_after_is_inclusive_before_is_strict(corpus) -> None:
    assert found(corpus, "after:2024-03-01") == {"breast", "lowdose", "unet", "retina-abs"}
    assert found(corpus, "before:2024-03-01 after:2024") == {"segment"}
    assert found(corpus, "after:2024-03 before:2024-07-15") == {"breast"}
    assert found(corpus, "after:2024-03 before:2024-07-16") == {"breast", "lowdose"}
    assert found(corpus, "before:2021") == set()
    assert "undated" not in found(corpus, "before:2100")


def test_has_code(corpus) -> None:
    # One paper says so itself, the other only through its code link.
    assert ids(corpus, "has:code") == ["lowdose", "breast"]
    assert found(corpus, "mri -has:code") == {"prostate"}


def test_filters_do_not_change_scores(corpus) -> None:
    plain = run(corpus, "networks").hits
    filtered = run(corpus, "networks has:code cat:CV after:2000 author:luo").hits
    assert [h.paper.id for h in filtered] == ["breast"]
    assert filtered[0].score == pytest.approx({h.paper.id: h.score for h in plain}["breast"])


def test_filter_only_query_lists_newest_first(corpus) -> None:
    result = run(corpus, "cat:CV")
    assert [h.paper.id for h in result.hits] == ["breast", "segment", "prostate", "undated"]
    assert all(h.score == 0.0 for h in result.hits)


def test_prefix(corpus) -> None:
    assert found(corpus, "segm*") == {"breast", "segment"}
    assert found(corpus, "segmentation*") == {"breast", "segment"}
    assert found(corpus, "diffus*") == {"lowdose"}
    assert found(corpus, "müll*") == {"lowdose"}
    assert found(corpus, "zzz*") == set()


def test_prefix_expansion_without_a_searcher(corpus) -> None:
    db, index = corpus
    query = compile_query(parse_query("tomog*"), index.schema)
    assert len(index.searcher().search(query, limit=10).hits) == 2


def test_limit(corpus) -> None:
    assert len(ids(corpus, "-zzz", limit=3)) == 3
    for bad in (0, -1, MAX_LIMIT + 1):
        with pytest.raises(QueryError, match=f"Ask for 1 to {MAX_LIMIT} results"):
            run(corpus, "mri", limit=bad)


def test_results_carry_the_parsed_query(corpus) -> None:
    result = run(corpus, '"Breast MRI"  has:code')
    assert str(result.query) == '"breast mri" has:code'
    assert [h.paper.id for h in result.hits] == ["breast"]
    assert result.hits[0].paper.title == "Breast MRI segmentation with deep networks"


def test_papers_gone_from_the_catalog_are_skipped(corpus) -> None:
    db, index = corpus
    ghost = paper("ghost", "Breast MRI ghost", "Indexed, never catalogued.")
    with index.writer() as writer:
        writer.add([ghost])
        writer.commit(index.revision)
    assert "ghost" in {i for i, _ in search_ids(index, parse_query("breast mri"), limit=5)}
    assert found(corpus, "breast mri") == {"breast"}


def test_search_ids_on_an_in_memory_index() -> None:
    index = SearchIndex.in_memory()
    with index.writer() as writer:
        writer.add(CORPUS)
        writer.commit(1)
    assert search_ids(index, parse_query("breast OR prostate"), limit=10)[0][0] in {"breast", "prostate"}
    assert [i for i, _ in search_ids(index, parse_query("molecules"), limit=1)] == ["mol-2"]
    with pytest.raises(QueryError):
        search_ids(index, parse_query("mri"), limit=0)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_queries_give_results_or_query_error(corpus, text: str) -> None:
    try:
        result = run(corpus, text)
    except QueryError as exc:
        assert len(str(exc).splitlines()) == 1
    else:
        assert {h.paper.id for h in result.hits} <= ALL_IDS


def test_sql_fragment_is_searched_as_words(corpus) -> None:
    db, _ = corpus
    assert ids(corpus, "'; DROP TABLE papers; --") == []
    assert len(ids(corpus, "-zzz")) == len(CORPUS)  # the table is still there


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=QUERY_TEXT)
def test_search_never_raises_anything_but_query_error(corpus, text: str) -> None:
    try:
        result = run(corpus, text)
    except QueryError:
        return
    assert {h.paper.id for h in result.hits} <= ALL_IDS


def test_prefix_keeps_the_most_common_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.search.rank.PREFIX_EXPANSIONS", 1)
    index = SearchIndex.in_memory()
    with index.writer() as writer:
        writer.add([paper(f"heart{i}", f"Cardiac imaging {i}", "") for i in range(3)])
        writer.add([paper("rare", "Cardigan knitting", ""), paper("a", "Acardia", "")])
        writer.commit(1)
    assert {i for i, _ in search_ids(index, parse_query("card*"), limit=10)} == {"heart0", "heart1", "heart2"}
