"""Timers around the steps the digest benchmark breaks down, and the patching that puts them there.

A step is timed by swapping the name its caller looks up for a timed
wrapper (``patched``, ``patched_in``), in the measuring process only, for
whichever of the names this tree of bot/ has (``RUN_STEPS``, ``run_steps``).
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import log

__all__ = ["RUN_STEPS", "Timers", "cprofile", "patched", "patched_in", "run_module", "run_steps"]


# The steps of Deliverer.run_scheduled that get a timer: (module, name, label),
# each name patched in the module whose code looks it up. The lock strategies
# (claims, confirmations, the day's mark) moved out of the delivery loop into
# bot.digest.locks; a tree from before that has them in bot.digest.deliver, or
# before it in bot.chat.service (run_steps falls back).
RUN_STEPS = (
    ("bot.digest.deliver", "_channels_at", "load the due channels"),
    ("bot.digest.locks", "_due_today", "due today? (one a local day)"),
    ("bot.digest.deliver", "select_digests", "select_digests"),
    ("bot.digest.locks", "claim", "claim (ledger rows pending, window moved)"),
    ("bot.digest.locks", "advance", "advance (nothing new)"),
    ("bot.digest.locks", "confirm", "confirm (ledger rows sent)"),
)


def run_module() -> Any:
    """The module whose code runs Deliverer.run_scheduled: bot.digest.deliver, or bot.chat.service before it."""
    import importlib

    try:
        return importlib.import_module("bot.digest.deliver")
    except ModuleNotFoundError:
        return importlib.import_module("bot.chat.service")


def run_steps() -> list[tuple[Any, str, str]]:
    """``RUN_STEPS`` as (module, name, label), for the modules and names this tree has."""
    import importlib

    steps = []
    for module_name, name, label in RUN_STEPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            module = run_module()
        if hasattr(module, name):
            steps.append((module, name, label))
    return steps


class Timers:
    """Wall time and calls per label, for functions wrapped by ``wrap``."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1

        return timed


@contextmanager
def patched(module: Any, **replacements: Any) -> Iterator[None]:
    with patched_in([(module, name, value) for name, value in replacements.items()]):
        yield


@contextmanager
def patched_in(replacements: Sequence[tuple[Any, str, Any]]) -> Iterator[None]:
    """``patched`` over several modules: each (module, name, value) set, then restored."""
    saved = [(module, name, getattr(module, name)) for module, name, _ in replacements]
    for module, name, value in replacements:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def cprofile(function: Callable[[], Any], path: Path, *, label: str) -> dict[str, Any]:
    """Run ``function`` under cProfile; the stats go to ``path`` and the top lines to stderr."""
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    function()
    prof.disable()
    seconds = time.perf_counter() - start
    prof.dump_stats(str(path))
    log(f"{label} under cProfile took {seconds:.2f}s; stats in {path}; top functions:")
    stats = pstats.Stats(prof, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(30)
    return {"seconds_under_cprofile": seconds, "stats_file": str(path)}
