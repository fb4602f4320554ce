"""A paper's later news as Slack posts it, in the thread of the digest message. No I/O.

``note_kwargs`` turns a ``PaperNote`` into ``chat.postMessage`` arguments:
the paper's linked title and id, then the note's lines (``v3 posted 4 Dec:
title changed`` and ``Code released: owner/repo`` with its link). Every
untrusted string goes through ``adapters.slack.mrkdwn`` as a digest's do,
and the section is ``verbatim``, so no title can ping or mention anyone.
The adapter posts it with ``thread_ts`` (``SlackAdapter.post_note``); with
``top_level`` (the digest message is gone) the note says which paper it is
about, since no thread says it.
"""

from __future__ import annotations

from typing import Any

from adapters.slack.mrkdwn import escape, inline, link, safe_url
from bot.model.messages import PaperNote

__all__ = ["CODE_LINKS", "TITLE_LIMIT", "note_kwargs"]

# A title in a note: shortened, as the thread's parent shows it whole.
TITLE_LIMIT = 300
# Code links a note names at most (a paper rarely has more than two).
CODE_LINKS = 5
_GONE = "An update on a paper posted here (the digest message that carried it is gone):"


def note_kwargs(note: PaperNote, *, top_level: bool = False) -> dict[str, Any]:
    """``chat.postMessage`` arguments (without channel or ``thread_ts``) for ``note``."""
    title = link(safe_url(note.url), inline(note.title, TITLE_LIMIT, default="Untitled"))
    lines = [f"*{title}* ({escape(note.paper_id)})"]
    for line in note.lines:
        if line.startswith("Code released: "):
            links = ", ".join(link(safe_url(c.url), escape(c.label)) for c in note.code[:CODE_LINKS])
            lines.append(f"Code released: {links}")
        else:
            lines.append(escape(line))
    if top_level:
        lines.insert(0, _GONE)
    text = "\n".join(lines)
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}],
        "unfurl_links": False,
        "unfurl_media": False,
    }
