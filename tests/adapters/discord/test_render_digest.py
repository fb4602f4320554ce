"""Discord rendering of a digest: golden messages, layout, footers and buttons.

Golden files under ``golden/`` hold whole rendered messages; a difference
fails the test. After a deliberate change, regenerate them with
``UPDATE_GOLDEN=1 pytest tests/adapters/discord`` and review the diff.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.discord.message import CUSTOM_ID_LIMIT, CUSTOM_ID_TEMPLATE, NO_MENTIONS, custom_id
from adapters.discord.render import (
    render_abstract,
    render_digest,
    render_message,
    render_nothing_new,
    render_reply,
)
from bot.model.messages import SUGGESTED_HEADING, CodeLink, Digest, NothingNew, Reply, paper_item
from bot.model.papers import PaperRecord
from tests.adapters.discord.render_helpers import (
    EVIL_LINK,
    PAPER_URL,
    THREE,
    ZW,
    _payload,
    assert_harmless,
    assert_valid,
    button_table,
    digest,
    given_urls,
    headings,
    item,
    numbered,
    suggesting,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


GOLDEN_CASES: dict[str, tuple[str, str, Digest | Reply]] = {
    "digest_three_papers": (
        "A digest of three papers for two topics, with a footer for five more.",
        "One message: the bold header as content; one embed per paper, titled 'N. title' "
        "and linked when it has a URL, described 'authors · date · category', code links or "
        "'Code announced', matched topics, snippet; the footer in the last embed's footer; "
        "one row of five buttons per paper, 'N. Abstract' to 'N. Save'; no mentions allowed.",
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
    "digest_two_suggested": (
        "Two papers the topic matched, then two the channel's taste suggests (matching no "
        "topic), each with why; a footer for three more.",
        "One message: the header as content; the two matches as usual; the first suggestion's "
        "embed has 'You may also like' as its author line (once), and each suggestion's "
        "description has its reason where 'Matched' would be, '*' in it escaped as in titles; "
        "four rows of buttons; the footer in the last embed.",
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
    "reply_show": (
        "The answer to /papers show: the abstract as text, the paper as its one item.",
        "The abstract (escaped, lines kept) as content, then the paper's embed and its buttons.",
        Reply(
            text="We *propose* MOME.\n> Not a quote: see https://example.org/x.",
            items=(item(snippet="We propose MOME."),),
        ),
    ),
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


def test_each_paper_gets_its_own_row_of_buttons() -> None:
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
    # The whole row: five buttons, as many as Discord puts in one, Save last.
    assert [(kind, label) for kind, _, label in message.buttons[2].each()] == [
        ("abstract", "3. Abstract"), ("like", "3. More like this"), ("up", "3. 👍 Relevant"),
        ("down", "3. 👎 Not for us"), ("save", "3. Save")]


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
    for kind, value, _ in buttons.each():
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
    # "save" is shorter and would fit, but a paper gets all its buttons or none.
    assert custom_id("save", longest + "x") is not None
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


# -- suggested papers --------------------------------------------------------------


def test_suggested_papers_come_under_their_heading_with_their_reason() -> None:
    value = GOLDEN_CASES["digest_two_suggested"][2]
    assert isinstance(value, Digest)
    [message] = render_digest(value)
    assert message.content == "**4 new papers for breast mri · 2026-11-28**"
    assert message.paper_ids == ("2402.12345", "2403.00001", "2611.02020", "2611.03030")
    assert headings([message]) == [(0, 2)]
    assert message.embeds[2]["author"] == {"name": SUGGESTED_HEADING}
    assert message.embeds[2]["title"] == "3. Prostate MRI segmentation with k-space priors"
    assert message.embeds[2]["description"].split("\n") == [
        "A. O'Neil & B. Smith · 2026-11-28 · eess.IV",
        "like papers this channel liked: “prostate”, “k-space”",
        "We segment the prostate from undersampled k-space.",
    ]
    assert message.embeds[3]["description"].split("\n") == [
        "D. Roe · 2026-11-28 · cs.CV",
        "like papers this channel liked: “T2\\*”, “A. O'Neil & B. Smith”",
    ]
    assert message.embeds[3]["title"] == "4. T2\\*-weighted mapping at 7T"
    assert message.embeds[3]["footer"] == {"text": "3 more matched: /papers search breast mri"}
    # A suggested paper keeps its buttons.
    assert [b.paper_id for b in message.buttons] == list(message.paper_ids)
    assert [b.number for b in message.buttons] == [1, 2, 3, 4]


def test_a_digest_without_suggestions_has_no_heading() -> None:
    for _, _, value in GOLDEN_CASES.values():
        if isinstance(value, Digest) and not value.suggested:
            assert headings(render_message(value)) == []


# Five papers a message: after 4 matches the first suggestion ends the first
# message, after 5 it opens the second.
@pytest.mark.parametrize(("matches", "heading_in"), [(4, 0), (5, 1)])
def test_heading_goes_where_the_suggestions_begin(matches: int, heading_in: int) -> None:
    extra = tuple(
        (item(paper_id=f"2611.{n:05d}", title=f"Suggested {n}"), f"like “word{n}”")
        for n in range(2)
    )
    value = suggesting(numbered(matches), extra)
    messages = render_digest(value)
    assert_valid(messages)
    assert_harmless(messages, given_urls(value))
    assert len(messages) == 2
    [(where, embed)] = headings(messages)
    assert (where, messages[where].paper_ids[embed]) == (heading_in, "2611.00000")
    assert messages[where].embeds[embed]["title"] == f"{matches + 1}. Suggested 0"
    shown = [e["description"] for m in messages for e in m.embeds]
    assert [d.split("\n")[1] for d in shown[matches:]] == ["like “word0”", "like “word1”"]
    assert all("like “" not in d for d in shown[:matches])
