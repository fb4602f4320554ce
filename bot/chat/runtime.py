"""The running bot: the scheduler and the chat adapters in one asyncio process.

``digestbot run`` builds a ``Bot`` from the adapters registered under the
``digestbot.adapters`` entry-point group (``pyproject.toml``), so the core
never imports ``adapters/`` and a new platform can arrive as a separate
package. Adapters, the scheduler and the core share one event loop; the
synchronous core runs in worker threads (``asyncio.to_thread``), so a slow
digest never stalls a platform's 3-second answer. With a ``health_file``
the bot writes its heartbeat there (``bot.chat.health``; ``digestbot health``
reads it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import signal
import time
from collections.abc import Callable, Generator, Sequence
from datetime import datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from bot.chat.channels import ChannelInfo
from bot.chat.commands import handle
from bot.chat.health import BEAT_SECONDS, Heartbeat, sweep_heartbeats, write_heartbeat
from bot.chat.scheduler import DigestScheduler
from bot.chat.service import Service
from bot.config import ADAPTER_GROUP, Settings
from bot.digest.sending import ChannelUnavailable, OnPart, Posted
from bot.model.address import MessageRef, as_address
from bot.model.messages import Digest, IncomingCommand, NothingNew, PaperNote, Reply
from bot.store.catalog import ImportReport
from bot.store.db import DatabaseError, SchedulerLease

__all__ = ["ENTRY_POINT_GROUP", "Adapter", "AdapterFactory", "Bot", "adapter_factories"]

log = logging.getLogger(__name__)

# The entry-point group adapters are declared in (pyproject.toml), the one the
# settings look in for the settings adapters declare.
ENTRY_POINT_GROUP = ADAPTER_GROUP
# How long a digest post may take, its retries included, before the core
# cancels it: the messages accepted by then are confirmed, the rest kept for
# the next run.
POST_TIMEOUT = 120.0
# How long a cancelled post may take to end (its request in flight aborted).
CANCEL_SECONDS = 10.0
# How often a process holding the scheduler lease checks it, and a standby asks
# for it: a dead leader is replaced within this many seconds.
LEASE_SECONDS = 15.0


class Adapter(Protocol):
    """A chat platform as the core sees it.

    ``platform`` is the PLATFORM part of the channel addresses it serves
    (``slack``, ``discord``, ``console``).

    - ``start`` MUST connect, then turn each ``/papers`` event into an
      ``IncomingCommand`` and answer it with what ``Bot.handle`` returns,
      rendered for the platform. It MUST return once connected, or once a
      first attempt failed for a reason worth retrying (the platform
      unreachable: it logs one line and goes on trying in a task; long-lived
      work goes in tasks), and raise ``UserError`` when retrying cannot help
      (the token refused).
    - ``post`` MUST deliver a ``Digest`` or ``NothingNew`` to the channel
      named by its ``channel`` address and return only once the platform has
      accepted it. It MUST raise ``bot.digest.sending.ChannelUnavailable`` when the
      channel can take no posts (bot removed, channel deleted, permission
      revoked: the channel is paused with that reason), and any other
      exception for a failure worth retrying (the papers stay in the ledger).
      It MAY split a digest into several platform messages; it MUST then
      call ``on_part`` with the paper ids of each message as soon as the
      platform accepted it (the core confirms those papers at once, so a
      crash posts none of them again), and SHOULD return how many it posted
      (the core logs it), or None. It SHOULD pass ``on_part`` the message's
      ``MessageRef`` too, when the platform's answer names the message (the
      ledger keeps it and ``/papers why`` shows it; ``bot.digest.sending.OnPart``).
      A digest's ``maybe_posted`` papers (a
      post that died may have shown them) it MAY look for on the platform
      first, and report those it finds through ``on_part`` without posting
      them again (Slack reads them back from the channel's history; Discord
      needs nothing: its nonce makes the repeated send the same message).
      The core cancels a post still running
      after ``POST_TIMEOUT`` (its retries included): it MUST let the
      cancellation through, posting nothing more.
    - ``post_note`` (optional: an adapter without it gets no thread notes)
      MUST post a ``PaperNote`` in the thread of the message its ``thread``
      names (a reply to it), and return ``bot.digest.updates.THREAD``; when
      that message is gone it SHOULD post the note to the channel instead,
      saying so, and return ``TOP_LEVEL``. It raises as ``post`` does:
      ``ChannelUnavailable`` when the channel takes no posts (the note is
      dropped), any other exception for a failure worth retrying.
    - ``stop`` MUST close the connections; it MAY be called without ``start``.
    - An adapter MUST NOT interpret command arguments, select papers or
      touch the core's tables: those are the core's. It MAY keep its
      platform's own records in the same database through
      ``bot.service.db.engine`` (Slack's installation store does, in tables
      the migrations create).
    - An adapter's package MAY declare its own settings (``SETTINGS``, a
      tuple of ``bot.config.Setting``; see ``adapters/slack/settings.py``):
      they are read from the same files and environment as the core's.
    - An adapter MAY have ``async def is_connected(self) -> bool``, saying
      whether it can take commands and posts right now (the bot's health
      reports it). Without it, an adapter counts as connected from the end
      of ``start`` to ``stop``.
    """

    platform: str

    async def start(self, bot: Bot) -> None: ...

    async def post(self, message: Digest | NothingNew, *, on_part: OnPart) -> int | None: ...

    async def stop(self) -> None: ...


# An entry point of the group names one of these: it returns the adapter
# when its platform is configured (tokens present), else None.
AdapterFactory = Callable[[Settings], Adapter | None]


def adapter_factories() -> dict[str, AdapterFactory]:
    """The installed adapters by name."""
    return {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}


class Bot:
    """The core as the adapters see it while the bot runs."""

    def __init__(
        self,
        *,
        service: Service,
        adapters: Sequence[Adapter],
        clock: Callable[[], datetime],
        catch_up: timedelta = timedelta(hours=6),
        ingest_every: timedelta | None = timedelta(hours=1),
        harvest_every: timedelta | None = None,
        health_file: Path | None = None,
        lease: SchedulerLease | None = None,
        post_timeout: float = POST_TIMEOUT,
    ) -> None:
        self.service = service
        self.post_timeout = post_timeout
        self.adapters = {adapter.platform: adapter for adapter in adapters}
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._health_file = health_file
        self._phase = "starting"  # then "running", then "stopped"
        self._started_at = clock()
        self._beat_now = asyncio.Event()
        # Without a lease this process runs the scheduler; with one, only
        # while it holds the lease (several processes on one database).
        self._lease = lease
        self.leading = False
        self._ingest_every = ingest_every
        self._harvest_every = harvest_every
        self._stopping = False

        def new_scheduler() -> DigestScheduler:
            return DigestScheduler(
                channels=self._channels,
                run=lambda due: service.deliverer.run_scheduled(due, send=self._post),
                clock=clock,
                grace=catch_up,
                ingest=self._ingest if ingest_every else None,
                ingest_every=ingest_every or timedelta(hours=1),
                interrupted=self._interrupted,
            )

        self._new_scheduler = new_scheduler
        self.scheduler = new_scheduler()

    # -- for adapters --------------------------------------------------------

    async def handle(self, command: IncomingCommand) -> Reply:
        """Answer a ``/papers`` command; a digest it asks for is posted through ``post``."""
        answer = await asyncio.to_thread(handle, self.service, command, send=self._post)
        # The command may have changed the channel's schedule, topics or pause.
        info = answer.channel
        if self.leading:  # else the leader's resync picks the change up within a minute
            self.scheduler.update(str(command.address), info if info and self._serves(info) else None)
        return answer.reply

    async def workspace_gone(self, platform: str, workspace: str, *, reason: str) -> None:
        """The platform says the app left a workspace: pause its channels, keep their papers."""
        count = await asyncio.to_thread(
            self.service.channels.pause_workspace, platform, workspace, reason=reason
        )
        for address in self.scheduler.known(platform, workspace):
            self.scheduler.update(address, None)
        log.warning("%s:%s gone (%s): %d channels paused", platform, workspace, reason, count)

    async def _warm_topics(self) -> None:
        # Every topic parsed now spares the digest runs that work. Before the
        # scheduler starts, not beside it: its catch-up digests would parse
        # the same topics again, each thread slowing the other.
        try:
            count = await asyncio.to_thread(self.service.deliverer.warm_topics)
        except Exception:
            log.exception("parsing the topics ahead failed; digests parse them as they run")
            return
        log.info("%d topics parsed ahead", count)

    def stop(self) -> None:
        """Ask ``run`` to shut down (from the loop's thread)."""
        if self._stopped is None:
            return
        if self._stopped.is_set():
            # A second Ctrl-C or SIGTERM: say what the shutdown waits for.
            log.warning("already stopping: waiting for the digest being posted and the "
                        "feeds being read (each fetch ends within its deadline)")
            return
        self._stopping = True  # from now on _post refuses what has not begun
        self._stopped.set()

    # -- running -------------------------------------------------------------

    async def run(self, *, ready: Callable[[], None] | None = None) -> None:
        """Start the adapters and the scheduler; return after ``stop`` (or SIGINT, SIGTERM).

        Stopping, the bot posts nothing new: a digest being posted is
        finished and confirmed, the digests not yet begun are kept for the
        next run (their papers stay in the ledger), a running ingest ends,
        then the lease is released and the adapters stop.
        """
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._started_at = self._clock()
        # First of all: a SIGTERM while the adapters connect stops the start.
        signals = self._on_signals()
        beating = asyncio.create_task(self._beat()) if self._health_file else None
        leading: asyncio.Task[None] | None = None
        starting = asyncio.create_task(self._start())
        stopped = asyncio.create_task(self._stopped.wait())
        try:
            await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                log.info("stopped while starting")
                starting.cancel()
                await asyncio.gather(starting, return_exceptions=True)
                return
            starting.result()  # raises what went wrong
            leading = asyncio.create_task(self._keep_lead()) if self._lease else None
            self._phase = "running"
            self._beat_now.set()
            if ready is not None:
                ready()
            await stopped
        finally:
            stopped.cancel()
            self._stopping = True  # also when the start failed
            log.info("stopping%s", ": the feeds being read are read to the end first"
                     if self.scheduler.ingesting else "")
            if leading is not None:
                leading.cancel()
            await self.scheduler.stop()
            self.leading = False
            if self._lease is not None:
                await asyncio.to_thread(self._lease.release)
            for adapter in self.adapters.values():
                try:
                    await adapter.stop()
                except Exception:
                    log.exception("stopping the %s adapter failed", adapter.platform)
            self._phase = "stopped"
            if beating is not None:
                beating.cancel()
                await self._write_beat(database=None)
            for sig in signals:
                self._loop.remove_signal_handler(sig)
            log.info("stopped")

    async def _start(self) -> None:
        for adapter in self.adapters.values():
            await adapter.start(self)
        await self._warm_topics()
        await self._lead()
        await self._say_what_is_posted()

    async def _say_what_is_posted(self) -> None:
        """One line on what this process posts where, and what it leaves waiting."""
        try:
            channels = await asyncio.to_thread(self.service.channels.scheduled)
        except Exception:
            log.exception("reading the channels failed")
            return
        served = [c for c in channels if self._serves(c)]
        waiting = sorted({c.address.platform for c in channels if not self._serves(c)})
        if not self.leading:
            doing = "stands by while another process posts the digests and reads the feeds"
        else:
            reading = (f"reads the feeds every {_minutes(self._ingest_every)}"
                       if self._ingest_every else "reads no feeds")
            posting = (f"posts the digests of {_count(len(served), 'channel')}"
                       if self.adapters else "posts no digests")
            doing = f"{reading} and {posting}"
        left = ""
        if waiting:
            platforms = " and ".join(waiting)
            left = (f"; the digests of {_count(len(channels) - len(served), 'channel')} on "
                    f"{platforms} wait, their papers kept, until a digestbot run serves "
                    f"{platforms}" + (" (the console: one in a terminal)"
                                      if "console" in waiting else ""))
        if not self.adapters:
            log.warning("no chat platform and no console: this process %s%s", doing, left)
            return
        log.info("running with %s: this process %s%s", ", ".join(self.adapters), doing, left)

    async def _lead(self) -> None:
        """Start the scheduler when this process may run it (no lease, or the lease got)."""
        if self._lease is not None and not await asyncio.to_thread(self._lease.acquire):
            if not self.leading:
                log.info("another process runs the scheduler; this one stands by")
            return
        if not self.leading:
            self.scheduler = self._new_scheduler()
            self.scheduler.start()
            self.leading = True
            if self._lease is not None:
                log.info("scheduler lease taken: this process runs the digests and feeds")
            self._beat_now.set()

    async def _keep_lead(self) -> None:
        """Hold the lease, or wait for it: every LEASE_SECONDS, check or try again."""
        assert self._lease is not None
        while True:
            await asyncio.sleep(LEASE_SECONDS)
            try:
                if not self.leading:
                    await self._lead()
                elif not await asyncio.to_thread(self._lease.holding):
                    log.warning("scheduler lease lost; stopping the scheduler until it is back")
                    self.leading = False
                    await self.scheduler.stop()
                    self._beat_now.set()
            except Exception:  # the loop must go on: a standby that stops never takes over
                log.exception("scheduler lease check failed; trying again")

    async def heartbeat(self, *, database: str | None) -> Heartbeat:
        """The bot's state now (``database``: why the database did not answer, or None)."""
        scheduler = self._phase
        if scheduler == "running" and self._lease is not None:
            scheduler = "leader" if self.leading else "standby"
        elif scheduler == "running" and not self.scheduler.running:
            scheduler = "stopped"
        adapters = {}
        for platform, adapter in self.adapters.items():
            adapters[platform] = self._phase == "running" and await _connected(adapter)
        return Heartbeat(pid=os.getpid(), started_at=self._started_at, updated_at=self._clock(),
                         database=database, scheduler=scheduler, adapters=adapters)

    async def _beat(self) -> None:
        """Write the heartbeat now and every BEAT_SECONDS, sooner when the phase changes.

        The file is this process's own; first, the files of processes that
        stopped or went silent beside it are removed.
        """
        assert self._health_file is not None
        sweep_heartbeats(self._health_file.parent, keep=self._health_file, now=self._clock())
        while True:
            self._beat_now.clear()
            try:
                await asyncio.to_thread(self.service.db.ping)
                database = None
            except DatabaseError as exc:
                database = str(exc)
            await self._write_beat(database=database)
            try:
                await asyncio.wait_for(self._beat_now.wait(), BEAT_SECONDS)
            except TimeoutError:
                pass

    async def _write_beat(self, *, database: str | None) -> None:
        assert self._health_file is not None
        beat = await self.heartbeat(database=database)
        try:
            # On the loop, not in a thread: a few hundred bytes, and a write
            # cancelled at shutdown must not land after the last one.
            write_heartbeat(self._health_file, beat)
        except OSError as exc:  # a missed beat shows as a stale heartbeat; the bot goes on
            log.warning("cannot write the heartbeat %s: %s", self._health_file, exc)

    def _on_signals(self) -> list[signal.Signals]:
        """SIGINT and SIGTERM stop the bot; returns the signals it now handles."""
        assert self._loop is not None
        handled = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError, ValueError):
                # Not the main thread (tests), or a platform without signals.
                break
            handled.append(sig)
        return handled

    def _serves(self, info: ChannelInfo) -> bool:
        return info.address.platform in self.adapters

    def _channels(self) -> list[ChannelInfo]:
        # A channel of a platform not running here keeps its papers in the
        # ledger until that platform's adapter runs again.
        return [info for info in self.service.channels.scheduled() if self._serves(info)]

    def _interrupted(self) -> list[str]:
        return [a for a in self.service.deliverer.interrupted() if as_address(a).platform in self.adapters]

    def _post(self, message: Digest | NothingNew) -> Generator[Posted, None, int | None]:
        """Post from a worker thread through the channel's adapter, on the loop.

        Yields each platform message as the platform accepts it, its paper
        ids and reference (``bot.digest.sending.Parts``), for the deliverer
        to confirm. A
        post still running after ``post_timeout`` is cancelled, and then
        raises ``PostTimedOut``: no message goes out after that.
        """
        loop = self._loop
        assert loop is not None
        if self._stopping:
            raise Stopping("the bot is stopping")
        adapter = self.adapters.get(as_address(message.channel).platform)
        if adapter is None:
            raise RuntimeError(f"no adapter for {message.channel} is running")
        accepted: queue.SimpleQueue[Posted | None] = queue.SimpleQueue()

        def on_part(paper_ids: Sequence[str], ref: MessageRef | None = None, /) -> None:
            accepted.put(Posted(tuple(paper_ids), ref))

        async def posting() -> int | None:
            try:
                return await adapter.post(message, on_part=on_part)
            finally:  # the post has ended: nothing more goes out
                accepted.put(None)

        future = asyncio.run_coroutine_threadsafe(posting(), loop)
        try:
            deadline = time.monotonic() + self.post_timeout
            while (part := _next(accepted, deadline)) is not None:
                if isinstance(part, _Late):
                    break
                yield part
            else:
                return future.result()  # how many messages it took; raises what went wrong
            # The deadline passed: cancel the post, and confirm what it got out meanwhile.
            future.cancel()
            ending = time.monotonic() + CANCEL_SECONDS
            while (part := _next(accepted, ending)) is not None and not isinstance(part, _Late):
                yield part
            if part is not None:
                log.warning("the post to %s did not end when cancelled", message.channel)
            raise PostTimedOut(f"the post took longer than {self.post_timeout:g} s")
        finally:
            future.cancel()  # a no-op once it ended; else nothing more may go out

    def _ingest(self) -> None:
        for report in self.service.ingestion.run():
            # Feeds log their own line each (bot.ingest.run); seed files only when they changed.
            if isinstance(report, ImportReport) and (report.changed or report.problems):
                log.info("%s", report.line())
        if self._harvest_every:
            # After the feeds, so that a paper announced today is news from its feed
            # before a harvest brings it as catalog. Each harvest logs its line.
            self.service.harvester.run_due(self.service.oai_url, self._harvest_every)
        # What the ingest changed in papers already posted goes to their threads.
        if not self._stopping:
            self.service.updates.run(send=self._post_note)

    def _post_note(self, note: PaperNote) -> str:
        """Post a thread note from a worker thread through its channel's adapter, on the loop."""
        loop = self._loop
        assert loop is not None
        if self._stopping:
            raise Stopping("the bot is stopping")
        adapter = self.adapters.get(note.channel.platform)
        post_note = getattr(adapter, "post_note", None)
        if post_note is None:
            raise ChannelUnavailable(f"the {note.channel.platform} adapter posts no thread notes")
        future = asyncio.run_coroutine_threadsafe(post_note(note), loop)
        try:
            return str(future.result(timeout=self.post_timeout))
        finally:
            future.cancel()  # a no-op once it ended; else nothing more may go out


class Stopping(Exception):
    """A post asked for while the bot stops: not sent, its papers kept for the next run."""


class PostTimedOut(TimeoutError):
    """A post cancelled at its deadline: the messages not accepted by then wait for the next run."""


class _Late:
    """What ``_next`` returns when its deadline passed first."""


def _next(accepted: queue.SimpleQueue[Posted | None], deadline: float) -> Posted | None | _Late:
    """The next message accepted (None: the post ended), waiting until ``deadline``."""
    try:
        return accepted.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        return _Late()


def _minutes(every: timedelta) -> str:
    minutes = int(every.total_seconds() // 60)
    if minutes == 60:
        return "hour"
    return _count(minutes, "minute") if minutes % 60 else _count(minutes // 60, "hour")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n:,} {noun}s"


async def _connected(adapter: Adapter) -> bool:
    probe = getattr(adapter, "is_connected", None)
    if probe is None:
        return True
    try:
        return bool(await probe())
    except Exception:
        log.exception("asking the %s adapter whether it is connected failed", adapter.platform)
        return False
