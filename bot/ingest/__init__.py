"""Filling the catalog: the fetcher (the core's only network I/O), feed formats, seeds, feed runs."""
