"""The HTTP edge: one module of route functions per resource, the request/response
helpers (common.py), middlewares, schemas, the SSE (sse.py) and WebSocket (ws/) plumbing,
the typed app keys (keys.py) and the configuration tree (config.py).

May import ``services`` and ``db``; never ``server``. Handlers stay thin: parse, call a
service, render.
"""
