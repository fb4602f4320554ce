"""Phase 3 of the digest benchmark: ``select_digests`` over every channel, cold and warm, in a process of its own.

R runs with no topic parsed yet, R with the topics parsed ahead, then one
more of each kind with timers around its steps (the breakdown), and with
``profile`` one more under cProfile.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import current_rss_mb, log, peak_rss_mb
from bench.digest.state import NOW, open_service, warm_files
from bench.digest.timing import Timers, cprofile, patched

__all__ = ["run_select"]


def _first_digest_days(service: Any) -> int:
    # Kept by Service itself, or by the object it hands digest runs to.
    for owner in (service, getattr(service, "deliverer", None)):
        if owner is not None and hasattr(owner, "first_digest_days"):
            return int(owner.first_digest_days)
    return 7


def _selection_stats(selections: dict[int, Any]) -> dict[str, Any]:
    counts = [s.digest.count for s in selections.values()]
    more = [s.digest.more for s in selections.values()]
    return {
        "channels_with_digest": len(selections),
        "papers_shown": sum(counts),
        "mean_papers": statistics.fmean(counts) if counts else 0.0,
        "median_papers": statistics.median(counts) if counts else 0.0,
        "digests_at_cap": sum(1 for s in selections.values() if s.digest.more),
        "mean_matching_papers": statistics.fmean(c + m for c, m in zip(counts, more, strict=True))
        if counts
        else 0.0,
        "example": next(iter(selections.values())).digest.header if selections else None,
    }


def run_select(params: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import select

    from bot.digest import select as digest
    from bot.store.models import Channel

    data_dir = Path(params["data_dir"])
    warm_seconds = None if params["cold"] else warm_files(data_dir, params["database_url"])
    rss_start = current_rss_mb()
    load_before = os.getloadavg()
    start = time.perf_counter()
    service = open_service(data_dir, clock_at=NOW, database_url=params["database_url"])
    open_seconds = time.perf_counter() - start
    first_days = _first_digest_days(service)

    def once(cache: Any = None) -> tuple[dict[int, Any], dict[str, float]]:
        with service.db.session() as session:
            t0 = time.perf_counter()
            channels = list(session.scalars(select(Channel).order_by(Channel.id)))
            t1 = time.perf_counter()
            rss_before = current_rss_mb()
            cpu = time.process_time()
            selections = digest.select_digests(
                session, channels, now=NOW, first_days=first_days, topics_cache=cache
            )
            cpu = time.process_time() - cpu
            t2 = time.perf_counter()
            rss_after = current_rss_mb()
        return selections, {
            "channels": len(channels),
            "load_seconds": t1 - t0,
            "select_seconds": t2 - t1,
            # CPU time of the process: less disturbed by other work on a shared machine.
            "select_cpu_seconds": cpu,
            "rss_before_select_mb": rss_before,
            "rss_after_select_mb": rss_after,
            "peak_rss_mb": peak_rss_mb(),
        }

    # R cold runs, each with no parsed topics, as in a bot started at the
    # digest hour; then the topics are parsed ahead as the running bot does
    # at start (Deliverer.warm_topics) and kept: R warm runs use that cache.
    runs = []
    stats: dict[str, Any] = {}
    cache = digest.TopicCache()
    warm_topics_seconds = 0.0
    for i in range(2 * params["repeats"]):
        warm = i >= params["repeats"]
        if i == params["repeats"]:
            t = time.perf_counter()
            with service.db.session() as session:
                topics = sorted({t for ts in digest._topics(
                    session, [c.id for c in session.scalars(select(Channel))]
                ).values() for t, _ in ts})
            cache.warm(topics)
            warm_topics_seconds = time.perf_counter() - t
            log(f"select: {len(topics):,} topics parsed ahead (warm_topics) in "
                f"{warm_topics_seconds:.2f}s")
        selections, run = once(cache if warm else None)
        run["warm"] = warm
        runs.append(run)
        if i == 0:
            stats = _selection_stats(selections)
        log(
            f"select: run {i + 1} ({'warm' if warm else 'cold'}): {run['channels']:,} channels "
            f"loaded in {run['load_seconds']:.2f}s, "
            f"selected in {run['select_seconds']:.2f}s (CPU {run['select_cpu_seconds']:.2f}s), "
            f"{len(selections):,} digests, peak RSS {run['peak_rss_mb']:,.0f} MB"
        )
        del selections
    peak_after_runs = peak_rss_mb()

    # Once more of each kind with timers around the steps of select_digests:
    # the names it looks up in bot.digest.select are swapped for timed wrappers, in
    # this process only, for whichever of them the module has (bot/ changes).
    pool_sizes: list[int] = []
    topic_hits: dict[str, int] = {}
    POOL, MATCHES, RANK, SELECT = (
        "pool: index the candidates in memory",
        "topics: run each distinct topic once (pool.matches)",
        "rank each topic's matches in the window (pool.rank)",
        "per channel: _select, without the two steps above",
    )

    def breakdown(cache: Any) -> dict[str, Any]:
        timers = Timers()

        class TimedPool(digest._Pool):  # type: ignore[name-defined,misc]
            def __init__(self, candidates: dict[str, Any], **kwargs: Any) -> None:
                pool_sizes.append(len(candidates))
                t = time.perf_counter()
                super().__init__(candidates, **kwargs)
                timers.seconds[POOL] += time.perf_counter() - t
                timers.calls[POOL] += 1

            def matches(self, topic: str) -> Any:
                found = self._matches.get(topic)
                if found is None:
                    t = time.perf_counter()
                    found = super().matches(topic)
                    timers.seconds[MATCHES] += time.perf_counter() - t
                    timers.calls[MATCHES] += 1
                    # Document numbers since the masks; (id, score) pairs before.
                    numbers = found.numbers if hasattr(found, "numbers") else found.hits
                    topic_hits[topic] = len(numbers)
                return found

            def rank(self, matches: Any, eligible: Any, **kwargs: Any) -> Any:
                t = time.perf_counter()
                found = super().rank(matches, eligible, **kwargs)
                timers.seconds[RANK] += time.perf_counter() - t
                timers.calls[RANK] += 1
                return found

        original_ledger = digest._ledger

        def ledger(session: Any, **kwargs: Any) -> Any:
            label = (
                "ledger: sent, by paper"
                if kwargs.get("paper_ids")
                else "ledger: pending/failed, by channel"
            )
            return timers.wrap(label, original_ledger)(session, **kwargs)

        wrapped = {
            "_topics": "topics of the channels",
            "current_revision": "current revision",
            "_load_candidates": "candidates: load from SQLite",
            "parse_query": "  of which parse_query",
            "compile_query": "  of which compile_query",
            "_select": SELECT,
            "_tastes": "tastes: load",
            "_by_taste": "  of which taste re-ranking",
            "_suggestions": "  of which taste suggestions",
        }
        replacements: dict[str, Any] = {
            name: timers.wrap(label, getattr(digest, name))
            for name, label in wrapped.items()
            if hasattr(digest, name)
        }
        with patched(digest, _ledger=ledger, _Pool=TimedPool, **replacements):
            selections, run = once(cache)
        del selections
        # _select includes the topics' first pool.matches and pool.rank: counted above.
        timers.seconds[SELECT] -= timers.seconds[MATCHES] + timers.seconds[RANK]
        order = [
            "topics of the channels",
            "current revision",
            "ledger: pending/failed, by channel",
            "candidates: load from SQLite",
            "ledger: sent, by paper",
            POOL,
            MATCHES,
            "  of which parse_query",
            "  of which compile_query",
            RANK,
            SELECT,
        ]
        steps: list[dict[str, Any]] = [
            {"step": label, "seconds": timers.seconds[label], "calls": timers.calls[label]}
            for label in order
            if timers.calls[label] or label in (MATCHES, RANK, SELECT)
        ]
        accounted = sum(s["seconds"] for s in steps if not s["step"].startswith(" "))
        steps.append(
            {
                "step": "rest (select_digests itself)",
                "seconds": run["select_seconds"] - accounted,
                "calls": 1,
            }
        )
        return {"run": run, "steps": steps}

    breakdowns = {"cold": breakdown(None), "warm": breakdown(cache)}
    hits = list(topic_hits.values())
    topic_stats = {
        "distinct_run": len(hits),
        "matching_any": sum(1 for h in hits if h),
        "median_hits": statistics.median(hits) if hits else 0,
        "mean_hits": statistics.fmean(hits) if hits else 0.0,
        "max_hits": max(hits, default=0),
        "hits_total": sum(hits),
    }

    profile = None
    if params.get("profile"):
        # cProfile, not bench/sampler.py: every tantivy-py call releases the
        # GIL, so a sampling thread takes nearly all its samples inside those
        # calls rather than in the Python around them (by how much: see
        # docs/benchmarks.md, section "Digest selection", Commands), and,
        # waiting for the GIL, slows each call down.
        profile = cprofile(
            lambda: once(cache), Path(params["profile"]) / "select.prof", label="select_digests (warm)"
        )
    service.close()
    return {
        "warm_files_seconds": warm_seconds,
        "warm_topics_seconds": warm_topics_seconds,
        "open_seconds": open_seconds,
        "rss_start_mb": rss_start,
        "runs": runs,
        "peak_rss_after_runs_mb": peak_after_runs,
        "stats": stats,
        "candidates": pool_sizes[0] if pool_sizes else 0,
        "topics": topic_stats,
        "breakdown": breakdowns,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "profile": profile,
    }
