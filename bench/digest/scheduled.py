"""Phase 4 of the digest benchmark: the scheduler's whole run, ``Deliverer.run_scheduled`` with every channel due.

A ``send`` that only counts; timers around the steps in ``RUN_STEPS`` and
around each transaction's commit.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import current_rss_mb, peak_rss_mb
from bench.digest.state import NOW, open_service, warm_files
from bench.digest.timing import Timers, cprofile, patched_in, run_module, run_steps

__all__ = ["run_scheduled"]


class _TimedDatabase:
    """``Service.db`` with the time of each transaction's commit counted."""

    def __init__(self, db: Any, timers: Timers) -> None:
        self._db = db
        self._timers = timers

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    @contextmanager
    def session(self) -> Iterator[Any]:
        manager = self._db.session()
        session = manager.__enter__()
        try:
            yield session
        except BaseException:
            if not manager.__exit__(*sys.exc_info()):
                raise
        else:
            start = time.perf_counter()
            manager.__exit__(None, None, None)
            self._timers.seconds["transaction commits"] += time.perf_counter() - start
            self._timers.calls["transaction commits"] += 1


def run_scheduled(params: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from bot.model.messages import Digest
    from bot.store.models import Channel, Delivery

    data_dir = Path(params["data_dir"])
    warm_seconds = None if params["cold"] else warm_files(data_dir, params["database_url"])
    load_before = os.getloadavg()
    service = open_service(data_dir, clock_at=NOW, database_url=params["database_url"])
    with service.db.session() as session:
        addresses = [c.address for c in session.scalars(select(Channel).order_by(Channel.id))]
    due = dict.fromkeys(addresses, NOW)
    sent: Counter[str] = Counter()

    def send(message: Any) -> None:
        if isinstance(message, Digest):
            sent["digests"] += 1
            sent["papers"] += message.count
        else:
            sent["quiet-day lines"] += 1

    # Timers around the steps: the names the running modules look up
    # (RUN_STEPS) are swapped for timed wrappers, and the database for one
    # that times commits.
    if params.get("profile_scheduled"):
        # An extra run, for where the time goes; its time is not a figure.
        profile = cprofile(
            lambda: service.deliverer.run_scheduled(due, send=send),
            Path(params["profile"]) / "run_scheduled.prof",
            label="run_scheduled",
        )
        service.close()
        return {"profile": profile, "sent": dict(sent)}

    timers = Timers()
    replacements = [
        (module, name, timers.wrap(label, getattr(module, name)))
        for module, name, label in run_steps()
    ]
    db_owner = getattr(service, "deliverer", service)
    db = db_owner.db
    db_owner.db = _TimedDatabase(db, timers)
    rss_before = current_rss_mb()
    start = time.perf_counter()
    with patched_in(replacements):
        outcomes = service.deliverer.run_scheduled(due, send=timers.wrap("send (counting only)", send))
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    db_owner.db = db
    with service.db.session() as session:
        ledger = dict(
            session.execute(
                select(Delivery.status, func.count())
                .where(Delivery.created_at >= NOW)
                .group_by(Delivery.status)
            ).all()
        )
    service.close()
    steps: list[dict[str, Any]] = [
        {"step": label, "seconds": timers.seconds[label], "calls": timers.calls[label]}
        for label in (
            "load the due channels",
            "due today? (one a local day)",
            "select_digests",
            "claim (ledger rows pending, window moved)",
            "advance (nothing new)",
            "transaction commits",
            "send (counting only)",
            "confirm (ledger rows sent)",
        )
    ]
    steps = [s for s in steps if s["calls"]]
    steps.append(
        {
            "step": "rest (the run itself, sessions)",
            "calls": 1,
            "seconds": seconds - sum(s["seconds"] for s in steps),
        }
    )
    return {
        "seconds": seconds,
        "channels_due": len(due),
        "outcomes": len(outcomes),
        "errors": sum(1 for o in outcomes if o.error),
        "sent": dict(sent),
        "ledger_today": ledger,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "module": run_module().__name__,
        "steps": steps,
        "warm_files_seconds": warm_seconds,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
    }
