"""Every user-facing error of the core is a ``bot.errors.UserError``; the CLI reports
one on one line and exits 1 (2 for a query mistake)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import bot
from bot.chat.channels import TopicLimitError
from bot.chat.schedules import ScheduleError
from bot.cli import CommandError
from bot.config import ConfigError
from bot.digest.ledger import DigestInProgress
from bot.errors import UserError
from bot.ingest.registry import FeedError
from bot.model.address import ChannelError
from bot.search.index import IndexBusyError
from bot.search.query import QueryError
from bot.store.db import DatabaseError

USER_ERRORS = [
    CommandError, ConfigError, ChannelError, DatabaseError, DigestInProgress, FeedError,
    IndexBusyError, QueryError, ScheduleError, TopicLimitError,
]
# Raised where nobody made a mistake, and never shown to a person as they are:
# a remote failure (its reason goes into the feed's, the backfill's or the harvest's report;
# a page that is no OAI-PMH page is such a failure, retried, then reported), a signal an
# adapter gives the core about a channel, or the runtime's refusal of a post
# while the bot stops or its deadline passes (its papers stay in the ledger).
NOT_USER_ERRORS = {
    "bot.chat.runtime.Stopping",
    "bot.chat.runtime.PostTimedOut",
    "bot.ingest.fetch.FetchError",
    "bot.ingest.arxiv._Unreadable",
    "bot.ingest.backfill._Stop",
    "bot.ingest.harvest._Stop",
    "bot.ingest.oai.OaiPageError",
    "bot.ingest.feeds._UndefinedEntity",
    "bot.digest.sending.ChannelUnavailable",
    "bot.digest.sending.WorkspaceUnavailable",
    "bot.digest.sending.PartlySent",
}


@pytest.mark.parametrize("error", USER_ERRORS, ids=lambda e: e.__name__)
def test_user_facing_errors_derive_from_user_error(error: type[Exception]) -> None:
    assert issubclass(error, UserError)


@pytest.mark.parametrize("error", [ChannelError, QueryError, ScheduleError, TopicLimitError],
                         ids=lambda e: e.__name__)
def test_errors_that_were_value_errors_still_are(error: type[Exception]) -> None:
    assert issubclass(error, ValueError)


def _core_exceptions() -> dict[str, type[BaseException]]:
    found = {}
    for info in pkgutil.walk_packages(bot.__path__, "bot."):
        if ".migrations" in info.name or info.name == "bot.__main__":
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_error_class_of_the_core_is_a_user_error_or_named_as_not_one() -> None:
    found = _core_exceptions()
    assert NOT_USER_ERRORS <= set(found)
    unclassified = {name for name, error in found.items()
                    if not issubclass(error, UserError) and name not in NOT_USER_ERRORS}
    assert not unclassified
    assert not {name for name in NOT_USER_ERRORS if issubclass(found[name], UserError)}


def test_the_cli_reports_a_user_error_on_one_line(tmp_path, capsys) -> None:
    from bot.cli import main

    data = ["--data-dir", str(tmp_path)]
    assert main([*data, "schedule", "console:local/general", "25:00"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("digestbot: ") and err.count("\n") == 1
    assert main([*data, "search", "author:"]) == 2
    assert capsys.readouterr().err.startswith("digestbot: ")
