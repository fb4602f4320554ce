"""Discord rendering: layout, escaping, mentions, buttons, Discord's limits and splitting.

Golden files under ``golden/`` hold whole rendered messages; a difference
fails the test. After a deliberate change, regenerate them with
``UPDATE_GOLDEN=1 pytest tests/adapters/discord`` and review the diff.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
from collections.abc import Collection
from datetime import date
from pathlib import Path
from typing import Any

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord.markdown import escape, safe_url
from adapters.discord.message import (
    ACTION_ROW_LIMIT,
    CONTENT_LIMIT,
    CUSTOM_ID_LIMIT,
    CUSTOM_ID_TEMPLATE,
    EMBED_LIMIT,
    EMBED_TOTAL_LIMIT,
    NO_MENTIONS,
    PAPERS_PER_MESSAGE,
    DiscordLimitError,
    DiscordMessage,
    PaperButtons,
    check_message,
    custom_id,
)
from adapters.discord.render import (
    render_abstract,
    render_digest,
    render_message,
    render_nothing_new,
    render_reply,
)
from bot.model.messages import CodeLink, Digest, NothingNew, PaperItem, Reply, paper_item
from bot.model.papers import PaperRecord
from bot.text.fitting import width

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
ZW = "\u200b"
PAPER_URL = "https://arxiv.org/abs/2402.12345"

EVIL_LINK = "[arxiv.org](https://evil.example)"
HOSTILE = [
    "@everyone and @here look",
    "<@123456789012345678> <@!42> <@&456> <#789> </papers show:1> <t:1700000000:R>",
    "<:blobcat:123> <a:wave:456> <id:customize> <https://evil.example>",
    f"{EVIL_LINK} and [x]( https://evil.example ) and [y](<https://evil.example>)",
    "||spoiler|| **bold** __under__ *it* ~~gone~~ `code` ```py\nblock```",
    "# Heading\n## h2\n-# subtext\n> quote\n>>> all quoted\n- list\n  > indented quote",
    "back\\slash \\*not escaped\\* \\[x\\](https://evil.example)",
    "right-to-left \u202eevil\u202c and NUL \x00 and ESC \x1b[2J",
    "emoji 🧪 and 🇩🇪 and :rotating_light: and https://discord.gg/abc",
]


def item(**fields: Any) -> PaperItem:
    values: dict[str, Any] = {
        "paper_id": "2402.12345",
        "title": "A paper",
        "url": PAPER_URL,
        "authors": "A. Author, B. Author",
        "date": "2026-11-28",
        "category": "cs.CV",
        "code_links": (),
        "code_announced": False,
        "snippet": "",
    }
    values.update(fields)
    return PaperItem(**values)


def digest(items: tuple[PaperItem, ...], **fields: Any) -> Digest:
    values: dict[str, Any] = {
        "channel": "discord:G1/C1",
        "topics": ("breast mri",),
        "date": "2026-11-28",
        "items": items,
    }
    values.update(fields)
    return Digest(**values)


def numbered(count: int, **fields: Any) -> tuple[PaperItem, ...]:
    return tuple(item(paper_id=f"2402.{n:05d}", title=f"Paper {n}", **fields) for n in range(count))


# -- helpers: what every rendered message must satisfy -------------------------

_OUR_LINK = re.compile(r"\[([^\[\]\n]*)\]\((https?://[^()\s]+)\)")
_HEAD = re.compile(r"\*\*((?:\\.|[^\\*])*)\*\*(?: \(1/\d+\))?$|… continued \(\d+/\d+\)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def markdown_texts(message: DiscordMessage) -> list[str]:
    """The texts Discord renders markdown in (content, titles, descriptions)."""
    found = [message.content]
    for embed in message.embeds:
        found += [embed[k] for k in ("title", "description") if k in embed]
    return found


def plain_texts(message: DiscordMessage) -> list[str]:
    return [e["footer"]["text"] for e in message.embeds if "footer" in e]


def link_targets(text: str) -> list[str]:
    """The targets of the ``[label](url)`` links in ``text``, skipping escaped brackets."""
    found, index = [], 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        link = _OUR_LINK.match(text, index) if text[index] == "[" else None
        if link is not None:
            found.append(link.group(2))
        index = link.end() if link is not None else index + 1
    return found


def links(messages: list[DiscordMessage]) -> list[str]:
    """Every URL we linked: embed urls and markdown link targets."""
    found = [e["url"] for m in messages for e in m.embeds if "url" in e]
    for message in messages:
        for text in markdown_texts(message):
            found += link_targets(text)
    return found


def assert_valid(messages: list[DiscordMessage]) -> None:
    assert messages
    for message in messages:
        check_message(message)
        assert width(message.content) <= CONTENT_LIMIT
        assert len(message.embeds) <= EMBED_LIMIT and message.size <= EMBED_TOTAL_LIMIT
        assert len(message.paper_ids) <= PAPERS_PER_MESSAGE
        assert len(message.buttons) <= ACTION_ROW_LIMIT
        for embed in message.embeds:
            assert width(embed.get("title", "")) <= 256
            assert width(embed.get("description", "")) <= 4096
            assert width(embed.get("footer", {}).get("text", "")) <= 2048


def assert_escaped(text: str, allowed_urls: Collection[str] = ()) -> None:
    """``text`` has no markdown left but links to ``allowed_urls``; Discord shows it as written."""
    index, line_start = 0, True
    while index < len(text):
        char = text[index]
        if char == "\\":
            escaped = text[index + 1 : index + 2]
            assert escaped and not escaped.isalnum() and not escaped.isspace(), text
            index, line_start = index + 2, False
            continue
        if char == "[":
            link = _OUR_LINK.match(text, index)
            assert link is not None and link.group(2) in allowed_urls, text
            assert_escaped(link.group(1))
            index, line_start = link.end(), False
            continue
        assert char not in "*_~`|[]", (char, text)
        assert not (line_start and char in ">#-"), (char, text)
        line_start = char == "\n" or (line_start and char.isspace())
        index += 1


def assert_no_mentions(text: str) -> None:
    assert not re.search(f"[@<](?!{ZW})", text), text
    assert not _CONTROL.search(text), text


def assert_harmless(messages: list[DiscordMessage], allowed_urls: set[str]) -> None:
    """Only links we built, to URLs we were given; nothing Discord would ping, parse or unfurl."""
    assert set(links(messages)) <= allowed_urls
    for message in messages:
        assert message.send_kwargs()["allowed_mentions"].to_dict() == {"parse": []}
        for text in markdown_texts(message) + plain_texts(message):
            assert_no_mentions(text)
        lines = message.content.split("\n")
        if _HEAD.match(lines[0]):
            head = _HEAD.match(lines[0])
            assert head is not None
            lines[0] = head.group(1) or ""
        content = "\n".join(lines)
        assert_escaped(content)
        assert "://" not in content and "discord.gg" not in content.lower()
        for embed in message.embeds:
            assert_escaped(re.sub(r"^\d+\. ", "", embed.get("title", "")))
            assert_escaped(embed.get("description", ""), allowed_urls)


def button_table(message: DiscordMessage) -> list[tuple[int, str, str, str]]:
    return [(b.row, b.paper_id, b.abstract_custom_id, b.like_custom_id) for b in message.buttons]


def given_urls(value: Digest | Reply) -> set[str]:
    return {
        url.strip() for i in value.items for url in (i.url, *(c.url for c in i.code_links)) if url
    }


# -- golden snapshots ----------------------------------------------------------

THREE = digest(
    (
        item(
            paper_id="2402.12345",
            title="MOME: Mixture of Multimodal Experts for Breast MRI",
            authors="L. Luo, X. Wang, Y. Chen et al.",
            code_links=(CodeLink(label="LLYXC/MOME", url="https://github.com/LLYXC/MOME"),),
            snippet="We present MOME, a foundation model for breast MRI.",
        ),
        item(
            paper_id="2403.00001",
            title="Low-dose CT & denoising: a survey",
            url="https://arxiv.org/abs/2403.00001",
            authors="C. Doe",
            category="eess.IV",
            code_announced=True,
            snippet="Low-dose CT reduces radiation at the cost of noise.",
        ),
        item(
            paper_id="t0123456789abcdef",
            title="A paper without a landing page",
            url=None,
            authors="unknown authors",
            date="undated",
            category="uncategorized",
        ),
    ),
    topics=("breast mri", '"low dose" ct'),
    matched_topics=(("breast mri",), ('"low dose" ct', "breast mri"), ()),
    more=5,
    more_query='"breast mri" OR "low dose ct"',
)

GOLDEN_CASES: dict[str, tuple[str, str, Digest | Reply]] = {
    "digest_three_papers": (
        "A digest of three papers for two topics, with a footer for five more.",
        "One message: the bold header as content; one embed per paper, titled 'N. title' "
        "and linked when it has a URL, described 'authors · date · category', code links or "
        "'Code announced', matched topics, snippet; the footer in the last embed's footer; "
        "one row of 'N. Abstract' / 'N. More like this' buttons per paper; no mentions allowed.",
        THREE,
    ),
    "digest_hostile": (
        "One paper whose title, authors, topics, snippet and code labels try to ping "
        "@everyone, mention a user, role, channel and command, fake a masked link, hide a "
        "spoiler, open a code block, a heading and subtext; a topic holds an invite link.",
        "Everything shows as text: a zero-width space after every @ and <, a backslash "
        "before every markdown marker and before a line-start > # -, '://' and "
        "'discord.gg' broken in content; links only to the paper and the code repository; "
        "the javascript: URL and the label's brackets are not a link.",
        digest(
            (
                item(
                    title=f"@everyone {EVIL_LINK} <@123> <@&456> <#789> </cmd:1> ||x||",
                    authors="> <@!42>, @here, __under__",
                    code_links=(
                        CodeLink(label="<@&456> [o/r]", url="https://github.com/o/r?a=1&b=2"),
                        CodeLink(label="x|y", url="javascript:alert(1)"),
                    ),
                    snippet=f"```{EVIL_LINK}``` is where the *code* lives.",
                ),
            ),
            topics=("@everyone", "discord.gg/abc"),
            matched_topics=(("# heading", "-# subtext"),),
            more=1,
            more_query="<@123> [x](https://evil.example)",
        ),
    ),
    "digest_seven_papers": (
        "Seven short papers: more than the five a message can give buttons to.",
        "Two messages: five papers with header '(1/2)', then two with '… continued (2/2)'; "
        "numbering runs on (6., 7.) and each message's rows start again at 0; the footer "
        "rides in the last paper's embed.",
        digest(numbered(7), more=2, more_query="mri"),
    ),
    "reply_show": (
        "The answer to /papers show: the abstract as text, the paper as its one item.",
        "The abstract (escaped, lines kept) as content, then the paper's embed and its buttons.",
        Reply(
            text="We *propose* MOME.\n> Not a quote: see https://example.org/x.",
            items=(item(snippet="We propose MOME."),),
        ),
    ),
}


def _payload(case: str, expect: str, messages: list[DiscordMessage]) -> dict[str, Any]:
    return {
        "case": case,
        "expect": expect,
        "messages": [
            {
                "content": m.content,
                "embeds": list(m.embeds),
                "paper_ids": list(m.paper_ids),
                "buttons": [
                    {
                        "row": b.row,
                        "paper_id": b.paper_id,
                        "custom_ids": [b.abstract_custom_id, b.like_custom_id],
                        "labels": [b.abstract_label, b.like_label],
                    }
                    for b in m.buttons
                ],
                "allowed_mentions": m.send_kwargs()["allowed_mentions"].to_dict(),
            }
            for m in messages
        ],
    }


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden(name: str) -> None:
    case, expect, value = GOLDEN_CASES[name]
    payload = _payload(case, expect, render_message(value))
    path = GOLDEN / f"{name}.json"
    if UPDATE:
        text = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        # The invisible zero-width space stays visible to a reviewer as a JSON escape.
        path.write_text(text.replace(ZW, "\\u200b"), encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}; run with UPDATE_GOLDEN=1 to create it"
    assert json.loads(path.read_text("utf-8")) == payload


def test_golden_cases_are_valid_and_harmless() -> None:
    for _, _, value in GOLDEN_CASES.values():
        messages = render_message(value)
        assert_valid(messages)
        assert_harmless(messages, given_urls(value))


# -- layout ----------------------------------------------------------------------


def test_digest_layout() -> None:
    [message] = render_digest(THREE)
    assert message.content == '**3 new papers for breast mri, "low dose" ct · 2026-11-28**'
    assert message.paper_ids == ("2402.12345", "2403.00001", "t0123456789abcdef")
    first, second, third = message.embeds
    assert first["title"] == "1. MOME: Mixture of Multimodal Experts for Breast MRI"
    assert first["url"] == PAPER_URL
    assert first["description"].split("\n") == [
        "L. Luo, X. Wang, Y. Chen et al. · 2026-11-28 · cs.CV",
        "Code: [LLYXC/MOME](https://github.com/LLYXC/MOME)",
        "Matched: breast mri",
        "We present MOME, a foundation model for breast MRI.",
    ]
    assert "Code announced (no link yet)" in second["description"]
    assert third["title"] == "3. A paper without a landing page" and "url" not in third
    assert "footer" not in first and "footer" not in second
    assert third["footer"] == {
        "text": '5 more matched: /papers search "breast mri" OR "low dose ct"'
    }


def test_no_footer_when_nothing_left_out() -> None:
    [message] = render_digest(digest((item(),)))
    assert "footer" not in message.embeds[0]


def test_empty_digest_is_header_and_footer_as_content() -> None:
    [message] = render_digest(digest((), more=3, more_query="mri_x"))
    assert message.embeds == () and message.buttons == ()
    assert message.content == (
        "**0 new papers for breast mri · 2026-11-28**\n3 more matched: /papers search mri\\_x"
    )


def test_footer_is_plain_text_as_typed() -> None:
    # Footers render no markdown: a backslash there would show.
    [message] = render_digest(digest((item(),), more=1, more_query='"a_b" OR c*'))
    assert message.embeds[0]["footer"]["text"] == '1 more matched: /papers search "a_b" OR c*'


def test_send_kwargs() -> None:
    [message] = render_digest(THREE)
    kwargs = message.send_kwargs()
    assert set(kwargs) == {"content", "embeds", "allowed_mentions"}
    assert kwargs["allowed_mentions"].to_dict() == NO_MENTIONS.to_dict() == {"parse": []}
    assert kwargs["allowed_mentions"] is not NO_MENTIONS
    assert all(isinstance(e, discord.Embed) for e in kwargs["embeds"])
    sent = [{k: v for k, v in e.to_dict().items() if k != "flags"} for e in kwargs["embeds"]]
    assert sent == list(message.embeds)
    assert kwargs["content"] == message.content
    [abstract] = render_abstract(item(), "short")
    assert abstract.send_kwargs()["content"] is None  # embeds alone, no empty content


# -- buttons ---------------------------------------------------------------------


def test_each_paper_gets_its_own_row_of_two_buttons() -> None:
    [message] = render_digest(THREE)
    assert button_table(message) == [
        (0, "2402.12345", "digestbot:abstract:2402.12345", "digestbot:like:2402.12345"),
        (1, "2403.00001", "digestbot:abstract:2403.00001", "digestbot:like:2403.00001"),
        (
            2,
            "t0123456789abcdef",
            "digestbot:abstract:t0123456789abcdef",
            "digestbot:like:t0123456789abcdef",
        ),
    ]
    labels = [(b.abstract_label, b.like_label) for b in message.buttons]
    assert labels == [(f"{n}. Abstract", f"{n}. More like this") for n in (1, 2, 3)]


def test_custom_ids_parse_back_through_a_dynamic_item() -> None:
    # What the adapter will do after a restart: rebuild the button from its custom_id.
    class Probe(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CUSTOM_ID_TEMPLATE):
        def __init__(self, kind: str, paper_id: str) -> None:
            super().__init__(discord.ui.Button(custom_id=f"digestbot:{kind}:{paper_id}"))
            self.kind, self.paper_id = kind, paper_id

        @classmethod
        async def from_custom_id(  # type: ignore[override]
            cls, interaction: Any, item: Any, match: re.Match[str]
        ) -> Probe:
            return cls(match["kind"], match["paper_id"])

    paper_id = "cs/0112017v1:weird id:with:colons"
    [message] = render_digest(digest((item(paper_id=paper_id),)))
    [buttons] = message.buttons
    for kind, value in (("abstract", buttons.abstract_custom_id), ("like", buttons.like_custom_id)):
        match = re.compile(CUSTOM_ID_TEMPLATE).match(value)
        assert match is not None
        probe = asyncio.run(Probe.from_custom_id(None, None, match))
        assert (probe.kind, probe.paper_id, probe.custom_id) == (kind, paper_id, value)


def test_button_custom_id_holds_the_raw_id() -> None:
    # The id comes back in the interaction: escaping it would change it.
    [message] = render_digest(digest((item(paper_id="<@1>*_`"),)))
    assert message.buttons[0].abstract_custom_id == "digestbot:abstract:<@1>*_`"


def test_custom_id_at_and_over_the_limit() -> None:
    longest = "x" * (CUSTOM_ID_LIMIT - len("digestbot:abstract:"))
    assert custom_id("abstract", longest) == f"digestbot:abstract:{longest}"
    assert len(custom_id("abstract", longest) or "") == CUSTOM_ID_LIMIT
    assert custom_id("abstract", longest + "x") is None
    [message] = render_digest(digest((item(paper_id=longest), item(paper_id=longest + "x"))))
    assert [b.paper_id for b in message.buttons] == [longest]
    assert message.paper_ids == (longest, longest + "x")


@pytest.mark.parametrize(
    "paper_id",
    ["", "   ", "a\nb", "a\x00b", "a\u2028b", "lone \ud800", "🧪" * 41],
    ids=["empty", "blank", "newline", "nul", "line-separator", "surrogate", "utf16-too-long"],
)
def test_id_unfit_for_a_custom_id_gets_no_buttons(paper_id: str) -> None:
    [message] = render_digest(digest((item(paper_id=paper_id), item(paper_id="ok"))))
    assert button_table(message) == [(0, "ok", "digestbot:abstract:ok", "digestbot:like:ok")]
    assert message.buttons[0].number == 2  # labels still name the second paper
    assert message.paper_ids == (paper_id, "ok")


def test_a_repeated_paper_gets_buttons_once_per_message() -> None:
    # custom_ids must be unique within a message.
    [message] = render_digest(digest((item(), item())))
    assert [b.paper_id for b in message.buttons] == ["2402.12345"]
    assert message.paper_ids == ("2402.12345", "2402.12345")


# -- escaping --------------------------------------------------------------------


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


# -- limits ----------------------------------------------------------------------


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


def test_render_message_dispatches() -> None:
    quiet = NothingNew(channel="c", date="2026-11-28")
    assert render_message(quiet) == [render_nothing_new(quiet)]
    assert render_message(Reply(text="hi")) == render_reply(Reply(text="hi"))
    value = digest((item(),))
    assert render_message(value) == render_digest(value)


def test_paper_item_from_a_record_renders() -> None:
    record = PaperRecord(
        id="2402.12345",
        title="From a record",
        authors=("A", "B"),
        abstract="First sentence here. Second one.",
        categories=("cs.CV",),
        published=date(2026, 11, 28),
        url=PAPER_URL,
        code_urls=("https://github.com/o/r",),
    )
    [message] = render_digest(digest((paper_item(record),), matched_topics=(("mri",),)))
    assert message.embeds[0]["description"].split("\n") == [
        "A, B · 2026-11-28 · cs.CV",
        "Code: [o/r](https://github.com/o/r)",
        "Matched: mri",
        "First sentence here.",
    ]


# -- properties ------------------------------------------------------------------

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
    return Digest(
        channel=draw(untrusted),
        topics=draw(st.lists(untrusted, max_size=3).map(tuple)),
        date=draw(untrusted),
        items=found,
        matched_topics=tuple(matched[n % len(matched)] for n in range(len(found))),
        more=draw(st.integers(min_value=0, max_value=100)),
        more_query=draw(st.none() | untrusted),
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
