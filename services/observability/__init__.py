"""Observability: Prometheus metrics (metrics.py), the loop-lag monitor and request
counters (monitor.py), the load shedder's decision (shedding.py), logging set-up and the
request-id context (logs.py).

May import ``db`` and other services; never ``handlers`` or ``server``.
"""
