"""The search index follows the catalog: caught up, rebuilt, never duplicated."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.chat.service import Service
from bot.model.papers import PaperRecord
from bot.search.index import STATE_FILE, SearchIndex, catch_up
from bot.store.catalog import upsert_papers


def paper(n: int, title: str = "Breast MRI segmentation") -> PaperRecord:
    return PaperRecord(
        id=f"2401.{n:05d}", title=f"{title} {n}", authors=("Ann Lee",), published=date(2024, 1, 1)
    )


def ids(service: Service, text: str) -> list[str]:
    return [hit.paper.id for hit in service.catalog.search(text, limit=50).hits]


def test_paper_committed_without_index_is_found_by_the_next_search(db, index) -> None:
    service = Service(db=db, index=index)
    service.catalog.import_records([paper(1)])
    # A write that reached the database but not the index (a crash between).
    with db.session() as session:
        upsert_papers(session, [paper(2)], now=datetime.now(UTC))
    assert sorted(ids(service, "segmentation")) == ["2401.00001", "2401.00002"]
    assert index.num_docs == 2


def test_updated_paper_replaces_its_old_copy(db, index) -> None:
    service = Service(db=db, index=index)
    service.catalog.import_records([paper(1)])
    service.catalog.import_records([paper(1, title="Prostate CT")])
    assert ids(service, "prostate") == ["2401.00001"]
    assert ids(service, "breast") == []
    assert index.num_docs == 1


def test_interrupted_import_is_finished_by_the_next_catch_up(db, index) -> None:
    service = Service(db=db, index=index)

    def records():
        for n in range(25):
            yield paper(n)
        raise RuntimeError("killed mid-import")

    with pytest.raises(RuntimeError):
        service.catalog.import_records(records(), batch_size=10)
    # Two batches reached the database; the index committed nothing.
    assert index.num_docs == 0
    assert len(ids(service, "segmentation")) == 20
    service.catalog.import_records(paper(n) for n in range(25))
    assert len(ids(service, "segmentation")) == 25
    assert index.num_docs == 25


def test_two_processes_share_one_index_without_duplicates(db, tmp_path: Path) -> None:
    first = Service(db=db, index=SearchIndex.open(tmp_path / "ix", catalog_id=db.catalog_id))
    second = Service(db=db, index=SearchIndex.open(tmp_path / "ix", catalog_id=db.catalog_id))
    first.catalog.import_records([paper(1), paper(2)])
    assert sorted(ids(second, "breast")) == ["2401.00001", "2401.00002"]
    second.catalog.import_records([paper(3)])
    assert len(ids(first, "breast")) == 3
    assert first.index.num_docs == 3


def test_each_process_keeps_its_own_index_caught_up_from_the_database(
    db, tmp_path: Path
) -> None:
    """Bot processes sharing one database (PostgreSQL in production), each with its index."""
    first = Service(db=db, index=SearchIndex.open(tmp_path / "a", catalog_id=db.catalog_id))
    second = Service(db=db, index=SearchIndex.open(tmp_path / "b", catalog_id=db.catalog_id))
    first.catalog.import_records([paper(1), paper(2)])
    assert sorted(ids(second, "breast")) == ["2401.00001", "2401.00002"]
    second.catalog.import_records([paper(2, title="Prostate CT"), paper(3)])
    assert sorted(ids(first, "breast")) == ["2401.00001", "2401.00003"]
    assert ids(first, "prostate") == ["2401.00002"]
    assert first.index.num_docs == second.index.num_docs == 3


def test_search_answers_while_another_process_writes(db, tmp_path: Path) -> None:
    writer_side = SearchIndex.open(tmp_path / "ix", catalog_id=db.catalog_id)
    reader = Service(db=db, index=SearchIndex.open(tmp_path / "ix", catalog_id=db.catalog_id))
    reader.catalog.import_records([paper(1)])
    with db.session() as session:
        upsert_papers(session, [paper(2)], now=datetime.now(UTC))
    with writer_side.writer():
        # The writer is taken: the search answers from the index as it stands.
        assert ids(reader, "breast") == ["2401.00001"]
    assert len(ids(reader, "breast")) == 2


def test_index_of_another_catalog_is_rebuilt(db, tmp_path: Path) -> None:
    path = tmp_path / "ix"
    foreign = SearchIndex.open(path, catalog_id="someone-else")
    with foreign.writer() as writer:
        writer.add([paper(9, title="Foreign")])
        writer.commit(7)
    index = SearchIndex.open(path, catalog_id=db.catalog_id)
    assert index.num_docs == 0 and index.revision == 0
    Service(db=db, index=index).catalog.import_records([paper(1)])
    assert index.num_docs == 1


def test_index_of_an_older_schema_is_rebuilt(db, tmp_path: Path) -> None:
    path = tmp_path / "ix"
    service = Service(db=db, index=SearchIndex.open(path, catalog_id=db.catalog_id))
    service.catalog.import_records([paper(1)])
    state = json.loads((path / STATE_FILE).read_text())
    (path / STATE_FILE).write_text(json.dumps(dict(state, schema=0)))
    reopened = SearchIndex.open(path, catalog_id=db.catalog_id)
    assert reopened.num_docs == 0
    with db.session() as session:
        assert catch_up(session, reopened) == 1
    assert reopened.num_docs == 1


def test_reindex_rebuilds_everything(db, index) -> None:
    service = Service(db=db, index=index)
    service.catalog.import_records(paper(n) for n in range(30))
    assert service.catalog.reindex() == 30
    assert index.num_docs == 30
    assert len(ids(service, "segmentation")) == 30
