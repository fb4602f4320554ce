"""Why a paper was, or was not, in a channel's digest: ``/papers why ID``.

``explain`` reads what a digest reads (the catalog row, the channel's
topics and windows, the ledger, the votes) and says, in lines a person
reads: when the paper came into the catalog, whether the channel was sent
it (when, and in which message, when the adapter named it) or a post of it
is pending or failed, whether it is a seed paper
the channel's platform leaves out, which topics match it, and where the
next digest ranks it against the channel's cap, or why it lies outside the
digest's window. The ranking is the digest's own
(``bot.digest.select.paper_standing``), so the answer cannot drift from
what the digest does. Reads only; callers own the session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.digest.ledger import FAILED, PENDING, SENT, message_of
from bot.digest.select import SEED_PLATFORMS, Standing, paper_standing
from bot.digest.topics import TopicCache
from bot.model.address import MessageRef
from bot.model.papers import is_seed_source
from bot.search.lexer import show
from bot.store.models import Channel, Delivery, Paper, Rating
from bot.text.when import local_time

__all__ = ["Why", "explain"]

# Topics named in one line, at most; the rest are counted.
_NAMED = 5


@dataclass(frozen=True)
class Why:
    """The answer for one paper: ``found`` False when the catalog has no such id.

    ``message`` is the platform message that showed it to the channel, when
    it was sent and the ledger knows which.
    """

    paper_id: str
    found: bool
    lines: tuple[str, ...]
    message: MessageRef | None = None

    def text(self) -> str:
        return "\n".join(self.lines)


def explain(
    session: Session,
    channel: Channel | None,
    paper_id: str,
    *,
    now: datetime,
    first_days: int = 7,
    topics: TopicCache | None = None,
) -> Why:
    """Why ``paper_id`` is or is not in ``channel``'s digests (None: a channel never set up)."""
    paper = session.get(Paper, paper_id)
    if paper is None:
        return Why(paper_id, False, (
            f"No paper with id {show(paper_id)}. Find ids with /papers search WORDS.",))
    zone = channel.timezone if channel is not None else "UTC"
    title = paper.title if len(paper.title) <= 100 else paper.title[:99] + "…"
    lines = [f"“{title}” ({paper.id}) came into the catalog {_at(paper.first_seen, zone)}."]
    if channel is None:
        lines.append("This channel follows no topics yet, so its digests take no paper. "
                     "Add one: /papers subscribe TOPIC")
        return Why(paper.id, True, tuple(lines))
    delivery = session.scalar(select(Delivery).where(
        Delivery.channel_id == channel.id, Delivery.paper_id == paper.id))
    message = None
    if delivery is not None and delivery.status == SENT:
        when = delivery.sent_at or delivery.created_at
        message = message_of(delivery)
        where = "" if message is None else f" in {message.describe()}"
        lines.append(f"This channel's digest posted it {_at(when, zone)}{where}; "
                     "a paper is never posted to a channel twice.")
    else:
        if delivery is not None and delivery.status == PENDING:
            lines.append(f"A digest began posting it {_at(delivery.created_at, zone)} and did "
                         "not hear back; the next digest finishes the post, once.")
        elif delivery is not None and delivery.status == FAILED:
            reason = (delivery.error or "no reason given").splitlines()[0][:200]
            lines.append(f"A digest could not post it ({reason}); the next digest offers it "
                         "again.")
        if is_seed_source(paper.source) and channel.platform not in SEED_PLATFORMS:
            lines.append("It comes from the seed files, a demo catalog: Slack and Discord "
                         "digests leave seed papers out.")
        standing = paper_standing(session, channel, paper.id, now=now, first_days=first_days,
                                  topics_cache=topics)
        lines.extend(_standing(standing, channel, paper, now=now, first_days=first_days))
        if standing.lean is not None:
            side = "for" if standing.lean > 0 else "against"
            lines.append(f"This channel's taste (what its votes taught it, /papers taste) leans "
                         f"{side} it: {standing.lean:+.2f} on a scale of -1 to +1.")
    lines.extend(_votes(session, channel, paper.id))
    if channel.paused:
        lines.append(f"Digests are paused here ({channel.paused_reason or 'no reason given'}); "
                     "/papers resume restarts them.")
    return Why(paper.id, True, tuple(lines), message)


def _at(moment: datetime, zone: str) -> str:
    return f"{local_time(moment, zone)} {zone}"


def _named(topics: Sequence[str]) -> str:
    named = "; ".join(f"“{show(t)}”" for t in topics[:_NAMED])
    if len(topics) > _NAMED:
        named += f" and {len(topics) - _NAMED} more"
    return named


def _standing(
    standing: Standing, channel: Channel, paper: Paper, *, now: datetime, first_days: int
) -> list[str]:
    if not standing.matched and not standing.unmatched:
        return [("This channel follows no topics yet, so its digests take no paper. "
                "Add one: /papers subscribe TOPIC")]
    if standing.suggested:
        return ["No topic of this channel matches it, but its taste does: the next digest "
                "suggests it under “You may also like”."]
    if not standing.matched:
        count = len(standing.unmatched)
        noun = "topic" if count == 1 else "topics"
        return [(f"None of this channel's {count} {noun} match it: {_named(standing.unmatched)}. "
                f"/papers like {paper.id} shows papers like it; /papers subscribe follows "
                "words from its title.")]
    topics = [topic for topic, _ in standing.matched]
    if standing.rank is None:
        outside = _outside(channel, paper, now, first_days)
        return [f"It matches {_named(topics)}.", *([outside] if outside else [])]
    scores = [(topic, score) for topic, score in standing.matched if score is not None]
    if len(scores) == 1:
        scored = f" (score {scores[0][1]:.2f})"
    elif scores:
        scored = " (scores " + ", ".join(f"{score:.2f} for “{show(topic)}”"
                                          for topic, score in scores) + ")"
    else:
        scored = ""
    if standing.rank <= standing.cap:
        return [f"It matches {_named(topics)}{scored}.",
                (f"The next digest shows it: #{standing.rank} of the {standing.of} papers that "
                f"match, and it shows the best {standing.cap}.")]
    return [f"It matches {_named(topics)}{scored}.",
            (f"The next digest ranks it #{standing.rank} of the {standing.of} papers that match, "
            f"below the {standing.cap} it shows: /papers limit {min(standing.rank, 50)} shows "
            "more, or a narrower topic ranks it higher.")]


def _outside(channel: Channel, paper: Paper, now: datetime, first_days: int) -> str | None:
    """Why a paper that matches lies outside the next digest's window (None: said already)."""
    if paper.entered_revision == 0:
        return ("It was stored as catalog, not as news (a harvest or an import of old "
                "papers): digests never show it as new; /papers search finds it.")
    if is_seed_source(paper.source) and channel.platform not in SEED_PLATFORMS:
        return None
    if channel.last_revision is not None and paper.entered_revision <= channel.last_revision:
        last = channel.last_digest_at
        when = f" ({_at(last, channel.timezone)})" if last is not None else ""
        return (f"It came in before this channel's last digest{when}, which chose from the "
                f"papers up to then and shows the best {channel.max_papers}; each digest takes "
                "only what came in since the one before (a topic taken up since looks back "
                f"{first_days} days). /papers search finds it.")
    if paper.first_seen <= now - timedelta(days=first_days):
        return (f"It came in more than {first_days} days ago, and a channel's first digest "
                f"looks back {first_days} days: /papers search finds it.")
    return "The next digest leaves it out."


def _votes(session: Session, channel: Channel, paper_id: str) -> list[str]:
    rows = dict(session.execute(
        select(Rating.vote, func.count()).where(
            Rating.channel_id == channel.id, Rating.paper_id == paper_id
        ).group_by(Rating.vote)
    ).all())
    up, down = int(rows.get(1, 0)), int(rows.get(-1, 0))
    if not up and not down:
        return []
    return [f"Votes here: {up} 👍, {down} 👎."]
