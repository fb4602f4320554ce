"""Discord's limits: long digests split into messages, long fields shortened, check_message."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from adapters.discord.markdown import safe_url
from adapters.discord.message import (
    ACTION_ROW_LIMIT,
    CONTENT_LIMIT,
    EMBED_LIMIT,
    EMBED_TOTAL_LIMIT,
    PAPERS_PER_MESSAGE,
    DiscordLimitError,
    DiscordMessage,
    PaperButtons,
    check_message,
    counted,
)
from adapters.discord.render import render_digest
from bot.chat.channels import MAX_PAPERS_RANGE
from bot.model.messages import CodeLink, paper_item
from bot.model.papers import PaperRecord
from bot.text.fitting import width
from tests.adapters.discord.render_helpers import (
    ZW,
    assert_valid,
    digest,
    headings,
    item,
    suggesting,
)


def test_sixty_papers_split_into_whole_items_five_to_a_message() -> None:
    items = tuple(
        item(
            paper_id=f"2402.{n:05d}",
            title=f"Paper number {n} on breast MRI segmentation with transformers",
            snippet="We show that a model does a thing. " * 8,
            code_links=(CodeLink(label=f"owner/repo{n}", url=f"https://github.com/owner/repo{n}"),),
        )
        for n in range(60)
    )
    messages = render_digest(
        digest(items, matched_topics=(("breast mri",),) * 60, more=7, more_query="breast mri")
    )
    assert_valid(messages)
    assert len(messages) == 12
    assert [pid for m in messages for pid in m.paper_ids] == [i.paper_id for i in items]
    assert messages[0].content.endswith("** (1/12)")
    for number, message in enumerate(messages, start=1):
        if number > 1:
            assert message.content == f"… continued ({number}/12)"
        assert [b.paper_id for b in message.buttons] == list(message.paper_ids)
        assert [b.row for b in message.buttons] == list(range(5))
        # 5 rows of 5: all a message can carry, and every paper keeps every control.
        assert [len(b.each()) for b in message.buttons] == [5] * 5
        first = 5 * (number - 1) + 1
        assert [e["title"].split(".")[0] for e in message.embeds] == [
            str(n) for n in range(first, first + 5)
        ]
        assert [b.number for b in message.buttons] == list(range(first, first + 5))
        assert ("footer" in message.embeds[-1]) == (number == 12)


def test_sixty_huge_papers_split_by_characters() -> None:
    big = item(
        title="*" * 1000,
        authors="<" * 1000,
        snippet="_" * 1000,
        code_links=tuple(
            CodeLink(label="|" * 200, url=f"https://github.com/o/r{n}") for n in range(30)
        ),
    )
    items = tuple(dataclasses.replace(big, paper_id=f"p{n}") for n in range(60))
    topics = tuple(">" * 100 for _ in range(20))
    messages = render_digest(
        digest(items, matched_topics=(topics,) * 60, more=1, more_query="@" * 5000)
    )
    assert_valid(messages)
    assert [pid for m in messages for pid in m.paper_ids] == [i.paper_id for i in items]
    assert any(len(m.paper_ids) < PAPERS_PER_MESSAGE for m in messages[:-1])  # by size
    assert max(m.size for m in messages) <= EMBED_TOTAL_LIMIT


def test_paper_with_every_field_past_its_cap_and_a_footer_fits_one_message() -> None:
    # '@' and '<' grow twofold escaped, markers twofold: the caps hold in escaped characters.
    url = "https://example.org/?" + "a=1&" * 120 + "xyz"
    assert safe_url(url) == url and len(url) <= 512
    monster = item(
        title="@" * 5000,
        url=url,
        authors="<" * 5000,
        date="*" * 500,
        category="_" * 500,
        code_links=tuple(
            CodeLink(label="<" * 500, url="https://github.com/o/" + "r" * 480) for _ in range(50)
        ),
        snippet="`" * 5000,
    )
    topics = tuple("@" * 100 for _ in range(100))
    messages = render_digest(
        digest((monster,) * 5, matched_topics=(topics,) * 5, more=10**9, more_query="<" * 10_000)
    )
    assert_valid(messages)
    assert all(len(m.embeds) >= 1 for m in messages)
    embed = messages[0].embeds[0]
    lines = embed["description"].split("\n")
    assert len(lines) == 4 and lines[1].startswith("Code: [") and " more" in lines[1]
    assert width(embed["description"]) <= 2500
    last = messages[-1].embeds[-1]
    assert (
        sum(width(t) for t in (last["title"], last["description"], last["footer"]["text"])) <= 3800
    )


def test_a_full_digest_with_two_huge_suggestions_stays_within_limits() -> None:
    # The most papers a channel may ask for, then the taste's two, every field past its cap.
    url = "https://example.org/?" + "a=1&" * 120 + "xyz"
    monster = item(
        title="@" * 5000,
        url=url,
        authors="<" * 5000,
        date="*" * 500,
        category="_" * 500,
        code_links=tuple(
            CodeLink(label="<" * 500, url="https://github.com/o/" + "r" * 480) for _ in range(50)
        ),
        snippet="`" * 5000,
    )
    papers = tuple(
        dataclasses.replace(monster, paper_id=f"p{n}") for n in range(MAX_PAPERS_RANGE[1])
    )
    extra = tuple(
        (dataclasses.replace(monster, paper_id=f"s{n}"), "<@1> [x](http://evil) " * 500)
        for n in range(2)
    )
    value = suggesting(papers, extra, more=10**9, more_query="<" * 10_000)
    messages = render_digest(value)
    assert_valid(messages)
    assert [pid for m in messages for pid in m.paper_ids] == [i.paper_id for i in value.items]
    [(where, at)] = headings(messages)
    assert messages[where].paper_ids[at] == "s0"
    for embed in (messages[where].embeds[at], messages[-1].embeds[-1]):
        lines = embed["description"].split("\n")
        assert len(lines) == 4 and lines[2].endswith("…") and width(lines[2]) <= 300
        assert width(embed["description"]) <= 2500
        assert sum(width(t) for t in counted(embed)) <= 3800


def test_thousand_character_title_is_shortened_with_an_ellipsis() -> None:
    title = "Segmentation " * 77  # 1,001 characters
    [message] = render_digest(digest((item(title=title),)))
    shown = message.embeds[0]["title"]
    assert shown.startswith("1. Segmentation ") and shown.endswith("Segmentation…")
    assert width(shown) <= 256


def test_shortening_never_cuts_an_escape() -> None:
    [message] = render_digest(digest((item(title="*" * 1000),)))
    assert re.fullmatch(r"1\. (?:\\\*)+…", message.embeds[0]["title"])
    [message] = render_digest(digest((item(title="@" * 1000),)))
    assert re.fullmatch(f"1\\. (?:@{ZW})+…", message.embeds[0]["title"])


def test_three_hundred_authors() -> None:
    names = tuple(f"Author{n} Surname{n}" for n in range(300))
    from_record = paper_item(PaperRecord(id="2402.12345", title="Big team", authors=names))
    assert from_record.authors == "Author0 Surname0, Author1 Surname1, Author2 Surname2 et al."
    everyone = item(authors=", ".join(names))
    for paper in (from_record, everyone):
        [message] = render_digest(digest((paper,)))
        assert_valid([message])
    authors = message.embeds[0]["description"].split(" · ")[0]
    assert authors.startswith("Author0 Surname0, ") and authors.endswith("…")
    assert width(authors) <= 300


def test_long_topics_shorten_the_header_not_break_it() -> None:
    [message] = render_digest(digest((item(),), topics=("x_y @here " * 300,)))
    assert_valid([message])
    assert message.content.endswith("…**") and width(message.content) <= 600


def test_check_message_rejects_what_discord_would() -> None:
    good = render_digest(digest((item(),)))[0]
    embed = dict(good.embeds[0])
    field = {"name": "n", "value": "v", "inline": False}
    buttons = good.buttons[0]

    def with_embed(**changes: Any) -> DiscordMessage:
        return dataclasses.replace(good, embeds=({**embed, **changes},))

    bad = [
        DiscordMessage(content=""),
        DiscordMessage(content="   "),
        DiscordMessage(content="x" * (CONTENT_LIMIT + 1)),
        DiscordMessage(content="🧪" * 1001),  # 2,002 UTF-16 units
        DiscordMessage(content="x", embeds=({"description": "d"},) * (EMBED_LIMIT + 1)),
        with_embed(title="t" * 257),
        with_embed(title=" "),
        with_embed(description="d" * 4097),
        with_embed(fields=[field] * 26),
        with_embed(fields=[{**field, "value": "v" * 1025}]),
        with_embed(fields=[{**field, "name": "n" * 257}]),
        with_embed(fields=[{**field, "name": ""}]),
        with_embed(footer={"text": "f" * 2049}),
        with_embed(author={"name": "a" * 257}),
        with_embed(url="javascript:alert(1)"),
        with_embed(bogus=1),
        dataclasses.replace(good, embeds=({"color": 1},)),
        # Each embed fine, together over 6,000.
        dataclasses.replace(good, embeds=({"description": "d" * 3001},) * 2),
        dataclasses.replace(
            good,
            buttons=tuple(dataclasses.replace(buttons, row=r) for r in range(ACTION_ROW_LIMIT + 1)),
        ),
        dataclasses.replace(good, buttons=(buttons, buttons)),
        dataclasses.replace(good, buttons=(dataclasses.replace(buttons, row=5),)),
        dataclasses.replace(good, buttons=(dataclasses.replace(buttons, paper_id="other"),)),
        dataclasses.replace(
            good,
            paper_ids=("x" * 90,),
            buttons=(PaperButtons(paper_id="x" * 90, row=0, number=1),),
        ),
        dataclasses.replace(
            good, paper_ids=("a\nb",), buttons=(PaperButtons(paper_id="a\nb", row=0, number=1),)
        ),
    ]
    check_message(good)
    check_message(with_embed(fields=[field] * 25))
    for message in bad:
        with pytest.raises(DiscordLimitError):
            check_message(message)


def test_width_counts_utf16_units() -> None:
    assert (width("abc"), width("é"), width("🧪"), width("🇩🇪")) == (3, 1, 2, 4)
