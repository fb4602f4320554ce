"""The lines every chat renderer shows about a paper, and which renderer a message goes to."""

from __future__ import annotations

from bot.model.messages import CodeLink, Digest, NothingNew, PaperItem, Reply
from bot.text.fitting import escaped_pieces, fit_line
from bot.text.layout import by_kind, code_line, continued, meta_line, topics_line


def shout(char: str, line_start: bool) -> str:
    return char.upper()


def pieces(text: str) -> list[str]:
    return escaped_pieces(text, shout)


def inline(text: str, limit: int, *, default: str = "") -> str:
    return fit_line(text, limit, pieces, default=default)


def item(**changes: object) -> PaperItem:
    fields: dict[str, object] = {
        "paper_id": "2401.00001",
        "title": "A paper",
        "url": None,
        "authors": "Ada Lovelace",
        "date": "2026-01-02",
        "category": "cs.CV",
        "code_links": (),
        "code_announced": False,
        "snippet": "",
    }
    fields.update(changes)
    return PaperItem(**fields)  # type: ignore[arg-type]


def test_meta_line_escapes_each_field_within_its_cap_with_defaults() -> None:
    caps = {"authors_cap": 8, "date_cap": 20, "category_cap": 20}
    assert meta_line(item(), inline, **caps) == "ADA LOV… · 2026-01-02 · CS.CV"
    empty = item(authors=" ", date="", category="\x1b")
    assert meta_line(empty, inline, **caps) == "UNKNOWN… · UNDATED · UNCATEGORIZED"


def test_code_line_keeps_what_fits_and_counts_the_rest() -> None:
    links = tuple(CodeLink(label=f"owner/repo{n}", url=f"https://x/{n}") for n in range(5))
    line = code_line(item(code_links=links), lambda code: f"[{code.label}]", cap=60)
    assert line == "Code: [owner/repo0], [owner/repo1] and 3 more"
    assert code_line(item(code_announced=True), str, cap=60) == "Code announced (no link yet)"
    assert code_line(item(), str, cap=60) is None


def test_code_line_keeps_the_first_link_however_long() -> None:
    links = (CodeLink(label="x" * 80, url="u"), CodeLink(label="y", url="u"))
    assert code_line(item(code_links=links), lambda c: c.label, cap=40) == (
        "Code: " + "x" * 80 + " and 1 more"
    )


def test_topics_line_joins_cleans_and_shortens() -> None:
    assert topics_line(["breast mri", " ", "low\x1bdose ct"], pieces, cap=40) == (
        "Matched: BREAST MRI; LOW DOSE CT"
    )
    assert topics_line(["a" * 50], pieces, cap=20) == "Matched: " + "A" * 10 + "…"
    assert topics_line(["", "  "], pieces, cap=20) is None


def test_continued_numbers_the_message() -> None:
    assert continued(2, 3) == "… continued (2/3)"


def test_by_kind_sends_each_message_to_its_renderer() -> None:
    def show(message: Digest | NothingNew | Reply) -> str:
        return by_kind(
            message,
            digest=lambda d: f"digest of {d.count}",
            nothing_new=lambda n: n.text,
            reply=lambda r: f"reply {r.text}",
        )

    assert show(Digest(channel="c", topics=(), date="d", items=())) == "digest of 0"
    assert show(NothingNew(channel="c", date="d")) == "Nothing new today for c."
    assert show(Reply(text="hi")) == "reply hi"
