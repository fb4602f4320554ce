"""What the Block Kit rendering tests share: paper and digest builders, hostile
texts, the golden digests, and the checks every rendered message must pass
(within Slack's limits, nothing it would parse, ping or link).
"""

from __future__ import annotations

import re
from typing import Any

from adapters.slack.message import (
    BLOCK_LIMIT,
    HEADER_LIMIT,
    MESSAGE_BUDGET,
    TEXT_LIMIT,
    SlackMessage,
    check_message,
)
from bot.model.messages import SUGGESTED_HEADING, CodeLink, Digest, PaperItem
from bot.text.fitting import width

__all__ = [
    "EVIL_TITLE",
    "GOLDEN_CASES",
    "HOSTILE",
    "SHY",
    "WJ",
    "_LINK",
    "assert_escaped",
    "assert_harmless",
    "assert_valid",
    "button_values",
    "digest",
    "headings",
    "item",
    "links",
    "suggesting",
    "text_objects",
]

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


def headings(messages: list[SlackMessage]) -> list[tuple[int, int]]:
    """(message, block) of every ``SUGGESTED_HEADING`` header in ``messages``."""
    return [
        (m, b)
        for m, message in enumerate(messages)
        for b, block in enumerate(message.blocks)
        if block["type"] == "header" and block["text"]["text"] == SUGGESTED_HEADING
    ]


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
        "code links or 'code announced', matched topics, snippet, five buttons), dividers "
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
    "digest_two_suggested": (
        "Two papers the topic matched, then two the channel's taste suggests (matching no "
        "topic), each with why; a footer for three more.",
        "One message: the header, the two matches as usual, then a 'You may also like' header "
        "block (after the divider, once) and the two suggestions, each its section without "
        "'Matched', its reason as a context block, its five buttons; '*' and '&' in a reason "
        "escaped as in titles; the footer last.",
        suggesting(
            (
                item(
                    paper_id="2402.12345",
                    title="MOME: Mixture of Multimodal Experts for Breast MRI",
                    authors="L. Luo, X. Wang, Y. Chen et al.",
                    snippet="We present MOME, a foundation model for breast MRI.",
                ),
                item(
                    paper_id="2403.00001",
                    title="Abbreviated breast MRI protocols",
                    url="https://arxiv.org/abs/2403.00001",
                    authors="C. Doe",
                ),
            ),
            (
                (
                    item(
                        paper_id="2611.02020",
                        title="Prostate MRI segmentation with k-space priors",
                        url="https://arxiv.org/abs/2611.02020",
                        authors="A. O'Neil & B. Smith",
                        category="eess.IV",
                        snippet="We segment the prostate from undersampled k-space.",
                    ),
                    "like papers this channel liked: “prostate”, “k-space”",
                ),
                (
                    item(
                        paper_id="2611.03030",
                        title="T2*-weighted mapping at 7T",
                        url="https://arxiv.org/abs/2611.03030",
                        authors="D. Roe",
                    ),
                    "like papers this channel liked: “T2*”, “A. O'Neil & B. Smith”",
                ),
            ),
            more=3,
            more_query="breast mri",
        ),
    ),
}
