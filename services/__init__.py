"""Domain and infrastructure services: accounts, career, activity, tasks, events, the AI
gateway, the circuit breaker, observability.

No aiohttp request/response types and no import of ``server`` or ``handlers``: a service
gets its settings and clients in its constructor. May import ``db`` and other services.
"""
