"""What the Discord rendering tests share: paper and digest builders, hostile
texts, a three-paper digest, and the checks every rendered message must pass
(within Discord's limits, nothing it would ping, parse or unfurl).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from adapters.discord.message import (
    ACTION_ROW_LIMIT,
    CONTENT_LIMIT,
    EMBED_LIMIT,
    EMBED_TOTAL_LIMIT,
    PAPERS_PER_MESSAGE,
    DiscordMessage,
    check_message,
)
from bot.model.messages import SUGGESTED_HEADING, CodeLink, Digest, PaperItem, Reply
from bot.text.fitting import width

__all__ = [
    "EVIL_LINK",
    "HOSTILE",
    "PAPER_URL",
    "THREE",
    "ZW",
    "_payload",
    "assert_escaped",
    "assert_harmless",
    "assert_no_mentions",
    "assert_valid",
    "button_table",
    "digest",
    "given_urls",
    "headings",
    "item",
    "links",
    "numbered",
    "suggesting",
]

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


def suggesting(
    matches: tuple[PaperItem, ...], suggested: tuple[tuple[PaperItem, str], ...], **fields: Any
) -> Digest:
    """A digest of ``matches``, each matching "breast mri", then the taste's
    ``suggested`` papers with their reasons, as ``bot.digest.select`` builds one."""
    return digest(
        (*matches, *(paper for paper, _ in suggested)),
        matched_topics=(("breast mri",),) * len(matches) + ((),) * len(suggested),
        suggested=tuple((paper.paper_id, reason) for paper, reason in suggested),
        **fields,
    )


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
    """The texts Discord renders no markdown in (footers, author lines)."""
    found = [e["footer"]["text"] for e in message.embeds if "footer" in e]
    return found + [e["author"]["name"] for e in message.embeds if "author" in e]


def headings(messages: list[DiscordMessage]) -> list[tuple[int, int]]:
    """(message, embed) of every embed under ``SUGGESTED_HEADING``, its author line."""
    return [
        (m, e)
        for m, message in enumerate(messages)
        for e, embed in enumerate(message.embeds)
        if embed.get("author") == {"name": SUGGESTED_HEADING}
    ]


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
                        "custom_ids": [value for _, value, _ in b.each()],
                        "labels": [label for _, _, label in b.each()],
                    }
                    for b in m.buttons
                ],
                "allowed_mentions": m.send_kwargs()["allowed_mentions"].to_dict(),
            }
            for m in messages
        ],
    }
