"""The catalog benchmark's report: the phases' results as the plain-text table it prints."""

from __future__ import annotations

from typing import Any

from bench.catalog.search import SAME_TERM_REPEATS
from bench.common import table

__all__ = ["IMPORT_TARGET", "IMPORT_TARGET_POSTGRES", "P95_TARGET_MS", "render"]

IMPORT_TARGET = 10_000  # papers/s at 1M
IMPORT_TARGET_POSTGRES = 5_000  # papers/s at 1M into PostgreSQL (issue 7)
P95_TARGET_MS = 50.0


def render(report: dict[str, Any]) -> str:
    out: list[str] = []
    m = report["machine"]
    out.append(
        f"Machine: {m['cpus']} CPUs, {m['memory_gb']:.0f} GB RAM, Python {m['python']}, "
        f"SQLite {m['sqlite']}, SQLAlchemy {m['sqlalchemy']}, tantivy {m['tantivy']}"
    )
    database = report.get("database")
    store = "SQLite"
    if database:
        store = "PostgreSQL"
        out.append(
            f"Database: PostgreSQL {database['version']}, "
            + ", ".join(f"{k}={v}" for k, v in database["settings"].items())
        )
    code = report.get("code", {})
    out.append(
        f"Code: commit {code.get('commit', '?')}"
        + (" with uncommitted changes in bot/" if code.get("bot_modified") else "")
        + f" (bot/ digest {code.get('bot_sha256')})"
    )
    out.append(f"Catalog: {report['papers']:,} synthetic papers (seed {report['seed']})")
    imp = report.get("import")
    if imp:
        target = IMPORT_TARGET_POSTGRES if database else IMPORT_TARGET
        ok = "meets" if imp["papers_per_second"] >= target else "MISSES"
        out.append("")
        out.append(f"Import (Catalog.import_records, fresh {store} + index, own process)")
        out.append(table(
            ["step", "seconds", "papers/s"],
            [
                ["batches: upsert + index adds", f"{imp['batch_seconds']:.1f}",
                 f"{imp['papers'] / imp['batch_seconds']:,.0f}"],
                ["after the last batch: index commit", f"{imp['final_seconds']:.1f}", ""],
                ["import, generation excluded", f"{imp['import_seconds']:.1f}", f"{imp['papers_per_second']:,.0f}"],
                ["synthetic generation", f"{imp['generation_seconds']:.1f}", ""],
                ["wall, with generation", f"{imp['wall_seconds']:.1f}",
                 f"{imp['papers_per_second_with_generation']:,.0f}"],
            ],
        ))
        out.append(
            f"import {imp['papers_per_second']:,.0f} papers/s: {ok} the target of "
            f"{target:,}/s (generation time excluded)"
        )
        out.append(
            f"peak RSS {imp['peak_rss_mb']:,.0f} MB (at the last batch "
            f"{imp['peak_rss_after_batches_mb'] or 0:,.0f} MB; the generator's pools hold "
            f"~{imp['rss_after_generator_pools_mb'] - imp['rss_start_mb']:,.0f} MB of it)"
        )
        out.append(
            f"stored {imp['stored']:,}, indexed {imp['indexed']:,}; on disk: {store} "
            f"{imp['db_file_mb']:,.0f} MB, index {imp['index_mb']:,.0f} MB; load average "
            f"{imp['loadavg_before'][0]:.1f} before, {imp['loadavg_after'][0]:.1f} after"
        )
    srch = report.get("search")
    if srch:
        out.append("")
        cache = (
            f"files read once first to warm the OS cache ({srch['warm_files_seconds']:.1f}s)"
            if srch["warm_files_seconds"] is not None
            else "OS cache left as found (--cold)"
        )
        out.append(
            f"Search (Catalog.search, limit {srch['limit']}, own process; {cache}; opened in "
            f"{srch['open_ms']:.0f} ms, first query {srch['first_query_ms']:.1f} ms, then "
            f"{srch['warmup_queries']} warm-up queries not counted; load average "
            f"{srch['loadavg_before'][0]:.1f} before, {srch['loadavg_after'][0]:.1f} after)"
        )
        rows = []
        for name, c in srch["classes"].items():
            verdict = "ok" if c["p95_ms"] <= P95_TARGET_MS and not c["errors"] else "MISS"
            if c["errors"]:
                verdict = f"{len(c['errors'])} errors"
            rows.append([
                name, c["example"], str(c["queries"]), f"{c['p50_ms']:.2f}", f"{c['p95_ms']:.2f}",
                f"{c['max_ms']:.2f}", f"{c['mean_hits']:.1f}", str(c["zero_hit_queries"]), verdict,
            ])
        out.append(table(
            ["class", "example", "n", "p50 ms", "p95 ms", "max ms", "hits", "0-hit", f"p95<={P95_TARGET_MS:.0f}"],
            rows,
            text_columns=2,
        ))
        out.append(f"search peak RSS {srch['peak_rss_mb']:,.0f} MB")
        for name, c in srch["classes"].items():
            for error in c["errors"][:3]:
                out.append(f"  error in {name}: {error}")
    base = report.get("baselines")
    if base and srch:
        same = srch["same_term"]
        classes = srch["classes"]
        out.append("")
        out.append("Baselines (same catalog; ours = Catalog.search on the same term, "
                   f"{SAME_TERM_REPEATS} runs)")
        rows = []
        for r in base["like"]["rows"]:
            ours = same[r["term"]]
            rows.append([
                "LIKE, first 10 (unranked)", r["term"], r["class"], f"{r['first10_ms']:,.1f}",
                f"{ours['p50_ms']:.2f}/{ours['p95_ms']:.2f}",
                f"{r['first10_ms'] / ours['p50_ms']:,.1f}x / {r['first10_ms'] / ours['p95_ms']:,.1f}x",
                f"{r['first10_ms'] / classes[r['class']]['p95_ms']:,.1f}x",
            ])
            rows.append([
                "LIKE, all matches", r["term"], r["class"], f"{r['all_matches_ms']:,.0f}",
                f"{ours['p50_ms']:.2f}/{ours['p95_ms']:.2f}",
                f"{r['all_matches_ms'] / ours['p50_ms']:,.0f}x / {r['all_matches_ms'] / ours['p95_ms']:,.0f}x",
                f"{r['all_matches_ms'] / classes[r['class']]['p95_ms']:,.0f}x",
            ])
        for r in base["scan"]["rows"]:
            ours = same[r["term"]]
            rows.append([
                "Python scan, top 10", r["term"], r["class"], f"{r['ms']:,.0f}",
                f"{ours['p50_ms']:.2f}/{ours['p95_ms']:.2f}",
                f"{r['ms'] / ours['p50_ms']:,.0f}x / {r['ms'] / ours['p95_ms']:,.0f}x",
                f"{r['ms'] / classes[r['class']]['p95_ms']:,.0f}x",
            ])
        out.append(table(
            ["baseline", "term", "class", "ms", "ours p50/p95 ms", "ratio vs p50 / p95", "vs class p95"],
            rows,
            text_columns=3,
        ))
        out.append(
            "LIKE matches: " + ", ".join(f"{r['term']}={r['matches']:,}" for r in base["like"]["rows"])
        )
        scan = base["scan"]
        out.append(
            f"Python scan: loading every paper took {scan['load_seconds']:.1f}s and "
            f"{scan['peak_rss_mb']:,.0f} MB peak RSS"
        )
    return "\n".join(out)
