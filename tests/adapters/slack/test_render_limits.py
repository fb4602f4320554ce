"""Slack's limits: long digests split into messages, long fields shortened, check_message."""

from __future__ import annotations

import dataclasses
import re

import pytest

from adapters.slack.message import (
    BLOCK_LIMIT,
    FALLBACK_LIMIT,
    HEADER_LIMIT,
    MESSAGE_BUDGET,
    TEXT_LIMIT,
    SlackLimitError,
    SlackMessage,
    check_message,
)
from adapters.slack.mrkdwn import safe_url
from adapters.slack.render import ABSTRACT_ACTION_ID, render_digest, render_nothing_new
from bot.chat.channels import MAX_PAPERS_RANGE
from bot.model.messages import CodeLink, NothingNew, paper_item
from bot.model.papers import PaperRecord
from bot.text.fitting import width
from tests.adapters.slack.render_helpers import (
    _LINK,
    assert_valid,
    button_values,
    digest,
    headings,
    item,
    suggesting,
)


def test_sixty_papers_split_into_whole_items() -> None:
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
    assert len(messages) > 1
    assert_valid(messages)
    assert [pid for m in messages for pid in m.paper_ids] == [i.paper_id for i in items]
    total = len(messages)
    for number, message in enumerate(messages, start=1):
        head = message.blocks[0]
        assert head["type"] == "header"
        if number > 1:
            assert head["text"]["text"] == f"… continued ({number}/{total})"
            assert message.text.endswith(f" ({number}/{total})")
        # Each item is whole: its section, then its buttons with its id.
        sections = [b for b in message.blocks if b["type"] == "section"]
        assert len(sections) == len(message.paper_ids)
        assert [v for a, v in button_values(message) if a == ABSTRACT_ACTION_ID] == list(
            message.paper_ids
        )
        assert message.blocks[1]["type"] == "section"  # no divider right after a header
        has_footer = message.blocks[-1]["type"] == "context"
        assert has_footer == (number == total)


def test_sixty_huge_papers_split_by_characters() -> None:
    big = item(
        title="&" * 1000,
        authors="<" * 1000,
        snippet="*" * 1000,
        code_links=tuple(
            CodeLink(label="&" * 200, url=f"https://github.com/o/r{n}") for n in range(30)
        ),
    )
    items = tuple(dataclasses.replace(big, paper_id=f"p{n}") for n in range(60))
    topics = tuple(">" * 100 for _ in range(20))
    messages = render_digest(digest(items, matched_topics=(topics,) * 60))
    assert_valid(messages)
    assert [pid for m in messages for pid in m.paper_ids] == [i.paper_id for i in items]
    assert max(m.size for m in messages) <= MESSAGE_BUDGET


def test_a_full_digest_with_two_huge_suggestions_stays_within_limits() -> None:
    # The most papers a channel may ask for, then the taste's two, every field huge.
    big = item(
        title="&" * 1000,
        authors="<" * 1000,
        snippet="*" * 1000,
        code_links=tuple(
            CodeLink(label="&" * 200, url=f"https://github.com/o/r{n}") for n in range(30)
        ),
    )
    papers = tuple(
        dataclasses.replace(big, paper_id=f"p{n}") for n in range(MAX_PAPERS_RANGE[1])
    )
    extra = tuple((dataclasses.replace(big, paper_id=f"s{n}"), "<@U1> &" * 2000) for n in range(2))
    value = suggesting(papers, extra, more=1, more_query="&" * 5000)
    messages = render_digest(value)
    assert_valid(messages)
    assert [pid for m in messages for pid in m.paper_ids] == [i.paper_id for i in value.items]
    [(where, block)] = headings(messages)
    assert messages[where].blocks[block + 1]["type"] == "section"
    assert "s0" in messages[where].paper_ids
    reasons = [b for m in messages for b in m.blocks if b["type"] == "context"][:-1]
    assert len(reasons) == 2
    for reason in reasons:
        text = reason["elements"][0]["text"]
        assert text.endswith("…") and width(text) <= 500


def test_item_with_every_field_at_its_cap_fits_one_section() -> None:
    # '&' grows fivefold when escaped: the caps must hold in escaped characters.
    url = "https://example.org/?" + "a=1&" * 97 + "xyz"  # 800 once escaped: the most we link
    assert safe_url(url) is not None and width(safe_url(url) or "") == 800
    monster = item(
        title="&" * 5000,
        url=url,
        authors="&" * 5000,
        date="&" * 500,
        category="&" * 500,
        code_links=tuple(
            CodeLink(label="&" * 500, url="https://github.com/o/" + "r" * 370) for _ in range(50)
        ),
        snippet="&" * 5000,
    )
    [message] = render_digest(
        digest((monster,), matched_topics=(tuple("&" * 100 for _ in range(100)),))
    )
    assert_valid([message])
    section = message.blocks[1]["text"]["text"]
    assert width(section) <= TEXT_LIMIT
    lines = section.split("\n")
    assert len(lines) == 5 and lines[0].startswith("*<https://example.org/")
    assert " more" in lines[2]


def test_thousand_character_title_is_shortened_with_an_ellipsis() -> None:
    title = "Segmentation " * 77  # 1,001 characters
    [message] = render_digest(digest((item(title=title),)))
    first = message.blocks[1]["text"]["text"].split("\n")[0]
    label = _LINK.match(first.strip("*"))
    assert label is not None
    assert label.group(2).endswith("Segmentation…") and width(label.group(2)) <= 400


def test_shortening_never_cuts_an_entity() -> None:
    [message] = render_digest(digest((item(title="&" * 1000, url=None),)))
    first = message.blocks[1]["text"]["text"].split("\n")[0]
    assert re.fullmatch(r"\*(?:&amp;)+…\*", first)


def test_three_hundred_authors() -> None:
    names = tuple(f"Author{n} Surname{n}" for n in range(300))
    from_record = paper_item(PaperRecord(id="2402.12345", title="Big team", authors=names))
    assert from_record.authors == "Author0 Surname0, Author1 Surname1, Author2 Surname2 et al."
    everyone = item(authors=", ".join(names))
    for paper in (from_record, everyone):
        [message] = render_digest(digest((paper,)))
        assert_valid([message])
    meta = message.blocks[1]["text"]["text"].split("\n")[1]
    authors = meta.split(" · ")[0]
    assert authors.startswith("Author0 Surname0, ") and authors.endswith("…")
    assert width(authors) <= 250


def test_long_topics_shorten_the_header_not_break_it() -> None:
    messages = render_digest(digest((item(),), topics=("x & y " * 300,)))
    assert_valid(messages)
    header = messages[0].blocks[0]["text"]["text"]
    assert width(header) <= HEADER_LIMIT and header.endswith("…")
    assert width(messages[0].text) <= FALLBACK_LIMIT


def test_check_message_rejects_what_slack_would() -> None:
    good = render_nothing_new(NothingNew(channel="slack:T1/C1", date="2026-11-28"))
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    long_text = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * (TEXT_LIMIT + 1)}}
    emoji_text = {"type": "section", "text": {"type": "mrkdwn", "text": "🧪" * 1501}}
    long_header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    empty = {"type": "section", "text": {"type": "mrkdwn", "text": " "}}
    under_limit = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}
    bad = [
        SlackMessage(text="", blocks=good.blocks),
        SlackMessage(text="t", blocks=()),
        SlackMessage(text="t", blocks=(section,) * (BLOCK_LIMIT + 1)),
        SlackMessage(text="t", blocks=(long_text,)),
        SlackMessage(text="t", blocks=(emoji_text,)),
        SlackMessage(text="t", blocks=(long_header,)),
        SlackMessage(text="t", blocks=(empty,)),
        SlackMessage(text="t", blocks=({"type": "section", "text": "x", "bogus": 1},)),
        SlackMessage(text="t", blocks=(under_limit,) * 4),  # each fine, together over budget
    ]
    check_message(good)
    for message in bad:
        with pytest.raises(SlackLimitError):
            check_message(message)


def test_width_counts_utf16_units() -> None:
    assert (width("abc"), width("é"), width("🧪"), width("🇩🇪")) == (3, 1, 2, 4)
