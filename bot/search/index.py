"""The full-text search index: a tantivy index on disk, derived from the catalog.

This module owns the index directory (``<data dir>/index``). The database
stays the truth: the index remembers the newest catalog revision it holds
(``state.json``, written after each index commit) and ``catch_up`` adds what
the catalog wrote since, so a crash between a database commit and an index
commit loses nothing. A missing, foreign or outdated index is rebuilt from
the catalog.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import tantivy
from sqlalchemy.orm import Session

try:
    import fcntl
except ImportError:  # not on Windows: there two processes must not make one index at once
    fcntl = None  # type: ignore[assignment]

from bot.errors import UserError
from bot.model.papers import PaperRecord
from bot.store.catalog import current_revision, iter_papers

__all__ = [
    "MAX_WORD_CHARS",
    "IndexBusyError",
    "SearchIndex",
    "catch_up",
    "day_number",
    "name_terms",
    "normalize",
    "text_phrase",
    "text_terms",
    "too_long",
]

log = logging.getLogger(__name__)

# Bump when the schema or the analyzers change: older indexes are rebuilt.
SCHEMA_VERSION = 4
TEXT_ANALYZER = "digest_text"
NAME_ANALYZER = "digest_name"
STATE_FILE = "state.json"
_EPOCH = date(1970, 1, 1)


class IndexBusyError(UserError):
    """Another process is writing the index."""


# The combining marks of the blocks shared by the Latin, Greek and Cyrillic
# scripts: accents. Other scripts' marks (Devanagari vowel signs, Thai tone
# marks) are letters of their words and stay.
_ACCENTS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Chinese and Japanese write words without spaces between them, so a title
# would be one token. Each Han ideograph and each hiragana is a word of its
# own instead (as Lucene's standard tokenizer has it); a word of several is
# then a phrase of its characters, found wherever they stand side by side.
_OWN_WORD = re.compile(r"([\u3040-\u309f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff])")
# Longer tokens are noise (hashes, base64). tantivy's limit is in bytes and
# keeps the tokens shorter than it; four bytes a character is the most UTF-8
# takes, so a word of up to this many characters is indexed in any script.
MAX_WORD_CHARS = 40
_MAX_WORD_BYTES = 4 * MAX_WORD_CHARS + 1


def normalize(text: str) -> str:
    """``text`` as the analyzers see it: NFKC, no combining accent left over,
    and each Han ideograph and hiragana a word of its own.

    The tokenizer splits words at a combining mark, so "m" and a combining
    grave (Unicode has no precomposed m with a grave) would make "m̀ri" two
    words. NFKC composes the accents that have a composed form ("u" and a
    combining diaeresis become "ü", which the analyzers fold to "u"); the
    accents that remain are dropped, as folding would drop them. Indexed
    text and query text both pass through here.
    """
    if text.isascii():  # the common case, and much cheaper
        return text
    text = _ACCENTS.sub("", unicodedata.normalize("NFKC", text))
    return _OWN_WORD.sub(r" \1 ", text)


def too_long(text: str) -> bool:
    """Whether a word of ``text`` is too long for the index to hold."""
    return any(len(w.encode("utf-8")) >= _MAX_WORD_BYTES for w in _WORDS.analyze(normalize(text)))


def _text_analyzer() -> tantivy.TextAnalyzer:
    # Words, lowercased, accents folded ("Müller" -> "muller"), English stems
    # ("segmentation" -> "segment"); overlong tokens go (``MAX_WORD_CHARS``).
    # English stop words ("the", "of") are dropped: they are in nearly every
    # abstract, so they cannot rank anything, and a phrase made of them made
    # tantivy check positions in most of the catalog. The other words keep
    # their positions, so phrases still match across the gaps.
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(_MAX_WORD_BYTES))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _name_analyzer() -> tantivy.TextAnalyzer:
    # Names are folded but never stemmed: "Wang" must not match "Wan".
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(_MAX_WORD_BYTES))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


_TEXT = _text_analyzer()
_NAMES = _name_analyzer()
# The tokenizer's own words, dropping none: their positions are the
# positions the index records.
_WORDS = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).build()


def text_terms(text: str) -> list[str]:
    """The index terms of ``text`` in title and abstract fields."""
    return list(_TEXT.analyze(normalize(text)))


def text_phrase(text: str) -> list[tuple[int, str]]:
    """(position, term) pairs of ``text`` as the title and abstract fields hold them.

    Stop words leave gaps, so "segmentation of images" is ``[(0, "segment"),
    (2, "imag")]`` and matches only that phrase, not "segmentation images".
    """
    pairs = []
    for position, word in enumerate(_WORDS.analyze(normalize(text))):
        terms = _TEXT.analyze(word)
        if terms:
            pairs.append((position, terms[0]))
    if pairs and pairs[0][0]:
        first = pairs[0][0]
        pairs = [(position - first, term) for position, term in pairs]
    return pairs


def text_words(text: str) -> list[tuple[str, str]]:
    """(word as written, index term) for each word of ``text`` that is indexed."""
    pairs = []
    for word in _WORDS.analyze(normalize(text)):
        terms = _TEXT.analyze(word)
        if terms:
            pairs.append((word, terms[0]))
    return pairs


def name_terms(text: str) -> list[str]:
    """The index terms of ``text`` in the authors field."""
    return list(_NAMES.analyze(normalize(text)))


def day_number(day: date) -> int:
    return (day - _EPOCH).days


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", tokenizer_name=TEXT_ANALYZER)
    builder.add_text_field("abstract", tokenizer_name=TEXT_ANALYZER)
    builder.add_text_field("authors", tokenizer_name=NAME_ANALYZER)
    # Lowercased arXiv names ("cs.cv"), one value per category.
    builder.add_text_field("category", tokenizer_name="raw")
    builder.add_unsigned_field("has_code", indexed=True)
    # Publication day as days since 1970: date filters and recency order.
    builder.add_integer_field("day", indexed=True, fast=True)
    return builder.build()


def _document(record: PaperRecord) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_text("id", record.id)
    doc.add_text("title", normalize(record.title))
    if record.abstract:
        doc.add_text("abstract", normalize(record.abstract))
    for author in record.authors:
        doc.add_text("authors", normalize(author))
    for category in record.categories:
        doc.add_text("category", category.lower())
    doc.add_unsigned("has_code", 1 if record.has_code or record.code_urls else 0)
    if record.published is not None:
        doc.add_integer("day", day_number(record.published))
    return doc


@dataclass(frozen=True)
class _State:
    catalog_id: str
    revision: int


class IndexWriter:
    """Adds papers; ``commit`` makes them searchable and records the revision."""

    def __init__(self, owner: SearchIndex, writer: tantivy.IndexWriter) -> None:
        self._owner = owner
        self._writer = writer

    def add(self, records: Iterable[PaperRecord], *, replace: bool = True) -> int:
        """Index ``records``; with ``replace`` an earlier copy of each is removed."""
        count = 0
        for record in records:
            if replace:
                self._writer.delete_documents_by_term("id", record.id)
            self._writer.add_document(_document(record))
            count += 1
        return count

    def delete_all(self) -> None:
        self._writer.delete_all_documents()

    def catch_up(
        self,
        session: Session,
        *,
        skip_revisions: Collection[int] = (),
        progress: Progress | None = None,
    ) -> tuple[int, int]:
        """Add the papers written since the index's revision, except ``skip_revisions``.

        Returns (papers added, the revision to ``commit``). The committed
        catalog revision is read first and papers are taken up to it, so a
        write that commits meanwhile is picked up next time.
        """
        target = current_revision(session)
        start = self._owner.revision
        # A fresh index holds no copies, so nothing needs deleting first.
        replace = start > 0
        done = 0
        batch: list[PaperRecord] = []
        papers = iter_papers(
            session, after_revision=start, up_to_revision=target, skip_revisions=skip_revisions
        )
        for _revision, record in papers:
            batch.append(record)
            if len(batch) >= 1000:
                done += self.add(batch, replace=replace)
                batch.clear()
                if progress:
                    progress(done)
        done += self.add(batch, replace=replace)
        if progress:
            progress(done)
        return done, max(target, start)

    def commit(self, revision: int) -> None:
        self._writer.commit()
        self._owner._committed(revision)


class SearchIndex:
    """A tantivy index of the catalog's papers (on disk, or in memory for tests)."""

    def __init__(
        self,
        index: tantivy.Index,
        path: Path | None,
        state: _State,
        *,
        writer_memory: int = 1024 * 2**20,
    ) -> None:
        self._index = index
        self.path = path
        self._state = state
        # tantivy flushes a segment when this fills; a small budget makes bulk
        # imports stall on flushes and merges (docs/benchmarks.md).
        self.writer_memory = writer_memory
        index.register_tokenizer(TEXT_ANALYZER, _text_analyzer())
        index.register_tokenizer(NAME_ANALYZER, _name_analyzer())
        self.schema = build_schema()

    @classmethod
    def in_memory(cls) -> SearchIndex:
        return cls(tantivy.Index(build_schema()), None, _State(catalog_id="", revision=0))

    @classmethod
    def open(
        cls, path: Path, *, catalog_id: str, writer_memory: int = 1024 * 2**20
    ) -> SearchIndex:
        """Open the index at ``path``; start afresh when it belongs elsewhere or is outdated.

        tantivy cannot open an index without writing to its directory (a lock
        file), so a user who may only read it (another user's data
        directory) gets an index in memory instead, which the first search
        builds from the catalog: slower, but what the catalog holds.
        """
        try:
            return cls._open(path, catalog_id=catalog_id, writer_memory=writer_memory)
        except (OSError, ValueError) as exc:
            if not isinstance(exc, PermissionError) and "PermissionDenied" not in str(exc):
                raise
        log.warning(
            "the search index at %s is read-only for this user; a search builds a copy "
            "in memory from the catalog", path,
        )
        index = cls.in_memory()
        index.writer_memory = writer_memory
        return index

    @classmethod
    def _open(cls, path: Path, *, catalog_id: str, writer_memory: int) -> SearchIndex:
        state = _read_state(path)
        if not _usable(path, state, catalog_id):
            if path.exists() and not os.access(path, os.W_OK | os.X_OK):
                # Found out before deleting anything, not halfway through.
                raise PermissionError(f"cannot rebuild {path}")
            # Two processes starting on a new data directory (two ingests at
            # once) must not both make the index: one would delete what the
            # other is making. The first makes it, the second opens it.
            with _making(path):
                state = _read_state(path)
                if not _usable(path, state, catalog_id):
                    if path.exists():
                        log.info("search index at %s is outdated or foreign; rebuilding", path)
                        shutil.rmtree(path)
                    path.mkdir(parents=True)
                    index = tantivy.Index(build_schema(), path=str(path))
                    state = _State(catalog_id=catalog_id, revision=0)
                    _write_state(path, state)
                    return cls(index, path, state, writer_memory=writer_memory)
        assert state is not None
        return cls(tantivy.Index.open(str(path)), path, state, writer_memory=writer_memory)

    @property
    def revision(self) -> int:
        """The newest catalog revision this index holds."""
        return self._state.revision

    @contextmanager
    def writer(
        self, *, wait_seconds: float = 30.0, threads: int = 0
    ) -> Iterator[IndexWriter]:
        """The index's single writer; waits for another process's writer to finish.

        ``threads`` 0 lets tantivy choose; 1 keeps a small index in one
        segment, its documents numbered in the order they were added.
        """
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                raw = self._index.writer(heap_size=self.writer_memory, num_threads=threads)
                break
            except ValueError as exc:
                if "LockBusy" not in str(exc) or time.monotonic() >= deadline:
                    if "LockBusy" in str(exc):
                        raise IndexBusyError(
                            f"Another digestbot process is writing the search index at {self.path}."
                        ) from None
                    raise
                time.sleep(0.2)
        # Another process may have committed since we opened the index:
        # start from what is on disk now that nobody else can write.
        self.refresh()
        try:
            yield IndexWriter(self, raw)
        finally:
            # Dropping the writer releases the directory lock; merges finish first.
            raw.wait_merging_threads()

    def refresh(self) -> None:
        """Pick up the revision another process committed to this index."""
        if self.path is not None:
            on_disk = _read_state(self.path)
            if on_disk is not None and on_disk.catalog_id == self._state.catalog_id:
                self._state = on_disk

    def _committed(self, revision: int) -> None:
        self._state = _State(catalog_id=self._state.catalog_id, revision=revision)
        if self.path is not None:
            _write_state(self.path, self._state)
        self._index.reload()

    def searcher(self) -> tantivy.Searcher:
        # Reloading is cheap and shows commits made by other processes at once.
        self._index.reload()
        return self._index.searcher()

    @property
    def num_docs(self) -> int:
        return int(self._index.searcher().num_docs)

    def reset(self) -> None:
        """Forget everything indexed; the next ``catch_up`` rebuilds it all."""
        with self.writer() as writer:
            writer.delete_all()
            writer.commit(0)


def _usable(path: Path, state: _State | None, catalog_id: str) -> bool:
    """Whether the index at ``path`` is this catalog's, and whole."""
    return (state is not None and state.catalog_id == catalog_id
            and tantivy.Index.exists(str(path)))


@contextmanager
def _making(path: Path) -> Iterator[None]:
    """Held while the index at ``path`` is made: a lock file beside its directory."""
    if fcntl is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing it drops the lock


def _read_state(path: Path) -> _State | None:
    try:
        data = json.loads((path / STATE_FILE).read_text("utf-8"))
        if data.get("schema") != SCHEMA_VERSION:
            return None
        return _State(catalog_id=str(data["catalog_id"]), revision=int(data["revision"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_state(path: Path, state: _State) -> None:
    tmp = path / (STATE_FILE + ".tmp")
    tmp.write_text(
        json.dumps(
            {"schema": SCHEMA_VERSION, "catalog_id": state.catalog_id, "revision": state.revision}
        ),
        "utf-8",
    )
    os.replace(tmp, path / STATE_FILE)


Progress = Callable[[int], None]


def catch_up(
    session: Session,
    index: SearchIndex,
    *,
    progress: Progress | None = None,
    wait_seconds: float = 30.0,
) -> int:
    """Index what the catalog wrote since the index's revision; returns how many papers.

    Raises ``IndexBusyError`` when another process holds the index writer
    for longer than ``wait_seconds``.
    """
    index.refresh()
    if current_revision(session) <= index.revision:
        return 0
    with index.writer(wait_seconds=wait_seconds) as writer:
        count, target = writer.catch_up(session, progress=progress)
        writer.commit(target)
    return count
