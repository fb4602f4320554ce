"""Properties: any digest, reply or abstract renders valid and harmless as Block Kit."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.mrkdwn import escape
from adapters.slack.render import (
    BUTTON_VERBS,
    render_abstract,
    render_digest,
    render_reply,
)
from bot.model.messages import CodeLink, Digest, PaperItem, Reply
from tests.adapters.slack.render_helpers import (
    HOSTILE,
    assert_escaped,
    assert_harmless,
    assert_valid,
    button_values,
    headings,
)

_HOSTILE_CHARS = "<>&@!#*_~`|:\n\t >＞｀＊＿\u202e\u2066\u00ad\u2060\x00\x1b🧪é"
# Long fields come cheap as repeats, so that digests split by characters too.
_long = st.builds(
    lambda piece, times: piece * times,
    st.sampled_from(["&", "<a> ", "x y ", "🧪", "> q\n", "@here "]),
    st.integers(min_value=50, max_value=1500),
)
# 3,000 to 12,000 characters: a short random text repeated (drawing each
# character would be slow), so replies split into sections and messages.
long_texts = st.builds(
    lambda piece, times: (piece * times)[:12_000],
    st.text(alphabet=_HOSTILE_CHARS + "ab ", min_size=3, max_size=30),
    st.integers(min_value=1000, max_value=4000),
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
            "https://arxiv.org/abs/2402.12345",
            "https://example.org/a?b=1&c=2",
            "javascript:alert(1)",
            "https://evil.example|arxiv.org",
            "https://a.example/>x",
        ]
    ),
    st.text(max_size=40),
    st.text(max_size=40).map(lambda s: "https://example.org/" + s),
)
code_links = st.builds(CodeLink, label=untrusted, url=urls.filter(lambda u: u is not None))
paper_ids = st.text(min_size=1, max_size=30).filter(lambda s: bool(s.strip()))
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
# drawn items repeated under fresh ids make long digests that split by block
# count (over 16 items) and, with long fields, by characters.
many_items = st.builds(
    _repeat, st.lists(items, min_size=1, max_size=4), st.integers(min_value=7, max_value=60)
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
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def given_urls(value: Digest | Reply) -> set[str]:
    return {
        url.strip()
        for i in value.items
        for url in (i.url, *(c.url for c in i.code_links))
        if url
    }


@PROPERTY
@given(digests())
def test_any_digest_renders_valid_whole_and_harmless(value: Digest) -> None:
    messages = render_digest(value)
    assert_valid(messages)
    assert_harmless(messages, given_urls(value))
    ids = [i.paper_id for i in value.items]
    assert [pid for m in messages for pid in m.paper_ids] == ids
    for message in messages:
        # Every paper keeps every control (Save included), in the message that shows it.
        for action_id in BUTTON_VERBS:
            assert [v for a, v in button_values(message) if a == action_id] == list(
                message.paper_ids
            )
        assert message.blocks[0]["type"] == "header"
    footers = [m for m in messages if m.blocks[-1]["type"] == "context"]
    assert footers == ([messages[-1]] if value.footer is not None else [])
    # The heading, once, in the message whose papers the suggestions begin among.
    if not value.suggested:
        assert headings(messages) == []
        return
    [(where, _)] = headings(messages)
    before = sum(len(m.paper_ids) for m in messages[:where])
    first = len(value.items) - len(value.suggested)
    assert before <= first < before + len(messages[where].paper_ids)


@PROPERTY
@given(
    st.one_of(untrusted, long_texts),
    st.lists(items, max_size=5, unique_by=lambda i: i.paper_id).map(tuple),
)
def test_any_reply_renders_valid_and_harmless(text: str, found: tuple[PaperItem, ...]) -> None:
    reply = Reply(text=text, items=found)
    messages = render_reply(reply)
    assert_valid(messages)
    assert_harmless(messages, given_urls(reply))
    assert [pid for m in messages for pid in m.paper_ids] == [i.paper_id for i in found]


@PROPERTY
@given(items, untrusted)
def test_any_abstract_renders_valid_and_harmless(paper: PaperItem, abstract: str) -> None:
    messages = render_abstract(paper, abstract)
    assert_valid(messages)
    assert_harmless(messages, {paper.url.strip()} if paper.url else set())


@PROPERTY
@given(untrusted)
def test_escape_leaves_nothing_slack_would_act_on(text: str) -> None:
    assert_escaped(escape(text))


@PROPERTY
@given(st.text(alphabet="abcXYZ019 .,-", max_size=200))
def test_escape_keeps_ordinary_text(text: str) -> None:
    assert escape(text) == " ".join(text.split())


def test_chunks_refuse_a_limit_too_small_to_make_progress() -> None:
    from adapters.slack.mrkdwn import chunks

    with pytest.raises(ValueError, match="at least 8"):
        chunks("&", 5)
    assert "".join(chunks("&" * 10, 8)).count("&amp;") == 10
