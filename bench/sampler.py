"""A small sampling profiler for one thread: where the wall-clock time goes.

cProfile charges its own overhead to every Python call, so code made of many
small Python calls (SQLAlchemy's bind processing) looks far costlier than a
long C call (a tantivy commit). Sampling the stack every few milliseconds
does not: each function's share of samples is its share of wall time. Time
inside a C call is charged to the Python function that made it.

Standard library only: a daemon thread reads ``sys._current_frames()``.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from pathlib import Path
from types import FrameType

__all__ = ["Sampler"]


def _where(frame: FrameType) -> str:
    code = frame.f_code
    path = Path(code.co_filename)
    parts = path.parts
    # Short, readable locations: bot/store/catalog.py, sqlalchemy/engine/base.py.
    for anchor in ("bot", "bench", "sqlalchemy", "tantivy", "json", "sqlite3"):
        if anchor in parts:
            index = len(parts) - 1 - parts[::-1].index(anchor)
            return f"{'/'.join(parts[index:])}:{code.co_firstlineno}({code.co_name})"
    return f"{path.name}:{code.co_firstlineno}({code.co_name})"


class Sampler:
    """Samples the calling thread's stack every ``interval`` seconds while running.

    Samples with a frame from a file whose path contains ``exclude`` on the
    stack (the benchmark's own data generator) are counted in ``excluded``
    and left out of the shares.
    """

    def __init__(self, *, interval: float = 0.005, exclude: str | None = None) -> None:
        self.interval = interval
        self.exclude = exclude
        self.samples = 0
        self.excluded = 0
        self.inclusive: Counter[str] = Counter()
        self.leaf: Counter[str] = Counter()
        self._target = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._target = threading.get_ident()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            frame = sys._current_frames().get(self._target)
            if frame is None:
                continue
            leaf = _where(frame)
            stack: list[str] = []
            while frame is not None:
                if self.exclude and self.exclude in frame.f_code.co_filename:
                    break
                where = _where(frame)
                if where not in stack:
                    stack.append(where)
                frame = frame.f_back
            if frame is not None:
                self.excluded += 1
                continue
            self.samples += 1
            self.leaf[leaf] += 1
            self.inclusive.update(stack)

    def report(self, *, top: int = 25) -> str:
        total = max(1, self.samples)
        lines = [f"{self.samples} samples every {self.interval * 1000:.0f} ms"]
        if self.exclude:
            lines[0] += f" ({self.excluded} more inside {self.exclude}, left out)"
        lines.append("inclusive (on the stack):")
        for where, n in self.inclusive.most_common(top):
            lines.append(f"  {100 * n / total:5.1f}%  {where}")
        lines.append("self (innermost Python frame; C calls count here):")
        for where, n in self.leaf.most_common(top):
            lines.append(f"  {100 * n / total:5.1f}%  {where}")
        return "\n".join(lines)
