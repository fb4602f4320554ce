"""Memory of a running bot on a large catalog: ``python -m bench.bot_rss --data-dir DIR``.

Starts the real bot, ``python -m bot --data-dir DIR run --console``, with no
feeds (``DIGESTBOT_FEEDS=``, so it fetches nothing), waits until its console
answers, then types ``/papers search ...`` for the catalog benchmark's queries
(``bench.catalog.queries``, every class, K a class), one after another, each
after the answer to the one before, and ``quit``. Meanwhile it reads
``/proc/PID/status`` every 20 ms: the resident set (``VmRSS``), its
anonymous part (``RssAnon``: the Python heap, tantivy's own allocations) and
its file-backed part (``RssFile``: pages of mmapped files, the index's
segments, which the kernel can drop and read again), and the peak
(``VmHWM``). Use it on a directory the catalog benchmark built
(``--data-dir bench/out/catalog-3m``). Linux only; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.catalog.queries import CLASSES, build_queries
from bench.common import log
from bench.synth import build_vocabulary

FIELDS = ("VmRSS", "RssAnon", "RssFile", "VmHWM")
BANNER = "Type /papers help"


def _status(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key in FIELDS:
                    out[key] = int(value.split()[0]) / 1024  # kB -> MB
    except FileNotFoundError:
        pass
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bot_rss", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        help="a catalog the catalog benchmark built",
    )
    parser.add_argument(
        "--queries-per-class",
        type=int,
        default=20,
        help="searches a query class (default 20)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print JSON on stdout")
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    queries = build_queries(
        build_vocabulary(seed=args.seed),
        data_dir / "digestbot.sqlite3",
        per_class=args.queries_per_class,
        seed=args.seed,
    )
    commands = [q for name, _ in CLASSES for q in queries.by_class[name]]

    env = {**os.environ, "DIGESTBOT_FEEDS": ""}
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "run", "--console"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    samples: list[tuple[float, dict[str, float]]] = []
    lines: list[str] = []
    new_line = threading.Event()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            s = _status(proc.pid)
            if s:
                samples.append((time.perf_counter() - start, s))
            time.sleep(0.02)

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line.rstrip("\n"))
            new_line.set()

    threads = [
        threading.Thread(target=sample, daemon=True),
        threading.Thread(target=read, daemon=True),
    ]
    for t in threads:
        t.start()

    def wait_for(predicate: Any, timeout: float) -> bool:
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if predicate():
                return True
            new_line.wait(0.05)
            new_line.clear()
        return False

    if not wait_for(lambda: any(BANNER in line for line in lines), 300):
        proc.kill()
        raise SystemExit("the bot did not start:\n" + "\n".join(lines[-20:]))
    started_s = time.perf_counter() - start
    time.sleep(2.0)
    idle = _status(proc.pid)
    log(
        f"bot_rss: started in {started_s:.1f}s; idle RSS {idle.get('VmRSS', 0):.0f} MB "
        f"(anon {idle.get('RssAnon', 0):.0f}, file {idle.get('RssFile', 0):.0f})"
    )
    answered = 0
    for text in commands:
        before = len(lines)
        proc.stdin.write(f"/papers search {text}\n")
        proc.stdin.flush()
        if wait_for(lambda before=before: len(lines) > before, 60):
            answered += 1
        time.sleep(0.05)  # the rest of a multi-line answer
    time.sleep(1.0)
    after = _status(proc.pid)
    proc.stdin.write("quit\n")
    proc.stdin.flush()
    proc.stdin.close()
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait(timeout=30)
    done.set()
    for t in threads:
        t.join(timeout=2)
    load_after = os.getloadavg()
    peak = max(samples, key=lambda s: s[1].get("VmRSS", 0))[1] if samples else {}
    report: dict[str, Any] = {
        "data_dir": str(data_dir),
        "searches": len(commands),
        "answered": answered,
        "started_seconds": started_s,
        "idle_mb": idle,
        "after_searches_mb": after,
        "sampled_peak_mb": peak,
        "hwm_mb": max((s.get("VmHWM", 0) for _, s in samples), default=0),
        "samples": len(samples),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "exit": proc.returncode,
        "command": " ".join(["python -m bench.bot_rss", *sys.argv[1:]]),
    }
    text = (
        f"running bot on {data_dir}: {answered}/{len(commands)} searches answered; "
        f"RSS idle {idle.get('VmRSS', 0):.0f} MB (anon {idle.get('RssAnon', 0):.0f} / file "
        f"{idle.get('RssFile', 0):.0f}), after the searches {after.get('VmRSS', 0):.0f} MB (anon "
        f"{after.get('RssAnon', 0):.0f} / file {after.get('RssFile', 0):.0f}), peak "
        f"{report['hwm_mb']:.0f} MB (at the sampled peak: anon {peak.get('RssAnon', 0):.0f} / file "
        f"{peak.get('RssFile', 0):.0f}); load {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    if args.json:
        sys.stderr.write(text + "\n")
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
