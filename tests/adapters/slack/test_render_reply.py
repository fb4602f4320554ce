"""Block Kit rendering of replies, abstracts and quiet days, long texts split into sections."""

from __future__ import annotations

import re

from adapters.slack.message import TEXT_LIMIT
from adapters.slack.mrkdwn import escape
from adapters.slack.render import render_abstract, render_nothing_new, render_reply
from bot.model.messages import NothingNew, Reply
from bot.text.fitting import width
from tests.adapters.slack.render_helpers import SHY, assert_valid, item


def test_ten_thousand_character_abstract() -> None:
    sentence = "We propose a method that segments breast lesions & measures them. "
    abstract = (sentence * 160)[:10_000]
    paper = item()
    for messages in (
        render_abstract(paper, abstract),
        render_reply(Reply(text=abstract, items=(paper,))),
    ):
        assert_valid(messages)
        assert len(messages) >= 2
        chunks = [
            b["text"]["text"]
            for m in messages
            for b in m.blocks
            if b["type"] == "section" and not b["text"]["text"].startswith("*")
        ]
        assert all(width(c) <= TEXT_LIMIT for c in chunks)
        # Nothing lost, nothing added: the chunks are the escaped abstract.
        assert "".join("".join(chunks).split()) == "".join(escape(abstract).split())
        assert [m.blocks[0]["type"] for m in messages[1:]] == ["context"] * (len(messages) - 1)


def test_abstract_without_spaces_is_split_anywhere_but_inside_an_entity() -> None:
    abstract = "a&b" * 4000
    messages = render_abstract(item(), abstract)
    assert_valid(messages)
    chunks = [b["text"]["text"] for m in messages for b in m.blocks[1:] if b["type"] == "section"]
    assert "".join(chunks) == escape(abstract)
    assert all(not re.search(r"&(?!amp;)", c) for c in chunks)


def test_abstract_reflows_wrapped_lines_and_keeps_paragraphs() -> None:
    [message] = render_abstract(item(), "first line\n  wrapped\n\nsecond > paragraph")
    assert message.blocks[-1]["text"]["text"] == "first line wrapped\n\nsecond &gt; paragraph"
    assert message.text == "Abstract: A paper"


def test_empty_abstract() -> None:
    [message] = render_abstract(item(), "  \n ")
    assert message.blocks[-1]["text"]["text"] == "(no abstract)"


def test_split_text_never_starts_a_section_with_a_quote() -> None:
    text = "x" * (TEXT_LIMIT - 2) + " > not a quote"
    [message] = render_reply(Reply(text=text))
    second = message.blocks[1]["text"]["text"]
    assert second == f"{SHY}&gt; not a quote"


# -- replies and quiet days --------------------------------------------------------


def test_search_reply() -> None:
    items = tuple(item(paper_id=f"p{n}", title=f"Paper {n}") for n in range(5))
    [message] = render_reply(Reply(text="Top 5 for mri <script>:", items=items))
    assert [b["type"] for b in message.blocks][:3] == ["section", "section", "actions"]
    assert message.blocks[0]["text"]["text"] == "Top 5 for mri &lt;script&gt;:"
    assert message.text == "Top 5 for mri &lt;script&gt;:"
    assert message.paper_ids == tuple(f"p{n}" for n in range(5))


def test_multi_line_reply_keeps_its_lines() -> None:
    [message] = render_reply(Reply(text="This channel follows:\n1. breast mri\n2. ct_scan"))
    expected = "This channel follows:\n1. breast mri\n2. ct\u02cdscan"
    assert message.blocks[0]["text"]["text"] == expected
    assert message.text == "This channel follows:"


def test_empty_reply_is_still_valid() -> None:
    [message] = render_reply(Reply(text=""))
    assert_valid([message])


def test_nothing_new() -> None:
    message = render_nothing_new(NothingNew(channel="<!channel>", date="2026-11-28"))
    assert message.blocks[0]["text"]["text"] == "Nothing new today for &lt;!channel&gt;."
    assert message.text == "Nothing new today for &lt;!channel&gt;."


def test_a_reply_too_long_for_its_posts_is_cut_with_a_link_to_the_paper() -> None:
    abstract = "Breast MRI & CT, segmented and measured. " * 3000  # 126,000 characters
    paper = item(url="https://arxiv.org/abs/2611.00001?x=1&y=2")
    whole = render_reply(Reply(text=abstract, items=(paper,)))
    assert len(whole) > 5
    for at_most in (1, 2, 5):
        messages = render_reply(Reply(text=abstract, items=(paper,)), at_most=at_most)
        assert_valid(messages)
        assert len(messages) == at_most
        assert messages[-1].text.endswith(f"({at_most}/{at_most})" if at_most > 1 else "")
        # The cut line, then the paper with its buttons.
        blocks = [b for m in messages for b in m.blocks]
        cut = next(b for b in blocks if b["type"] == "context"
                   and "cut to fit" in b["elements"][0]["text"])
        assert cut["elements"][0]["text"] == (
            "… cut to fit in Slack; read it all on the paper's page: "
            "<https://arxiv.org/abs/2611.00001?x=1&amp;y=2|arxiv.org/abs/2611.00001?x=1&amp;y=2>")
        assert blocks[-1]["type"] == "actions"
        # What is shown is the abstract's beginning, as much as fits.
        shown = [b["text"]["text"] for b in blocks if b["type"] == "section"
                 and not b["text"]["text"].startswith("*")]
        assert escape(abstract).startswith("".join(shown).rstrip()[:1000])
        assert sum(width(t) for t in shown) > at_most * 6000


def test_a_reply_that_fits_is_not_cut_and_one_without_a_page_says_cut_only() -> None:
    reply = Reply(text="Short enough.", items=(item(),))
    assert render_reply(reply, at_most=1) == render_reply(reply)
    [message] = render_reply(Reply(text="word " * 20_000), at_most=1)
    assert message.blocks[-1]["elements"][0]["text"] == "… cut to fit in Slack."
