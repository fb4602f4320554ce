"""The neutral message model: what a paper, digest and reply say, before markup."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from bot.model.messages import (
    SNIPPET_LIMIT,
    CodeLink,
    Digest,
    NothingNew,
    PaperItem,
    Reply,
    first_sentence,
    paper_item,
)
from bot.model.papers import PaperRecord


def record(**fields: object) -> PaperRecord:
    fields.setdefault("id", "2402.12345")
    fields.setdefault("title", "A paper")
    return PaperRecord(**fields)  # type: ignore[arg-type]


def item(**fields: object) -> PaperItem:
    return paper_item(record(**fields))


# -- authors, date, category -------------------------------------------------


@pytest.mark.parametrize(
    ("authors", "truncated", "expected"),
    [
        pytest.param(("A", "B"), False, "A, B", id="two"),
        pytest.param(("A", "B", "C"), False, "A, B, C", id="three"),
        pytest.param(("A", "B", "C", "D"), False, "A, B, C et al.", id="four"),
        pytest.param(("A", "B"), True, "A, B et al.", id="truncated"),
        pytest.param((), False, "unknown authors", id="none"),
    ],
)
def test_authors(authors: tuple[str, ...], truncated: bool, expected: str) -> None:
    assert item(authors=authors, authors_truncated=truncated).authors == expected


def test_date_and_category() -> None:
    paper = item(published=date(2026, 11, 28), categories=("cs.CV", "eess.IV"))
    assert (paper.date, paper.category) == ("2026-11-28", "cs.CV")


def test_date_and_category_fallbacks() -> None:
    paper = item()
    assert (paper.date, paper.category) == ("undated", "uncategorized")


def test_plain_fields_carried_over() -> None:
    paper = paper_item(record(id="x1", title="T", url="https://arxiv.org/abs/x1"))
    assert (paper.paper_id, paper.title, paper.url) == (
        "x1",
        "T",
        "https://arxiv.org/abs/x1",
    )
    assert item().url is None


# -- code links --------------------------------------------------------------


def test_code_links_labelled_owner_repo() -> None:
    urls = (
        "https://github.com/LLYXC/MOME/tree/main",
        "https://huggingface.co/spaces/o/demo",
    )
    paper = item(code_urls=urls, has_code=True)
    assert paper.code_links == (
        CodeLink(label="LLYXC/MOME", url=urls[0]),
        CodeLink(label="o/demo", url=urls[1]),
    )
    assert not paper.code_announced


def test_code_announced_without_link() -> None:
    paper = item(has_code=True)
    assert paper.code_announced and paper.code_links == ()


def test_no_code() -> None:
    paper = item()
    assert not paper.code_announced and paper.code_links == ()


# -- snippet -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("abstract", "expected"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("One. Two.", "One.", id="period"),
        pytest.param("Why? Because.", "Why?", id="question"),
        pytest.param("Wow! Yes.", "Wow!", id="exclamation"),
        pytest.param(
            "We test 3 sites. 12 were kept.", "We test 3 sites.", id="digit next"
        ),
        pytest.param("No end here", "No end here", id="no terminator"),
        pytest.param(
            "Accuracy 0.93 vs. 0.88. Next.", "Accuracy 0.93 vs. 0.88.", id="decimal vs"
        ),
        pytest.param(
            "A test. then lowercase. Next.",
            "A test. then lowercase.",
            id="lowercase next",
        ),
        pytest.param("Use e.g. MRI or CT. Next.", "Use e.g. MRI or CT.", id="e.g."),
        pytest.param(
            "That is, i.e. MRI here. Next.", "That is, i.e. MRI here.", id="i.e."
        ),
        pytest.param(
            "Smith et al. Showed it. Next.", "Smith et al. Showed it.", id="et al."
        ),
        pytest.param("See Fig. 3 for it. Next.", "See Fig. 3 for it.", id="Fig."),
        pytest.param("CNN vs. ViT compared. Next.", "CNN vs. ViT compared.", id="vs."),
        pytest.param(
            "  Spread\n  over\tlines.  Next.", "Spread over lines.", id="whitespace"
        ),
    ],
)
def test_snippet_first_sentence(abstract: str, expected: str) -> None:
    assert item(abstract=abstract).snippet == expected


def test_snippet_capped_on_word_boundary() -> None:
    abstract = " ".join(["word"] * 100) + ". Next."
    snippet = item(abstract=abstract).snippet
    assert len(snippet) <= SNIPPET_LIMIT
    assert snippet.endswith("word…")
    assert len(snippet) > SNIPPET_LIMIT - 10


def test_snippet_exactly_at_limit_is_kept() -> None:
    text = "x" * (SNIPPET_LIMIT - 1) + "."
    assert first_sentence(text) == text


def test_snippet_one_huge_word_is_cut_hard() -> None:
    snippet = first_sentence("y" * 1000)
    assert snippet == "y" * (SNIPPET_LIMIT - 1) + "…"


# -- digest ------------------------------------------------------------------


def digest(count: int, **fields: object) -> Digest:
    fields.setdefault("more", 0)
    fields.setdefault("more_query", None)
    return Digest(
        channel="#radiology",
        topics=("breast mri", '"low dose" ct'),
        date="2026-11-28",
        items=tuple(item(id=f"p{n}") for n in range(count)),
        **fields,  # type: ignore[arg-type]
    )


def test_header_plural() -> None:
    assert digest(3).count == 3
    assert digest(3).header == '3 new papers for breast mri, "low dose" ct · 2026-11-28'


def test_header_singular() -> None:
    assert digest(1).header.startswith("1 new paper for ")


def test_header_without_topics_names_the_channel() -> None:
    plain = dataclasses.replace(digest(2), topics=())
    assert plain.header == "2 new papers for #radiology · 2026-11-28"


def test_footer() -> None:
    assert digest(3).footer is None
    assert digest(3, more=12, more_query="breast mri").footer == (
        "12 more matched: /papers search breast mri"
    )
    assert digest(3, more=12).footer == "12 more matched"


# -- replies and the quiet-day line ------------------------------------------


def test_reply_defaults() -> None:
    reply = Reply(text="Subscribed to breast mri.")
    assert reply.ephemeral and reply.items == ()


def test_nothing_new() -> None:
    assert NothingNew(channel="#radiology", date="2026-11-28").text == (
        "Nothing new today for #radiology."
    )


# -- untrusted text stays verbatim -------------------------------------------

HOSTILE = "<!channel> @everyone <@U123> *bold* <https://x|y> & </a>"


def test_hostile_strings_kept_verbatim() -> None:
    paper = paper_item(
        record(
            title=HOSTILE, authors=(HOSTILE,), abstract=HOSTILE, categories=(HOSTILE,)
        )
    )
    assert paper.title == paper.authors == paper.snippet == paper.category == HOSTILE
    hostile = Digest(
        channel="c",
        topics=(HOSTILE,),
        date="d",
        items=(paper,),
        matched_topics=((HOSTILE,),),
        more=1,
        more_query=HOSTILE,
    )
    assert HOSTILE in hostile.header and (hostile.footer or "").endswith(HOSTILE)
    assert list(hostile.entries()) == [(paper, (HOSTILE,))]
    assert (
        NothingNew(channel=HOSTILE, date="d").text
        == f"Nothing new today for {HOSTILE}."
    )


# -- shape -------------------------------------------------------------------


@pytest.mark.parametrize("cls", [CodeLink, PaperItem, Digest, Reply, NothingNew])
def test_frozen_and_keyword_only(cls: type) -> None:
    params = dataclasses.fields(cls)
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert all(f.kw_only for f in params)


def test_matched_topics_sit_beside_the_items_one_entry_each() -> None:
    # One item value serves every digest that shows the paper; each digest
    # says which of its own topics the paper matched.
    paper = item(id="p0")
    mine = digest(1, matched_topics=(("breast mri", '"low dose" ct'),))
    theirs = Digest(channel="#ct", topics=("ct",), date="d", items=mine.items,
                    matched_topics=(("ct",),))
    assert mine.items[0] is theirs.items[0] == paper
    assert list(mine.entries()) == [(paper, ("breast mri", '"low dose" ct'))]
    assert list(theirs.entries()) == [(paper, ("ct",))]
    # Given none, every item matched nothing worth showing.
    assert digest(2).matched_topics == ((), ())
    with pytest.raises(ValueError, match="2 items needs as many matched_topics entries, got 1"):
        digest(2, matched_topics=(("mri",),))


def test_item_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        item().title = "changed"  # type: ignore[misc]
