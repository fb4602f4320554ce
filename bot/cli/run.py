"""Running the bot (``digestbot run``) and asking whether it is healthy."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import timedelta

from bot.chat.health import check as check_health
from bot.chat.health import heartbeat_path
from bot.chat.runtime import Bot, adapter_factories
from bot.chat.service import Service, utcnow
from bot.cli.output import EXIT_ERROR, CommandError, out
from bot.config import Settings

__all__ = ["cmd_health", "cmd_run"]


def cmd_run(service: Service, args: argparse.Namespace, settings: Settings) -> int:
    factories = adapter_factories()
    adapters = [
        adapter
        for name, factory in sorted(factories.items())
        if name != "console" and (adapter := factory(settings)) is not None
    ]
    if not adapters or args.console:
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
        health_file=heartbeat_path(settings.data_dir),
        # Several `digestbot run` on one database: one runs the scheduler.
        lease=service.db.scheduler_lease(),
    )
    asyncio.run(bot.run())
    return 0


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the running bot is healthy, 1 with the reasons when not (opens no Service)."""
    report = check_health(settings.data_dir, database_url=settings.effective_database_url,
                          now=utcnow(), feeds=settings.feeds)
    if args.json:
        out(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for line in report.lines():
            out(line)
    return 0 if report.healthy else EXIT_ERROR
