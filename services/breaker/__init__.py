"""The circuit breaker, for any dependency: the Redis-shared breaker (shared.py, its Lua
scripts in lua.py), the in-process fallback (local.py), their common parts (base.py) and
the registry operators use (registry.py).

May import other services (errors, aio_compat); never ``handlers`` or ``server``.
"""
