"""mrkdwn escaping: mentions, formatting, fake links and unsafe URLs render as text."""

from __future__ import annotations

import json

import pytest

from adapters.slack.mrkdwn import escape, safe_url
from adapters.slack.render import render_digest
from bot.model.messages import CodeLink
from tests.adapters.slack.render_helpers import (
    EVIL_TITLE,
    HOSTILE,
    SHY,
    WJ,
    assert_harmless,
    assert_valid,
    digest,
    headings,
    item,
    links,
    suggesting,
)

# A suggestion's reason quotes catalog text: words of titles, author names.
EVIL_REASON = (
    "like papers this channel liked: “@everyone”, “<!channel>”, “<@U123>”, "
    "“[x](http://evil)”, “<https://evil.example|arxiv.org>”, “*bold*”, “_it_”, “`code`”"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a & b", "a &amp; b"),
        ("&lt;already&gt;", "&amp;lt;already&amp;gt;"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U123>", f"&lt;@{WJ}U123&gt;"),
        ("@everyone", f"@{WJ}everyone"),
        ("*b* _i_ ~s~ `c`", "\u2217b\u2217 \u02cdi\u02cd \u223cs\u223c \u02cbc\u02cb"),
        ("> quote", f"{SHY}&gt; quote"),
        ("a > b", "a &gt; b"),
        ("line\n  > quote", f"line\n{SHY}&gt; quote"),
        ("\u202eevil\u202c", "evil"),
        ("tab\tand\x1b[2J", "tab and [2J"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        ("plain words", "plain words"),
    ],
)
def test_escape(raw: str, expected: str) -> None:
    assert escape(raw) == expected


@pytest.mark.parametrize("title", HOSTILE)
def test_hostile_title_renders_as_text(title: str) -> None:
    hostile = item(title=title, snippet=title, authors=title)
    messages = render_digest(
        digest((hostile,), topics=(title,), matched_topics=((title,),), more=1, more_query=title)
    )
    assert_valid(messages)
    assert_harmless(messages, {"https://arxiv.org/abs/2402.12345"})
    dumped = json.dumps([m.post_message_kwargs() for m in messages], ensure_ascii=False)
    for bad in ("<!", "<@", "<#", "@everyone", "@channel", "@here"):
        assert bad not in dumped


@pytest.mark.parametrize("reason", [EVIL_REASON, *HOSTILE, "> quoted\n>> reason"])
def test_hostile_reason_of_a_suggested_paper_renders_as_text(reason: str) -> None:
    suggested = item(paper_id="2611.02020", title=reason, authors=reason, snippet=reason)
    messages = render_digest(suggesting((item(),), ((suggested, reason),), more=1))
    assert_valid(messages)
    assert_harmless(messages, {"https://arxiv.org/abs/2402.12345"})
    assert len(headings(messages)) == 1
    dumped = json.dumps([m.post_message_kwargs() for m in messages], ensure_ascii=False)
    for bad in ("<!", "<@", "<#", "<https://evil", "@everyone", "@channel", "@here"):
        assert bad not in dumped
    # Escaped exactly as the same text is in the paper's title.
    [message] = messages
    [(_, heading)] = headings(messages)
    section, context = message.blocks[heading + 1 : heading + 3]
    title = section["text"]["text"].split("\n")[0]
    shown = context["elements"][0]["text"]
    assert context["type"] == "context" and context["elements"][0]["verbatim"] is True
    label = shown.replace("|", "\u2223")  # as link() writes a pipe in a label
    assert title == f"*<https://arxiv.org/abs/2402.12345|{label}>*"


def test_evil_reason_shows_every_character_inert() -> None:
    suggested = item(paper_id="2611.02020")
    [message] = render_digest(suggesting((), ((suggested, EVIL_REASON),)))
    [reason] = [b["elements"][0]["text"] for b in message.blocks if b["type"] == "context"]
    assert reason == (
        f"like papers this channel liked: “@{WJ}everyone”, “&lt;!channel&gt;”, "
        f"“&lt;@{WJ}U123&gt;”, “[x](http://evil)”, “&lt;https://evil.example|arxiv.org&gt;”, "
        "“\u2217bold\u2217”, “\u02cdit\u02cd”, “\u02cbcode\u02cb”"
    )
    assert links([message]) == ["https://arxiv.org/abs/2402.12345"]


def test_evil_link_in_title_is_not_a_link() -> None:
    [message] = render_digest(digest((item(title=EVIL_TITLE, url=None),)))
    assert links([message]) == []
    section = message.blocks[1]["text"]["text"]
    assert section.startswith(
        f"*&lt;!channel&gt; Free GPUs &lt;@{WJ}U123&gt; &lt;https://evil.example|arxiv.org&gt;*"
    )


def test_pipe_in_a_link_label_cannot_split_the_link() -> None:
    [message] = render_digest(digest((item(title="a|<https://evil.example>"),)))
    first_line = message.blocks[1]["text"]["text"].split("\n")[0]
    assert first_line == "*<https://arxiv.org/abs/2402.12345|a\u2223&lt;https://evil.example&gt;>*"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.org/x",
        "https://example.org/a|b",
        "https://example.org/a>b",
        "https://example.org/a<b",
        "https://example.org/a b",
        "https://example.org/\u202eevil",
        "https://",
        "https:///path",
        "//example.org/x",
        "https://[::1",
        "https://example.org/" + "x" * 1000,
        "",
    ],
)
def test_unsafe_url_is_not_linked(url: str) -> None:
    assert safe_url(url) is None
    messages = render_digest(
        digest((item(url=url, code_links=(CodeLink(label="o/r", url=url),)),))
    )
    assert links(messages) == []
    assert "Code: o/r" in messages[0].blocks[1]["text"]["text"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://arxiv.org/abs/2402.12345", "https://arxiv.org/abs/2402.12345"),
        ("HTTP://Example.org/a?b=1&c=2", "HTTP://Example.org/a?b=1&amp;c=2"),
        (" https://example.org/x ", "https://example.org/x"),
    ],
)
def test_safe_url(url: str, expected: str) -> None:
    assert safe_url(url) == expected
