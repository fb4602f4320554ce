"""Discord rendering of replies, abstracts and quiet days, long texts split into messages."""

from __future__ import annotations

from adapters.discord.markdown import escape
from adapters.discord.render import render_abstract, render_nothing_new, render_reply
from bot.model.messages import NothingNew, Reply
from tests.adapters.discord.render_helpers import (
    PAPER_URL,
    ZW,
    assert_escaped,
    assert_harmless,
    assert_valid,
    given_urls,
    item,
)


def test_ten_thousand_character_abstract_in_a_show_reply() -> None:
    sentence = "We propose a *method* that segments breast lesions & measures them. "
    abstract = (sentence * 160)[:10_000]
    reply = Reply(text=abstract, items=(item(),))
    messages = render_reply(reply)
    assert_valid(messages)
    assert_harmless(messages, given_urls(reply))
    assert len(messages) >= 6
    chunks = [m.content.split("\n", 1)[-1] if i else m.content for i, m in enumerate(messages)]
    assert "".join("".join(chunks).split()) == "".join(escape(abstract).split())
    assert [m.content.split("\n")[0] for m in messages[1:]] == [
        f"… continued ({k}/{len(messages)})" for k in range(2, len(messages) + 1)
    ]
    # The paper follows the last of the text, with its buttons.
    assert [m.paper_ids for m in messages] == [()] * (len(messages) - 1) + [("2402.12345",)]
    assert messages[-1].buttons[0].number == 1


def test_ten_thousand_character_abstract_as_embeds() -> None:
    sentence = "We propose a method that segments breast lesions & measures them.\n"
    abstract = (sentence * 160)[:10_000]
    messages = render_abstract(item(), abstract)
    assert_valid(messages)
    assert_harmless(messages, {PAPER_URL})
    assert len(messages) == 2 and all(m.buttons == () for m in messages)
    first = messages[0].embeds[0]
    assert first["title"] == "A paper" and first["url"] == PAPER_URL
    assert first["description"].startswith(
        "A. Author, B. Author · 2026-11-28 · cs.CV\n\nWe propose"
    )
    texts = [e["description"] for m in messages for e in m.embeds]
    texts[0] = texts[0].split("\n\n", 1)[1]
    assert "".join("".join(texts).split()) == "".join(escape(" ".join(abstract.split())).split())
    assert messages[1].content == "… continued (2/2)"


def test_abstract_without_spaces_is_split_between_escapes() -> None:
    abstract = "a*b" * 4000
    messages = render_abstract(item(), abstract)
    assert_valid(messages)
    texts = [e["description"] for m in messages for e in m.embeds]
    texts[0] = texts[0].split("\n\n", 1)[1]
    assert "".join(texts) == escape(abstract)
    for text in texts:
        assert_escaped(text)


def test_a_chunk_that_starts_a_line_gets_its_marker_escaped() -> None:
    text = "x" * 1947 + " > not a quote # nor a heading"
    messages = render_reply(Reply(text=text))
    assert messages[1].content == "… continued (2/2)\n\\> not a quote # nor a heading"


def test_abstract_reflows_wrapped_lines_and_keeps_paragraphs() -> None:
    [message] = render_abstract(item(), "first line\n  wrapped\n\n# second paragraph")
    assert message.embeds[0]["description"].endswith("first line wrapped\n\n\\# second paragraph")


# -- replies and quiet days --------------------------------------------------------


def test_search_reply() -> None:
    items = tuple(item(paper_id=f"p{n}", title=f"Paper {n}") for n in range(7))
    first, second = render_reply(Reply(text="Top 7 for mri <script> *x*:", items=items))
    assert first.content == f"Top 7 for mri <{ZW}script> \\*x\\*:"
    assert first.paper_ids == tuple(f"p{n}" for n in range(5))
    assert second.content == "… continued (2/2)"
    assert second.paper_ids == ("p5", "p6")
    assert [e["title"] for e in second.embeds] == ["6. Paper 5", "7. Paper 6"]
    assert [b.row for b in second.buttons] == [0, 1]


def test_reply_without_text_is_embeds_only() -> None:
    [message] = render_reply(Reply(text=" \n ", items=(item(),)))
    assert message.content == "" and message.paper_ids == ("2402.12345",)


def test_multi_line_reply_keeps_its_lines() -> None:
    [message] = render_reply(Reply(text="This channel follows:\n1. breast mri\n2. ct_scan"))
    assert message.content == "This channel follows:\n1. breast mri\n2. ct\\_scan"


def test_reply_with_a_link_does_not_unfurl() -> None:
    [message] = render_reply(Reply(text="No papers match https://evil.example/x.png"))
    assert message.content == f"No papers match https:{ZW}//evil.example/x.png"


def test_empty_reply_is_still_valid() -> None:
    [message] = render_reply(Reply(text=""))
    assert message.content == "(empty reply)"


def test_nothing_new() -> None:
    message = render_nothing_new(NothingNew(channel="@everyone", date="2026-11-28"))
    assert message.content == f"Nothing new today for @{ZW}everyone."
    assert message.embeds == () and message.buttons == ()
