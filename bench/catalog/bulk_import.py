"""Phase 1 of the catalog benchmark: N synthetic papers through ``Catalog.import_records``, timed.

The generator's time is measured apart, so that it can be taken out; with
``profile`` a sampling profile (``bench.sampler``) of the import is written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from bench.catalog.store import open_service
from bench.common import current_rss_mb, dir_size_mb, log, peak_rss_mb
from bench.sampler import Sampler
from bench.synth import SyntheticCatalog

__all__ = ["run_import"]


def run_import(params: dict[str, Any]) -> dict[str, Any]:
    data_dir = Path(params["data_dir"])
    n = params["papers"]
    rss_start = current_rss_mb()
    database_url = params.get("database_url")
    service = open_service(data_dir, database_url)
    catalog = SyntheticCatalog(seed=params["seed"])
    gen_seconds = 0.0
    rss_after_pools = 0.0

    def records() -> Iterator[Any]:
        # Time spent generating is measured so that it can be taken out.
        nonlocal gen_seconds, rss_after_pools
        papers = catalog.papers(n)
        clock = time.perf_counter
        while True:
            t = clock()
            try:
                record = next(papers)
            except StopIteration:
                gen_seconds += clock() - t
                return
            gen_seconds += clock() - t
            if not rss_after_pools:
                rss_after_pools = current_rss_mb()
            yield record

    marks: dict[str, float] = {}
    start = time.perf_counter()

    def progress(seen: int) -> None:
        now = time.perf_counter()
        marks["batches_done"] = now
        marks["batches_generation"] = gen_seconds
        marks["batches_peak_rss"] = peak_rss_mb()
        if seen % 100_000 == 0 or seen == n:
            elapsed = now - start
            log(f"import: {seen:,} papers stored after {elapsed:.0f}s "
                f"({seen / elapsed:,.0f}/s incl. generation)")

    load_before = os.getloadavg()
    sampler = Sampler(exclude="bench/synth.py") if params.get("profile") else None
    cpu_start = time.process_time()
    with sampler or nullcontext():
        result = service.catalog.import_records(records(), progress=progress)
    end = time.perf_counter()
    # All threads of this process (tantivy's indexing threads too), generation included.
    cpu_seconds = time.process_time() - cpu_start
    load_after = os.getloadavg()
    total = end - start
    net = total - gen_seconds
    batches_done = marks.get("batches_done", end)
    batch_seconds = batches_done - start - marks.get("batches_generation", gen_seconds)
    final_seconds = end - batches_done
    profile: dict[str, Any] | None = None
    if sampler is not None:
        text = sampler.report(top=40)
        out = Path(params["profile"]) / "import-samples.txt"
        out.write_text(text + "\n", "utf-8")
        log(f"import profile (sampling; also in {out}):\n{text}")
        profile = {
            "samples": sampler.samples,
            "generation_samples": sampler.excluded,
            "inclusive": sampler.inclusive.most_common(60),
            "self": sampler.leaf.most_common(60),
        }
    indexed = service.index.num_docs
    paper_count = service.catalog.count()
    service.close()
    db_file = data_dir / "digestbot.sqlite3"
    if database_url:
        from bench.pg import database_mb

        db_mb = database_mb(database_url)
    else:
        db_mb = dir_size_mb(db_file) + sum(
            dir_size_mb(p) for p in data_dir.glob("digestbot.sqlite3-*")
        )
    return {
        "papers": n,
        "new": result.new,
        "stored": paper_count,
        "indexed": indexed,
        "wall_seconds": total,
        "generation_seconds": gen_seconds,
        "process_cpu_seconds": cpu_seconds,
        "import_seconds": net,
        "batch_seconds": batch_seconds,
        "final_seconds": final_seconds,
        "papers_per_second": n / net,
        "papers_per_second_with_generation": n / total,
        "rss_start_mb": rss_start,
        "rss_after_generator_pools_mb": rss_after_pools,
        "peak_rss_after_batches_mb": marks.get("batches_peak_rss"),
        "peak_rss_mb": peak_rss_mb(),
        "db_file_mb": db_mb,
        "index_mb": dir_size_mb(data_dir / "index"),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "profile": profile,
    }
