"""Discord escaping: mentions, markdown, masked links and unsafe URLs render as text."""

from __future__ import annotations

import dataclasses
import json

import pytest

from adapters.discord.markdown import escape, safe_url
from adapters.discord.render import render_abstract, render_digest, render_nothing_new, render_reply
from bot.model.messages import CodeLink, NothingNew, Reply
from tests.adapters.discord.render_helpers import (
    EVIL_LINK,
    HOSTILE,
    PAPER_URL,
    ZW,
    _payload,
    assert_escaped,
    assert_harmless,
    assert_no_mentions,
    assert_valid,
    digest,
    headings,
    item,
    links,
    suggesting,
)

# A suggestion's reason quotes catalog text: words of titles, author names.
EVIL_REASON = (
    "like papers this channel liked: “@everyone”, “<@123>”, “<@&456>”, “<#789>”, "
    f"“{EVIL_LINK}”, “[x](http://evil)”, “**bold**”, “||spoiler||”, “`code`”, “discord.gg/x”"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@everyone @here", f"@{ZW}everyone @{ZW}here"),
        ("<@123> <@!1> <@&456>", f"<{ZW}@{ZW}123> <{ZW}@{ZW}!1> <{ZW}@{ZW}&456>"),
        ("<#789> </cmd:1> <t:1:R>", f"<{ZW}#789> <{ZW}/cmd:1> <{ZW}t:1:R>"),
        (EVIL_LINK, "\\[arxiv.org\\](https://evil.example)"),
        ("||spoiler||", "\\|\\|spoiler\\|\\|"),
        ("**b** __u__ *i* ~~s~~ `c`", "\\*\\*b\\*\\* \\_\\_u\\_\\_ \\*i\\* \\~\\~s\\~\\~ \\`c\\`"),
        ("```block```", "\\`\\`\\`block\\`\\`\\`"),
        ("# h1\n## h2\n-# sub", "\\# h1\n\\## h2\n\\-# sub"),
        ("> q\n>>> all\n- item", "\\> q\n\\>>> all\n\\- item"),
        ("a > b # c - d", "a > b # c - d"),
        ("back\\slash", "back\\\\slash"),
        ("\u202eevil\u202c", "evil"),
        ("tab\tand\x1b[2J", "tab and \\[2J"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        ("a & b: 1 + 1 = 2!", "a & b: 1 + 1 = 2!"),
    ],
)
def test_escape(raw: str, expected: str) -> None:
    assert escape(raw) == expected


def test_escape_in_content_breaks_links_and_invites() -> None:
    assert escape("https://x.example discord.gg/a DISCORD.com/invite/b", content=True) == (
        f"https:{ZW}//x.example discord{ZW}.gg/a DISCORD{ZW}.com/invite/b"
    )
    # In embeds nothing unfurls: a URL stays a URL, showing where it goes.
    assert escape("https://x.example") == "https://x.example"


def test_discord_utils_escapes_miss_what_escape_catches() -> None:
    # Why escape() does not build on discord.utils: these get through it.
    from discord.utils import escape_markdown, escape_mentions

    assert escape_mentions("<#789> <@&1> </cmd:1>") == "<#789> <@&1> </cmd:1>"
    # One backslash before the whole [..](..): the *x* inside stays bold.
    assert escape_markdown("[*x*](https://evil.example)") == "\\[*x*](https://evil.example)"
    assert escape_markdown("a]b") == "a]b"
    for text in ("<#789> <@&1> </cmd:1>", "[*x*](https://evil.example)", "a]b"):
        assert_escaped(escape(text))
        assert_no_mentions(escape(text))


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_as_text_everywhere(text: str) -> None:
    hostile = item(
        title=text,
        authors=text,
        date=text,
        category=text,
        snippet=text,
        code_links=(CodeLink(label=text, url="https://github.com/o/r"),),
    )
    value = digest(
        (hostile,), channel=text, topics=(text,), matched_topics=((text, text),), more=1,
        more_query=text,
    )
    for messages in (
        render_digest(value),
        render_digest(dataclasses.replace(value, items=(), matched_topics=())),
        render_reply(Reply(text=text, items=(hostile,))),
        render_abstract(hostile, text),
        [render_nothing_new(NothingNew(channel=text, date=text))],
    ):
        assert_valid(messages)
        assert_harmless(messages, {PAPER_URL, "https://github.com/o/r"})
        dumped = json.dumps([_payload("", "", messages)], ensure_ascii=False)
        for bad in ("@everyone", "@here", "<@", "<#", "</", "<t:", "<:", "<a:"):
            assert bad not in dumped


@pytest.mark.parametrize("reason", [EVIL_REASON, *HOSTILE])
def test_hostile_reason_of_a_suggested_paper_renders_as_text(reason: str) -> None:
    suggested = item(paper_id="2611.02020", title=reason, authors=reason, snippet=reason)
    messages = render_digest(suggesting((item(),), ((suggested, reason),), more=1))
    assert_valid(messages)
    assert_harmless(messages, {PAPER_URL})
    dumped = json.dumps([_payload("", "", messages)], ensure_ascii=False)
    for bad in ("@everyone", "@here", "<@", "<#", "</", "<t:", "<:", "<a:"):
        assert bad not in dumped
    # Escaped exactly as the same text is in the paper's title.
    [message] = messages
    [(_, at)] = headings(messages)
    embed = message.embeds[at]
    shown = embed["description"].split("\n")[1]
    assert embed["title"] == f"2. {shown}"


def test_evil_reason_shows_every_character_inert() -> None:
    [message] = render_digest(suggesting((), ((item(), EVIL_REASON),)))
    reason = message.embeds[0]["description"].split("\n")[1]
    assert reason == (
        f"like papers this channel liked: “@{ZW}everyone”, “<{ZW}@{ZW}123>”, "
        f"“<{ZW}@{ZW}&456>”, “<{ZW}#789>”, “\\[arxiv.org\\](https://evil.example)”, "
        "“\\[x\\](http://evil)”, “\\*\\*bold\\*\\*”, “\\|\\|spoiler\\|\\|”, "
        "“\\`code\\`”, “discord.gg/x”"
    )
    assert links([message]) == [PAPER_URL]


def test_masked_link_cannot_be_faked() -> None:
    [message] = render_digest(digest((item(title=EVIL_LINK, snippet=EVIL_LINK, url=None),)))
    assert links([message]) == []
    assert message.embeds[0]["title"] == "1. \\[arxiv.org\\](https://evil.example)"


def test_code_label_brackets_cannot_break_our_link() -> None:
    code = CodeLink(label="[a](https://evil.example) ]x[", url="https://github.com/o/r")
    [message] = render_digest(digest((item(code_links=(code,)),)))
    line = message.embeds[0]["description"].split("\n")[1]
    assert (
        line == "Code: [\uff3ba\uff3d(https://evil.example) \uff3dx\uff3b](https://github.com/o/r)"
    )
    assert links([message]) == [PAPER_URL, "https://github.com/o/r"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.org/x",
        "https://example.org/a)b",
        "https://example.org/a(b",
        "https://example.org/a]b",
        "https://example.org/a>b",
        "https://example.org/a<b",
        "https://example.org/a b",
        "https://example.org/a\\b",
        "https://example.org/a|b",
        "https://example.org/a'b",
        'https://example.org/a"b',
        "https://arxiv.org@evil.example/x",
        "https://example.org/\u202eevil",
        "https://exämple.org/",
        "https://",
        "https:///path",
        "https://localhost/x",
        "https://example.org:99999/x",
        "https://-bad-.example/x",
        "//example.org/x",
        "https://[::1]/x",
        "https://example.org/" + "x" * 600,
        "",
    ],
)
def test_unsafe_url_is_not_linked(url: str) -> None:
    assert safe_url(url) is None
    [message] = render_digest(
        digest((item(url=url, code_links=(CodeLink(label="o/r", url=url),)),))
    )
    assert links([message]) == []
    assert "url" not in message.embeds[0]
    assert "Code: o/r" in message.embeds[0]["description"]


@pytest.mark.parametrize(
    "url",
    [
        PAPER_URL,
        "HTTP://Example.org/a?b=1&c=2#frag",
        "https://github.com/o/r.git",
        "https://1.2.3.4/",
    ],
)
def test_safe_url(url: str) -> None:
    assert safe_url(url) == url
    assert safe_url(f" {url} ") == url
