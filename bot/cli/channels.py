"""The channel verbs: subscribe, unsubscribe, topics, schedule, limit, pause, resume,
channels, digest."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime

from bot.chat.channels import MAX_TOPICS, ChannelInfo, parse_max_papers
from bot.chat.commands import paper_id_of, topic_preview
from bot.chat.ratings import parse_vote
from bot.chat.scheduler import next_digest_at, next_digest_line
from bot.chat.schedules import parse_schedule
from bot.chat.service import Service
from bot.cli.output import CommandError, json_text, out, paper_json
from bot.config import Settings
from bot.digest.sending import NotAllSent
from bot.model.address import as_address
from bot.model.messages import Digest
from bot.search.lexer import show
from bot.text.terminal import format_digest
from bot.text.when import local_time

__all__ = [
    "cmd_channels",
    "cmd_digest",
    "cmd_limit",
    "cmd_pause",
    "cmd_resume",
    "cmd_schedule",
    "cmd_subscribe",
    "cmd_taste",
    "cmd_topics",
    "cmd_unsubscribe",
    "cmd_why",
]


def topics_typed(words: list[str]) -> list[str]:
    """The topics a command line names: ``breast mri`` is one topic, and so are
    ``"breast mri"`` and ``'"breast mri"' has:code`` (a quoted phrase of the
    search language); ``"prostate" "breast ct"`` is two: an argument with a
    space in it and no phrase quotes, beside another, was quoted by the shell
    to stand apart."""
    if len(words) > 1 and any(" " in word.strip() and '"' not in word for word in words):
        return [word for word in words if word.strip()]
    return [" ".join(words)]


def cmd_subscribe(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    for topic in topics_typed(args.topic):
        result = service.channels.subscribe(args.channel, topic)
        if result.added:
            out(f"{args.channel} now follows: {result.topic} "
                f"({result.count} of {MAX_TOPICS} topics)")
            preview = topic_preview(
                service, args.channel, result.topic,
                digest_now=f"run `digestbot digest --channel {args.channel}`",
            )
            if preview:
                out(f"  {preview}")
        else:
            out(f"{args.channel} already follows: {result.topic}")
    return 0


def cmd_unsubscribe(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    removed = service.channels.unsubscribe(args.channel, " ".join(args.topic))
    if removed is None:
        raise CommandError(
            f"{args.channel} does not follow {' '.join(args.topic)!r}; "
            f"list its topics with: digestbot topics {args.channel}"
        )
    out(f"{args.channel} no longer follows: {removed}")
    return 0


def cmd_topics(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    topics = service.channels.topics(args.channel)
    if args.json:
        out(json_text(topics, indent=None))
    elif topics:
        out("\n".join(f"{n}. {topic}" for n, topic in enumerate(topics, start=1)))
    else:
        out(f"{args.channel} follows no topics yet; add one with: "
             f"digestbot subscribe {args.channel} TOPIC")
    return 0


def cmd_schedule(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    if args.when:
        info = service.channels.set_schedule(args.channel, parse_schedule(args.when))
    elif (found := service.channels.info(args.channel)) is not None:
        info = found
    else:
        raise CommandError(
            f"{args.channel} has no schedule yet: `digestbot subscribe {args.channel} TOPIC` "
            "sets it up (daily at the digest_time setting), or give a time, e.g. 08:30."
        )
    out(f"{info.address} gets its digest {info.schedule}. {next_digest_line(info, service.clock())}")
    return 0


def cmd_limit(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    info = service.channels.set_max_papers(args.channel, parse_max_papers(args.count))
    noun = "paper" if info.max_papers == 1 else "papers"
    out(f"{info.address}'s digests show at most {info.max_papers} {noun}.")
    return 0


def cmd_digest(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    # What the digest looks at, read before it moves the channel's window on.
    looked_at = service.deliverer.nothing_new(args.channel)

    def show(digest: Digest) -> None:
        # The output is the digest's delivery: written out before the papers
        # are recorded as delivered, so a reader that goes away (or a kill)
        # leaves them for the next digest.
        out(_digest_json(service, digest) if args.json else format_digest(digest))
        sys.stdout.flush()

    try:
        digest = service.deliverer.digest(args.channel, send=show, dry_run=args.dry_run)
    except NotAllSent as exc:
        if not isinstance(exc.cause, OSError):
            raise
        _drop_stdout()
        reason = exc.cause.strerror or exc.cause
        noun = "paper stays" if exc.kept == 1 else "papers stay"
        raise CommandError(f"the digest could not be written ({reason}); its {exc.kept} "
                           f"{noun} for the next digest.") from exc
    if digest is None:
        if args.json:
            out("null")
        elif not service.channels.topics(args.channel):
            out(f"{args.channel} follows no topics yet; add one with: "
                 f"digestbot subscribe {args.channel} TOPIC")
        else:
            out(f"Nothing new for {args.channel}. {looked_at}")
    return 0


def _digest_json(service: Service, digest: Digest) -> str:
    papers = []
    for item, matched in digest.entries():
        record = service.catalog.get(item.paper_id)
        if record is not None:
            papers.append(dict(paper_json(record), matched_topics=list(matched)))
    payload = {
        "channel": digest.channel,
        "date": digest.date,
        "topics": list(digest.topics),
        "papers": papers,
        "more": digest.more,
        "more_query": digest.more_query,
    }
    return json_text(payload)


def _drop_stdout() -> None:
    """Point stdout at nothing: what it still buffers cannot be written either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout: nothing will be flushed to it
        pass


def _known(service: Service, channel: str) -> ChannelInfo:
    info = service.channels.info(channel)
    if info is None:
        raise CommandError(f"No channel {channel}; `digestbot channels` lists them.")
    return info


def cmd_pause(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    _known(service, args.channel)
    reason = " ".join(args.reason).strip() or "paused from the command line"
    info = service.channels.pause(args.channel, reason=reason)
    out(f"{info.address}: digests paused ({reason}). "
        f"`digestbot resume {info.address}` starts them again.")
    return 0


def cmd_resume(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    _known(service, args.channel)
    info = service.channels.resume(args.channel)
    out(f"{info.address}: digests are back on, {info.schedule}. "
        f"{next_digest_line(info, service.clock())}")
    return 0


def cmd_feedback(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    vote = parse_vote(args.vote)
    record = service.catalog.get(paper_id_of(args.paper_id))
    if record is None:
        raise CommandError(
            f"No paper with id {show(args.paper_id)!r}. Find ids with: digestbot search WORDS"
        )
    rated = service.ratings.rate(as_address(args.channel), record.id, args.user, vote)
    out(f"{as_address(args.channel)}: {rated.line()}")
    return 0


def cmd_why(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    record = service.catalog.get(paper_id_of(args.paper_id))
    if record is None:
        raise CommandError(
            f"No paper with id {show(args.paper_id)!r}. Find ids with: digestbot search WORDS"
        )
    address = as_address(args.channel)
    why = service.deliverer.why(address, record.id)
    if args.json:
        ref = why.message
        message = None if ref is None else {"channel": ref.channel, "id": ref.id, "link": ref.link}
        out(json_text({"channel": str(address), "paper": record.id, "lines": list(why.lines),
                       "message": message}))
        return 0
    out(f"{address}:")
    for line in why.lines:
        out(f"  {line}")
    return 0


def cmd_taste(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    address = as_address(args.channel)
    if args.reset:
        counted = service.tastes.reset(address)
        out(f"{address}: forgot what {counted} vote{'s' if counted != 1 else ''} taught its "
            "digests; they rank by topics alone until new votes come.")
        return 0
    report = service.tastes.report(address)
    count = max(1, min(args.count, 100))
    if args.json:
        pro, con = report.taste.explain(count=count)
        out(json_text({
            "channel": str(address),
            "acts": report.taste.acts,
            "idle": report.taste.idle,
            "liked": report.taste.liked,
            "disliked": report.taste.disliked,
            "votes": report.votes,
            "for": [{"feature": f, "word": report.taste.word(f), "weight": round(w, 3)}
                    for f, w in pro],
            "against": [{"feature": f, "word": report.taste.word(f), "weight": round(w, 3)}
                        for f, w in con],
        }))
        return 0
    out(f"{address}:")
    for line in report.lines(count=count):
        out(f"  {line}")
    return 0


def _when(moment: datetime | None, timezone: str) -> str | None:
    return None if moment is None else local_time(moment, timezone)


def cmd_channels(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    now = service.clock()
    infos = service.channels.all()
    if args.json:
        out(json_text([
            {
                "address": info.address,
                "platform": info.address.platform,
                "schedule": info.schedule,
                "next_digest": (at.isoformat() if (at := next_digest_at(info, now)) else None),
                "last_digest": info.last_digest_at.isoformat() if info.last_digest_at else None,
                "topics": len(info.topics),
                "paused": info.paused,
                "paused_reason": info.paused_reason,
            }
            for info in infos
        ]))
        return 0
    if not infos:
        out("No channels yet. Make one follow a topic: "
            "digestbot subscribe console:local/general 'breast mri'")
        return 0
    for info in infos:
        topics = f"{len(info.topics)} topic" + ("" if len(info.topics) == 1 else "s")
        if info.paused:
            state = f"paused: {info.paused_reason}"
        else:
            upcoming = _when(next_digest_at(info, now), info.timezone)
            state = f"next {upcoming}" if upcoming else "no digest until it follows a topic"
        last = _when(info.last_digest_at, info.timezone) or "never"
        out(f"{info.address}  {info.schedule}  {state}  last {last}  {topics}")
    return 0
