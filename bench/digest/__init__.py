"""The digest benchmark's phases (``python -m bench.bench_digest`` runs them).

``state`` holds the fixed day and the data directory's marker, ``topics``
draws the channels' topics, ``build`` makes the catalog and the day's
papers, channels and ledger, ``timing`` wraps the steps it times,
``selection`` and ``scheduled`` measure, ``report`` prints the table.
"""
