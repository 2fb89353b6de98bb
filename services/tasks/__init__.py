"""Long-running tasks: service (API side), store (the row is the truth), runner (job
bodies), worker (procrastinate), the career steps they are made of.

May import ``db`` and other services; never ``handlers`` or ``server``.
"""
