"""Block Kit rendering of a digest: golden messages, layout, buttons, posting options.

Golden files under ``golden/`` hold whole rendered messages; a difference
fails the test. After a deliberate change, regenerate them with
``UPDATE_GOLDEN=1 pytest tests/adapters/slack`` and review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.message import BUTTON_VALUE_LIMIT, SlackMessage
from adapters.slack.mrkdwn import escape
from adapters.slack.render import (
    ABSTRACT_ACTION_ID,
    MORE_LIKE_ACTION_ID,
    NOT_FOR_US_ACTION_ID,
    RELEVANT_ACTION_ID,
    SAVE_ACTION_ID,
    render_digest,
    render_message,
    render_nothing_new,
    render_reply,
)
from bot.model.messages import SUGGESTED_HEADING, NothingNew, Reply, paper_item
from bot.model.papers import PaperRecord
from tests.adapters.slack.render_helpers import (
    GOLDEN_CASES,
    SHY,
    WJ,
    assert_valid,
    button_values,
    digest,
    headings,
    item,
    suggesting,
    text_objects,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


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
        (RELEVANT_ACTION_ID, paper_id),
        (NOT_FOR_US_ACTION_ID, paper_id),
        (SAVE_ACTION_ID, paper_id),
    ]
    assert (ABSTRACT_ACTION_ID, MORE_LIKE_ACTION_ID) == ("paper_abstract", "paper_more_like")
    assert (RELEVANT_ACTION_ID, NOT_FOR_US_ACTION_ID) == ("paper_relevant", "paper_not_for_us")
    assert SAVE_ACTION_ID == "paper_save"  # Slack sends it back: renaming breaks old messages
    labels = [
        e["text"]["text"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
    ]
    assert labels == ["Abstract", "More like this", "👍 Relevant", "👎 Not for us", "Save"]


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


# -- suggested papers --------------------------------------------------------------


def test_suggested_papers_come_under_their_heading_with_their_reason() -> None:
    value = GOLDEN_CASES["digest_two_suggested"][2]
    [message] = render_digest(value)
    kinds = [block["type"] for block in message.blocks]
    assert kinds == [
        "header",
        "section", "actions", "divider",
        "section", "actions", "divider",
        "header", "section", "context", "actions", "divider",
        "section", "context", "actions",
        "context",
    ]  # fmt: skip
    assert headings([message]) == [(0, 7)]
    assert message.blocks[7]["text"] == {
        "type": "plain_text", "text": SUGGESTED_HEADING, "emoji": False
    }
    assert message.paper_ids == ("2402.12345", "2403.00001", "2611.02020", "2611.03030")
    first = message.blocks[8]["text"]["text"].split("\n")
    assert first[0] == (
        "*<https://arxiv.org/abs/2611.02020|Prostate MRI segmentation with k-space priors>*"
    )
    assert not any(line.startswith("Matched:") for line in first)
    reasons = [message.blocks[n]["elements"][0]["text"] for n in (9, 13)]
    assert reasons == [
        "like papers this channel liked: “prostate”, “k-space”",
        "like papers this channel liked: “T2\u2217”, “A. O'Neil &amp; B. Smith”",
    ]
    # The reason is escaped exactly as the same text is in a title.
    assert reasons[1] == escape(value.reason_for("2611.03030") or "")
    # A suggested paper keeps its buttons.
    assert [v for a, v in button_values(message) if a == ABSTRACT_ACTION_ID] == list(
        message.paper_ids
    )
    assert message.blocks[-1]["elements"][0]["text"] == (
        "3 more matched: /papers search breast mri"
    )


def test_a_digest_without_suggestions_has_no_heading() -> None:
    for _, _, value in GOLDEN_CASES.values():
        if not value.suggested:
            assert headings(render_digest(value)) == []


# 16 matches (3 blocks each, less the last divider) fill a message's 49
# blocks but for 2: the first suggestion, with its heading and reason,
# starts the next message. With 15 it still fits at the end of the first.
@pytest.mark.parametrize(("matches", "heading_in"), [(15, 0), (16, 1)])
def test_heading_goes_where_the_suggestions_begin(matches: int, heading_in: int) -> None:
    papers = tuple(item(paper_id=f"2402.{n:05d}", title=f"Paper {n}") for n in range(matches))
    extra = tuple(
        (item(paper_id=f"2611.{n:05d}", title=f"Suggested {n}"), f"like “word{n}”")
        for n in range(2)
    )
    messages = render_digest(suggesting(papers, extra))
    assert_valid(messages)
    assert len(messages) == 2
    [(where, block)] = headings(messages)
    assert where == heading_in and "2611.00000" in messages[where].paper_ids
    after = messages[where].blocks[block + 1]["text"]["text"]
    assert after.startswith("*<https://arxiv.org/abs/2402.12345|Suggested 0>*")
    if heading_in == 1:
        assert messages[1].blocks[0]["text"]["text"] == "… continued (2/2)"
        assert block == 1
    else:
        assert messages[0].blocks[block - 1]["type"] == "divider"
    contexts = [
        b["elements"][0]["text"] for m in messages for b in m.blocks if b["type"] == "context"
    ]
    assert contexts == ["like “word0”", "like “word1”"]
    assert [pid for m in messages for pid in m.paper_ids] == [
        *(p.paper_id for p in papers), "2611.00000", "2611.00001"
    ]
