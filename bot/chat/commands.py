"""The ``/papers`` grammar, parsed once in the core for every platform.

An adapter hands over what the user typed after ``/papers`` in an
``IncomingCommand``; the runtime calls ``handle``, which parses it, calls
the core's parts (``Service.catalog``, ``.channels``, ``.deliverer``) and
returns a neutral ``Reply`` with the channel as the command left it. Adapters never interpret arguments, so ``/papers search
mri`` means the same in Slack, Discord and the console. ``COMMANDS`` is the
command table adapters may use to register subcommands and build help.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.chat.channels import MAX_TOPICS, ChannelInfo, TopicLimitError, parse_max_papers
from bot.chat.ratings import DOWN, UP, UnknownPaper
from bot.chat.reading import SHOWN, NotSaved, short_title
from bot.chat.scheduler import next_digest_line
from bot.chat.schedules import ScheduleError, parse_schedule
from bot.chat.service import Service
from bot.digest.deliver import ChannelUnavailable, NotAllSent
from bot.digest.ledger import DigestInProgress
from bot.errors import UserError
from bot.ingest.identity import arxiv_ref, split_arxiv_id
from bot.model.address import ChannelError
from bot.model.messages import Digest, IncomingCommand, Reply, paper_item
from bot.search.lexer import show
from bot.search.query import QueryError
from bot.store.channels import DEFAULT_MAX_PAPERS
from bot.chat.citations import bibtex
from bot.text.when import local_day, local_time

__all__ = [
    "COMMANDS", "Answer", "Command", "command_named", "handle", "is_slow", "needs_manager",
    "paper_id_of", "topic_preview",
]

# Returns what the adapter returned (how many messages it posted, or None).
Send = Callable[[Digest], object]


@dataclass(frozen=True, kw_only=True)
class Command:
    name: str
    usage: str
    example: str
    summary: str
    run: Callable[[Service, IncomingCommand, str, Send], Reply]
    # The answer may take longer than a platform waits for an acknowledgement
    # (Slack and Discord: 3 s): acknowledge first, answer after.
    slow: bool = False
    # Changes the channel (its topics, schedule, digests): platforms with
    # roles keep it to members who may manage the channel.
    manages: bool = False
    # The name of its free-text argument, for platforms that ask for named
    # options (Discord); None when it takes none. The text is still parsed here.
    argument: str | None = None
    # The argument may be left out (``schedule`` alone shows the schedule).
    optional: bool = False
    # Arguments that make it change the channel as ``manages`` says
    # (``taste reset``; ``taste`` alone only reads).
    manages_with: tuple[str, ...] = ()


class _UsageError(UserError):
    """Wrong arguments: the reply is this message plus the command's usage."""


def _search(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    if not args:
        raise _UsageError("Say what to search for.")
    flag = next((word for word in args.split() if word.startswith("--")), None)
    if flag is not None:
        # "--limit 1" would read as the exclusion -limit and the word 1.
        raise _UsageError(
            f"{flag[:30]} is a flag of the terminal's digestbot search; here, search shows "
            "the best 5 (narrow it with more words or filters such as has:code)."
        )
    results = service.catalog.search(args, limit=5)
    if not results.hits:
        return Reply(text=f"No papers match {args}. Try fewer or broader words.")
    items = tuple(paper_item(hit.paper) for hit in results.hits)
    return Reply(text=f"Top {len(items)} for {results.query}:", items=items)


def paper_id_of(text: str) -> str:
    """The catalog id ``text`` names: an id as search shows it, or an arXiv id as
    people paste it (``2611.05001v1``, ``arXiv:2611.05001``, an abs or pdf URL)."""
    found = arxiv_ref(text) or split_arxiv_id(text)
    return found[0] if found else text.strip()


def _paper_id(args: str) -> str:
    if not args or " " in args:
        raise _UsageError("Give one paper id, as search shows it.")
    return paper_id_of(args)


def _no_paper(paper_id: str) -> Reply:
    return Reply(text=f"No paper with id {show(paper_id)}. Find ids with /papers search WORDS.")


def _show(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    record = service.catalog.get(_paper_id(args))
    if record is None:
        return _no_paper(args)
    return Reply(text=record.abstract or "(no abstract)", items=(paper_item(record),))


def _like(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    found = service.catalog.more_like(_paper_id(args))
    if found is None:
        return _no_paper(args)
    record, query, papers = found
    if not papers:
        return Reply(text=f"Nothing in the catalog is like {record.title} yet.")
    return Reply(
        text=f"Papers like {record.title} (/papers search {query}):",
        items=tuple(paper_item(p) for p in papers),
    )


def _rate(vote: int) -> Callable[[Service, IncomingCommand, str, Send], Reply]:
    def run(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
        record = service.catalog.get(_paper_id(args))  # as show finds it (versions, URLs)
        if record is None:
            return _no_paper(args)
        try:
            rated = service.ratings.rate(cmd.address, record.id, cmd.user_id, vote)
        except UnknownPaper:  # gone since
            return _no_paper(args)
        return Reply(text=rated.line())

    return run


def _why(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    record = service.catalog.get(_paper_id(args))  # as show finds it (versions, URLs)
    if record is None:
        return _no_paper(args)
    return Reply(text=service.deliverer.why(cmd.address, record.id).text())


def _taste(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    if args.lower() == "reset":
        counted = service.tastes.reset(cmd.address)
        return Reply(text=f"This channel's digests forgot what {counted} "
                          f"vote{'s' if counted != 1 else ''} taught them: they rank by "
                          "topics alone until new votes come.")
    if args:
        raise _UsageError(f"{args[:30]!r} is not something taste does.")
    return Reply(text="\n".join(service.tastes.report(cmd.address).lines()))


def _save(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    record = service.catalog.get(_paper_id(args))  # as show finds it (versions, URLs)
    if record is None:
        return _no_paper(args)
    try:
        saved = service.reading.save(cmd.address, record.id, cmd.user_id, cmd.user_name)
    except UnknownPaper:  # gone since
        return _no_paper(args)
    info = service.channels.info(cmd.address)
    zone = info.timezone if info else "UTC"
    return Reply(text=saved.line(zone_date=lambda when: local_day(when, zone)))


def _saved(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    if args:
        raise _UsageError("saved takes nothing; digestbot saved CHANNEL --format bibtex "
                          "exports the whole list.")
    entries = service.reading.entries(cmd.address, limit=SHOWN)
    if not entries:
        return Reply(text="This channel's reading list is empty. "
                          "Save a paper with its Save button or /papers save ID.")
    total = service.reading.count(cmd.address)
    info = service.channels.info(cmd.address)
    zone = info.timezone if info else "UTC"
    head = f"This channel's reading list, newest first ({_papers(total)}"
    head += f", the latest {len(entries)} here):" if total > len(entries) else "):"
    lines = [head]
    for n, each in enumerate(entries, start=1):
        when = local_day(each.saved_at, zone) if each.saved_at else ""
        read = f"; read by {', '.join(each.read_by)}" if each.read_by else "; unread"
        lines.append(f"{n}. {each.record.title} ({each.record.id}): saved by "
                     f"{each.saved_by} on {when}{read}")
    lines.append("/papers read ID marks one read for you; /papers cite ID gives its BibTeX.")
    return Reply(text="\n".join(lines))


def _read(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    record = service.catalog.get(_paper_id(args))
    if record is None:
        return _no_paper(args)
    try:
        title, new = service.reading.mark_read(cmd.address, record.id, cmd.user_id,
                                               cmd.user_name)
    except NotSaved as exc:
        return Reply(text=str(exc))
    short = short_title(title)
    if not new:
        return Reply(text=f"You marked “{short}” read already.")
    return Reply(text=f"Marked “{short}” read for you on this channel's reading list.")


def _cite(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    record = service.catalog.get(_paper_id(args))
    if record is None:
        return _no_paper(args)
    return Reply(text=f"BibTeX for {record.id}:\n{bibtex(record)}")


def _subscribe(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    if not args:
        raise _UsageError("Say which topic to follow.")
    result = service.channels.subscribe(cmd.address, args)
    if not result.added:
        return Reply(text=f"This channel already follows: {result.topic}")
    preview = topic_preview(service, cmd.address, result.topic, digest_now="type /papers digest")
    return Reply(
        text=f"This channel now follows: {result.topic} ({result.count} of {MAX_TOPICS} topics). "
        f"{preview}".rstrip()
    )


def topic_preview(service: Service, address: str, topic: str, *, digest_now: str) -> str:
    """What a topic ``address`` just took up finds for its next digest, said in
    a line ("12 papers from the last 7 days match it; the next digest brings
    them, or type /papers digest."); ``digest_now`` says how to get it at once."""
    preview = service.deliverer.preview_topic(address, topic)
    info = service.channels.info(address)
    if preview is None or info is None:
        return ""
    if preview.days is None:
        span = f"that came in since the last digest ({local_time(preview.since, info.timezone)})"
    else:
        span = "from the last day" if preview.days == 1 else f"from the last {preview.days} days"
    count = preview.count
    if not count:
        return f"No paper {span} matches it yet; the digests bring new ones as they come."
    if count == 1:
        return f"1 paper {span} matches it; the next digest brings it, or {digest_now}."
    them = "them" if count <= info.max_papers else f"the best {info.max_papers}"
    return f"{count:,} papers {span} match it; the next digest brings {them}, or {digest_now}."


def _unsubscribe(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    if not args:
        raise _UsageError("Say which topic to stop following.")
    removed = service.channels.unsubscribe(cmd.address, args)
    if removed is None:
        return Reply(text=f"This channel does not follow {args}. See its topics with /papers topics.")
    return Reply(text=f"This channel no longer follows: {removed}")


def _topics(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    topics = service.channels.topics(cmd.address)
    if not topics:
        return Reply(text="This channel follows no topics yet. Add one: /papers subscribe breast mri")
    lines = [f"{n}. {topic}" for n, topic in enumerate(topics, start=1)]
    return Reply(text="This channel follows:\n" + "\n".join(lines))


def _schedule(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    if not args:
        info = service.channels.info(cmd.address)
        if info is None:
            raise _UsageError("Say when.")
    else:
        info = service.channels.set_schedule(cmd.address, parse_schedule(args.split()))
    return Reply(text=f"This channel gets its digest {info.schedule}. "
                      f"{next_digest_line(info, service.clock())}")


def _limit(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    if not args:
        info = service.channels.info(cmd.address)
        count = info.max_papers if info else DEFAULT_MAX_PAPERS
        return Reply(text=f"This channel's digests show at most {_papers(count)}.")
    info = service.channels.set_max_papers(cmd.address, parse_max_papers(args))
    return Reply(text=f"This channel's digests now show at most {_papers(info.max_papers)}; "
                      "the footer counts the rest.")


def _updates(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    word = args.strip().lower()
    if not word:
        info = service.channels.info(cmd.address)
        on = info.thread_updates if info else True
        return Reply(text=(
            "A paper's later versions and code releases are noted in the thread of the "
            "message that posted it" if on else
            "This channel gets no notes of posted papers' later versions and code"
        ) + f". /papers updates {'off' if on else 'on'} turns that {'off' if on else 'on'}.")
    if word not in ("on", "off"):
        raise _UsageError("Say on or off.")
    service.channels.set_thread_updates(cmd.address, word == "on")
    if word == "on":
        return Reply(text="From now on, a posted paper's new versions and code releases are "
                          "noted in the thread of the message that posted it (one note a day "
                          "at most).")
    return Reply(text="No more notes of posted papers' new versions and code releases here. "
                      "/papers updates on turns them back on.")


def _papers(count: int) -> str:
    return f"{count} paper" if count == 1 else f"{count} papers"


def _digest(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    if not service.channels.topics(cmd.address):
        return Reply(text="This channel follows no topics yet. Add one: /papers subscribe breast mri")
    # What the digest looks at, read before it moves the channel's window on.
    looked_at = service.deliverer.nothing_new(cmd.address)
    try:
        digest = service.deliverer.digest(cmd.address, send=send)
    except DigestInProgress as exc:
        return Reply(text=str(exc))
    except ChannelUnavailable as exc:
        # The channel is paused with this reason; the papers wait in the ledger.
        return Reply(text=exc.reason)
    except NotAllSent as exc:  # what went out is confirmed; the rest waits in the ledger
        return Reply(text=exc.line())
    if digest is None:
        return Reply(text=f"Nothing new for this channel since its last digest. {looked_at}")
    noun = "paper" if digest.count == 1 else "papers"
    return Reply(text=f"Posted {digest.count} new {noun}.")


def _pause(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    service.channels.pause(cmd.address, reason=args or f"paused by {cmd.user_id}")
    return Reply(text="Digests are paused here. /papers resume starts them again.")


def _resume(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    info = service.channels.resume(cmd.address)
    return Reply(
        text=f"Digests are back on: {info.schedule}. {next_digest_line(info, service.clock())}"
    )


def _help(service: Service, cmd: IncomingCommand, args: str, send: Send) -> Reply:
    lines = [f"/papers {c.usage} — {c.summary} (e.g. /papers {c.example})" for c in COMMANDS]
    return Reply(text="\n".join(lines))


COMMANDS: tuple[Command, ...] = (
    Command(name="search", usage="search QUERY", example='search "breast mri" has:code',
            summary="search the catalog", run=_search, argument="query"),
    Command(name="show", usage="show ID", example="show 2402.12345",
            summary="one paper with its abstract", run=_show, argument="id"),
    Command(name="like", usage="like ID", example="like 2402.12345",
            summary="papers like this one", run=_like, argument="id"),
    Command(name="more", usage="more ID", example="more 2402.12345",
            summary="this paper is for us: more like it in the digests", run=_rate(UP),
            argument="id"),
    Command(name="less", usage="less ID", example="less 2402.12345",
            summary="this paper is not for us: fewer like it", run=_rate(DOWN), argument="id"),
    Command(name="why", usage="why ID", example="why 2402.12345",
            summary="why a paper is or is not in this channel's digest", run=_why, slow=True,
            argument="id"),
    Command(name="taste", usage="taste [reset]", example="taste",
            summary="what this channel's votes taught its digests (reset: forget it)",
            run=_taste, argument="reset", optional=True, manages_with=("reset",)),
    Command(name="save", usage="save ID", example="save 2402.12345",
            summary="put a paper on this channel's reading list", run=_save, argument="id"),
    Command(name="saved", usage="saved", example="saved",
            summary="this channel's reading list, newest first", run=_saved),
    Command(name="read", usage="read ID", example="read 2402.12345",
            summary="mark a paper of the reading list read for you", run=_read, argument="id"),
    Command(name="cite", usage="cite ID", example="cite 2402.12345",
            summary="a paper's BibTeX entry", run=_cite, argument="id"),
    Command(name="subscribe", usage="subscribe TOPIC", example="subscribe ct reconstruction -survey",
            summary="follow a topic in this channel", run=_subscribe, manages=True,
            argument="topic"),
    Command(name="unsubscribe", usage="unsubscribe TOPIC|N", example="unsubscribe ct reconstruction",
            summary="stop following a topic (or topic N as topics lists them)",
            run=_unsubscribe, manages=True,
            argument="topic"),
    Command(name="topics", usage="topics", example="topics",
            summary="the topics this channel follows", run=_topics),
    Command(name="schedule", usage="schedule HH:MM [TIMEZONE] [daily|weekdays|weekly DAY]",
            example="schedule 08:30 Europe/Berlin weekdays",
            summary="when this channel gets its digest", run=_schedule, manages=True,
            argument="when", optional=True),
    Command(name="limit", usage="limit N", example="limit 5",
            summary="how many papers a digest shows (1-50)", run=_limit, manages=True,
            argument="count", optional=True),
    Command(name="updates", usage="updates [on|off]", example="updates off",
            summary="notes in a posted paper's thread when a new version or its code comes out",
            run=_updates, argument="state", optional=True,
            manages_with=("on", "off")),
    Command(name="digest", usage="digest", example="digest",
            summary="post this channel's digest now", run=_digest, slow=True, manages=True),
    Command(name="pause", usage="pause [REASON]", example="pause conference week",
            summary="stop this channel's digests", run=_pause, manages=True,
            argument="reason", optional=True),
    Command(name="resume", usage="resume", example="resume",
            summary="start this channel's digests again", run=_resume, manages=True),
    Command(name="help", usage="help", example="help", summary="this list", run=_help),
)
_BY_NAME = {c.name: c for c in COMMANDS}


def command_named(name: str) -> Command | None:
    """The command table's entry for ``name``, if any."""
    return _BY_NAME.get(name.lower())


def needs_manager(text: str) -> bool:
    """True when the command in ``text`` changes the channel (``Command.manages``)."""
    name, _, args = text.strip().partition(" ")
    spec = _BY_NAME.get(name.lower())
    if spec is None:
        return False
    return spec.manages or args.strip().lower() in spec.manages_with


def is_slow(text: str) -> bool:
    """True when the command in ``text`` should be acknowledged before it is answered."""
    spec = _BY_NAME.get(text.strip().partition(" ")[0].lower())
    return spec is not None and spec.slow


@dataclass(frozen=True)
class Answer:
    """A command's reply, and the channel as the command left it (None: never set up)."""

    reply: Reply
    channel: ChannelInfo | None


def handle(service: Service, command: IncomingCommand, *, send: Send) -> Answer:
    """Answer one ``/papers`` command; ``send`` posts a digest to the channel.

    The channel is read once, after the command: the runtime re-derives its
    schedule from it, and a paused channel hears so with every answer.
    """
    name, _, args = command.text.strip().partition(" ")
    spec = _BY_NAME.get(name.lower() or "help")
    answered = False  # a mistake's answer says only what to do about it
    if spec is None:
        reply = Reply(text=f"Unknown command {name[:40]!r}. Try /papers help.")
    else:
        try:
            reply = spec.run(service, command, args.strip(), send)
            answered = True
        except _UsageError as exc:
            reply = Reply(text=f"{exc} Usage: /papers {spec.usage}")
        except (QueryError, ScheduleError, TopicLimitError, ChannelError) as exc:
            reply = Reply(text=f"{exc}")
    info = service.channels.info(command.address)
    if (
        answered
        and spec is not None
        and info is not None
        and info.paused
        and spec.name not in ("pause", "resume")
        and (info.paused_reason or "") not in reply.text
    ):
        notice = f"Digests are paused here ({info.paused_reason}). /papers resume restarts them."
        reply = Reply(text=f"{notice}\n{reply.text}", ephemeral=reply.ephemeral, items=reply.items)
    return Answer(reply=reply, channel=info)
