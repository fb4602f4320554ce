"""The digest benchmark's report: the phases' results as the plain-text table it prints."""

from __future__ import annotations

import statistics
from typing import Any

from bench.common import table

__all__ = ["TARGET_SECONDS", "TARGET_SECONDS_POSTGRES", "render"]

TARGET_SECONDS = 5.0
TARGET_SECONDS_POSTGRES = 10.0  # issue 7, with the catalog in PostgreSQL


def render(report: dict[str, Any]) -> str:
    out: list[str] = []
    m = report["machine"]
    out.append(
        f"Machine: {m['cpus']} CPUs, {m['memory_gb']:.0f} GB RAM, Python {m['python']}, "
        f"SQLite {m['sqlite']}, SQLAlchemy {m['sqlalchemy']}, tantivy {m['tantivy']}"
    )
    target = report.get("target_seconds", TARGET_SECONDS)
    database = report.get("database")
    store = "PostgreSQL" if database else "SQLite"
    if database:
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
    ran = {
        f"{name} {r['code'].get('commit', '?')}/{r['code'].get('bot_sha256')}"
        for name, runs in (
            ("select", [report.get("select")]),
            ("scheduled", report.get("scheduled") or []),
        )
        for r in runs
        if r and "code" in r and r["code"].get("bot_sha256") != code.get("bot_sha256")
    }
    if ran:
        out.append("WARNING: bot/ changed during the run; phases ran " + ", ".join(sorted(ran)))
    cat = report.get("catalog")
    if cat:
        out.append(
            f"Catalog: {cat['papers']:,} synthetic papers imported in {cat['seconds']:.0f}s "
            f"(with generation; peak RSS {cat['peak_rss_mb']:,.0f} MB)"
        )
    prep = report["prepare"]
    info = prep["topics_info"]
    out.append(
        f"Data: {prep['papers']:,} papers ({prep['day']['new']:,} of them new today, revision "
        f"{prep['catalog_revision']} -> {prep['day']['revision']}), {prep['channels']:,} channels, "
        f"{prep['topics']:,} topics, {prep['distinct_topics']:,} distinct "
        f"({100 * info['repeated_share']:.0f}% of the slots repeat a topic), ledger "
        f"{prep['deliveries']:,} rows ({prep['ledger']['days']} earlier days); {store} {prep['db_file_mb']:,.0f} MB"
    )
    out.append("Most followed topics: " + ", ".join(f"{t} ({n})" for t, n in info["most_followed"]))
    out.append(
        "Own topics by kind: " + ", ".join(f"{k} {n:,}" for k, n in info["kinds_of_own_topics"].items())
    )

    sel = report.get("select")
    if sel:
        runs = sel["runs"]
        out.append("")
        cache = (
            f"files read once first ({sel['warm_files_seconds']:.1f}s)"
            if sel["warm_files_seconds"] is not None
            else "OS cache left as found (--cold)"
        )
        out.append(
            f"Selection (bot.digest.select.select_digests over every channel, own process; {cache}; "
            f"Service.open {sel['open_seconds']:.2f}s; load average {sel['loadavg_before'][0]:.1f} before, "
            f"{sel['loadavg_after'][0]:.1f} after)"
        )
        rows = []
        for i, run in enumerate(runs, start=1):
            total = run["load_seconds"] + run["select_seconds"]
            rows.append(
                [
                    f"run {i} ({'warm' if run.get('warm') else 'cold'})",
                    f"{run['load_seconds']:.2f}",
                    f"{run['select_seconds']:.2f}",
                    f"{run.get('select_cpu_seconds', 0.0):.2f}",
                    f"{total:.2f}",
                    "ok" if total <= target else "MISS",
                    f"{run['rss_before_select_mb']:,.0f}",
                    f"{run['peak_rss_mb']:,.0f}",
                ]
            )
        out.append(
            table(
                [
                    "",
                    "load channels s",
                    "select_digests s",
                    "its CPU s",
                    "total s",
                    f"<= {target:.0f} s",
                    "RSS before MB",
                    "peak RSS MB",
                ],
                rows,
            )
        )
        st = sel["stats"]
        tp = sel["topics"]
        out.append(
            f"{st['channels_with_digest']:,} of {runs[0]['channels']:,} channels get a digest; "
            f"papers per digest mean {st['mean_papers']:.2f}, median {st['median_papers']:.0f} "
            f"({st['digests_at_cap']:,} at the cap of 10; matching papers per channel, mean "
            f"{st['mean_matching_papers']:.1f}); {st['papers_shown']:,} papers shown in all"
        )
        out.append(
            f"candidates {sel['candidates']:,}; distinct topics run {tp['distinct_run']:,}, "
            f"{tp['matching_any']:,} match a new paper (hits per topic median "
            f"{tp['median_hits']:.0f}, mean {tp['mean_hits']:.1f}, max {tp['max_hits']:,})"
        )
        out.append(f"example: {st['example']}")
        cold, warm = sel["breakdown"]["cold"], sel["breakdown"]["warm"]
        out.append("")
        out.append(
            "Where the selection's time goes (one more run of each kind with timers around "
            f"its steps: cold {cold['run']['select_seconds']:.2f}s, "
            f"warm {warm['run']['select_seconds']:.2f}s)"
        )
        warm_steps = {step["step"]: step for step in warm["steps"]}
        rows = []
        for step in cold["steps"]:
            other = warm_steps.get(step["step"])
            rows.append([
                step["step"],
                f"{step['calls']:,}",
                f"{step['seconds']:.3f}",
                f"{100 * step['seconds'] / (cold['run']['select_seconds'] or 1):.0f}%",
                f"{other['seconds']:.3f}" if other else "-",
                f"{100 * other['seconds'] / (warm['run']['select_seconds'] or 1):.0f}%"
                if other else "-",
            ])
        out.append(table(["step", "calls", "cold s", "share", "warm s", "share"], rows))
    sch = report.get("scheduled")
    if sch:
        for i, run in enumerate(sch, start=1):
            out.append("")
            out.append(
                f"Deliverer.run_scheduled, every channel due (own process, run {i}): {run['seconds']:.2f}s; "
                f"{run['sent'].get('digests', 0):,} digests, {run['sent'].get('papers', 0):,} papers sent; "
                f"ledger rows today {run['ledger_today']}; RSS {run['rss_before_mb']:,.0f} MB before, "
                f"peak {run['peak_rss_mb']:,.0f} MB; load average {run['loadavg_before'][0]:.1f} before, "
                f"{run['loadavg_after'][0]:.1f} after"
            )
            if run["steps"]:
                total = run["seconds"] or 1
                out.append(
                    table(
                        ["step", "calls", "seconds", "share"],
                        [
                            [
                                s["step"],
                                f"{s['calls']:,}",
                                f"{s['seconds']:.3f}",
                                f"{100 * s['seconds'] / total:.0f}%",
                            ]
                            for s in run["steps"]
                        ],
                    )
                )
    if sel:
        out.append("")
        for kind in ("cold", "warm"):
            runs = [r for r in sel["runs"] if bool(r.get("warm")) == (kind == "warm")]
            totals = [r["load_seconds"] + r["select_seconds"] for r in runs]
            if not totals:
                continue
            median = statistics.median(totals)
            how = (
                "topics parsed during the run"
                if kind == "cold"
                else f"topics parsed at start, {sel['warm_topics_seconds']:.2f}s, as the running bot does"
            )
            out.append(
                f"Selection {kind} ({how}): median {median:.2f}s of {len(totals)} "
                f"(best {min(totals):.2f}s, worst {max(totals):.2f}s; select_digests CPU median "
                f"{statistics.median(r.get('select_cpu_seconds', 0.0) for r in runs):.2f}s): "
                f"{'meets' if median <= target else 'MISSES'} the target of "
                f"{target:.0f} s; peak RSS {max(r['peak_rss_mb'] for r in runs):,.0f} MB"
            )
    return "\n".join(out)
