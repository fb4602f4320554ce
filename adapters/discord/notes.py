"""A paper's later news as Discord posts it, as a reply to the digest message. No I/O.

``note_content`` turns a ``PaperNote`` into a message's content: the
paper's linked title and id, then the note's lines (``v3 posted 4 Dec:
title changed`` and ``Code released: owner/repo`` with its link). Every
untrusted string goes through ``adapters.discord.markdown`` as a digest's
do, and the adapter sends it with no allowed mentions and embeds
suppressed (``DiscordAdapter.post_note``), so no title can ping anyone.
With ``top_level`` (the digest message is gone) the note says which paper
it is about, since no reply shows it.
"""

from __future__ import annotations

from adapters.discord.markdown import escape, link, link_label, safe_url
from bot.model.messages import PaperNote

__all__ = ["CODE_LINKS", "TITLE_LIMIT", "note_content"]

# A title in a note: shortened, so that the note stays far below Discord's 2,000 characters.
TITLE_LIMIT = 300
# Code links a note names at most (a paper rarely has more than two).
CODE_LINKS = 5
_GONE = "An update on a paper posted here (the digest message that carried it is gone):"


def note_content(note: PaperNote, *, top_level: bool = False) -> str:
    """The content of the message that posts ``note``."""
    title = link(safe_url(note.url), link_label(note.title or "Untitled", TITLE_LIMIT))
    lines = [f"**{title}** ({escape(note.paper_id, content=True)})"]
    for line in note.lines:
        if line.startswith("Code released: "):
            links = ", ".join(link(safe_url(c.url), link_label(c.label, 100)) for c in note.code[:CODE_LINKS])
            lines.append(f"Code released: {links}")
        else:
            lines.append(escape(line, content=True))
    if top_level:
        lines.insert(0, _GONE)
    return "\n".join(lines)
