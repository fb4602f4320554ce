"""Properties: any digest, reply or abstract renders valid, whole and harmless for Discord."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord.markdown import escape
from adapters.discord.message import CUSTOM_ID_TEMPLATE, DiscordMessage, custom_id
from adapters.discord.render import render_abstract, render_digest, render_reply
from bot.model.messages import CodeLink, Digest, PaperItem, Reply
from tests.adapters.discord.render_helpers import (
    HOSTILE,
    PAPER_URL,
    assert_escaped,
    assert_harmless,
    assert_no_mentions,
    assert_valid,
    given_urls,
    headings,
)

_HOSTILE_CHARS = "<>@!#&*_~`|[]()\\-:/\n\t >\u202e\u2066\u200b\x00\x1b🧪é"
# Long fields come cheap as repeats, so that digests split by characters too.
_long = st.builds(
    lambda piece, times: piece * times,
    st.sampled_from(["*", "<a> ", "x y ", "🧪", "> q\n", "@here ", "[a](https://e.x) "]),
    st.integers(min_value=50, max_value=1500),
)
# 2,000 to 12,000 characters: a short random text repeated (drawing each
# character would be slow), so replies split into several messages.
long_texts = st.builds(
    lambda piece, times: (piece * times)[:12_000],
    st.text(alphabet=_HOSTILE_CHARS + "ab ", min_size=3, max_size=30),
    st.integers(min_value=700, max_value=4000),
)
untrusted = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=_HOSTILE_CHARS + "abc", max_size=80),
    st.sampled_from(HOSTILE),
    _long,
)
urls = st.one_of(
    st.none(),
    st.sampled_from(
        [
            PAPER_URL,
            "https://example.org/a?b=1&c=2",
            "javascript:alert(1)",
            "https://evil.example)[x](https://evil.example",
            "https://a.example/>x",
        ]
    ),
    st.text(max_size=40),
    st.text(max_size=40).map(lambda s: "https://example.org/" + s),
)
code_links = st.builds(CodeLink, label=untrusted, url=urls.filter(lambda u: u is not None))
paper_ids = st.one_of(st.text(min_size=1, max_size=30), st.text(min_size=75, max_size=90))
items = st.builds(
    PaperItem,
    paper_id=paper_ids,
    title=untrusted,
    url=urls,
    authors=untrusted,
    date=untrusted,
    category=untrusted,
    code_links=st.lists(code_links, max_size=4).map(tuple),
    code_announced=st.booleans(),
    snippet=untrusted,
)


def _repeat(templates: list[PaperItem], count: int) -> tuple[PaperItem, ...]:
    """``count`` items cycling through ``templates``, each with its own id."""
    picks = (templates[n % len(templates)] for n in range(count))
    return tuple(
        dataclasses.replace(pick, paper_id=f"{n}:{pick.paper_id}") for n, pick in enumerate(picks)
    )


# Drawing 60 items field by field overruns hypothesis's data budget; a few
# drawn items repeated under fresh ids make long digests.
many_items = st.builds(
    _repeat, st.lists(items, min_size=1, max_size=4), st.integers(min_value=6, max_value=60)
)
# Each item's matched topics: a few drawn tuples, cycled over the items.
matched_lists = st.lists(st.lists(untrusted, max_size=4).map(tuple), min_size=1, max_size=4)


@st.composite
def digests(draw: st.DrawFn) -> Digest:
    found = draw(st.one_of(st.lists(items, max_size=6).map(tuple), many_items))
    matched = draw(matched_lists)
    # The taste's suggestions, if any, are the last items, matching no topic.
    reasons = draw(st.lists(untrusted, max_size=min(2, len(found))))
    topics = [matched[n % len(matched)] for n in range(len(found) - len(reasons))]
    return Digest(
        channel=draw(untrusted),
        topics=draw(st.lists(untrusted, max_size=3).map(tuple)),
        date=draw(untrusted),
        items=found,
        matched_topics=(*topics, *[()] * len(reasons)),
        more=draw(st.integers(min_value=0, max_value=100)),
        more_query=draw(st.none() | untrusted),
        suggested=tuple(
            (paper.paper_id, reason)
            for paper, reason in zip(found[len(found) - len(reasons) :], reasons, strict=True)
        ),
    )


PROPERTY = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_buttons_match(messages: list[DiscordMessage]) -> None:
    for message in messages:
        fit = [pid for pid in message.paper_ids if custom_id("abstract", pid) is not None]
        assert [b.paper_id for b in message.buttons] == list(dict.fromkeys(fit))
        assert [b.row for b in message.buttons] == list(range(len(message.buttons)))
        for buttons in message.buttons:
            match = re.compile(CUSTOM_ID_TEMPLATE).match(buttons.like_custom_id)
            assert match is not None and match["paper_id"] == buttons.paper_id


@PROPERTY
@given(digests())
def test_any_digest_renders_valid_whole_and_harmless(value: Digest) -> None:
    messages = render_digest(value)
    assert_valid(messages)
    assert_harmless(messages, given_urls(value))
    assert_buttons_match(messages)
    assert [pid for m in messages for pid in m.paper_ids] == [i.paper_id for i in value.items]
    assert [len(m.embeds) for m in messages] == [len(m.paper_ids) for m in messages]
    footers = [m for m in messages if m.embeds and "footer" in m.embeds[-1]]
    assert footers == ([messages[-1]] if value.footer is not None and value.items else [])
    # The heading, once, over the first suggestion, wherever it lands.
    first = len(value.items) - len(value.suggested)
    shown = [(m, e) for m, message in enumerate(messages) for e in range(len(message.embeds))]
    assert headings(messages) == ([shown[first]] if value.suggested else [])


@PROPERTY
@given(st.one_of(untrusted, long_texts), st.lists(items, max_size=7).map(tuple))
def test_any_reply_renders_valid_whole_and_harmless(
    text: str, found: tuple[PaperItem, ...]
) -> None:
    reply = Reply(text=text, items=found)
    messages = render_reply(reply)
    assert_valid(messages)
    assert_harmless(messages, given_urls(reply))
    assert_buttons_match(messages)
    assert [pid for m in messages for pid in m.paper_ids] == [i.paper_id for i in found]


@PROPERTY
@given(items, st.one_of(untrusted, long_texts))
def test_any_abstract_renders_valid_and_harmless(paper: PaperItem, abstract: str) -> None:
    messages = render_abstract(paper, abstract)
    assert_valid(messages)
    assert_harmless(messages, {paper.url.strip()} if paper.url else set())
    assert [pid for m in messages for pid in m.paper_ids] == [paper.paper_id]


@PROPERTY
@given(untrusted)
def test_escape_leaves_nothing_discord_would_act_on(text: str) -> None:
    for content in (False, True):
        escaped = escape(text, content=content)
        assert_escaped(escaped)
        assert_no_mentions(escaped)


@PROPERTY
@given(st.text(alphabet="abcXYZ019 .,+=!?", max_size=200))
def test_escape_keeps_ordinary_text(text: str) -> None:
    assert escape(text) == " ".join(text.split())


def test_chunks_refuse_a_limit_too_small_to_make_progress() -> None:
    from adapters.discord.markdown import chunks

    with pytest.raises(ValueError, match="at least 3"):
        chunks("@", 2)
    assert "".join(chunks("@" * 10, 3)).count("@") == 10
