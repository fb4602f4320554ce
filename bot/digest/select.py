"""Selecting channels' digests: the papers each channel is shown next.

A digest takes the papers that entered the catalog since the channel's
previous digest (on the first one, in the last ``first_days`` days), plus
any the ledger still holds as ``pending`` or ``failed`` for the channel; it
keeps those matching at least one of the channel's topics and never ``sent``
to it, ranks them by relevance to the topics and then recency, and caps them
at the channel's maximum. A topic the channel took up after its previous
digest looks back ``first_days`` days too, as a new channel's first digest
does: what it finds that the channel was already sent stays out.

Seed files are a demo catalog (``bot.model.papers.SEED_SOURCE``): their
papers are news only to console channels (the Quick start's), never to a
Slack or Discord channel, where they would be years-old papers shown as new.

Topics never run against the whole catalog. ``select_digests`` gathers the
candidates of every channel it is given into one small in-memory index (a
day's papers, typically), runs each distinct topic once against it, and
then keeps, for each channel, the hits inside that channel's own window:
10,000 channels at the same hour cost one pass, not 10,000.

The window is kept as a catalog revision (``bot.store.catalog``): revisions
commit in order, so a paper whose import was still committing when a digest
ran is taken by the next one, never skipped.

Selection only reads: the ledger (``bot.digest.ledger``) records what is
shown, and the delivery loop (``bot.digest.deliver``) sends it. Functions
take a ``Session``; callers own the transactions.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from zoneinfo import ZoneInfo

import tantivy
from sqlalchemy import Text, and_, cast, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.digest.ledger import FAILED, PENDING, SENT, chunked
from bot.digest.taste import StoredWords, Taste, features_of
from bot.digest.topics import (
    NO_MATCHES,
    Eligible,
    Matches,
    Ranked,
    RankKey,
    TopicCache,
    mask_of,
)
from bot.gcpause import paused_gc
from bot.model.messages import Digest, PaperItem, paper_item
from bot.model.papers import PaperRecord, is_seed_source
from bot.search.index import SearchIndex
from bot.search.query import QueryError, Word
from bot.search.rank import SCORE_DECIMALS
from bot.store.catalog import PAPERS, current_revision, record_from_row
from bot.store.models import Channel, Delivery, Topic
from bot.store.models import Taste as TasteRow

__all__ = [
    "SEED_PLATFORMS",
    "Selection",
    "Standing",
    "TopicPreview",
    "count_new_matches",
    "paper_standing",
    "select_digest",
    "select_digests",
]

log = logging.getLogger(__name__)

# Platforms whose digests take seed-file papers as news.
SEED_PLATFORMS = frozenset({"console"})


@dataclass(frozen=True)
class Selection:
    """A channel's digest and the ids of the papers it shows, in order."""

    digest: Digest
    paper_ids: tuple[str, ...]
    # The catalog revision the selection read up to.
    revision: int


@dataclass
class _Candidate:
    record: PaperRecord
    entered_revision: int
    first_seen: datetime
    seed: bool


@dataclass(frozen=True)
class _Window:
    """The papers new to a channel, up to revision ``up_to``: those entered
    after revision ``after`` (None on a first digest), and those first seen
    after ``since`` (a first digest's, or a new topic's, look back). Seed
    papers only when ``seeds``.

    Channels whose previous digests ran together share a window, and with
    it the filtered matches of the topics they share.
    """

    after: int | None
    since: datetime | None
    up_to: int
    seeds: bool

    @classmethod
    def of(cls, channel: Channel, *, since: datetime, up_to: int) -> _Window:
        seeds = channel.platform in SEED_PLATFORMS
        if channel.last_revision is None:
            return cls(after=None, since=since, up_to=up_to, seeds=seeds)
        return cls(after=channel.last_revision, since=None, up_to=up_to, seeds=seeds)

    def looking_back(self, since: datetime) -> _Window:
        """This window widened to the papers first seen after ``since``."""
        if self.since is not None and self.since <= since:
            return self
        return _Window(after=self.after, since=since, up_to=self.up_to, seeds=self.seeds)

    def holds(self, candidate: _Candidate) -> bool:
        return self.takes(candidate.entered_revision, candidate.first_seen, seed=candidate.seed)

    def takes(self, entered_revision: int, first_seen: datetime, *, seed: bool) -> bool:
        if entered_revision > self.up_to or (seed and not self.seeds):
            return False
        if self.after is not None and entered_revision > self.after:
            return True
        # Revision 0 marks a paper stored as not news (bot.store.catalog).
        return self.since is not None and first_seen > self.since and entered_revision > 0


class _Pool:
    """The candidates of a batch of channels, indexed once in memory.

    One searcher serves every topic. Papers are known by their document
    number in the pool (ids, days and bit masks are indexed by it). Each
    distinct topic is searched once; its matches inside a window are ranked
    once and shared by every channel with that topic and window, so a
    channel costs a merge of a few sorted lists and an OR of a few masks.
    """

    def __init__(
        self, candidates: dict[str, _Candidate], *, depth: int, topics: TopicCache
    ) -> None:
        self.candidates = candidates
        self.topics = topics
        self.depth = max(depth, 1)
        self.index = SearchIndex.in_memory()
        with self.index.writer(threads=1) as writer:
            writer.add((c.record for c in candidates.values()), replace=False)
            writer.commit(0)
        self._searcher = self.index.searcher()
        everything = self._searcher.search(
            tantivy.Query.all_query(), limit=max(len(candidates), 1), count=False
        )
        addresses = [address for _, address in everything.hits]
        # One segment (one writer thread, one commit): a hit's document
        # number is its number here, the cheapest lookup per hit.
        self._addresses: dict[tuple[int, int], int] | None = None
        if self._searcher.num_segments <= 1:
            numbers = [address.doc for address in addresses]
        else:
            numbers = list(range(len(addresses)))
            self._addresses = {(a.segment_ord, a.doc): n for n, a in enumerate(addresses)}
        self.size = max(numbers, default=-1) + 1
        self.ids = [""] * self.size
        for number, address in zip(numbers, addresses, strict=True):
            self.ids[number] = self._searcher.doc(address)["id"][0]
        self.number = {paper_id: number for number, paper_id in enumerate(self.ids) if paper_id}
        # Ties in relevance go to the newer paper, then the smaller id.
        self._day = [0] * self.size
        for paper_id, number in self.number.items():
            published = candidates[paper_id].record.published
            self._day[number] = -(published.toordinal() if published else 0)
        self._all = mask_of(numbers, self.size)
        self._matches: dict[str, Matches] = {}
        self._windows: dict[_Window, Eligible] = {}
        self._ranked: dict[tuple[str, _Window], Ranked] = {}
        self._items: dict[str, PaperItem] = {}
        self._dates: dict[str, str] = {}
        self._features: dict[int, frozenset[str]] = {}
        self._postings: dict[str, list[int]] | None = None
        self._feature_masks: dict[str, int] = {}

    def features(self, number: int) -> frozenset[str]:
        """The paper's features as tastes weigh them (``bot.digest.taste``); made once."""
        found = self._features.get(number)
        if found is None:
            found = self._features[number] = features_of(self.candidates[self.ids[number]].record)
        return found

    def feature_mask(self, feature: str) -> int:
        """The papers of the pool with ``feature``, as a mask; made once for every taste."""
        if self._postings is None:
            postings: dict[str, list[int]] = defaultdict(list)
            for number, paper_id in enumerate(self.ids):
                if paper_id:
                    for each in self.features(number):
                        postings[each].append(number)
            self._postings = dict(postings)
        found = self._feature_masks.get(feature)
        if found is None:
            found = self._feature_masks[feature] = mask_of(
                self._postings.get(feature, ()), self.size)
        return found

    def matches(self, topic: str) -> Matches:
        """Every candidate ``topic`` matches, best first; searched once."""
        found = self._matches.get(topic)
        if found is None:
            try:
                scored = self.topics.scored(topic)
                query = self.topics.query(topic, self.index, self._searcher)
            except QueryError as exc:
                # Stored under an older grammar: it matches nothing rather
                # than failing every channel's digest in the batch.
                log.warning("topic %r no longer parses (%s); it matches nothing", topic, exc)
                found = self._matches[topic] = NO_MATCHES
                return found
            hits = self._searcher.search(
                query, limit=max(len(self.candidates), 1), count=False
            ).hits
            if self._addresses is None:
                numbers = [address.doc for _, address in hits]
            else:
                by_address = self._addresses
                numbers = [by_address[(a.segment_ord, a.doc)] for _, a in hits]
            found = self._matches[topic] = Matches(
                numbers=numbers,
                scores=[score for score, _ in hits] if scored else [],
                mask=mask_of(numbers, self.size),
                scored=scored,
            )
        return found

    def window(self, window: _Window) -> Eligible:
        """The candidates inside ``window``."""
        found = self._windows.get(window)
        if found is None:
            numbers = frozenset(
                self.number[i] for i, c in self.candidates.items() if window.holds(c)
            )
            found = self._windows[window] = Eligible(numbers, mask_of(numbers, self.size))
        return found

    def eligible(self, numbers: Iterable[int]) -> Eligible:
        kept = frozenset(numbers)
        return Eligible(kept, mask_of(kept, self.size))

    def ranked(self, topic: str, window: _Window) -> Ranked:
        """``topic``'s matches inside ``window``, ranked once for every channel that shares both."""
        key = (topic, window)
        found = self._ranked.get(key)
        if found is None:
            found = self._ranked[key] = self.rank(self.matches(topic), self.window(window))
        return found

    def rank(self, matches: Matches, eligible: Eligible, *, depth: int | None = None) -> Ranked:
        """The ``eligible`` matches: all as a mask, the best ``depth`` ranked
        (the pool's, unless given).

        A channel shows at most ``depth`` papers, and a paper among a
        channel's best ``depth`` is among the best ``depth`` of the topic
        that gave it its best score: the rest never needs a ranking key.
        """
        mask = matches.mask & eligible.mask
        count = mask.bit_count()
        if not count:
            return Ranked(keys=[], mask=0, count=0)
        keep = None if mask == matches.mask else eligible.numbers
        ids, day, depth = self.ids, self._day, depth or self.depth
        if not matches.scored:  # filters alone (has:code) rank nothing: every match scores alike
            chosen = matches.numbers if keep is None else [n for n in matches.numbers if n in keep]
            keys: list[RankKey] = heapq.nsmallest(depth, [(0.0, day[n], ids[n]) for n in chosen])
            return Ranked(keys=keys, mask=mask, count=count)
        keys = []
        last = 0.0
        for number, score in zip(matches.numbers, matches.scores, strict=True):
            if keep is not None and number not in keep:
                continue
            rounded = round(score, SCORE_DECIMALS)
            # Hits come best first; those tied (once rounded) with the last
            # one kept may still outrank it on recency.
            if len(keys) >= depth and rounded < last:
                break
            keys.append((-rounded, day[number], ids[number]))
            if len(keys) == depth:
                last = rounded
        keys.sort()
        del keys[depth:]
        return Ranked(keys=keys, mask=mask, count=count)

    def item(self, paper_id: str) -> PaperItem:
        """The paper as every digest of the batch shows it: one value, shared."""
        item = self._items.get(paper_id)
        if item is None:
            item = self._items[paper_id] = paper_item(self.candidates[paper_id].record)
        return item

    def local_date(self, now: datetime, timezone: str) -> str:
        found = self._dates.get(timezone)
        if found is None:
            found = self._dates[timezone] = now.astimezone(ZoneInfo(timezone)).date().isoformat()
        return found


def _topics(session: Session, channel_ids: Sequence[int]) -> dict[int, list[tuple[str, datetime]]]:
    """Each channel's topics, oldest first, with when it took them up."""
    found: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for chunk in chunked(channel_ids):
        rows = session.execute(
            select(Topic.channel_id, Topic.query, Topic.created_at)
            .where(Topic.channel_id.in_(chunk))
            .order_by(Topic.id)
        )
        for channel_id, query, created_at in rows:
            found[channel_id].append((query, created_at))
    return found


def _tastes(session: Session, channel_ids: Sequence[int]) -> dict[int, Taste]:
    """The tastes of ``channel_ids`` that act on a digest (``bot.chat.tastes`` learns them)."""
    found: dict[int, Taste] = {}
    for chunk in chunked(channel_ids):
        rows = session.execute(
            # The words as text: decoded only for a taste that suggests a paper.
            select(TasteRow.channel_id, TasteRow.weights, cast(TasteRow.words, Text),
                   TasteRow.liked, TasteRow.disliked)
            .where(TasteRow.channel_id.in_(chunk), TasteRow.idle.is_(None))
        )
        for channel_id, weights, words, liked, disliked in rows:
            if weights:
                stored = StoredWords(words)
                found[channel_id] = Taste(weights, liked, disliked, words=stored.words,
                                          support=stored.support)
    return found


def _is_new(channel: Channel, taken_up: datetime) -> bool:
    """True for a topic the channel took up after its previous digest."""
    return channel.last_digest_at is not None and taken_up > channel.last_digest_at


def _ledger(
    session: Session, *, statuses: tuple[str, ...], channel_ids: Sequence[int] = (),
    paper_ids: Sequence[str] = (),
) -> dict[int, set[str]]:
    """Paper ids in the ledger with one of ``statuses``, by channel.

    Filtered by ``paper_ids`` when given (the cheaper side for a large batch
    of channels), else by ``channel_ids``.
    """
    wanted = set(channel_ids)
    found: dict[int, set[str]] = defaultdict(set)
    keys: Sequence[object] = paper_ids or channel_ids
    column = Delivery.paper_id if paper_ids else Delivery.channel_id
    for chunk in chunked(keys):
        rows = session.execute(
            select(Delivery.channel_id, Delivery.paper_id).where(
                Delivery.status.in_(statuses), column.in_(chunk)
            )
        )
        for channel_id, paper_id in rows:
            if channel_id in wanted:
                found[channel_id].add(paper_id)
    return found


def _pending_since(session: Session, channel_ids: Sequence[int]) -> dict[int, datetime]:
    """The oldest ``pending`` row's time, by channel."""
    found: dict[int, datetime] = {}
    for chunk in chunked(channel_ids):
        rows = session.execute(
            select(Delivery.channel_id, func.min(Delivery.created_at))
            .where(Delivery.status == PENDING, Delivery.channel_id.in_(chunk))
            .group_by(Delivery.channel_id)
        )
        found.update({channel_id: when for channel_id, when in rows if when is not None})
    return found


def _began_after(channel: Channel, pending_since: datetime | None) -> datetime | None:
    """When the post that left papers pending began, at the earliest: after the
    channel's last claim (SQLite; PostgreSQL rolls the window of a post that died
    back, to the digest before it), and after its oldest pending row was written."""
    known = [t for t in (channel.last_digest_at, pending_since) if t is not None]
    return max(known) if known else None


def _since(channel: Channel, now: datetime, first_days: int) -> datetime:
    return channel.last_digest_at or now - timedelta(days=first_days)


def _window_clause(
    channels: Sequence[Channel], *, now: datetime, first_days: int, looking_back: bool
) -> ColumnElement[bool]:
    """SQL for the papers inside at least one of ``channels``' windows (a
    superset: ``_Window.takes`` has the last word)."""
    entered = PAPERS.c.entered_revision
    revisions = [c.last_revision for c in channels if c.last_revision is not None]
    firsts = [_since(c, now, first_days) for c in channels if c.last_revision is None]
    if looking_back:
        firsts.append(now - timedelta(days=first_days))
    return or_(
        entered > min(revisions) if revisions else false(),
        and_(PAPERS.c.first_seen > min(firsts), entered > 0) if firsts else false(),
    )


def _load_candidates(
    session: Session,
    channels: Sequence[Channel],
    *,
    up_to: int,
    now: datetime,
    first_days: int,
    retry_ids: set[str],
    looking_back: bool,
) -> dict[str, _Candidate]:
    """Every paper inside at least one channel's window, plus the retries;
    with ``looking_back`` (a new topic), every paper of the last ``first_days``."""
    window = _window_clause(channels, now=now, first_days=first_days, looking_back=looking_back)
    found: dict[str, _Candidate] = {}

    def add(rows: Iterable[object]) -> None:
        for row in rows:
            found[row.id] = _Candidate(  # type: ignore[attr-defined]
                record_from_row(row),
                row.entered_revision,  # type: ignore[attr-defined]
                row.first_seen,  # type: ignore[attr-defined]
                is_seed_source(row.source),  # type: ignore[attr-defined]
            )

    add(session.execute(select(PAPERS).where(and_(PAPERS.c.entered_revision <= up_to, window))))
    missing = sorted(retry_ids - found.keys())
    for chunk in chunked(missing):
        add(session.execute(select(PAPERS).where(PAPERS.c.id.in_(chunk))))
    return found


def select_digests(
    session: Session,
    channels: Sequence[Channel],
    *,
    now: datetime,
    first_days: int = 7,
    topics_cache: TopicCache | None = None,
) -> dict[int, Selection]:
    """The digests of ``channels`` at ``now``, by channel id.

    A channel with no topics, or with nothing new that matches them, has no
    entry. Reads only; ``claim`` records what is sent. ``topics_cache``
    keeps parsed topics for the next run.
    """
    with paused_gc():
        return _select_digests(
            session, channels, now=now, first_days=first_days, topics_cache=topics_cache
        )[0]


def _select_digests(
    session: Session,
    channels: Sequence[Channel],
    *,
    now: datetime,
    first_days: int,
    topics_cache: TopicCache | None,
    ranking_all: bool = False,
    also: Sequence[str] = (),
) -> tuple[dict[int, Selection], _Pool | None]:
    """The selections, and the pool they came from (None when nothing was pooled).

    With ``ranking_all``, a selection ranks every eligible match, not only
    the channel's cap; ``also`` are papers pooled wherever they lie (never
    eligible for that alone), to see which topics match them.
    """
    topics = _topics(session, [c.id for c in channels])
    channels = [c for c in channels if topics.get(c.id)]
    if not channels:
        return {}, None
    channel_ids = [c.id for c in channels]
    up_to = current_revision(session)
    retry = _ledger(session, statuses=(PENDING, FAILED), channel_ids=channel_ids)
    pool_ids = set().union(*retry.values()) if retry else set()
    # Rare: a post that died before its answer was recorded may have shown these.
    pending = _ledger(session, statuses=(PENDING,), channel_ids=list(retry)) if retry else {}
    pending_since = _pending_since(session, list(pending)) if pending else {}
    looking_back = any(_is_new(c, taken) for c in channels for _, taken in topics[c.id])
    candidates = _load_candidates(
        session, channels, up_to=up_to, now=now, first_days=first_days,
        retry_ids=pool_ids | set(also), looking_back=looking_back,
    )
    if not candidates:
        return {}, None
    sent = _ledger(session, statuses=(SENT,), channel_ids=channel_ids, paper_ids=sorted(candidates))
    everything = len(candidates) if ranking_all else None
    pool = _Pool(
        candidates,
        depth=everything or max(c.max_papers for c in channels),
        topics=topics_cache if topics_cache is not None else TopicCache(),
    )
    tastes = _tastes(session, channel_ids)
    selections = {}
    # Channels whose previous digests ran together share one window value.
    windows: dict[_Window, _Window] = {}
    nothing: set[str] = set()
    back = now - timedelta(days=first_days)
    for channel in channels:
        since = _since(channel, now, first_days)
        window = _Window.of(channel, since=since, up_to=up_to)
        window = windows.setdefault(window, window)
        per_topic = []
        for _, taken in topics[channel.id]:
            if _is_new(channel, taken):
                wider = window.looking_back(back)
                per_topic.append(windows.setdefault(wider, wider))
                since = min(since, back)
            else:
                per_topic.append(window)
        selection = _select(
            channel,
            [topic for topic, _ in topics[channel.id]],
            pool,
            retry=retry.get(channel.id, nothing),
            sent=sent.get(channel.id, nothing),
            pending=pending.get(channel.id, nothing),
            pending_since=pending_since.get(channel.id),
            windows=per_topic,
            since=since,
            now=now,
            cap=everything,
            taste=tastes.get(channel.id),
        )
        if selection is not None:
            selections[channel.id] = selection
    return selections, pool


def _select(
    channel: Channel,
    topics: Sequence[str],
    pool: _Pool,
    *,
    retry: set[str],
    sent: set[str],
    pending: set[str],
    pending_since: datetime | None,
    windows: Sequence[_Window],
    since: datetime,
    now: datetime,
    cap: int | None = None,
    taste: Taste | None = None,
) -> Selection | None:
    """``topics[i]`` looks for papers in ``windows[i]``; ``since`` is the earliest.
    ``cap`` overrides the channel's own (a ranking of every match); ``taste``,
    the channel's learned one, re-ranks the matches and may suggest others."""
    cap = cap or channel.max_papers
    pairs = list(zip(topics, windows, strict=True))
    # A taste re-ranks more of each topic's best than the cap.
    deep = max(cap * _DEEP, _DEEP_MIN) if taste is not None else None
    eligible: dict[_Window, Eligible] = {}
    if retry or sent:
        # Rare: this channel's own ledger changes what counts. Rank afresh,
        # without what it was sent, with what a failed digest still owes it
        # (wherever that lies; those inside the window are there already).
        number = pool.number
        owed = {number[i] for i in retry if i in number}
        had = {number[i] for i in sent if i in number}
        for window in windows:
            if window not in eligible:
                eligible[window] = pool.eligible((pool.window(window).numbers | owed) - had)
    elif deep is not None:
        eligible = {window: pool.window(window) for window in windows}
    if eligible:
        per_topic = [pool.rank(pool.matches(topic), eligible[window], depth=deep)
                     for topic, window in pairs]
    else:
        per_topic = [pool.ranked(topic, window) for topic, window in pairs]
    union = 0
    for ranked in per_topic:
        union |= ranked.mask
    if not union:
        return None
    shown: list[str]
    if taste is not None:
        shown = _by_taste(pool, per_topic, taste, cap)
    elif len(per_topic) == 1:
        shown = [key[2] for key in per_topic[0].keys[:cap]]
    else:
        # The best of a few short sorted lists: a paper's first appearance
        # carries its best score, so the first ``cap`` distinct ids are the digest.
        shown = []
        for key in sorted(chain.from_iterable(ranked.keys for ranked in per_topic)):
            if key[2] not in shown:
                shown.append(key[2])
                if len(shown) == cap:
                    break
    if len(per_topic) == 1:
        matched = [tuple(topics)] * len(shown)
    else:
        found = list(zip(topics, per_topic, strict=True))
        matched = [
            tuple([t for t, ranked in found if ranked.mask >> n & 1])
            for n in map(pool.number.__getitem__, shown)
        ]
    more = union.bit_count() - len(shown)
    more_query = None
    if more:
        left_out = {
            topic: ranked.count - sum(1 for m in matched if topic in m)
            for topic, ranked in zip(topics, per_topic, strict=True)
        }
        more_query = _more_query(left_out, since)
    suggested: list[tuple[str, str]] = []
    if taste is not None:
        allowed = 0
        for each in eligible.values():
            allowed |= each.mask
        suggested = _suggestions(pool, taste, allowed, union)
    ids = [*shown, *(paper_id for paper_id, _ in suggested)]
    digest = Digest(
        channel=channel.address,
        topics=tuple(topics),
        date=pool.local_date(now, channel.timezone),
        items=tuple(map(pool.item, ids)),
        matched_topics=(*matched, *(((),) * len(suggested))),
        more=more,
        more_query=more_query,
        maybe_posted=tuple(i for i in ids if i in pending),
        maybe_posted_after=_began_after(channel, pending_since) if pending else None,
        suggested=tuple(suggested),
    )
    return Selection(digest=digest, paper_ids=tuple(ids), revision=windows[0].up_to)


# With a taste: each topic's best ``cap * _DEEP`` (at least ``_DEEP_MIN``) are re-ranked.
_DEEP, _DEEP_MIN = 2, 20
# A paper's taste score s leans it by tanh(s / _SCALE), in [-1, 1]; its place
# is its topic score (over the best match's, in (0, 1]) plus _BLEND times that.
_SCALE, _BLEND = 12.0, 0.5
# A match the taste leans against by more than _DROP is left out, once the
# channel voted at least _MIN_DISLIKED papers down.
_DROP, _MIN_DISLIKED = 0.8, 3
# At most _SUGGEST papers no topic matched, leaning at least _SUGGEST_LEAN,
# once the channel liked _MIN_LIKED papers; of the papers near its taste,
# the first _SUGGEST_LOOK are scored.
_SUGGEST, _SUGGEST_LEAN, _MIN_LIKED, _SUGGEST_LOOK = 2, 0.9, 3, 50


def _by_taste(pool: _Pool, per_topic: Sequence[Ranked], taste: Taste, cap: int) -> list[str]:
    """The best ``cap`` topic matches by topic score and taste together."""
    best: dict[str, float] = {}
    for key in sorted(chain.from_iterable(ranked.keys for ranked in per_topic)):
        best.setdefault(key[2], -key[0])  # first appearance: its best topic score
    top = max(best.values(), default=0.0)
    drops = taste.disliked >= _MIN_DISLIKED
    keys = []
    for paper_id, score in best.items():
        number = pool.number[paper_id]
        lean = math.tanh(taste.score(pool.features(number)) / _SCALE)
        if drops and lean < -_DROP:
            continue
        relevance = score / top if top > 0 else 1.0
        keys.append((-(relevance + _BLEND * lean), pool._day[number], paper_id))
    keys.sort()
    return [key[2] for key in keys[:cap]]


def _suggestions(
    pool: _Pool, taste: Taste, allowed: int, matched: int
) -> list[tuple[str, str]]:
    """Up to ``_SUGGEST`` papers among ``allowed`` (a mask) that no topic matched
    (not in ``matched``) and the taste leans to, each with why.

    A paper suggested has two or more of the taste's ``LEANING`` heaviest
    features for (it takes several heavy features to lean past
    ``_SUGGEST_LEAN``): the papers in two of their masks are where to look
    (a handful, whose full score is then computed), not every paper of the pool.
    """
    if taste.liked < _MIN_LIKED or not allowed:
        return []
    once = near = 0
    for feature, _ in taste.leaning_for:
        mask = pool.feature_mask(feature)
        near |= once & mask
        once |= mask
    near &= allowed & ~matched
    found = []
    looked = 0
    while near and looked < _SUGGEST_LOOK:
        low = near & -near
        near ^= low
        looked += 1
        number = low.bit_length() - 1
        features = pool.features(number)
        lean = math.tanh(taste.score(features) / _SCALE)
        if lean >= _SUGGEST_LEAN:
            found.append((lean, pool.ids[number], features))
    found.sort(key=lambda item: (-item[0], item[1]))
    return [
        (paper_id, "like papers this channel liked: "
         + ", ".join(f"“{taste.word(f)}”" for f in taste.reasons(features)))
        for _, paper_id, features in found[:_SUGGEST]
    ]


@dataclass(frozen=True)
class Standing:
    """Where one paper stands in a channel's next digest.

    ``matched`` are the channel's topics that match the paper, each with its
    score (None for a topic of filters alone, which scores nothing), and
    ``unmatched`` the others. ``rank`` is its place among the ``of`` papers
    the next digest chooses from, ranked as the digest ranks them (None when
    it is not among them: outside the channel's windows, sent already, or
    matching no topic); the digest shows the best ``cap``.
    """

    matched: tuple[tuple[str, float | None], ...]
    unmatched: tuple[str, ...]
    rank: int | None
    of: int
    cap: int
    # How the channel's taste leans on the paper, in [-1, 1] (None: no taste acts).
    lean: float | None = None
    suggested: bool = False  # the next digest suggests it ("You may also like")


def paper_standing(
    session: Session,
    channel: Channel,
    paper_id: str,
    *,
    now: datetime,
    first_days: int = 7,
    topics_cache: TopicCache | None = None,
) -> Standing:
    """Where ``paper_id`` stands in ``channel``'s digest at ``now``: the
    channel's selection, run as a digest runs it, ranking every match."""
    with paused_gc():
        selections, pool = _select_digests(
            session, [channel], now=now, first_days=first_days, topics_cache=topics_cache,
            ranking_all=True, also=(paper_id,),
        )
    topics = [topic for topic, _ in _topics(session, [channel.id]).get(channel.id, [])]
    number = pool.number.get(paper_id) if pool is not None else None
    matched: list[tuple[str, float | None]] = []
    unmatched: list[str] = []
    for topic in topics:
        found = pool.matches(topic) if pool is not None and number is not None else NO_MATCHES
        if number is None or not found.mask >> number & 1:
            unmatched.append(topic)
            continue
        score = None
        if found.scored:
            score = round(found.scores[found.numbers.index(number)], SCORE_DECIMALS)
        matched.append((topic, score))
    selection = selections.get(channel.id)
    ids = selection.paper_ids if selection is not None else ()
    suggested = False
    if selection is not None and selection.digest.suggested:
        suggested = selection.digest.reason_for(paper_id) is not None
        ids = ids[: -len(selection.digest.suggested)]
    taste = _tastes(session, [channel.id]).get(channel.id)
    lean = None
    if taste is not None and pool is not None and number is not None:
        lean = math.tanh(taste.score(pool.features(number)) / _SCALE)
    return Standing(
        matched=tuple(matched),
        unmatched=tuple(unmatched),
        rank=ids.index(paper_id) + 1 if paper_id in ids else None,
        of=len(ids),
        cap=channel.max_papers,
        lean=lean,
        suggested=suggested,
    )


def select_digest(
    session: Session, channel: Channel, *, now: datetime, first_days: int = 7
) -> Selection | None:
    """The channel's digest at ``now``, or None when nothing new matches."""
    return select_digests(session, [channel], now=now, first_days=first_days).get(channel.id)


def _more_query(left_out: dict[str, int], since: datetime) -> str:
    # The topic behind most of the papers left out, limited to the papers
    # the digest considered, is the search that shows the most of them.
    topic = max((t for t in left_out if left_out[t] > 0), key=lambda t: (left_out[t], -len(t)))
    return f"{topic} after:{since.date().isoformat()}"


# The most papers a prefix topic's preview indexes in a pool of their own.
_PREFIX_POOL = 5000


@dataclass(frozen=True)
class TopicPreview:
    """What a topic finds for a channel's next digest: ``count`` papers, among
    those that came in since ``since``; ``days`` when that is a look back of
    the first-digest window rather than the channel's previous digest."""

    count: int
    since: datetime
    days: int | None


def count_new_matches(
    session: Session,
    channel: Channel,
    topic: str,
    *,
    now: datetime,
    first_days: int = 7,
    index: SearchIndex | None = None,
    topics: TopicCache | None = None,
) -> TopicPreview:
    """How many papers ``topic`` (a canonical topic the channel just took up)
    finds for ``channel``'s next digest: inside the window a new topic gets
    (``select_digests``), never sent there.

    With the catalog's ``index``, the topic is counted there among the
    window's ids, which costs no pool: a week of a busy catalog is tens of
    thousands of papers. A prefix topic (``segm*``) expands to the commonest
    words it begins among the papers it looks at, as in a digest; it is
    counted in a pool of them when they are at most ``_PREFIX_POOL`` (about
    0.6 s), else in the catalog's index, where it expands among every
    paper's words and may count a few papers fewer than the digest finds.
    """
    up_to = current_revision(session)
    window = _Window.of(channel, since=_since(channel, now, first_days), up_to=up_to)
    looking_back = channel.last_digest_at is not None
    if looking_back:
        window = window.looking_back(now - timedelta(days=first_days))
    assert window.since is not None
    since = window.since
    if channel.last_digest_at is not None and channel.last_digest_at < since:
        since = channel.last_digest_at
    days = first_days if since == window.since else None
    clause = _window_clause([channel], now=now, first_days=first_days, looking_back=looking_back)
    rows = session.execute(
        select(PAPERS.c.id, PAPERS.c.entered_revision, PAPERS.c.first_seen, PAPERS.c.source)
        .where(and_(PAPERS.c.entered_revision <= up_to, clause))
    )
    ids = {
        row.id for row in rows
        if window.takes(row.entered_revision, row.first_seen, seed=is_seed_source(row.source))
    }
    if ids:
        ids -= _ledger(
            session, statuses=(SENT,), channel_ids=[channel.id], paper_ids=sorted(ids)
        ).get(channel.id, set())
    if not ids:
        return TopicPreview(count=0, since=since, days=days)
    cache = topics if topics is not None else TopicCache()
    parsed = cache.parsed(topic)
    prefix = any(isinstance(o, Word) and o.prefix for c in parsed.clauses for o in c.options)
    with paused_gc():
        if index is not None and (not prefix or len(ids) > _PREFIX_POOL):
            searcher = index.searcher()
            query = tantivy.Query.boolean_query([
                (tantivy.Occur.Must, cache.query(topic, index, searcher)),
                (tantivy.Occur.Must, tantivy.Query.term_set_query(index.schema, "id", sorted(ids))),
            ])
            found = searcher.search(query, limit=1, count=True)
            count = int(found.count or 0)  # type: ignore[attr-defined]  # not in tantivy's stubs
        else:
            candidates: dict[str, _Candidate] = {}
            for chunk in chunked(sorted(ids)):
                for row in session.execute(select(PAPERS).where(PAPERS.c.id.in_(chunk))):
                    candidates[row.id] = _Candidate(
                        record_from_row(row), row.entered_revision, row.first_seen,
                        is_seed_source(row.source),
                    )
            pool = _Pool(candidates, depth=1, topics=cache)
            count = pool.matches(topic).mask.bit_count()
    return TopicPreview(count=count, since=since, days=days)
