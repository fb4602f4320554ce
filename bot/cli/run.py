"""Running the bot (``digestbot run``) and asking whether it is healthy."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import timedelta

from bot.chat.health import check as check_health
from bot.chat.health import heartbeat_path
from bot.chat.runtime import Bot, adapter_factories
from bot.chat.service import Service, utcnow
from bot.cli.output import EXIT_ERROR, CommandError, json_text, out
from bot.config import Settings

__all__ = ["cmd_health", "cmd_run"]

log = logging.getLogger(__name__)


def cmd_run(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    factories = adapter_factories()
    adapters = [
        adapter
        for name, factory in sorted(factories.items())
        if name != "console" and (adapter := factory(settings)) is not None
    ]
    if _wants_console(args, platforms=bool(adapters)):
        if "console" not in factories:
            raise CommandError("no chat platform is configured and the console adapter is not "
                               "installed; reinstall digestbot (pip install -e .).")
        console = factories["console"](settings)
        assert console is not None
        adapters.append(console)
    bot = Bot(
        service=service,
        adapters=adapters,
        clock=utcnow,
        catch_up=timedelta(hours=settings.catch_up_hours),
        ingest_every=timedelta(minutes=settings.ingest_minutes),
        harvest_every=(timedelta(days=settings.harvest_interval_days)
                       if settings.harvest_interval_days else None),
        health_file=heartbeat_path(settings.data_dir),
        # Several `digestbot run` on one database: one runs the scheduler.
        lease=service.db.scheduler_lease(),
    )
    asyncio.run(bot.run())
    return 0


def _wants_console(args: argparse.Namespace, *, platforms: bool) -> bool:
    """Whether this terminal is a channel: asked for, or no platform and a terminal to type in.

    Without a terminal on stdin (systemd, nohup, cron, docker without -t)
    there is nobody to type, and stdin's end would stop the bot at once.
    """
    if args.console:
        return True  # stdin may be a file of commands: the bot stops at its end
    if platforms:
        return False
    if args.no_console:
        why = "--no-console"
    elif not _stdin_is_terminal():
        why = "stdin is not a terminal"
    else:
        return True
    log.warning("console off (%s); reach the bot through the CLI on this data directory "
                "(digestbot channels, digestbot digest --channel CHANNEL), or configure Slack "
                "or Discord, or run digestbot run in a terminal. Stop it with SIGTERM or "
                "Ctrl-C.", why)
    return False


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:  # closed
        return False


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the running bot is healthy, 1 with the reasons when not (opens no Service)."""
    report = check_health(settings.data_dir, database_url=settings.effective_database_url,
                          now=utcnow(), feeds=settings.feeds)
    if args.json:
        out(json_text(report.as_dict()))
    else:
        for line in report.lines():
            out(line)
    return 0 if report.healthy else EXIT_ERROR
