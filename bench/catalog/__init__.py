"""The catalog benchmark's phases (``python -m bench.bench_catalog`` runs them).

``bulk_import`` builds the catalog, ``queries`` draws the query classes,
``search`` times them, ``baselines`` times a LIKE scan and a Python scan,
``report`` prints the table; ``store`` opens what a phase measures.
"""
