"""PostgreSQL: the aiopg pool (pool.py, fair_pool.py), SQL as named constants (queries/),
migrations (migrate.py, migrations/), seed data (seed/, catalog_seed.py), the
procrastinate connector (jobs.py).

The bottom layer: imports nothing of ours above it (no ``services``, ``handlers`` or
``server``); aiopg imports stay here.
"""
