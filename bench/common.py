"""What the benchmark scripts share: the log, memory and disk figures, fresh processes, tables.

``in_fresh_process`` runs a phase in a new interpreter (``multiprocessing``
spawn) so that each phase reports its own peak RSS; ``code_state`` says
which bot/ a run measured and ``machine`` on what.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import resource
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "BENCH_DIR",
    "OUT_DIR",
    "Phase",
    "code_state",
    "current_rss_mb",
    "dir_size_mb",
    "in_fresh_process",
    "log",
    "machine",
    "peak_rss_mb",
    "percentile",
    "table",
]

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"


def log(message: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def dir_size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile: p95 of 50 values is the 48th smallest."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


# -- running phases in fresh processes -----------------------------------------


Phase = Callable[[dict[str, Any]], dict[str, Any]]


def _child(target: Phase, params: dict[str, Any], conn: Any) -> None:
    # The parent only learns what went wrong through the pipe.
    try:
        conn.send(("ok", target(params)))
    except BaseException as exc:  # report, then let the process die
        import traceback

        conn.send(("error", "".join(traceback.format_exception(exc))))
        raise


def in_fresh_process(target: Phase, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``target(params)`` in a new interpreter, so that its peak RSS is its own."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(target, params, child))
    process.start()
    child.close()
    try:
        status, payload = parent.recv()
    except EOFError:
        process.join()
        raise SystemExit(f"{target.__name__} died (exit code {process.exitcode})") from None
    process.join()
    if status != "ok":
        raise SystemExit(f"{target.__name__} failed:\n{payload}")
    result: dict[str, Any] = payload
    return result


# -- the machine and the code -------------------------------------------------


def machine() -> dict[str, Any]:
    import sqlalchemy

    try:
        from importlib.metadata import version

        tantivy_version = version("tantivy")
    except Exception:
        tantivy_version = "?"
    mem_gb = None
    try:
        with open("/proc/meminfo") as fh:
            mem_gb = int(fh.readline().split()[1]) / 2**20
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "tantivy": tantivy_version,
        "platform": platform.platform(),
    }


def code_state() -> dict[str, Any]:
    """Which code was measured: the commit, and a digest of bot/ as it is on disk."""
    import hashlib
    import subprocess

    root = BENCH_DIR.parent
    digest = hashlib.sha256()
    for path in sorted((root / "bot").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    state: dict[str, Any] = {"bot_sha256": digest.hexdigest()[:12]}
    try:
        state["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        state["bot_modified"] = bool(subprocess.run(
            ["git", "status", "--porcelain", "--", "bot"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        pass
    return state


def table(headers: list[str], rows: Iterable[list[str]], *, text_columns: int = 1) -> str:
    """Plain-text table: the first ``text_columns`` left-aligned, numbers right-aligned."""
    rows = list(rows)
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i < text_columns else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])
