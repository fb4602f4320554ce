"""Block Kit rendering: layout, escaping, Slack's limits and splitting.

Golden files under ``golden/`` hold whole rendered messages; a difference
fails the test. After a deliberate change, regenerate them with
``UPDATE_GOLDEN=1 pytest tests/adapters/slack`` and review the diff.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.message import (
    BLOCK_LIMIT,
    BUTTON_VALUE_LIMIT,
    FALLBACK_LIMIT,
    HEADER_LIMIT,
    MESSAGE_BUDGET,
    TEXT_LIMIT,
    SlackLimitError,
    SlackMessage,
    check_message,
)
from adapters.slack.mrkdwn import escape, safe_url
from adapters.slack.render import (
    ABSTRACT_ACTION_ID,
    MORE_LIKE_ACTION_ID,
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

EVIL_TITLE = "<!channel> Free GPUs <@U123> <https://evil.example|arxiv.org>"
HOSTILE = [
    EVIL_TITLE,
    "@everyone look",
    "<!here> now",
    "<#C123|general> and <@U999>",
    "already &lt;escaped&gt; &amp; not",
    "`code` *bold* _italic_ ~strike~ ```block```",
    "> a quote\n>> nested",
    "＞ full-width ＊bold＊ ＿it＿ ｀c｀",
    "<!subteam^S123> <!date^1392734382^{date}|x>",
    "right-to-left \u202eevil\u202c and NUL \x00 and ESC \x1b[2J",
    "emoji 🧪 and 🇩🇪 and :rotating_light:",
]
WJ = "\u2060"
SHY = "\u00ad"


def item(**fields: Any) -> PaperItem:
    values: dict[str, Any] = {
        "paper_id": "2402.12345",
        "title": "A paper",
        "url": "https://arxiv.org/abs/2402.12345",
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
        "channel": "slack:T1/C1",
        "topics": ("breast mri",),
        "date": "2026-11-28",
        "items": items,
    }
    values.update(fields)
    return Digest(**values)


# -- helpers: what every rendered message must satisfy -------------------------

_LINK = re.compile(r"<(https?://[^\s|<>]+)\|([^<>|]*)>")
_ENTITY = re.compile(r"&(?:amp|lt|gt);")


def texts(blocks: Any) -> list[str]:
    """Every text object's text in ``blocks``."""
    found: list[str] = []
    if isinstance(blocks, dict):
        for key, value in blocks.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found += texts(value)
    elif isinstance(blocks, (list, tuple)):
        for value in blocks:
            found += texts(value)
    return found


def links(messages: list[SlackMessage]) -> list[str]:
    """Every URL we linked, unescaped."""
    return [
        url.replace("&amp;", "&")
        for m in messages
        for text in [m.text, *texts(m.blocks)]
        for url, _ in _LINK.findall(text)
    ]


def assert_valid(messages: list[SlackMessage]) -> None:
    for message in messages:
        check_message(message)
        assert 1 <= len(message.blocks) <= BLOCK_LIMIT
        assert message.size <= MESSAGE_BUDGET
        for block in message.blocks:
            if block["type"] == "header":
                assert width(block["text"]["text"]) <= HEADER_LIMIT
            for text in texts(block):
                assert text.strip() and width(text) <= TEXT_LIMIT


def text_objects(blocks: Any) -> list[dict[str, Any]]:
    """Every plain_text and mrkdwn object in ``blocks``."""
    if isinstance(blocks, dict):
        own = [blocks] if blocks.get("type") in ("plain_text", "mrkdwn") else []
        return own + [o for v in blocks.values() for o in text_objects(v)]
    if isinstance(blocks, (list, tuple)):
        return [o for v in blocks for o in text_objects(v)]
    return []


def assert_harmless(messages: list[SlackMessage], allowed_urls: set[str]) -> None:
    """Only links we built, to URLs we were given; nothing else Slack would act on."""
    assert set(links(messages)) <= allowed_urls
    for message in messages:
        for obj in text_objects(message.blocks):
            text = obj["text"]
            if obj["type"] == "plain_text":
                # Slack parses no markup here: only the entities matter.
                assert not re.search(r"[<>&]", _ENTITY.sub("", text)), text
                assert not re.search(f"@(?!{WJ})", text), text
                continue
            assert obj["verbatim"] is True
            rest = _LINK.sub(lambda m: m.group(2), text)
            # Our only markup: one bold title line atop an item's section.
            if rest.startswith("*"):
                first, _, rest = rest.partition("\n")
                assert first.endswith("*") and first.count("*") == 2, first
                assert_escaped(first[1:-1])
            assert_escaped(rest)
        assert_escaped(_LINK.sub(lambda m: m.group(2), message.text))


def assert_escaped(text: str) -> None:
    bare = _ENTITY.sub("", text)
    assert not re.search(r"[<>&*_~`\uff0a\uff3f\uff40]", bare), text
    assert not re.search(f"@(?!{WJ})", text), text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
    for line in text.split("\n"):
        assert not line.lstrip().startswith(("&gt;", "\uff1e")), line


def button_values(message: SlackMessage) -> list[tuple[str, str]]:
    return [
        (element["action_id"], element["value"])
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


# -- golden snapshots ----------------------------------------------------------

GOLDEN_CASES: dict[str, tuple[str, str, Digest]] = {
    "digest_three_papers": (
        "A digest of three papers for two topics, with a footer for five more.",
        "One message: a header, three items (title linked, 'authors · date · category', "
        "code links or 'code announced', matched topics, snippet, two buttons), dividers "
        "between items, the footer as a context block; '&' escaped everywhere.",
        digest(
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
        ),
    ),
    "digest_hostile_title": (
        "One paper whose title, authors, topic, snippet and code label try to ping the "
        "channel, mention a user, fake a link and fake formatting.",
        "Everything shows as visible text: <, >, & as entities, markers as look-alikes, a "
        "word joiner after @, a soft hyphen before a leading >; the only links are the "
        "paper's and the code repository's; the javascript: URL is not linked.",
        digest(
            (
                item(
                    title=EVIL_TITLE + " *bold* _it_ ~gone~ `code`",
                    authors="> <@U123>, @everyone",
                    code_links=(
                        CodeLink(label="<!here>", url="https://github.com/o/r?a=1&b=2"),
                        CodeLink(label="x|y", url="javascript:alert(1)"),
                    ),
                    snippet="<https://evil.example|arxiv.org> is where the code lives.",
                ),
            ),
            topics=("<!channel>",),
            matched_topics=(("<#C123>", "&lt;already&gt;"),),
        ),
    ),
}


def _golden_payload(case: str, expect: str, messages: list[SlackMessage]) -> dict[str, Any]:
    return {
        "case": case,
        "expect": expect,
        "messages": [
            {"paper_ids": list(m.paper_ids), **m.post_message_kwargs()} for m in messages
        ],
    }


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden(name: str) -> None:
    case, expect, value = GOLDEN_CASES[name]
    payload = _golden_payload(case, expect, render_digest(value))
    path = GOLDEN / f"{name}.json"
    if UPDATE:
        text = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        # Invisible characters stay visible to a reviewer as JSON escapes.
        text = text.replace(WJ, "\\u2060").replace(SHY, "\\u00ad")
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}; run with UPDATE_GOLDEN=1 to create it"
    assert json.loads(path.read_text("utf-8")) == payload


# -- layout ----------------------------------------------------------------------


def test_digest_layout() -> None:
    value = GOLDEN_CASES["digest_three_papers"][2]
    [message] = render_digest(value)
    kinds = [block["type"] for block in message.blocks]
    assert kinds == [
        "header",
        "section", "actions", "divider",
        "section", "actions", "divider",
        "section", "actions",
        "context",
    ]  # fmt: skip
    assert message.text == escape(value.header)
    assert message.paper_ids == ("2402.12345", "2403.00001", "t0123456789abcdef")
    first = message.blocks[1]["text"]["text"].split("\n")
    assert first == [
        "*<https://arxiv.org/abs/2402.12345|MOME: Mixture of Multimodal Experts for Breast MRI>*",
        "L. Luo, X. Wang, Y. Chen et al. · 2026-11-28 · cs.CV",
        "Code: <https://github.com/LLYXC/MOME|LLYXC/MOME>",
        "Matched: breast mri",
        "We present MOME, a foundation model for breast MRI.",
    ]
    assert "Code announced (no link yet)" in message.blocks[4]["text"]["text"]
    assert message.blocks[7]["text"]["text"].startswith("*A paper without a landing page*\n")
    assert message.blocks[-1]["elements"][0]["text"] == (
        '5 more matched: /papers search "breast mri" OR "low dose ct"'
    )


def test_no_footer_when_nothing_left_out() -> None:
    [message] = render_digest(digest((item(),)))
    assert [b["type"] for b in message.blocks] == ["header", "section", "actions"]


def test_empty_digest_is_still_a_valid_message() -> None:
    [message] = render_digest(digest((), more=3))
    assert [b["type"] for b in message.blocks] == ["header", "context"]


def test_buttons_carry_the_paper_id() -> None:
    paper_id = "2402.12345"
    [message] = render_digest(digest((item(paper_id=paper_id),)))
    assert button_values(message) == [
        (ABSTRACT_ACTION_ID, paper_id),
        (MORE_LIKE_ACTION_ID, paper_id),
    ]
    assert (ABSTRACT_ACTION_ID, MORE_LIKE_ACTION_ID) == ("paper_abstract", "paper_more_like")
    labels = [
        e["text"]["text"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
    ]
    assert labels == ["Abstract", "More like this"]


def test_button_value_is_the_raw_id_not_escaped() -> None:
    # The id comes back in the interaction payload: escaping it would change it.
    [message] = render_digest(digest((item(paper_id="t<&>"),)))
    assert {value for _, value in button_values(message)} == {"t<&>"}


@pytest.mark.parametrize(
    "paper_id", ["", "   ", "x" * (BUTTON_VALUE_LIMIT + 1)], ids=["empty", "blank", "too-long"]
)
def test_id_unfit_for_a_button_gets_no_buttons(paper_id: str) -> None:
    [message] = render_digest(digest((item(paper_id=paper_id), item(paper_id="ok"))))
    kinds = [b["type"] for b in message.blocks]
    assert kinds == ["header", "section", "divider", "section", "actions"]
    assert message.paper_ids == (paper_id, "ok")


def test_button_value_at_the_limit() -> None:
    paper_id = "x" * BUTTON_VALUE_LIMIT
    [message] = render_digest(digest((item(paper_id=paper_id),)))
    assert {value for _, value in button_values(message)} == {paper_id}


def test_post_message_kwargs_never_parse_or_unfurl() -> None:
    [message] = render_digest(digest((item(),)))
    kwargs = message.post_message_kwargs()
    assert kwargs["unfurl_links"] is False and kwargs["unfurl_media"] is False
    assert "link_names" not in kwargs and "parse" not in kwargs
    assert kwargs["text"] == message.text and kwargs["blocks"] == list(message.blocks)


def test_every_mrkdwn_object_is_verbatim() -> None:
    messages = render_digest(GOLDEN_CASES["digest_three_papers"][2])
    messages += render_reply(Reply(text="hi", items=(item(),)))
    found = [o for o in text_objects([m.blocks for m in messages]) if o["type"] == "mrkdwn"]
    assert found and all(o["verbatim"] is True for o in found)


# -- escaping ---------------------------------------------------------------------


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


# -- limits ----------------------------------------------------------------------


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
        url="https://arxiv.org/abs/2402.12345",
        code_urls=("https://github.com/o/r",),
    )
    [message] = render_digest(digest((paper_item(record),), matched_topics=(("mri",),)))
    assert message.blocks[1]["text"]["text"].split("\n") == [
        "*<https://arxiv.org/abs/2402.12345|From a record>*",
        "A, B · 2026-11-28 · cs.CV",
        "Code: <https://github.com/o/r|o/r>",
        "Matched: mri",
        "First sentence here.",
    ]


# -- properties ------------------------------------------------------------------

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
        assert [v for a, v in button_values(message) if a == ABSTRACT_ACTION_ID] == list(
            message.paper_ids
        )
        assert message.blocks[0]["type"] == "header"
    footers = [m for m in messages if m.blocks[-1]["type"] == "context"]
    assert footers == ([messages[-1]] if value.footer is not None else [])


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
