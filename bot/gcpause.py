"""Python's cyclic garbage collector held off during one bounded bulk step. No I/O.

Two steps use it. A batch digest selection: tantivy-py hands back each
search's hits as fresh tuples, half a million in a large batch, and
parsing keeps ~150,000 objects per 18,000 topics; the collector took them
for new long-lived objects and ran full collections over the whole heap
again and again, seconds of a selection. Reading and storing a feed:
reading a day's arXiv feed builds a few hundred thousand container objects
(the XML tree, the raw entries, the records, the rows), nearly all of them
alive until the feed is stored. Each time allocations pass the collector's
threshold it walks the young objects, and now and then every object of the
process: a share of an ingest's CPU spent finding no garbage (the figures
of both steps: see docs/benchmarks.md, sections "Digest selection" and
"Feed ingestion", What changed, item 1 of each). Neither step builds reference
cycles, and what it drops is freed by reference counting at once.
``paused_gc`` holds the collector off for the duration; whatever cycles
other code made meanwhile are collected after, at the next threshold.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic collection inside the block; the collector as it was after it.

    Nested blocks are fine: only the outermost one that found the collector
    on turns it back on. Callers MUST keep the block bounded (one document,
    one batch), not wrap a long-running loop: cycles made in it wait for
    its end.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
